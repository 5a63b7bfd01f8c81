/* A minimal host for a kiln artifact: it links only the kiln runtime.
 *
 *   cc main.c -lkiln_runtime -o host
 *   ./host model.so input0.npy [input1.npy ...]
 *
 * Loads the artifact, checks the inputs against the first entry point's
 * signature, runs it on a pool of two threads and prints each output's name,
 * shape and first values. */
#include <kiln/runtime.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(kiln_status *s) {
  fprintf(stderr, "error: %s\n", kiln_status_get_message(s));
  kiln_status_free(s);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.so [INPUT.npy ...]\n", argv[0]);
    return 2;
  }
  kiln_model *model = NULL;
  kiln_status *s = kiln_model_load(argv[1], &model);
  if (s)
    return fail(s);
  int entry = 0;
  int nIn = kiln_model_num_inputs(model, entry);
  int nOut = kiln_model_num_outputs(model, entry);
  if (argc - 2 != nIn) {
    fprintf(stderr, "error: %s takes %d inputs, %d given\n",
            kiln_model_entry_name(model, entry), nIn, argc - 2);
    kiln_model_free(model);
    return 2;
  }
  kiln_tensor *inputs = calloc(nIn ? nIn : 1, sizeof(kiln_tensor));
  kiln_tensor *outputs = calloc(nOut ? nOut : 1, sizeof(kiln_tensor));
  for (int i = 0; i < nIn; ++i)
    if ((s = kiln_npy_read(argv[2 + i], &inputs[i])))
      return fail(s);
  for (int i = 0; i < nOut; ++i) {
    if ((s = kiln_model_output_info(model, entry, i, NULL, &outputs[i])))
      return fail(s);
    outputs[i].data = NULL; /* let the runtime allocate */
  }
  kiln_context *ctx = NULL;
  if ((s = kiln_context_create(2, &ctx)))
    return fail(s);
  if ((s = kiln_model_run(model, ctx, entry, inputs, nIn, outputs, nOut)))
    return fail(s);
  for (int i = 0; i < nOut; ++i) {
    const char *name;
    kiln_model_output_info(model, entry, i, &name, NULL);
    printf("%s %s [", name, kiln_dtype_name(outputs[i].dtype));
    for (int d = 0; d < outputs[i].rank; ++d)
      printf(d ? "x%lld" : "%lld", (long long)outputs[i].shape[d]);
    printf("]");
    if (outputs[i].dtype == KILN_F32) {
      const float *v = outputs[i].data;
      int64_t n = kiln_num_elements(outputs[i].rank, outputs[i].shape);
      for (int64_t k = 0; k < n && k < 4; ++k)
        printf(" %.6g", v[k]);
    }
    printf("\n");
    kiln_free(outputs[i].data);
  }
  for (int i = 0; i < nIn; ++i)
    kiln_free(inputs[i].data);
  free(inputs);
  free(outputs);
  kiln_context_destroy(ctx);
  kiln_model_free(model);
  return 0;
}

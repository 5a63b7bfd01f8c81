"""Every model family compiles for NVIDIA GPUs without one: kiln-compile
--target=cuda gives PTX that the CUDA toolkit's ptxas accepts for sm_80 and
sm_90, and an artifact that links (skipped, with the reason printed, where
the toolkit is missing). Without a GPU the CUDA mapping's kernels and
device copies run on the host (--cuda-emulate) and are compared with
PyTorch; with one (a CUDA driver that finds a device), the artifacts run on
it and are compared with PyTorch too (skipped, with the reason printed,
elsewhere)."""
import pytest

import numpy as np
import torch

from conftest import (missing_cuda_toolkit, missing_gpu, npy_args,
                      ptx_only_toolkit, ptxas, run, tool)
from families import FAMILIES, Llama, export

@pytest.fixture(scope="module")
def toolkit():
    reason = missing_cuda_toolkit()
    if reason:
        print(f"\nskipping the CUDA compile tests: {reason} "
              "(install the CUDA toolkit to run them)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """family -> (onnx path, inputs, outputs), each exported once."""
    cache = {}
    root = tmp_path_factory.mktemp("cuda")

    def get(family):
        if family not in cache:
            path = root / f"{family}.onnx"
            inputs, outputs = export(family, path)
            cache[family] = (path, inputs, outputs)
        return cache[family]

    return get


@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_compile(tmp_path, family, toolkit, exported):
    onnx_path = exported(family)[0]
    for arch in ("sm_80", "sm_90"):
        ptx = tmp_path / f"{family}.{arch}.ptx"
        run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
             f"--gpu-arch={arch}", "--emit=ptx", "-o", str(ptx)])
        text = ptx.read_text()
        assert f".target {arch}" in text
        assert ".entry main_kernel0" in text
        ptxas(ptx, arch)
    # The artifact (cubin for sm_90, made by ptxas) links and is marked as
    # a CUDA artifact for the runtime.
    so = tmp_path / f"{family}.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda", "-o",
         str(so)])
    assert b"kiln-artifact 1\ntarget cuda\n" in so.read_bytes()


def _check_outputs(tmp_path, so, inputs, outputs, extra=()):
    args = npy_args(tmp_path, inputs, outputs[:1], 1e-4, 1e-3)
    assert " ok" in run([tool("kiln-run"), str(so), *args, *extra]).stdout


@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_emulated(tmp_path, family, exported):
    onnx_path, inputs, outputs = exported(family)
    so = tmp_path / f"{family}.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
         "--cuda-emulate", "-o", str(so)])
    _check_outputs(tmp_path, so, inputs, outputs)


@pytest.mark.parametrize("flags", [["--quantize=int8"], ["--quantize=int4"],
                                   ["--quantize=int4",
                                    "--quant-half-scales=false"],
                                   ["--quantize=int4", "--quant-zero-points"],
                                   ["--dtype=bf16"]])
def test_cuda_quantized(tmp_path, flags, toolkit, exported):
    """Quantized and bf16 weights (int4 with f16 or f32 scales, with zero
    points) compile for sm_90 (ptxas accepts the PTX) and, emulated, stay
    close to PyTorch's fp32 outputs (the CPU tests' cosine bounds). The
    products dequantize the packed weights inside their loops: no f32
    weight is materialized."""
    onnx_path, inputs, outputs = exported("llama_decode")
    ptx = tmp_path / "q.ptx"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda", "--emit=ptx",
         "-o", str(ptx), *flags])
    if flags[0].startswith("--quantize"):
        linalg = run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
                      "--emit=linalg", "-o", "-", *flags]).stdout
        assert "floordiv 64" in linalg and "linalg.matmul" not in linalg
    ptxas(ptx, "sm_90")
    so = tmp_path / "q.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
         "--cuda-emulate", "-o", str(so), *flags])
    run([tool("kiln-run"), str(so), *npy_args(tmp_path, inputs),
         "--output-dir", str(tmp_path)])
    got = np.load(tmp_path / "output.npy").ravel().astype(np.float64)
    want = outputs[0].ravel().astype(np.float64)
    cos = got @ want / (np.linalg.norm(got) * np.linalg.norm(want))
    bound = 0.999 if flags[0] != "--quantize=int4" else 0.99
    assert cos >= bound, (flags, cos)


@pytest.mark.parametrize("flags", [[], ["--dtype=bf16"],
                                   ["--quantize=int8"], ["--quantize=int4"]])
def test_cuda_emulated_prefill(tmp_path, flags):
    """A Llama prefill of 64 tokens, large enough for the tiled matmuls
    (fp32: shared-memory tiles and register sub-tiles; bf16: tensor cores;
    int8/int4: the weight dequantized into the shared slices), emulated
    against PyTorch: fp32 at fp32 tolerances, the others by cosine (the CPU
    tests' bounds). The PTX has the tiled kernels (and, for bf16, the
    tensor-core instruction), which ptxas accepts."""
    torch.manual_seed(0)
    model = Llama().eval()
    ids = torch.randint(0, 101, (1, 64))
    onnx_path = tmp_path / "llama64.onnx"
    with torch.no_grad():
        want = model(ids).numpy()
        torch.onnx.export(model, (ids,), str(onnx_path),
                          input_names=["input_ids"], output_names=["output"],
                          opset_version=17)
    so = tmp_path / "m.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
         "--cuda-emulate", "-o", str(so), *flags])
    if not flags:
        _check_outputs(tmp_path, so, [ids.numpy()], [want])
    else:
        run([tool("kiln-run"), str(so), *npy_args(tmp_path, [ids.numpy()]),
             "--output-dir", str(tmp_path)])
        got = np.load(tmp_path / "output.npy").ravel().astype(np.float64)
        w = want.ravel().astype(np.float64)
        cos = got @ w / (np.linalg.norm(got) * np.linalg.norm(w))
        assert cos >= (0.99 if flags == ["--quantize=int4"] else 0.999), cos
    if missing_cuda_toolkit():
        pytest.skip(missing_cuda_toolkit())
    ptx = tmp_path / "m.ptx"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
         "--gpu-arch=sm_80", "--emit=ptx", "-o", str(ptx), *flags])
    text = ptx.read_text()
    # Per layer q/k/v, o, gate/up, down; then the head.
    assert text.count(".entry main_matmul") >= 9
    assert ("mma.sync.aligned.m16n8k16" in text) == (flags == ["--dtype=bf16"])
    ptxas(ptx, "sm_80")


@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_on_gpu(tmp_path, family, toolkit, exported):
    reason = missing_gpu()
    if reason:
        print(f"\nskipping {family} on the GPU: {reason}")
        pytest.skip(reason)
    onnx_path, inputs, outputs = exported(family)
    # PTX for sm_80 (a toolkit without ptxas), which the driver compiles
    # for the GPU at hand, whichever of sm_80 and newer it is.
    ptx_only = ptx_only_toolkit(tmp_path)
    so = tmp_path / f"{family}.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
         "--gpu-arch=sm_80", f"--cuda-toolkit={ptx_only}", "-o", str(so)])
    _check_outputs(tmp_path, so, inputs, outputs, ["--device=cuda"])


def _export_empty(path):
    """A model with an empty input (4 x 0), concatenated to a 4 x 3 one."""
    import torch

    class Empty(torch.nn.Module):
        def forward(self, x, y):
            return torch.cat([x * 2.0, y], dim=1) + 1.0

    x, y = torch.zeros(4, 0), torch.randn(4, 3)
    torch.onnx.export(Empty(), (x, y), str(path), input_names=["x", "y"],
                      output_names=["output"], opset_version=17)
    return [x.numpy(), y.numpy()], [Empty()(x, y).numpy()]


def test_cuda_empty_tensor(tmp_path):
    """A zero-element input of rank 2 has no bare-pointer form: the host
    code passes it opaquely (as the CPU target does), and the CUDA
    compilation and its emulation give PyTorch's result."""
    onnx_path = tmp_path / "empty.onnx"
    inputs, outputs = _export_empty(onnx_path)
    so = tmp_path / "empty.emulated.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda",
         "--cuda-emulate", "-o", str(so)])
    _check_outputs(tmp_path, so, inputs, outputs)
    reason = missing_cuda_toolkit()
    if reason:
        print(f"\nskipping the CUDA compilation of the empty tensor: {reason}")
        return
    so = tmp_path / "empty.so"
    run([tool("kiln-compile"), str(onnx_path), "--target=cuda", "-o",
         str(so)])
    assert b"kiln-artifact 1\ntarget cuda\n" in so.read_bytes()

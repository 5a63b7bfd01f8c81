"""kiln.compile: models (files, ONNX protos, PyTorch modules) to Modules,
through the compiler C API."""
import ctypes
import inspect
import os
import tempfile

import numpy as np

from . import _lib
from ._module import Module, _Model

class _Session:
    """A kiln_compiler with the options of one kiln.compile call."""

    def __init__(self):
        self._lib = _lib.compiler()
        handle = ctypes.c_void_p()
        _lib.check_compiler(self._lib.kiln_compiler_create(
            ctypes.byref(handle)))
        self.handle = handle

    def __getattr__(self, name):
        # Only C API calls are looked up here: attributes that __init__ did
        # not get to set (it raised) must not recurse through _lib.
        if name.startswith("_") or name == "handle":
            raise AttributeError(name)
        fn = getattr(self._lib, "kiln_compiler_" + name)
        return lambda *args: _lib.check_compiler(fn(self.handle, *args))

    def __del__(self):
        if getattr(self, "handle", None):
            self._lib.kiln_compiler_destroy(self.handle)
            self.handle = None


def _export_torch(module, example_inputs, path, input_names, output_names,
                  opset):
    """Exports a torch.nn.Module to ONNX at `path` (static shapes, those of
    `example_inputs`); returns the inputs as a tuple of tensors."""
    import torch

    if example_inputs is None:
        raise ValueError("kiln.compile: a torch module needs example_inputs "
                         "(a tensor or a tuple of them) to be exported")
    if isinstance(example_inputs, (torch.Tensor, np.ndarray)):
        example_inputs = (example_inputs, )
    args = tuple(
        torch.from_numpy(np.ascontiguousarray(a)) if isinstance(
            a, np.ndarray) else a for a in example_inputs)
    if input_names is None:
        # The forward's parameter names, as far as they go.
        try:
            params = [
                p.name
                for p in inspect.signature(module.forward).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            params = []
        input_names = [
            params[i] if i < len(params) else "input_%d" % i
            for i in range(len(args))
        ]
    with torch.no_grad():
        if output_names is None:
            out = module(*args)
            n = len(out) if isinstance(out, (tuple, list)) else 1
            output_names = ["output"] if n == 1 else [
                "output_%d" % i for i in range(n)
            ]
        torch.onnx.export(module, args, path, input_names=list(input_names),
                          output_names=list(output_names),
                          opset_version=opset)
    return args


def compile(model, example_inputs=None, target="cpu", quantize=None,
            dtype=None, *, output=None, aot=False, input_shapes=None,
            bind=None, cpu="host", cpu_features=None, opt_level=3,
            ukernels=True, lower_fused_ops=True, num_threads=None,
            quant_group=32, quant_zero_points=False, quant_exclude=None,
            input_names=None, output_names=None, opset=17):
    """Compiles `model` and returns a callable kiln.Module.

    model: a path to a .onnx or .mlir file, an ``onnx.ModelProto``, or a
        ``torch.nn.Module``. A torch module is exported to ONNX (opset
        `opset`, through ``torch.onnx.export``) with `example_inputs` (a
        tensor or array, or a tuple of them), whose shapes become the
        module's; `input_names` and `output_names` name its inputs and
        outputs (default: the forward's parameter names, and "output" or
        "output_0", "output_1", ...).
    target: "cpu", the only target so far.
    quantize: weight quantization of the matmuls with constant weights:
        None (keep them), "int8" (per output channel) or "int4" (groups of
        `quant_group` rows, 32, 64 or 128; asymmetric with zero points if
        `quant_zero_points`), as kiln-compile's --quantize. Weights whose
        ONNX node or initializer name matches the regular expression
        `quant_exclude` keep their type.
    dtype: the element type of the other constant-weight matmuls: None or
        "float32" / "f32" (as written) or "bfloat16" / "bf16" (bf16 weights
        and inputs, fp32 accumulation), as kiln-compile's --dtype.
    output: a path: compile ahead of time into this .so (loadable by
        kiln.load, kiln-run and the C runtime) and return the module loaded
        from it.
    aot: compile ahead of time into a temporary .so (Module.save copies it
        out); otherwise (the default) the model is JIT-compiled in-process.
    input_shapes: {input name: shape} fixing dynamic dimensions (kiln
        compiles static shapes), as kiln-compile's --input-shape.
    bind: {input name: array}: specialize on these inputs' values; they
        become constants and leave the signature (kiln-compile's --bind).
    cpu, cpu_features: the CPU to generate code for ("host", or an LLVM
        name such as "znver4") and extra LLVM features ("+avx512f,...").
    opt_level: LLVM optimization level, 0 to 3.
    ukernels: call the runtime's micro-kernels for matmuls and attention.
    lower_fused_ops: decompose attention and the Mamba ops (reference
        lowering).
    num_threads: give the module a thread pool of its own of this size
        (default: the shared pool, see kiln.set_num_threads).

    Raises kiln.CompileError carrying the compiler's diagnostics (with the
    location in the model: FILE:LINE:COL, or the ONNX node's name and op)
    when the model cannot be compiled.
    """
    if output is not None:
        aot = True

    session = _Session()
    session.set_target(str(target).encode())
    session.set_cpu(str(cpu).encode(),
                    cpu_features.encode() if cpu_features else None)
    session.set_opt_level(int(opt_level))
    session.set_ukernels(1 if ukernels else 0)
    session.set_lower_fused_ops(1 if lower_fused_ops else 0)
    session.set_quantization(_quantize_mode(quantize), int(quant_group),
                             1 if quant_zero_points else 0,
                             quant_exclude.encode() if quant_exclude else None)
    session.set_dtype(_dtype_name(dtype))
    for name, shape in (input_shapes or {}).items():
        dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
        session.add_input_shape(str(name).encode(), len(shape), dims)

    with tempfile.TemporaryDirectory(prefix="kiln-") as tmp:
        for i, (name, value) in enumerate((bind or {}).items()):
            npy = os.path.join(tmp, "bind%d.npy" % i)
            np.save(npy, np.asarray(value))
            session.bind_input(str(name).encode(), npy.encode())
        path = _model_file(model, example_inputs, tmp, input_names,
                           output_names, opset)
        if aot:
            return _compile_aot(session, path, output, num_threads)
        handle = ctypes.c_void_p()
        session.jit_file(path.encode(), ctypes.byref(handle))
        return Module(_Model(handle), num_threads=num_threads)


def _quantize_mode(quantize):
    if quantize is None:
        return None
    mode = str(quantize).lower()
    if mode not in ("int8", "int4"):
        raise ValueError("kiln.compile: quantize must be None, \"int8\" or "
                         "\"int4\", got %r" % (quantize, ))
    return mode.encode()


def _dtype_name(dtype):
    """b"f32" or b"bf16" for `dtype`: None, a name, or a numpy or torch
    dtype."""
    if dtype is None:
        return b"f32"
    name = str(dtype).lower().replace("torch.", "")
    try:
        name = np.dtype(dtype).name
    except TypeError:
        pass
    names = {"f32": "f32", "float32": "f32", "fp32": "f32",
             "bf16": "bf16", "bfloat16": "bf16"}
    if name not in names:
        raise ValueError("kiln.compile: dtype must be None, \"f32\" or "
                         "\"bf16\", got %r" % (dtype, ))
    return names[name].encode()


def _model_file(model, example_inputs, tmp, input_names, output_names,
                opset):
    """A model file for `model`, written into `tmp` when it is not one."""
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    if hasattr(model, "SerializeToString"):  # onnx.ModelProto
        path = os.path.join(tmp, "model.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        return path
    try:
        import torch
        is_torch = isinstance(model, torch.nn.Module)
    except ImportError:
        is_torch = False
    if is_torch:
        path = os.path.join(tmp, "model.onnx")
        _export_torch(model, example_inputs, path, input_names, output_names,
                      opset)
        return path
    raise TypeError("kiln.compile: expected a model file path, an "
                    "onnx.ModelProto or a torch.nn.Module, got %s" %
                    type(model).__name__)


def _compile_aot(session, path, output, num_threads):
    tmpdir = None
    if output is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="kiln-aot-")
        output = os.path.join(tmpdir.name, "model.so")
    output = os.path.abspath(os.fspath(output))
    try:
        session.compile_file(path.encode(), output.encode(), b"so")
        from ._module import load
        module = load(output, num_threads=num_threads)
    except BaseException:
        if tmpdir:
            tmpdir.cleanup()
        raise
    module._model._tmpdir = tmpdir
    return module

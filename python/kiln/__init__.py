"""kiln: compile models and call them on numpy arrays.

    import kiln, numpy as np
    m = kiln.compile("model.onnx")                 # JIT, in-process
    m = kiln.compile(torch_module, example_inputs=(x,))
    y = m(np.ones((1, 8), np.float32))
    m.inputs, m.outputs                            # names, dtypes, shapes
    kiln.compile("model.onnx", output="model.so")  # ahead of time
    m = kiln.load("model.so")                      # needs the runtime only
    kiln.set_num_threads(2)

Errors raise kiln.CompileError (with the compiler's located diagnostics) or
kiln.RuntimeError (kiln.InvalidInputError for inputs that do not match the
signature), both kiln.Error. See docs/embedding.md.
"""
from ._compile import compile
from ._context import get_num_threads, set_num_threads
from ._errors import CompileError, Error, InvalidInputError, RuntimeError
from ._module import Module, TensorInfo, load

__version__ = "0.1.0"

__all__ = [
    "compile",
    "load",
    "Module",
    "TensorInfo",
    "set_num_threads",
    "get_num_threads",
    "Error",
    "CompileError",
    "RuntimeError",
    "InvalidInputError",
]

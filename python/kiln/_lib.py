"""Finds and loads kiln's shared libraries and declares their C functions
for ctypes: the runtime (libkiln_runtime.so.1, kiln/runtime.h) and the
compiler C API (libkiln_compiler.so.1, kiln-c/compiler.h).

The libraries are looked for, in order, in
  1. the directory named by the KILN_LIBRARY_DIR environment variable (only
     there, when it is set);
  2. the install prefix this package was installed into (``make install``
     writes its location into ``_install.py``);
  3. ``build/lib`` of the source tree holding this package (after
     ``make build``, ``PYTHONPATH=python python3 -c "import kiln"`` works).

The runtime loads on first use; the compiler (which pulls in libMLIR and
libLLVM) only when something is compiled, so running an artifact needs the
runtime alone.
"""
import ctypes
import os
import pathlib
import threading

from . import _errors

_HERE = pathlib.Path(__file__).resolve().parent
RUNTIME_NAME = "libkiln_runtime.so.1"
COMPILER_NAME = "libkiln_compiler.so.1"
MAX_RANK = 16


class Tensor(ctypes.Structure):
    """kiln_tensor."""
    _fields_ = [
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
        ("data", ctypes.c_void_p),
        ("size_bytes", ctypes.c_size_t),
    ]


def candidate_dirs():
    """The directories searched for the libraries, in order."""
    env = os.environ.get("KILN_LIBRARY_DIR")
    if env:
        return [pathlib.Path(env)]
    dirs = []
    try:
        from . import _install
        dirs.append((_HERE / _install.LIBRARY_DIR).resolve())
    except ImportError:
        pass
    dirs.append(_HERE.parent.parent / "build" / "lib")
    return dirs


def _find(name):
    for d in candidate_dirs():
        if (d / name).is_file():
            return d / name
    raise _errors.Error(
        "cannot find %s (looked in %s): build kiln with `make build`, install "
        "it with `make install`, or set KILN_LIBRARY_DIR to the directory "
        "holding it" % (name, ", ".join(str(d) for d in candidate_dirs())))


_lock = threading.Lock()
_runtime = None
_compiler = None

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int


def _declare(lib, table):
    for name, restype, argtypes in table:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_RUNTIME_FUNCTIONS = [
    ("kiln_status_get_code", _I, [_P]),
    ("kiln_status_get_message", _S, [_P]),
    ("kiln_status_free", None, [_P]),
    ("kiln_free", None, [_P]),
    ("kiln_context_create", _P, [_I, ctypes.POINTER(_P)]),
    ("kiln_context_num_threads", _I, [_P]),
    ("kiln_context_destroy", None, [_P]),
    ("kiln_model_load", _P, [_S, ctypes.POINTER(_P)]),
    ("kiln_model_free", None, [_P]),
    ("kiln_model_num_entries", _I, [_P]),
    ("kiln_model_entry_name", _S, [_P, _I]),
    ("kiln_model_find_entry", _I, [_P, _S]),
    ("kiln_model_num_inputs", _I, [_P, _I]),
    ("kiln_model_num_outputs", _I, [_P, _I]),
    ("kiln_model_workspace_bytes", ctypes.c_int64, [_P, _I]),
    ("kiln_model_input_info", _P,
     [_P, _I, _I, ctypes.POINTER(_S), ctypes.POINTER(Tensor)]),
    ("kiln_model_output_info", _P,
     [_P, _I, _I, ctypes.POINTER(_S), ctypes.POINTER(Tensor)]),
    ("kiln_model_run", _P,
     [_P, _P, _I, ctypes.POINTER(Tensor), _I, ctypes.POINTER(Tensor), _I]),
]

_COMPILER_FUNCTIONS = [
    ("kiln_compiler_api_version", _I, []),
    ("kiln_compiler_status_get_code", _I, [_P]),
    ("kiln_compiler_status_get_message", _S, [_P]),
    ("kiln_compiler_status_free", None, [_P]),
    ("kiln_compiler_create", _P, [ctypes.POINTER(_P)]),
    ("kiln_compiler_destroy", None, [_P]),
    ("kiln_compiler_set_target", _P, [_P, _S]),
    ("kiln_compiler_set_cpu", _P, [_P, _S, _S]),
    ("kiln_compiler_set_opt_level", _P, [_P, _I]),
    ("kiln_compiler_set_ukernels", _P, [_P, _I]),
    ("kiln_compiler_set_lower_fused_ops", _P, [_P, _I]),
    ("kiln_compiler_set_quantization", _P, [_P, _S, _I, _I, _S]),
    ("kiln_compiler_set_dtype", _P, [_P, _S]),
    ("kiln_compiler_add_input_shape", _P,
     [_P, _S, ctypes.c_int32, ctypes.POINTER(ctypes.c_int64)]),
    ("kiln_compiler_bind_input", _P, [_P, _S, _S]),
    ("kiln_compiler_clear_inputs", None, [_P]),
    ("kiln_compiler_compile_file", _P, [_P, _S, _S, _S]),
    ("kiln_compiler_jit_file", _P, [_P, _S, ctypes.POINTER(_P)]),
    ("kiln_compiler_jit_buffer", _P,
     [_P, ctypes.c_void_p, ctypes.c_size_t, _S, ctypes.POINTER(_P)]),
    ("kiln_compiler_get_diagnostics", _S, [_P]),
]

COMPILER_API_VERSION = 1


def runtime():
    """The runtime library (loaded on first use)."""
    global _runtime
    with _lock:
        if _runtime is None:
            lib = ctypes.CDLL(str(_find(RUNTIME_NAME)))
            _declare(lib, _RUNTIME_FUNCTIONS)
            _runtime = lib
        return _runtime


def compiler():
    """The compiler C API library (loaded on first use). It is loaded from
    the runtime's directory, so both share one runtime."""
    global _compiler
    rt = runtime()
    with _lock:
        if _compiler is None:
            path = pathlib.Path(rt._name).parent / COMPILER_NAME
            if not path.is_file():
                raise _errors.Error(
                    "cannot find %s next to %s: was kiln built completely?" %
                    (COMPILER_NAME, rt._name))
            lib = ctypes.CDLL(str(path))
            _declare(lib, _COMPILER_FUNCTIONS)
            version = lib.kiln_compiler_api_version()
            if version != COMPILER_API_VERSION:
                raise _errors.Error(
                    "%s has compiler API version %d; this package needs %d" %
                    (path, version, COMPILER_API_VERSION))
            _compiler = lib
        return _compiler


def check_runtime(status, cls=None):
    """Raises the runtime's failed `status` (a kiln_status pointer) as `cls`
    (kiln.RuntimeError by default), after freeing it."""
    if not status:
        return
    rt = runtime()
    code = rt.kiln_status_get_code(status)
    message = rt.kiln_status_get_message(status).decode("utf-8", "replace")
    rt.kiln_status_free(status)
    raise _errors.from_status(code, message, cls or _errors.RuntimeError)


def check_compiler(status):
    """Raises the compiler's failed `status` as kiln.CompileError."""
    if not status:
        return
    lib = compiler()
    code = lib.kiln_compiler_status_get_code(status)
    message = lib.kiln_compiler_status_get_message(status).decode(
        "utf-8", "replace")
    lib.kiln_compiler_status_free(status)
    raise _errors.from_status(code, message, _errors.CompileError)

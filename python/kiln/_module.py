"""Compiled models as Python callables over numpy arrays."""
import ctypes
import os
import shutil
from typing import NamedTuple, Tuple

import numpy as np

from . import _context, _dtypes, _errors, _lib


class TensorInfo(NamedTuple):
    """One input or output of a module's entry point."""
    name: str
    dtype: np.dtype  # numpy's (bf16: uint16 holding the raw bits)
    shape: Tuple[int, ...]
    kiln_dtype: str  # the runtime's name: "f32", "i64", "bf16", ...

    def __repr__(self):
        return "TensorInfo(%r, %s, %s)" % (self.name, self.kiln_dtype,
                                           list(self.shape))


class _Model:
    """Owns a kiln_model (and the directory of an artifact compiled into a
    temporary place); freed when the last Module using it goes."""

    def __init__(self, handle, artifact=None, tmpdir=None):
        self._rt = _lib.runtime()
        self.handle = handle
        self.artifact = artifact
        self._tmpdir = tmpdir

    def __del__(self):
        handle = getattr(self, "handle", None)
        if handle:
            self._rt.kiln_model_free(handle)
            self.handle = None
        if getattr(self, "_tmpdir", None):
            self._tmpdir.cleanup()


def _signature(rt, handle, entry, count, info_fn):
    infos = []
    for i in range(count(handle, entry)):
        name = ctypes.c_char_p()
        t = _lib.Tensor()
        _lib.check_runtime(
            info_fn(handle, entry, i, ctypes.byref(name), ctypes.byref(t)))
        kind, dtype = _dtypes.to_numpy(t.dtype)
        infos.append(
            TensorInfo(name.value.decode(), dtype,
                       tuple(t.shape[d] for d in range(t.rank)), kind))
    return tuple(infos)


def _tensor(array, info):
    """The kiln_tensor of `array`, which has `info`'s dtype and shape."""
    t = _lib.Tensor()
    t.dtype = _dtypes.code(info.kiln_dtype)
    t.rank = array.ndim
    for d, n in enumerate(array.shape):
        t.shape[d] = n
    t.data = array.ctypes.data
    t.size_bytes = array.nbytes
    return t


class Module:
    """A compiled model's entry point, called with numpy arrays:

        y = module(x)            # one output: an array
        y0, y1 = module(a, b)    # several: a tuple
        y = module(x=x)          # inputs by name

    Inputs must have the dtypes and shapes of ``module.inputs``. A C-contiguous
    array of the right dtype is passed to the compiled code as it is, and
    outputs are written straight into the arrays returned (or into ``out``,
    see ``run``): nothing is copied. Non-array inputs (lists, scalars, CPU
    torch tensors) are converted to the input's dtype; an array of another
    dtype is an error (kiln.InvalidInputError), not silently cast.

    A module may be called from several threads at once. Its parallel loops
    run on the default thread pool (``kiln.set_num_threads``) or on its own
    (``num_threads``).
    """

    def __init__(self, model, entry=0, num_threads=None):
        self._model = model
        self._rt = _lib.runtime()
        h = model.handle
        if not 0 <= entry < self._rt.kiln_model_num_entries(h):
            raise _errors.Error("the model has no entry point %r" % entry)
        self._entry = entry
        self._context = None
        self.inputs = _signature(self._rt, h, entry,
                                 self._rt.kiln_model_num_inputs,
                                 self._rt.kiln_model_input_info)
        self.outputs = _signature(self._rt, h, entry,
                                  self._rt.kiln_model_num_outputs,
                                  self._rt.kiln_model_output_info)
        if num_threads is not None:
            self.num_threads = num_threads

    # -- Introspection ----------------------------------------------------

    @property
    def name(self):
        """The entry point's name."""
        return self._rt.kiln_model_entry_name(self._model.handle,
                                              self._entry).decode()

    @property
    def entry_points(self):
        """The names of every entry point of the model."""
        h = self._model.handle
        return [
            self._rt.kiln_model_entry_name(h, i).decode()
            for i in range(self._rt.kiln_model_num_entries(h))
        ]

    def entry(self, name):
        """The module for entry point `name` of the same model (sharing its
        code, weights and thread pool)."""
        index = self._rt.kiln_model_find_entry(self._model.handle,
                                               name.encode())
        if index < 0:
            raise _errors.Error("the model has no entry point '%s' (it has: "
                                "%s)" % (name, ", ".join(self.entry_points)))
        m = Module(self._model, index)
        m._context = self._context
        return m

    @property
    def workspace_bytes(self):
        """Scratch memory one run takes."""
        return self._rt.kiln_model_workspace_bytes(self._model.handle,
                                                   self._entry)

    @property
    def artifact(self):
        """The path of the .so this module was loaded from, or None for a
        JIT-compiled module."""
        return self._model.artifact

    # -- Threads ----------------------------------------------------------

    @property
    def num_threads(self):
        """Threads of the pool this module runs on. Setting it gives the
        module a pool of its own (0: one thread per online core); None
        returns it to the default pool."""
        return (self._context or _context.default_context()).num_threads

    @num_threads.setter
    def num_threads(self, n):
        self._context = None if n is None else _context.Context(n)

    # -- Running ----------------------------------------------------------

    def __call__(self, *args, **kwargs):
        outs = self.run(*args, **kwargs)
        return outs[0] if len(outs) == 1 else outs

    def run(self, *args, out=None, **kwargs):
        """Runs the entry point; returns a tuple with every output. `out`,
        when given, is a sequence of arrays (C-contiguous, with the outputs'
        dtypes and shapes) the outputs are written into and returned."""
        arrays = self._inputs(args, kwargs)
        outputs = self._outputs(out)
        ins = (_lib.Tensor * max(len(arrays), 1))(
            *map(_tensor, arrays, self.inputs))
        outs = (_lib.Tensor * max(len(outputs), 1))(
            *map(_tensor, outputs, self.outputs))
        context = self._context or _context.default_context()
        # ctypes releases the GIL for the call: runs from several Python
        # threads proceed in parallel.
        _lib.check_runtime(
            self._rt.kiln_model_run(self._model.handle, context.handle,
                                    self._entry, ins, len(arrays), outs,
                                    len(outputs)))
        return tuple(outputs)

    def _inputs(self, args, kwargs):
        n = len(self.inputs)
        names = [i.name for i in self.inputs]
        if kwargs:
            unknown = [k for k in kwargs if k not in names]
            if unknown:
                raise _errors.InvalidInputError(
                    "%s has no input named %s (its inputs: %s)" %
                    (self.name, ", ".join(map(repr, unknown)),
                     ", ".join(names)))
            given = list(args) + [None] * (n - len(args))
            for k, v in kwargs.items():
                i = names.index(k)
                if i < len(args):
                    raise _errors.InvalidInputError(
                        "input '%s' given both by position and by name" % k)
                given[i] = v
            missing = [names[i] for i, v in enumerate(given) if v is None]
            if missing or len(args) > n:
                raise _errors.InvalidInputError(
                    "%s takes %d inputs (%s); missing: %s" %
                    (self.name, n, ", ".join(names), ", ".join(missing)))
            args = given
        if len(args) != n:
            raise _errors.InvalidInputError(
                "%s takes %d inputs (%s), %d given" %
                (self.name, n, ", ".join(names), len(args)))
        return [_check(a, info, "input") for a, info in zip(args, self.inputs)]

    def _outputs(self, out):
        if out is None:
            return [np.empty(o.shape, o.dtype) for o in self.outputs]
        out = list(out)
        if len(out) != len(self.outputs):
            raise _errors.InvalidInputError(
                "%s has %d outputs, %d arrays given in out" %
                (self.name, len(self.outputs), len(out)))
        for a, info in zip(out, self.outputs):
            if not isinstance(a, np.ndarray) or not a.flags.c_contiguous or \
                    not a.flags.writeable:
                raise _errors.InvalidInputError(
                    "out array for output '%s' must be a writable, "
                    "C-contiguous numpy array" % info.name)
            _check(a, info, "output")
        return out

    # -- Saving -----------------------------------------------------------

    def save(self, path):
        """Writes the compiled artifact (.so) to `path`; it loads with
        kiln.load, kiln-run or the runtime's C API. Only modules compiled
        ahead of time have one: compile with ``kiln.compile(..., aot=True)``
        or ``output="model.so"``, or load one with kiln.load."""
        if self._model.artifact is None:
            raise _errors.Error(
                "this module was JIT-compiled and has no artifact to save: "
                "compile it with kiln.compile(..., aot=True) or "
                "kiln.compile(..., output='model.so')")
        if os.path.abspath(path) != os.path.abspath(self._model.artifact):
            shutil.copyfile(self._model.artifact, path)

    def __repr__(self):
        return "<kiln.Module %s(%s) -> (%s)%s>" % (
            self.name, ", ".join(map(repr, self.inputs)), ", ".join(
                map(repr, self.outputs)),
            " from %s" % self.artifact if self.artifact else " (JIT)")


def _check(value, info, what):
    """`value` as an array matching `info`, or InvalidInputError."""
    if isinstance(value, np.ndarray):
        if value.dtype != info.dtype:
            raise _errors.InvalidInputError(
                "%s '%s' must have dtype %s (%s), got %s" %
                (what, info.name, info.dtype, info.kiln_dtype, value.dtype))
        array = np.ascontiguousarray(value)  # a copy only when strided
    else:
        try:
            array = np.ascontiguousarray(np.asarray(value, dtype=info.dtype))
        except (TypeError, ValueError) as e:
            raise _errors.InvalidInputError(
                "%s '%s' cannot be converted to %s: %s" %
                (what, info.name, info.dtype, e)) from None
    if array.shape != info.shape:
        raise _errors.InvalidInputError(
            "%s '%s' must have shape %s, got %s" %
            (what, info.name, list(info.shape), list(array.shape)))
    return array


def load(path, num_threads=None, entry=None):
    """Loads an artifact compiled ahead of time (a .so from kiln-compile,
    ``kiln.compile(..., output=...)`` or ``Module.save``). Needs the runtime
    library only. `entry` names the entry point (default: the first)."""
    rt = _lib.runtime()
    path = os.fspath(path)
    handle = ctypes.c_void_p()
    _lib.check_runtime(
        rt.kiln_model_load(path.encode(), ctypes.byref(handle)))
    module = Module(_Model(handle, artifact=os.path.abspath(path)),
                    num_threads=num_threads)
    return module.entry(entry) if entry is not None else module

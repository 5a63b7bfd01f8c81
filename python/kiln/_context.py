"""Thread pools (kiln_context): the threads a model's parallel loops run on.

Modules share one default pool, sized with ``set_num_threads`` (one thread
per online core until then); a module given its own ``num_threads`` gets a
pool of its own. A pool serves several runs at once: a run that finds it
busy runs its loops on the calling thread.
"""
import ctypes
import threading

from . import _lib


class Context:
    """A kiln_context of `num_threads` threads (0: one per online core); it
    is destroyed when the last module or run using it lets go of it."""

    def __init__(self, num_threads=0):
        if isinstance(num_threads, bool) or not isinstance(num_threads, int):
            raise TypeError("num_threads must be an int, not %s" %
                            type(num_threads).__name__)
        if num_threads < 0:
            raise ValueError("num_threads must be >= 0 (0: one per core), "
                             "got %d" % num_threads)
        rt = _lib.runtime()
        handle = ctypes.c_void_p()
        _lib.check_runtime(
            rt.kiln_context_create(num_threads, ctypes.byref(handle)))
        self._rt = rt
        self.handle = handle

    @property
    def num_threads(self):
        return self._rt.kiln_context_num_threads(self.handle)

    def __del__(self):
        handle = getattr(self, "handle", None)
        if handle:
            self._rt.kiln_context_destroy(handle)
            self.handle = None


_lock = threading.Lock()
_default = None


def default_context():
    """The pool modules without a num_threads of their own run on."""
    global _default
    with _lock:
        if _default is None:
            _default = Context(0)
        return _default


def set_num_threads(num_threads):
    """Sizes the default thread pool: `num_threads` threads, the calling
    one included (0: one per online core). Runs already under way finish on
    the old pool."""
    global _default
    context = Context(num_threads)
    with _lock:
        _default = context


def get_num_threads():
    """The number of threads of the default pool."""
    return default_context().num_threads

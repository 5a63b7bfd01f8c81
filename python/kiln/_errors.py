"""kiln's exceptions. Every error the compiler or the runtime reports becomes
one of these, carrying the message (for the compiler: its diagnostics, with
locations) and the status code."""
import builtins

# kiln_status_code values (kiln/runtime.h), by name.
STATUS_CODES = {
    0: "ok",
    1: "invalid_argument",
    2: "io_error",
    3: "format_error",
    4: "out_of_memory",
    5: "unsupported",
    6: "internal",
    7: "device_error",
}


class Error(Exception):
    """The base of kiln's exceptions. ``code`` is the status code's name
    ("invalid_argument", "io_error", "format_error", "unsupported", ...) or
    None for errors found in Python."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


class CompileError(Error):
    """Compiling a model failed. ``diagnostics`` holds the compiler's
    messages as text, one located diagnostic per line
    ("model.mlir:3:8: error: ...")."""

    @property
    def diagnostics(self):
        return self.message


class RuntimeError(Error, builtins.RuntimeError):
    """Loading or running a compiled model failed."""


class InvalidInputError(RuntimeError, ValueError):
    """The inputs (or output buffers) given to a module do not match its
    signature: count, names, dtypes or shapes."""


def from_status(code, message, cls):
    """The exception of class `cls` for a status `code` and `message`."""
    return cls(message, STATUS_CODES.get(code, "code %d" % code))

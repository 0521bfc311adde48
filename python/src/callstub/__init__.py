"""callstub: ctypes declarations checked against the library's debug info (DWARF), over
libcallstub. `check(function)` raises TypeError when a ctypes function's `argtypes` and
`restype` (and the records they reach) disagree with the library in a way that changes
the call. See docs/python.md in the repository."""

import ctypes
import threading

from . import _native
from ._declarations import Declarations

__all__ = ["check", "declaration_of"]

_libraries = {}
_libraries_lock = threading.Lock()


def _library(path):
    with _libraries_lock:
        library = _libraries.get(path)
        if library is None:
            library = _libraries[path] = _native.open_library(path)
        return library


def _address(function):
    return ctypes.cast(function, ctypes.c_void_p).value


def declaration_of(function):
    """The C declaration (records first, then the prototype) that `function`'s ctypes
    `restype` and `argtypes` say. `argtypes` unset: TypeError (ctypes would convert each
    Python argument by its own type, unchecked)."""
    name = getattr(function, "__name__", None)
    if not name:
        raise TypeError("not a ctypes function of a library (it has no name)")
    if function.argtypes is None:
        raise TypeError(f"{name}: argtypes is not set, so ctypes would pass each argument by its Python type; "
                        "set argtypes (a list of ctypes types, [] for none)")
    declarations = Declarations()
    prototype = declarations.prototype(name, function.restype, function.argtypes)
    return declarations.text(prototype)


def check(function, strict=False):
    """Checks a ctypes function (`ctypes.CDLL(...).name` with `argtypes` and `restype`)
    against the debug info of the library it comes from. Returns the report when they
    agree; raises TypeError with the report when they differ in a way that changes the
    call (with `strict`, in any way), and LookupError when the library has no debug info
    for the function."""
    declaration = declaration_of(function)
    path = _native.file_of(_address(function))
    if path is None:
        raise LookupError(f"{function.__name__}: no loaded library holds its address")
    status, report = _native.check(_library(path), declaration, strict)
    if status != "CALLSTUB_OK":
        raise TypeError(f"{function.__name__}: the ctypes declaration disagrees with {path}:\n{report}")
    return report

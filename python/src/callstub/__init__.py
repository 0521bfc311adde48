"""callstub: ctypes declarations checked against the library's debug info (DWARF), over
libcallstub. `check(function)` raises TypeError when a ctypes function's `argtypes` and
`restype` (and the records they reach) disagree with the library in a way that changes
the call. See docs/python.md in the repository."""

import ctypes
import difflib
import threading

from . import _native
from ._declarations import Declarations

__all__ = ["check", "declaration_of", "strict"]

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


# The attributes a ctypes function uses; anything else set on one is ignored by ctypes.
_CTYPES_ATTRIBUTES = ("argtypes", "restype", "errcheck")


def _misspelled(function):
    """Attributes set on a ctypes function that ctypes does not know (`.argtype = ...`)."""
    return [name for name in vars(function) if not name.startswith("_") and name not in _CTYPES_ATTRIBUTES]


class _CheckedFunction:
    """A ctypes function checked against the debug info on its first call (and again after
    its `argtypes` or `restype` change); everything else is the function's own."""

    def __init__(self, function, strict):
        object.__setattr__(self, "_function", function)
        object.__setattr__(self, "_strict", strict)
        object.__setattr__(self, "_checked", False)

    def __getattr__(self, name):
        return getattr(self._function, name)

    def __setattr__(self, name, value):
        setattr(self._function, name, value)
        object.__setattr__(self, "_checked", False)

    def __call__(self, *arguments):
        if not self._checked:
            for name in _misspelled(self._function):
                close = difflib.get_close_matches(name, _CTYPES_ATTRIBUTES, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise TypeError(f"{self._function.__name__}: {name} is not a ctypes attribute, ctypes ignores it{hint}")
            check(self._function, self._strict)
            object.__setattr__(self, "_checked", True)
        return self._function(*arguments)


class _StrictLibrary:
    """A ctypes library whose functions are checked on their first call (see `strict`)."""

    def __init__(self, library, strict):
        self._library = library
        self._strict = strict
        self._functions = {}
        self._lock = threading.Lock()

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name):
        with self._lock:
            function = self._functions.get(name)
            if function is None:
                function = self._functions[name] = _CheckedFunction(self._library[name], self._strict)
            return function

    def __repr__(self):
        return f"callstub.strict({self._library!r})"


def strict(library, strict=False):
    """`library` (a `ctypes.CDLL`) with each function checked against the debug info on its
    first call: a declaration that disagrees raises TypeError before anything is called, and
    so do `argtypes` never set and attributes ctypes ignores (`.argtype = ...`). A function
    is checked again after its `argtypes` or `restype` change. `strict=True`: as for `check`."""
    return _StrictLibrary(library, strict)

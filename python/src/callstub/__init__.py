"""callstub: C functions called from Python through JIT-compiled stubs, with signatures
read from the library's debug info (DWARF) or given as C declarations, and ctypes
declarations checked against that debug info, over libcallstub.

- `CDLL(path)`: a library whose attributes are its functions, bound from the debug info
  (or from declarations given to `cdef`) and called with Python values.
- `Callback(declaration, function)`: a C function pointer calling a Python callable.
- `check(function)` / `strict(ctypes.CDLL(...))`: ctypes declarations checked.

See docs/python.md in the repository."""

import ctypes
import difflib
import threading

from . import _native
from ._declarations import Declarations

__all__ = ["CDLL", "Callback", "Function", "Record", "RecordType", "check", "declaration_of", "function", "get_errno",
           "strict"]

Callback = _native.Callback
Function = _native.Function
Record = _native.Record
RecordType = _native.RecordType
get_errno = _native.get_errno

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


# ---- Fast calls ----------------------------------------------------------------------

_BACKENDS = {"auto": 0, "jit": _native.BACKEND_JIT, "libffi": _native.BACKEND_LIBFFI}


def _flags(backend, eager, use_errno, verify):
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(_BACKENDS)}, not {backend!r}")
    if verify not in ("abi", "strict", "off"):
        raise ValueError(f"verify must be 'abi', 'strict' or 'off', not {verify!r}")
    flags = _BACKENDS[backend]
    if eager:
        flags |= _native.TIER_EAGER
    if use_errno:
        flags |= _native.CAPTURE_ERRNO
    if verify == "strict":
        flags |= _native.VERIFY_STRICT
    elif verify == "off":
        flags |= _native.VERIFY_OFF
    return flags


_CTYPES_POINTERS = (ctypes._Pointer, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_wchar_p, ctypes._CFuncPtr)
_BYREF = type(ctypes.byref(ctypes.c_int()))
_CTYPES_CLASSES = (ctypes._SimpleCData, ctypes.Structure, ctypes.Union, ctypes.Array, ctypes._Pointer, ctypes._CFuncPtr,
                   _BYREF)


def _ctypes_address(value):
    """The address a ctypes object stands for as a pointer argument: a pointer's value,
    byref()'s (its object's address plus its offset), any other instance's own memory."""
    if isinstance(value, (_BYREF,) + _CTYPES_POINTERS):
        return ctypes.cast(value, ctypes.c_void_p).value or 0
    return ctypes.addressof(value)


_native.set_pointer_adapter(_ctypes_address, _CTYPES_CLASSES)


class CDLL:
    """A shared library whose attributes are its functions, called through CallStub.

    `CDLL("libm.so.6").cos(0.5)`: the signature of each function comes from the
    declarations given to `cdef` (checked against the debug info where there is some), or
    else from the library's debug info (DWARF). Functions are bound on first use.

    - backend: "auto" (libffi first, the JIT stub after 1,000 calls, or at once with
      eager=True), "jit" or "libffi".
    - use_errno: each call sets errno to 0 first and keeps what the function left;
      `callstub.get_errno()` reads it.
    - verify: "abi" (declarations that change the call are refused), "strict" (any
      difference from the debug info), or "off".
    - release_gil: let other Python threads run during calls (for functions that block);
      settable per function (`lib.f.__self__.release_gil = True`).

    Each function is a builtin function (its __doc__ is the C prototype); its __self__
    is the callstub.Function with `declaration`, `backend`, `verification`, `plan` and
    `release_gil`.
    """

    def __init__(self, name, *, backend="auto", eager=False, use_errno=False, verify="abi", release_gil=False):
        self._name = name
        self._flags = _flags(backend, eager, use_errno, verify)
        self._release_gil = release_gil
        self._handle = _native.open_library(name)
        self._records = {}
        self._kept = []
        self._lock = threading.Lock()

    def keep(self, callback):
        """Keeps `callback` (a callstub.Callback) alive as long as this object, for a pointer
        the library keeps beyond the call it was given in (a registered handler). Returns it."""
        if not isinstance(callback, Callback):
            raise TypeError(f"keep() takes a callstub.Callback, not {type(callback).__name__}")
        with self._lock:
            self._kept.append(callback)
        return callback

    def cdef(self, declarations):
        """Adds C declarations (typedefs, structs, unions, enums, prototypes; no
        preprocessor lines) that functions are then bound with."""
        with self._lock:
            _native.declare(self._handle, declarations)

    def include(self, *headers, arguments=()):
        """Adds the declarations of real headers, preprocessed by the system's C compiler
        (`cc -E`) as `#include <header>` each: `lib.include("math.h")`. `arguments` go to
        the preprocessor first: "-DNAME=VALUE", "-I/dir", "-std=gnu11"."""
        with self._lock:
            _native.include(self._handle, list(headers), list(arguments))

    def function(self, name, declaration=None):
        """The function `name`, bound with `declaration` (a prototype, after any types it
        uses) or else as `cdef` and the debug info say. Not cached: attributes are."""
        return _native.bind(self._handle, name, declaration, self._flags, self._records, self._release_gil)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        with self._lock:
            bound = self.__dict__.get(name)
            if bound is None:
                try:
                    bound = self.function(name)
                except LookupError as error:
                    raise AttributeError(f"{self._name}: {error}") from error
                self.__dict__[name] = bound
            return bound

    def __getitem__(self, name):
        return getattr(self, name)

    def record(self, name):
        """The record type `name` ("struct P2d", or a typedef name such as "div_t") of a
        function bound so far; calling it makes a record: `lib.record("div_t")(quot=1)`."""
        record = self._records.get(name)
        if record is None:
            for known in self._records.values():
                if known.name.split()[-1] == name:
                    return known
            raise KeyError(f"{name}: no function bound from {self._name} so far uses this record "
                           f"(known: {', '.join(sorted(self._records)) or 'none'})")
        return record

    def __repr__(self):
        return f"callstub.CDLL({self._name!r})"


def function(address, declaration, *, backend="auto", eager=False, use_errno=False, release_gil=False):
    """A C function pointer (an int address) bound with its declaration (a prototype, or a
    type name such as "int (*)(int)"): nothing checks it, and nothing keeps the code loaded."""
    return _native.bind_address(address, declaration, _flags(backend, eager, use_errno, "abi"), {}, release_gil)

"""ctypes declarations written as C: the text libcallstub checks against the debug info."""

import ctypes

# ctypes' simple types by their type code (ctypes' `_type_`), as C spells them on Linux.
_SIMPLE = {
    "c": "char", "b": "signed char", "B": "unsigned char", "h": "short", "H": "unsigned short",
    "i": "int", "I": "unsigned int", "l": "long", "L": "unsigned long", "q": "long long",
    "Q": "unsigned long long", "f": "float", "d": "double", "g": "long double", "?": "_Bool",
    "z": "char *", "Z": "wchar_t *", "P": "void *", "u": "wchar_t",
}

_FUNCTION_POINTER = type(ctypes.CFUNCTYPE(None))
_POINTER = type(ctypes.POINTER(ctypes.c_int))
_ARRAY = type(ctypes.c_int * 1)


class Declarations:
    """The C text of ctypes types: record definitions in dependency order, then a prototype."""

    def __init__(self):
        self.definitions = []
        self._records = {}

    def spell(self, ctype, name=""):
        """`ctype` as a C declarator around `name` (`int x`, `struct P *p`, `double a[3]`)."""
        suffix = f" {name}" if name else ""
        if ctype is None:
            return "void" + suffix
        if isinstance(ctype, _ARRAY):
            # A pointer to an array needs parentheses: `int (*p)[4]`, not `int *p[4]`.
            inner = f"({name})" if name.startswith("*") else name
            return self.spell(ctype._type_, f"{inner}[{ctype._length_}]")
        if isinstance(ctype, _POINTER):
            return self.spell(ctype._type_, f"*{name}")
        if isinstance(ctype, _FUNCTION_POINTER):
            parameters = ", ".join(self.spell(argument) for argument in ctype._argtypes_) or "void"
            return self.spell(ctype._restype_, f"(*{name})({parameters})")
        if issubclass(ctype, (ctypes.Structure, ctypes.Union)):
            return self.record(ctype) + suffix
        code = getattr(ctype, "_type_", None)
        if isinstance(code, str) and code in _SIMPLE:
            text = _SIMPLE[code]
            if text.endswith("*"):
                return text + name if name else text
            return text + suffix
        raise TypeError(f"{ctype.__name__}: no C type for this ctypes type")

    def record(self, ctype):
        """`struct Name` / `union Name`, defined on first use (after what it contains)."""
        if ctype in self._records:
            return self._records[ctype]
        keyword = "union" if issubclass(ctype, ctypes.Union) else "struct"
        tag = f"{keyword} {ctype.__name__}"
        self._records[ctype] = tag
        members = []
        for field in getattr(ctype, "_fields_", []):
            field_name, field_type = field[0], field[1]
            text = self.spell(field_type, field_name)
            if len(field) > 2:
                text += f" : {field[2]}"
            members.append(text + ";")
        definition = f"{tag} {{ {' '.join(members)} }};"
        pack = getattr(ctype, "_pack_", None)
        if pack:
            definition = f"#pragma pack(push, {pack})\n{definition}\n#pragma pack(pop)"
        self.definitions.append(definition)
        return tag

    def prototype(self, name, restype, argtypes, variadic=False):
        parameters = [self.spell(argument) for argument in argtypes]
        if variadic:
            parameters.append("...")
        return f"{self.spell(restype, name)}({', '.join(parameters) or 'void'});"

    def text(self, prototype):
        return "\n".join(self.definitions + [prototype])

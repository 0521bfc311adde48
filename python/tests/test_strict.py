"""callstub.strict: each function checked on its first call, misspelled attributes and
unset argtypes included."""

import ctypes

import pytest

import callstub


def test_a_correct_declaration_is_called():
    libm = callstub.strict(ctypes.CDLL("libm.so.6"))
    libm.pow.argtypes = [ctypes.c_double, ctypes.c_double]
    libm.pow.restype = ctypes.c_double
    assert libm.pow(2.0, 10.0) == 1024.0
    assert libm.pow(3.0, 2.0) == 9.0


def test_a_wrong_declaration_raises_before_the_call():
    libm = callstub.strict(ctypes.CDLL("libm.so.6"))
    libm.ldexp.argtypes = [ctypes.c_double, ctypes.c_double]
    libm.ldexp.restype = ctypes.c_double
    with pytest.raises(TypeError, match="argument 2: declared double, actual int"):
        libm.ldexp(1.0, 3.0)
    libm.ldexp.argtypes = [ctypes.c_double, ctypes.c_int]  # fixed: checked again, then called
    assert libm.ldexp(1.0, 3) == 8.0


def test_a_misspelled_attribute_is_named():
    libm = callstub.strict(ctypes.CDLL("libm.so.6"))
    libm.cbrt.argtype = [ctypes.c_double]
    libm.cbrt.restype = ctypes.c_double
    with pytest.raises(TypeError, match="argtype is not a ctypes attribute.*did you mean argtypes"):
        libm.cbrt(27.0)


def test_argtypes_never_set_raises():
    libc = callstub.strict(ctypes.CDLL("libc.so.6"))
    with pytest.raises(TypeError, match="argtypes is not set"):
        libc.abs(-3)

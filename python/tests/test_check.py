"""callstub.check against the debug info of glibc (libc6-dbg) and of a fixture library
built here with -g: correct ctypes declarations pass, ABI-changing ones raise TypeError
naming the place, and a library without debug info raises LookupError."""

import ctypes
import ctypes.util
import os
import subprocess
import tempfile

import pytest

import callstub

FIXTURE_SOURCE = r"""
struct Pair { int quot; int rem; };
struct Bits { unsigned a : 3; unsigned b : 5; int c; };
#pragma pack(push, 1)
struct Packed { char c; double d; };
#pragma pack(pop)
struct Pair make_pair(int a, int b) { struct Pair p = {a / b, a % b}; return p; }
int bits_sum(struct Bits b) { return b.a + b.b + b.c; }
double packed_d(struct Packed *p) { return p->d; }
double packed_by_value(struct Packed p) { return p.d; }
long scale(long x, double factor) { return (long)(x * factor); }
int first_of(int (*rows)[4]) { return rows[0][0]; }
"""


@pytest.fixture(scope="module")
def fixture():
    directory = tempfile.mkdtemp(prefix="callstub-python-")
    source = os.path.join(directory, "fixture.c")
    library = os.path.join(directory, "libfixture.so")
    with open(source, "w") as handle:
        handle.write(FIXTURE_SOURCE)
    subprocess.run(["cc", "-g", "-O1", "-shared", "-fPIC", source, "-o", library], check=True)
    return ctypes.CDLL(library)


class Pair(ctypes.Structure):
    _fields_ = [("quot", ctypes.c_int), ("rem", ctypes.c_int)]


class Bits(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint, 3), ("b", ctypes.c_uint, 5), ("c", ctypes.c_int)]


class Packed(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("c", ctypes.c_char), ("d", ctypes.c_double)]


def declare(function, restype, argtypes):
    function.restype = restype
    function.argtypes = argtypes
    return function


def test_pow_with_an_int_exponent_is_refused_naming_argument_2():
    libm = ctypes.CDLL("libm.so.6")
    declare(libm.pow, ctypes.c_double, [ctypes.c_double, ctypes.c_int])
    with pytest.raises(TypeError, match=r"argument 2: declared int, actual double"):
        callstub.check(libm.pow)


def test_correct_glibc_declarations_pass():
    libm = ctypes.CDLL("libm.so.6")
    assert "verified" in callstub.check(declare(libm.pow, ctypes.c_double, [ctypes.c_double, ctypes.c_double]))
    libc = ctypes.CDLL("libc.so.6")
    assert "verified" in callstub.check(declare(libc.strlen, ctypes.c_size_t, [ctypes.c_char_p]))
    assert "verified" in callstub.check(declare(libc.abs, ctypes.c_int, [ctypes.c_int]))


def test_records_by_value_and_through_pointers(fixture):
    assert "verified" in callstub.check(declare(fixture.make_pair, Pair, [ctypes.c_int, ctypes.c_int]))
    assert "verified" in callstub.check(declare(fixture.bits_sum, ctypes.c_int, [Bits]))
    assert "verified" in callstub.check(declare(fixture.packed_d, ctypes.c_double, [ctypes.POINTER(Packed)]))
    assert "verified" in callstub.check(declare(fixture.packed_by_value, ctypes.c_double, [Packed]))


def test_pointers_to_arrays_keep_their_parentheses(fixture):
    declare(fixture.first_of, ctypes.c_int, [ctypes.POINTER(ctypes.c_int * 4)])
    assert "int first_of(int (*)[4]);" in callstub.declaration_of(fixture.first_of)
    assert "verified" in callstub.check(fixture.first_of)


def test_abi_changing_record_mutations_are_refused(fixture):
    class WidePair(ctypes.Structure):
        _fields_ = [("quot", ctypes.c_long), ("rem", ctypes.c_int)]

    with pytest.raises(TypeError, match="Pair"):
        callstub.check(declare(fixture.make_pair, WidePair, [ctypes.c_int, ctypes.c_int]))

    class OtherBits(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint, 4), ("b", ctypes.c_uint, 5), ("c", ctypes.c_int)]

    with pytest.raises(TypeError):
        callstub.check(declare(fixture.bits_sum, ctypes.c_int, [OtherBits]))

    class Packed(ctypes.Structure):  # _pack_ forgotten: by value, the layout changes the call
        _fields_ = [("c", ctypes.c_char), ("d", ctypes.c_double)]

    with pytest.raises(TypeError, match="Packed"):
        callstub.check(declare(fixture.packed_by_value, ctypes.c_double, [Packed]))


def test_records_behind_pointers_are_checked_by_layout(fixture):
    class Unpacked(ctypes.Structure):  # _pack_ forgotten: C would read d at offset 1, ctypes writes it at 8
        _fields_ = [("c", ctypes.c_char), ("d", ctypes.c_double)]

    with pytest.raises(TypeError, match=r"argument 1, pointee, member d: .*offset 8, size 8 against offset 1, size 8"):
        callstub.check(declare(fixture.packed_d, ctypes.c_double, [ctypes.POINTER(Unpacked)]))

    class Tm(ctypes.Structure):  # glibc's struct tm, as <time.h> has it
        _fields_ = [(name, ctypes.c_int) for name in
                    ("tm_sec", "tm_min", "tm_hour", "tm_mday", "tm_mon", "tm_year", "tm_wday", "tm_yday", "tm_isdst")] \
            + [("tm_gmtoff", ctypes.c_long), ("tm_zone", ctypes.c_char_p)]

    class ShortTm(ctypes.Structure):  # the ISO C members only: glibc would write past its end
        _fields_ = Tm._fields_[:9]

    class FloatTm(ctypes.Structure):  # a member of the right size and the wrong kind
        _fields_ = Tm._fields_[:10] + [("tm_zone", ctypes.c_double)]

    libc = ctypes.CDLL("libc.so.6")
    time_t = ctypes.c_long
    assert "verified" in callstub.check(
        declare(libc.gmtime_r, ctypes.POINTER(Tm), [ctypes.POINTER(time_t), ctypes.POINTER(Tm)]))
    with pytest.raises(TypeError, match=r"argument 2, pointee: declared struct ShortTm, actual struct tm: size 36 against 56"):
        callstub.check(declare(libc.gmtime_r, ctypes.POINTER(Tm), [ctypes.POINTER(time_t), ctypes.POINTER(ShortTm)]))
    with pytest.raises(TypeError, match=r"result, pointee, member tm_zone: declared double, actual const char \*: "
                                        r"a floating type against a pointer"):
        callstub.check(declare(libc.gmtime_r, ctypes.POINTER(FloatTm), [ctypes.POINTER(time_t), ctypes.POINTER(Tm)]))


def test_scalar_mutations_are_refused_and_harmless_ones_pass(fixture):
    with pytest.raises(TypeError, match="argument 2"):
        callstub.check(declare(fixture.scale, ctypes.c_long, [ctypes.c_long, ctypes.c_float]))
    with pytest.raises(TypeError, match="result"):
        callstub.check(declare(fixture.scale, ctypes.c_double, [ctypes.c_long, ctypes.c_double]))
    with pytest.raises(TypeError, match="number of parameters differs"):
        callstub.check(declare(fixture.scale, ctypes.c_long, [ctypes.c_long]))
    # long long for long: the same type to the ABI and to the debug info.
    callstub.check(declare(fixture.scale, ctypes.c_longlong, [ctypes.c_long, ctypes.c_double]), strict=True)


def test_strict_refuses_what_the_abi_check_only_warns_about(fixture):
    class Pair(ctypes.Structure):  # the members renamed: the same call, other names
        _fields_ = [("q", ctypes.c_int), ("r", ctypes.c_int)]

    report = callstub.check(declare(fixture.make_pair, Pair, [ctypes.c_int, ctypes.c_int]))
    assert "member named q against quot" in report
    with pytest.raises(TypeError, match="member named q against quot"):
        callstub.check(fixture.make_pair, strict=True)


def test_argtypes_never_set_is_an_error(fixture):
    fixture.scale.argtypes = None
    with pytest.raises(TypeError, match="argtypes is not set"):
        callstub.check(fixture.scale)


def test_a_library_without_debug_info_is_a_lookup_error():
    library = ctypes.CDLL(ctypes.util.find_library("ffi"))
    declare(library.ffi_prep_cif, ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p])
    with pytest.raises(LookupError, match="DEBUG_INFO"):
        callstub.check(library.ffi_prep_cif)

"""callstub.CDLL against the C compiler: the repository's fixture library
(Tests/Fixtures/callstub_fixture.c, built here with -g) called through callstub with
Python values, each result compared with what a C program compiled against the same
library prints for the same call."""

import array
import ctypes
import math
import os
import subprocess
import sys

import pytest

import callstub

from conftest import FIXTURES

# (C expression printed as a double, the same call written in Python). Records come from
# make_X (field k = seed + k, set in C) and are weighed in C (weigh_X), so a field written
# or read at a wrong offset, or a record passed in the wrong registers, changes the sum.
RECORDS = ["S1", "S3", "S4", "I2", "F2", "IF", "D1", "I3", "F3", "DD", "LD", "DL", "FID", "NS", "L3", "NEST", "BIG",
           "B64", "LDS"]
CASES = [
    ("echo_schar(-128)", "lib.echo_schar(-128)"),
    ("echo_uchar(255)", "lib.echo_uchar(255)"),
    ("echo_short(-32768)", "lib.echo_short(-32768)"),
    ("echo_ushort(65535)", "lib.echo_ushort(65535)"),
    ("echo_int(-2147483647 - 1)", "lib.echo_int(-2**31)"),
    ("echo_uint(4294967295u)", "lib.echo_uint(2**32 - 1)"),
    ("(double)echo_llong(-9007199254740991LL)", "lib.echo_llong(-(2**53 - 1))"),
    ("echo_float(1.5f)", "lib.echo_float(1.5)"),
    ("echo_double(-0.1)", "lib.echo_double(-0.1)"),
    ("(double)echo_ldouble(2.5L)", "lib.echo_ldouble(2.5)"),
    ("echo_color(BLUE)", "lib.echo_color(1000)"),
    ("widen_schar(-5)", "lib.widen_schar(-5)"),
    ("widen_ushort(65535)", "lib.widen_ushort(65535)"),
    ("widen_bool(1)", "lib.widen_bool(True)"),
    ("ldouble_to_double(0.25L)", "lib.ldouble_to_double(0.25)"),
    ("isum0()", "lib.isum0()"),
    ("isum12(1,2,3,4,5,6,7,8,9,10,11,12)", "lib.isum12(1,2,3,4,5,6,7,8,9,10,11,12)"),
    ("dsum12(1,2,3,4,5,6,7,8,9,10,11,12.5)", "lib.dsum12(1,2,3,4,5,6,7,8,9,10,11,12.5)"),
    ("mixed16(1, 2.5, 3, 4.5f, 5, 6.5, 7, 8.5, 9, 10.5f, 11, 12.5, 13, 14.5, 15, 16.5f)",
     "lib.mixed16(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5, 11, 12.5, 13, 14.5, 15, 16.5)"),
    ("string_length(\"h\\xc3\\xa9llo\")", "lib.string_length('h\u00e9llo')"),
    ("string_checksum(\"abc\")", "lib.string_checksum(b'abc')"),
    ("vsum_int(3, 10, 20, 30)", "lib.vsum_int(3, 10, 20, 30)"),
    ("vsum_double(2, 1.25, 2.5)", "lib.vsum_double(2, 1.25, 2.5)"),
    ("vmixed(\"ilds\", 1, 2L, 3.5, \"four\")", "lib.vmixed(b'ilds', 1, 2, 3.5, 'four')"),
    ("dd_after_seven_doubles(1,2,3,4,5,6,7,make_DD(8),9)",
     "lib.dd_after_seven_doubles(1,2,3,4,5,6,7,lib.make_DD(8),9)"),
    ("i3_after_five_longs(1,2,3,4,5,make_I3(6),7)", "lib.i3_after_five_longs(1,2,3,4,5,{'a': 6, 'b': 7, 'c': 8},7)"),
    ("two_records(make_LD(1), make_DL(2), make_F3(3))", "lib.two_records(lib.make_LD(1), (2.0, 3), lib.make_F3(3))"),
] + [(f"weigh_{name}(make_{name}(7))", f"lib.weigh_{name}(lib.make_{name}(7))") for name in RECORDS] \
  + [(f"weigh_{name}(echo_{name}(make_{name}(3)))", f"lib.weigh_{name}(lib.echo_{name}(lib.make_{name}(3)))")
     for name in RECORDS]


@pytest.fixture(scope="module")
def built(fixture_library):
    library = fixture_library
    directory = os.path.dirname(library)
    program = os.path.join(directory, "oracle.c")
    with open(program, "w") as handle:
        handle.write('#include <stdio.h>\n#include "callstub_fixture.h"\nint main(void) {\n')
        for c_expression, _ in CASES:
            handle.write(f'    printf("%.17g\\n", (double)({c_expression}));\n')
        handle.write("    return 0;\n}\n")
    executable = os.path.join(directory, "oracle")
    subprocess.run(["cc", "-I", FIXTURES, program, library, "-o", executable, f"-Wl,-rpath,{directory}"], check=True)
    printed = subprocess.run([executable], check=True, capture_output=True, text=True).stdout.split()
    return library, [float(value) for value in printed]


@pytest.fixture(scope="module", params=["auto", "jit", "libffi"])
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def lib(backend, built):
    return callstub.CDLL(built[0], backend=backend)


# What libffi cannot call (a record of one long double comes back in memory, not %st0;
# unions and bit-fields are not passed by value): bound with backend="libffi", refused.
LIBFFI_CANNOT = ("LDS", "echo_U", "echo_BITS", "echo_PACKED")


@pytest.mark.parametrize("index", range(len(CASES)), ids=[python for _, python in CASES])
def test_call_equals_c(lib, backend, built, index):
    expected = built[1][index]
    if backend == "libffi" and any(name in CASES[index][1] for name in LIBFFI_CANNOT):
        with pytest.raises(ValueError, match="the libffi backend cannot call this"):
            eval(CASES[index][1], {"lib": lib})
        return
    got = eval(CASES[index][1], {"lib": lib})
    assert float(got) == expected or (math.isnan(expected) and math.isnan(got))


def test_records_come_back_with_the_fields_c_set(lib):
    nest = lib.make_NEST(1)
    assert (nest.p.a, nest.p.b, nest.q.a, nest.q.b) == (1, 2, 3.0, 4.0)
    assert lib.make_BIG(0).d == [0.0, 1.0, 2.0, 3.0] and lib.make_BIG(0).i == [4, 5, 6, 7]
    assert lib.make_NS(5).a.x == 5.0 and lib.make_NS(5).b == 6
    assert lib.make_S3(65).a == b"ABC"
    assert lib.echo_NP({"name": b"abc", "n": 3}).name == b"abc"


def test_unions_bit_fields_and_packed_records_round_trip(lib, backend):
    if backend == "libffi":
        for name in LIBFFI_CANNOT[1:]:
            with pytest.raises(ValueError, match="the libffi backend cannot call this"):
                getattr(lib, name)
        return
    assert lib.echo_U({"i": 7}).i == 7 and lib.echo_U({"f": 1.5}).f == 1.5
    bits = lib.echo_BITS({"a": 5, "b": -3, "c": 1000})
    assert (bits.a, bits.b, bits.c) == (5, -3, 1000)
    assert lib.bits_sum(bits) == 5 - 3 + 1000  # a record passed to a pointer parameter
    target = lib.record("struct BITS")()
    lib.bits_set(target, 7, -16, 2**20 - 1)  # C writes through the pointer into the record
    assert (target.a, target.b, target.c) == (7, -16, 2**20 - 1)
    packed = lib.echo_PACKED({"c": 1, "i": -2})
    assert (packed.c, packed.i) == (1, -2) and lib.record("struct PACKED").size == 5
    with pytest.raises(OverflowError, match="field a .* does not fit in 3 bits"):
        lib.echo_BITS({"a": 8})


def test_pointers_as_addresses_both_ways(lib):
    assert lib.echo_pointer(None) is None
    assert lib.echo_pointer(4096) == 4096
    assert lib.echo_pointer(2**64 - 4096) == 2**64 - 4096  # above LONG_MAX: the general path
    assert lib.echo_pointer(-4096) == 2**64 - 4096  # as ctypes (PyLong_AsVoidPtr) takes it
    with pytest.raises(OverflowError, match=r"echo_pointer\(\) argument 1 \(void \*\)"):
        lib.echo_pointer(2**64)


def test_records_returned_are_independent_values(lib):
    # Freed records are reused for the next result of their type: each must hold its own bytes.
    kept = [lib.make_DD(seed) for seed in range(10)]
    for seed in range(100):
        record = lib.make_DD(seed)
        assert (record.a, record.b) == (seed, seed + 1)
        del record
    assert [(record.a, record.b) for record in kept] == [(seed, seed + 1.0) for seed in range(10)]
    del kept
    # A result the caller dropped is reused by the next call; what it held goes then.
    name = ("ab" * 2).encode()
    before = sys.getrefcount(name)
    record = lib.echo_NP({"name": b"x", "n": 1})
    record.name = name
    assert sys.getrefcount(name) == before + 1
    del record
    assert lib.echo_NP({"name": b"y", "n": 2}).name == b"y" and sys.getrefcount(name) == before
    fresh = lib.record("struct DD")()  # made new: zeroed
    assert (fresh.a, fresh.b) == (0.0, 0.0)
    view = lib.make_NEST(1).p  # a view into another record's bytes is never reused
    del view
    assert lib.make_NEST(5).p.a == 5


def test_a_finalizer_run_by_recycling_a_result_cannot_take_it(lib):
    # Recycling the dropped last result lets go of what it kept; a finalizer that runs
    # then and calls the same function must get a record of its own, not the one being
    # handed out (a record argument takes the short path, a dict the general one).
    lib.echo_NP({"name": b"", "n": 0})  # binds it, so that its records are known
    for argument in ({"name": b"outer", "n": 3}, lib.record("struct NP")({"name": b"outer", "n": 3})):
        inner = []

        class Finalized(ctypes.c_char_p):
            def __del__(self):
                inner.append(lib.echo_NP({"name": b"inner", "n": 2}))

        record = lib.echo_NP({"name": b"x", "n": 1})
        record.name = Finalized(b"y")  # kept by the record
        del record
        outer = lib.echo_NP(argument)
        assert (outer.n, [record.n for record in inner]) == (3, [2])
        assert outer.name == b"outer" and inner[0].name == b"inner"


def test_functions_are_builtins_over_a_function_object(lib):
    # Calls go through a builtin function (CPython specialises calling those); what the
    # binding knows is its __self__.
    function = lib.echo_int.__self__
    assert isinstance(function, callstub.Function) and lib.echo_int.__name__ == "echo_int"
    assert function.declaration == lib.echo_int.__doc__ == "int echo_int(int x);"
    assert function(7) == 7
    function.release_gil = True
    assert lib.echo_int(5) == 5 and function.release_gil
    function.release_gil = False
    assert lib.echo_int(6) == 6


def test_out_parameters_and_buffers_are_shared_not_copied(lib):
    quotient, remainder = ctypes.c_int(), ctypes.c_int()
    lib.divmod(17, 5, ctypes.byref(quotient), ctypes.pointer(remainder))
    assert (quotient.value, remainder.value) == (3, 2)
    out = bytearray(8)
    lib.divmod(17, 5, memoryview(out)[0:4], memoryview(out)[4:8])
    assert array.array("i", bytes(out)).tolist() == [3, 2]
    values = array.array("l", [1, 2, 3, 4])
    assert lib.sum_array(values, 4) == 10
    destination = bytearray(6)
    lib.upper_copy(destination, b"hello")
    assert bytes(destination) == b"HELLO\0"
    assert lib.greeting() == b"hello, world"


def test_errno_is_captured_per_call(built):
    lib = callstub.CDLL(built[0], use_errno=True)
    assert lib.fail_with_errno(34) == -1
    assert callstub.get_errno() == 34


def test_python_callables_become_callbacks_records_by_value_included(lib, backend):
    assert lib.drive_int(lambda x: x * 2, 21) == 42
    assert lib.drive_bool(lambda x: not x, False) is True
    assert lib.drive_float(lambda x: x / 2, 3.0) == 1.5
    assert lib.drive_long12(lambda *a: sum(a)) == 78
    assert lib.drive_mixed16(lambda *a: sum(a)) == sum(range(1, 17)) - 2 * 13
    out = ctypes.c_int()
    lib.drive_void(lambda pointer: ctypes.c_int.from_address(pointer).__setattr__("value", 9), ctypes.byref(out))
    assert out.value == 9
    # The driver calls f(make_X(seed), seed) and weighs what f returns: echo the record.
    for name in RECORDS:
        if backend == "libffi" and name in LIBFFI_CANNOT:
            continue
        expected = lib.weigh_DD(lib.make_DD(4)) if name == "DD" else None
        got = getattr(lib, f"drive_{name}")(lambda record, seed: record, 4)
        assert got == getattr(lib, f"weigh_{name}")(getattr(lib, f"make_{name}")(4)), name
        if expected is not None:
            assert got == expected
    assert lib.drive_DD(lambda record, seed: {"a": 1.0, "b": 2.0}, 0) == lib.weigh_DD({"a": 1.0, "b": 2.0})


def test_callbacks_from_other_threads_when_the_gil_is_released(built):
    lib = callstub.CDLL(built[0], release_gil=True)
    assert lib.drive_from_thread(lambda x: x + 1, 41) == 42


def test_an_exception_in_a_callback_is_raised_by_the_call(built):
    libc = callstub.CDLL("libc.so.6")
    values = array.array("i", [3, 1, 2])

    def compare(a, b):
        raise ValueError("no order")

    with pytest.raises(ValueError, match="no order"):
        libc.qsort(values, 3, 4, compare)


def test_qsort_with_a_python_comparison(built):
    libc = callstub.CDLL("libc.so.6")
    values = array.array("i", [5, -1, 9, 0, 3])

    def compare(a, b):
        x, y = ctypes.c_int.from_address(a).value, ctypes.c_int.from_address(b).value
        return (x > y) - (x < y)

    libc.qsort(values, len(values), values.itemsize, compare)
    assert values.tolist() == [-1, 0, 3, 5, 9]
    kept = callstub.Callback("int (*)(const void *, const void *)", compare)
    values = array.array("i", [2, 1])
    libc.qsort(values, 2, 4, kept)
    assert values.tolist() == [1, 2]


def test_byref_with_an_offset_points_into_the_object():
    libc = callstub.CDLL("libc.so.6")
    words = (ctypes.c_int * 4)()
    libc.memset(ctypes.byref(words, 4), 0xFF, 4)  # the second int only
    assert list(words) == [0, -1, 0, 0]


def test_real_headers_through_the_preprocessor():
    # glibc's libm functions are IFUNCs without DWARF declarations: <math.h> declares them.
    libm = callstub.CDLL("libm.so.6")
    libm.include("math.h")
    assert libm.cos(0.5) == math.cos(0.5) and libm.ldexp(1.0, 10) == 1024.0
    exponent = ctypes.c_int()
    assert libm.frexp(8.0, ctypes.byref(exponent)) == 0.5 and exponent.value == 4
    libm.include("complex.h", arguments=["-D_GNU_SOURCE"])
    assert libm.cabs(3 + 4j) == 5.0
    with pytest.raises(ValueError, match="no_such_header.h: No such file"):
        libm.include("no_such_header.h")
    with pytest.raises(TypeError, match="preprocessor argument 1: expected a str, got int"):
        libm.include("math.h", arguments=[1])


def test_records_by_their_typedef_name_as_out_parameters():
    # GSL's results come back through a `gsl_sf_result *`, a typedef of struct
    # gsl_sf_result_struct: the record is found by either name (signature from libgsl-dbg).
    gsl = callstub.CDLL("libgsl.so.27")
    bessel = gsl.gsl_sf_bessel_J0_e
    result = gsl.record("gsl_sf_result")()
    assert gsl.record("struct gsl_sf_result_struct") is gsl.record("gsl_sf_result")
    assert bessel(1.0, result) == 0 and result.val == gsl.gsl_sf_bessel_J0(1.0) and 0 < result.err < 1e-12


def test_a_handler_the_library_keeps():
    # gsl_set_error_handler keeps the pointer: the CDLL keeps the Callback as long.
    gsl = callstub.CDLL("libgsl.so.27")
    reasons = []
    handler = gsl.keep(callstub.Callback("void (*)(const char *, const char *, int, int)",
                                         lambda reason, file, line, errno: reasons.append(reason)))
    previous = gsl.gsl_set_error_handler(handler)
    try:
        result = bytearray(16)  # a gsl_sf_result
        assert gsl.gsl_sf_log_e(-1.0, result) == 1  # GSL_EDOM, through the handler
        assert reasons == [b"domain error"]
    finally:
        gsl.gsl_set_error_handler(previous)
    with pytest.raises(TypeError, match="keep\\(\\) takes a callstub.Callback"):
        gsl.keep(print)


def test_glibc_from_its_debug_info():
    libc = callstub.CDLL("libc.so.6")
    quotient = libc.div(7, 2)
    assert (quotient.quot, quotient.rem) == (3, 1) and repr(quotient) == "div_t(quot=3, rem=1)"
    assert libc.strtol(b"12abc", None, 10) == 12
    assert libc.strlen("\u00e9") == 2


def test_cdef_declarations_and_function_pointers(built):
    lib = callstub.CDLL(built[0])
    lib.cdef("long isum2(long, long);")
    assert lib.isum2(1, 2) == 5
    address = ctypes.cast(ctypes.CDLL(built[0]).isum3, ctypes.c_void_p).value
    assert callstub.function(address, "long (*)(long, long, long)")(1, 1, 1) == 6


def test_bad_calls_raise_naming_the_place(lib):
    with pytest.raises(TypeError, match=r"isum2\(\) takes 2 arguments \(long isum2\(long a1, long a2\);\), 3 given"):
        lib.isum2(1, 2, 3)
    # One parameter: a METH_O builtin, whose count CPython checks.
    with pytest.raises(TypeError, match=r"echo_int\(\) takes exactly one argument \(2 given\)"):
        lib.echo_int(1, 2)
    with pytest.raises(TypeError, match=r"echo_int\(\) takes 1 argument \(int echo_int\(int x\);\), 2 given"):
        lib.echo_int.__self__(1, 2)
    with pytest.raises(TypeError, match=r"echo_int\(\) argument 1 \(int\): expected an int, got str"):
        lib.echo_int("1")
    with pytest.raises(OverflowError, match=r"echo_uchar\(\) argument 1 \(unsigned char\): 256 does not fit"):
        lib.echo_uchar(256)
    with pytest.raises(OverflowError, match="does not fit"):
        lib.echo_uint(-1)
    with pytest.raises(TypeError, match=r"weigh_DD\(\) argument 1 \(struct DD\): it has no field 'c'"):
        lib.weigh_DD({"c": 1})
    with pytest.raises(TypeError, match=r"argument 1 \(struct DD\): 3 values for 2 fields"):
        lib.weigh_DD((1, 2, 3))
    with pytest.raises(TypeError, match=r"argument 1 \(struct DD\): got a struct I2 record"):
        lib.weigh_DD(lib.make_I2(1))
    with pytest.raises(TypeError, match=r"argument 1 \(struct BITS \*\): a struct DD record does not go"):
        lib.bits_sum(lib.make_DD(1))
    with pytest.raises(TypeError, match="variadic"):
        lib.vsum_int(1, object())
    with pytest.raises(AttributeError, match="no_such_function"):
        lib.no_such_function
    with pytest.raises(TypeError, match="keyword"):
        lib.echo_int(x=1)

"""What the callstub package's options cost per call (scripts/bench-python): add2 of
Benchmarks/C/capi_fixture.c through callstub.CDLL with each backend, with the GIL released,
and through ctypes for reference. Prints ns per call: the median of 7 timeit repetitions,
each statement's interpreter overhead included.
argv: library path, calls per repetition."""

import ctypes
import statistics
import sys
import timeit

import callstub

path, calls = sys.argv[1], int(sys.argv[2])


def time(function):
    function(1, 2)
    assert function(1, 2) == 3
    timeit.timeit(lambda: None, number=1)
    samples = timeit.repeat("f(1, 2)", globals={"f": function}, number=calls, repeat=7)
    return statistics.median(samples) * 1e9 / calls


rows = []
for label, options in [
    ("callstub, backend=auto (after tier-up)", {}),
    ("callstub, eager=True", {"eager": True}),
    ("callstub, backend=jit", {"backend": "jit"}),
    ("callstub, backend=libffi", {"backend": "libffi"}),
    ("callstub, eager=True, release_gil=True", {"eager": True, "release_gil": True}),
]:
    function = callstub.CDLL(path, **options).add2
    for _ in range(2000):  # past the automatic tier-up (1,000 calls)
        function(1, 2)
    rows.append((label, time(function)))
reference = ctypes.CDLL(path).add2
reference.argtypes, reference.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
rows.append(("ctypes (argtypes set)", time(reference)))
print("add2(1, 2) from Python %d.%d.%d, ns per call:" % sys.version_info[:3])
for label, figure in rows:
    print(f"  {label:42} {figure:7.1f}")

"""Objects that own C memory: records and their views, callbacks kept by C, many of each
through gc.collect(), and interpreter shutdown with live callbacks and records (the
double-free-at-exit failure of C bindings): each run must end without a crash."""

import gc
import subprocess
import sys
import textwrap

import pytest

import callstub


@pytest.fixture(scope="module")
def library(fixture_library):
    return fixture_library


def test_a_nested_view_keeps_its_parent_alive(library):
    lib = callstub.CDLL(library)
    nest = lib.make_NEST(10)
    inner = nest.q  # a view into nest's bytes
    inner.b = 99.5
    assert nest.q.b == 99.5  # shared, not copied
    del nest, lib
    gc.collect()
    assert (inner.a, inner.b) == (12.0, 99.5)


def test_pointers_stored_in_a_record_keep_their_objects(library):
    lib = callstub.CDLL(library)
    lib.echo_NP  # binding it makes struct NP known to lib.record
    record = lib.record("struct NP")()
    # Made at run time (a literal would live in the code object whatever the record does).
    text = ("kept alive by the record " + str(id(record))).encode()
    expected = bytes(text)
    references = sys.getrefcount(text)
    record.name = text
    assert sys.getrefcount(text) == references + 1  # the record holds it
    del text
    gc.collect()
    assert lib.echo_NP(record).name == expected


def test_pointers_into_python_objects_are_refused_where_nothing_can_hold_them():
    # A callback's result outlives the callback: a pointer into its bytes would dangle. The
    # callback returns NULL instead, and the call that led into C raises.
    text = callstub.Callback("const char *(*)(int)", lambda n: b"gone after the return")
    call = callstub.function(text.address, "const char *(*)(int)")
    with pytest.raises(TypeError, match="a pointer into a Python bytes would outlive it here"):
        call(1)
    address = callstub.Callback("void *(*)(int)", lambda n: 4096)
    assert callstub.function(address.address, "void *(*)(int)")(1) == 4096


def test_many_records_callbacks_and_functions_through_gc(library):
    for round in range(20):
        lib = callstub.CDLL(library)
        records = [lib.make_BIG(index) for index in range(50)]
        views = [record.d for record in records]
        callbacks = [callstub.Callback("int (*)(int)", lambda x, k=k: x + k) for k in range(20)]
        for k, callback in enumerate(callbacks):
            assert lib.drive_int(callback, round) == round + k
        # A cycle through a callback: the callable refers to the callback.
        holder = {}
        holder["self"] = callstub.Callback("int (*)(int)", lambda x: holder and x)
        del lib, records, views, callbacks, holder
        gc.collect()


SHUTDOWN_SCRIPT = textwrap.dedent("""
    import sys, callstub
    lib = callstub.CDLL(sys.argv[1])
    libc = callstub.CDLL("libc.so.6")
    libc.cdef("int on_exit(void (*function)(int, void *), void *argument);")
    calls = []
    # C keeps this one until exit() runs its handlers, after the interpreter is finalized.
    late = callstub.Callback("void (*)(int, void *)", lambda status, argument: calls.append(status))
    assert libc.on_exit(late, None) == 0
    # Records, views, callbacks in cycles and functions alive at shutdown.
    keep = [lib.make_NEST(k) for k in range(100)]
    views = [record.q for record in keep]
    ring = {}
    ring["callback"] = callstub.Callback("int (*)(int)", lambda x: ring and x)
    assert lib.drive_int(ring["callback"], 5) == 5
    sys.modules["__main__"].cycle = [keep, views, ring]
    print("finished", flush=True)
""")


@pytest.mark.parametrize("exit_with", ["return", "sys.exit(3)"])
def test_interpreter_shutdown_with_live_callbacks_and_records(library, exit_with):
    script = SHUTDOWN_SCRIPT + ("" if exit_with == "return" else exit_with + "\n")
    run = subprocess.run([sys.executable, "-c", script, library], capture_output=True, text=True, timeout=120)
    assert run.stdout == "finished\n", run.stderr
    assert run.returncode == (0 if exit_with == "return" else 3), run.stderr

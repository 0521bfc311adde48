/* libLLVM is mapped only when something is compiled (issue 19). Argument "ffi": calls
 * through libffi and the automatic backend's first calls leave it unmapped, a JIT binding
 * maps it. Argument "missing" (run with CALLSTUB_LLVM_LIBRARY naming no file): a JIT
 * binding fails with CALLSTUB_ERROR_BACKEND naming the reason; libffi calls still work. */
#include <callstub.h>
#include "check.h"
#include "llvm_mapped.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FIXTURE.so ffi|missing\n", argv[0]);
        return 2;
    }
    callstub_library *fixture;
    if (callstub_library_open(argv[1], &fixture) != CALLSTUB_OK) {
        fprintf(stderr, "%s\n", callstub_last_error());
        return 2;
    }
    long a = 20, b = 22, sum = 0; /* isum2(a, b) = a + 2 b */
    void *args[] = {&a, &b};
    callstub_function *ffi, *automatic, *jit;
    CHECK(callstub_bind(fixture, "isum2", NULL, CALLSTUB_BACKEND_LIBFFI, &ffi) == CALLSTUB_OK, "%s", callstub_last_error());
    CHECK(callstub_call(ffi, &sum, args) == CALLSTUB_OK && sum == 64, "libffi call: %ld", sum);
    CHECK(callstub_bind(fixture, "isum2", NULL, 0, &automatic) == CALLSTUB_OK, "%s", callstub_last_error());
    for (int i = 0; i < 10; i++) CHECK(callstub_call(automatic, &sum, args) == CALLSTUB_OK && sum == 64, "auto call: %ld", sum);
    CHECK(!llvm_mapped(), "libLLVM is mapped before anything was compiled");
    callstub_status status = callstub_bind(fixture, "isum2", NULL, CALLSTUB_BACKEND_JIT, &jit);
    if (strcmp(argv[2], "missing") == 0) {
        CHECK(status == CALLSTUB_ERROR_BACKEND, "JIT binding without libLLVM: status %d", (int)status);
        CHECK(strstr(callstub_last_error(), "libLLVM could not be loaded") != NULL, "reason: %s", callstub_last_error());
        printf("reason: %s\n", callstub_last_error());
        CHECK(callstub_call(ffi, &sum, args) == CALLSTUB_OK && sum == 64, "libffi call after: %ld", sum);
    } else {
        CHECK(status == CALLSTUB_OK, "%s", callstub_last_error());
        CHECK(status == CALLSTUB_OK && callstub_call(jit, &sum, args) == CALLSTUB_OK && sum == 64, "JIT call: %ld", sum);
        CHECK(llvm_mapped(), "libLLVM is not mapped after a JIT binding");
        if (status == CALLSTUB_OK) callstub_function_free(jit);
    }
    callstub_function_free(ffi);
    callstub_function_free(automatic);
    callstub_library_close(fixture);
    printf("%d failed\n", failures);
    return failures != 0;
}

/* One JIT binding and call, for the persistent stub cache tests (run with
 * CALLSTUB_STUB_CACHE set): prints whether libLLVM was mapped after the call, the result,
 * and the microseconds the binding and first call took. */
#include <callstub.h>
#include "llvm_mapped.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE.so\n", argv[0]);
        return 2;
    }
    callstub_library *fixture;
    if (callstub_library_open(argv[1], &fixture) != CALLSTUB_OK) {
        fprintf(stderr, "%s\n", callstub_last_error());
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    callstub_function *function;
    if (callstub_bind(fixture, "isum3", "long isum3(long, long, long);", CALLSTUB_BACKEND_JIT | CALLSTUB_VERIFY_OFF, &function) != CALLSTUB_OK) {
        fprintf(stderr, "%s\n", callstub_last_error());
        return 2;
    }
    long a = 1, b = 2, c = 3, sum = 0; /* isum3 = a + 2 b + 3 c */
    void *args[] = {&a, &b, &c};
    callstub_status status = callstub_call(function, &sum, args);
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("llvm=%d sum=%ld status=%d us=%.1f\n", llvm_mapped(), sum, (int)status,
           (end.tv_sec - start.tv_sec) * 1e6 + (end.tv_nsec - start.tv_nsec) / 1e3);
    return 0;
}

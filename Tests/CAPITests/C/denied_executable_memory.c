/* A process denied executable memory (issue 19, item 4). Argument "seccomp" or "mdwe":
 * denied from the start (deny_executable_memory.h), before anything is bound; "later":
 * a JIT binding first, then PR_SET_MDWE; "cached": as "seccomp", with isum2's stub in the
 * persistent cache (CALLSTUB_STUB_CACHE), which must still run after the refusals. Either way every binding and callback goes on
 * through libffi, JIT bindings fail naming the denial, libLLVM is not loaded when the
 * denial came first, nothing is printed (LLVM reports its errors on stderr unless asked
 * not to), and failed attempts do not grow the process. Prints "N failed"; exits 77
 * when the kernel lacks the mechanism. Run with CALLSTUB_STUB_CACHE=off. */
#define _GNU_SOURCE
#include <callstub.h>
#include "deny_executable_memory.h"
#include "check.h"
#include "llvm_mapped.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const denied = "executable memory is denied in this process";

/* Resident pages of this process. */
static long resident_pages(void) {
    long size = 0, resident = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm && fscanf(statm, "%ld %ld", &size, &resident) != 2) resident = 0;
    if (statm) fclose(statm);
    return resident;
}

/* qsort's comparator as a CallStub callback: args[i] points at a `const void *`. */
static void compare_ints(void *context, void *result, void **args) {
    int a = **(const int **)args[0], b = **(const int **)args[1];
    ++*(int *)context;
    *(int *)result = (a > b) - (a < b);
}

/* A JIT binding of `name` fails with the denial. */
static void jit_is_refused(callstub_library *fixture, const char *name) {
    callstub_function *jit = NULL;
    callstub_status status = callstub_bind(fixture, name, NULL, CALLSTUB_BACKEND_JIT, &jit);
    CHECK(status == CALLSTUB_ERROR_BACKEND, "JIT binding of %s: status %d", name, (int)status);
    CHECK(strstr(callstub_last_error(), denied) != NULL, "JIT binding of %s: %s", name, callstub_last_error());
    if (status == CALLSTUB_OK) callstub_function_free(jit);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FIXTURE.so seccomp|mdwe|later\n", argv[0]);
        return 2;
    }
    int later = strcmp(argv[2], "later") == 0, cached = strcmp(argv[2], "cached") == 0;
    if (!later && deny_executable_memory(cached ? "seccomp" : argv[2]) != 0) {
        printf("unsupported: %s: %s\n", argv[2], strerror(errno));
        return 77;
    }
    callstub_library *fixture;
    if (callstub_library_open(argv[1], &fixture) != CALLSTUB_OK) {
        printf("%s\n", callstub_last_error());
        return 2;
    }
    long a = 20, b = 22, sum = 0; /* isum2(a, b) = a + 2 b */
    void *args[] = {&a, &b};
    callstub_function *early = NULL;
    if (later) {
        CHECK(callstub_bind(fixture, "isum2", NULL, CALLSTUB_BACKEND_JIT, &early) == CALLSTUB_OK, "%s", callstub_last_error());
        CHECK(llvm_mapped(), "libLLVM is not mapped after a JIT binding");
        if (deny_executable_memory("mdwe") != 0) {
            printf("unsupported: mdwe: %s\n", strerror(errno));
            return 77;
        }
    }

    /* A shape not compiled before: refused, with the reason, each time at once. */
    jit_is_refused(fixture, "isum3");
    long before = resident_pages();
    for (int i = 0; i < 2000; i++) jit_is_refused(fixture, i % 2 ? "isum3" : "dsum8");
    long grown = resident_pages() - before;
    CHECK(grown < 64, "2000 refused JIT bindings grew the process by %ld pages", grown);

    /* Everything else works through libffi. */
    callstub_function *automatic = NULL;
    CHECK(callstub_bind(fixture, "isum2", NULL, 0, &automatic) == CALLSTUB_OK, "%s", callstub_last_error());
    for (int i = 0; i < 200 && automatic; i++) {
        sum = 0;
        CHECK(callstub_call(automatic, &sum, args) == CALLSTUB_OK && sum == 64, "automatic call %d: %ld", i, sum);
    }
    char *description = NULL;
    if (automatic && callstub_describe(automatic, CALLSTUB_DESCRIBE_BACKEND, &description) == CALLSTUB_OK) {
        CHECK(strstr(description, "libffi") != NULL, "backend: %s", description);
        free(description);
    }
    if (early) {
        sum = 0;
        CHECK(callstub_call(early, &sum, args) == CALLSTUB_OK && sum == 64, "the stub compiled before: %ld", sum);
    }
    if (cached) {
        /* After the refusals above: a shape in the cache is mapped from its file, which the
         * filter allows. */
        callstub_function *from_cache = NULL;
        CHECK(callstub_bind(fixture, "isum2", NULL, CALLSTUB_BACKEND_JIT, &from_cache) == CALLSTUB_OK,
              "a cached stub after refusals: %s", callstub_last_error());
        sum = 0;
        CHECK(from_cache && callstub_call(from_cache, &sum, args) == CALLSTUB_OK && sum == 64, "cached stub: %ld", sum);
        if (from_cache) callstub_function_free(from_cache);
    }

    callstub_callback *jit_callback = NULL;
    int calls = 0;
    callstub_status status =
        callstub_callback_new("int (*)(const void *, const void *)", compare_ints, &calls, CALLSTUB_BACKEND_JIT, &jit_callback);
    CHECK(status == CALLSTUB_ERROR_BACKEND && strstr(callstub_last_error(), denied), "JIT callback: %d %s", (int)status,
          callstub_last_error());
    callstub_callback *compare = NULL;
    CHECK(callstub_callback_new("int (*)(const void *, const void *)", compare_ints, &calls, 0, &compare) == CALLSTUB_OK,
          "%s", callstub_last_error());
    if (compare) {
        int values[100];
        for (int i = 0; i < 100; i++) values[i] = (i * 37) % 100;
        qsort(values, 100, sizeof values[0], (int (*)(const void *, const void *))callstub_callback_pointer(compare));
        int sorted = calls > 0;
        for (int i = 0; i < 100; i++) sorted &= values[i] == i;
        CHECK(sorted, "qsort through a callback: %d calls", calls);
        callstub_callback_free(compare);
    }
    if (!later) CHECK(!llvm_mapped(), "libLLVM was loaded though executable memory was denied from the start");

    if (automatic) callstub_function_free(automatic);
    if (early) callstub_function_free(early);
    callstub_library_close(fixture);
    printf("%d failed\n", failures);
    return failures != 0;
}

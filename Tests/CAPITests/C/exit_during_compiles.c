/* Exits while background tier-up compiles are queued and running: from main (argument
 * "main") or from another thread (argument "thread", after an eager binding has built the
 * JIT). The process must end with status 0, never crash in LLVM's destructors. */
#include <callstub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *exit_now(void *unused) {
    (void)unused;
    exit(0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FIXTURE.so main|thread\n", argv[0]);
        return 2;
    }
    callstub_library *fixture;
    if (callstub_library_open(argv[1], &fixture) != CALLSTUB_OK) {
        fprintf(stderr, "%s\n", callstub_last_error());
        return 2;
    }
    int from_thread = strcmp(argv[2], "thread") == 0;
    callstub_function *function;
    if (from_thread && callstub_bind(fixture, "isum2", NULL, CALLSTUB_TIER_EAGER, &function) != CALLSTUB_OK) {
        fprintf(stderr, "%s\n", callstub_last_error());
        return 2;
    }
    /* Each of a different shape, so that each tier-up compiles a stub of its own. */
    const char *names[] = {"isum0", "isum1", "isum3", "isum6", "isum7", "isum8", "isum12", "dsum8", "dsum9", "dsum12"};
    long zero = 0, result[2];
    double zero_double = 0;
    int queued = 0;
    for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
        if (callstub_bind(fixture, names[n], NULL, 0, &function) != CALLSTUB_OK) {
            fprintf(stderr, "%s\n", callstub_last_error());
            return 2;
        }
        void *args[12];
        for (int i = 0; i < 12; i++) args[i] = names[n][0] == 'd' ? (void *)&zero_double : (void *)&zero;
        /* The automatic backend tiers up after 1,000 calls (callstub.h). */
        for (int call = 0; call < 1000; call++) callstub_call(function, result, args);
        queued++;
    }
    printf("%d tier-ups queued\n", queued);
    fflush(stdout);
    if (from_thread) {
        pthread_t thread;
        pthread_create(&thread, NULL, exit_now, NULL);
        pthread_join(thread, NULL);
    }
    return 0;
}

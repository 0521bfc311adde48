/* What a branch between code far apart costs on this machine: a copy of a small stub
 * (the shape of a JIT stub: call the function it is given, store its result) is mapped at
 * growing distances from this program's code, and C calls through it to a function of the
 * program, 50,000,000 times each; the best of three rounds, ns per call, and whether the
 * copy lies in the caller's 4 GB-aligned region (the same address bits above bit 32). On
 * the development machine (FIELD-NOTES.md) every call, jump or return into another such
 * region costs ~0.8 ns more, whatever the distance. Build and run:
 *   cc -O2 Benchmarks/C/far_branch.c -o far && ./far */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

__attribute__((noinline)) int f0(void) { return 42; }

/* The copied stub: no instruction in it refers to its own address. */
__attribute__((noinline)) int stub(int (*fn)(void), void **args, long *result) {
    (void)args;
    *result = fn();
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
    const long n = 50000000;
    long result;
    unsigned long base = (unsigned long)main & ~0xFFFFFUL;
    const unsigned long offsets[] = {1UL << 20, 1UL << 28, 1UL << 30, 3UL << 30, 1UL << 32, 5UL << 30, 1UL << 36};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        unsigned char *copy = mmap((void *)(base + offsets[k]), 4096, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (copy == MAP_FAILED) {
            printf("offset %#14lx: not mapped\n", offsets[k]);
            continue;
        }
        memcpy(copy, (const void *)stub, 64);
        mprotect(copy, 4096, PROT_READ | PROT_EXEC);
        int (*volatile call)(int (*)(void), void **, long *) = (int (*)(int (*)(void), void **, long *))copy;
        double best = 1e9;
        for (int round = 0; round < 3; round++) {
            double start = now();
            for (long i = 0; i < n; i++) call(f0, NULL, &result);
            double elapsed = (now() - start) / n;
            if (elapsed < best) best = elapsed;
        }
        printf("stub %#14lx bytes from the caller, %s 4 GB-aligned region: %.2f ns per call\n", offsets[k],
               ((unsigned long)copy >> 32) == ((unsigned long)main >> 32) ? "same" : "another", best);
        munmap(copy, 4096);
    }
    return 0;
}

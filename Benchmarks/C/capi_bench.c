/* The C API from C: ns per call on the scalar rows of `callstub bench`, each called
 * directly (through a volatile function pointer: the floor), through callstub_call, through
 * the stub from callstub_function_entry, through a CallStub call plan for a libffi cif
 * (callstub_ffi_call_plan_invoke), through libffi's ffi_call, through its drop-in
 * callstub_ffi_call, through callstub_call_inline and callstub_ffi_call_plan_invoke_inline
 * (called directly, as a program would: their checks are compiled into the loop), and,
 * when LIBFFI38 names a
 * libffi 3.8 build (see ../shared/peers), through its ffi_call_plan_invoke (loaded with
 * dlopen RTLD_LOCAL, so the two libffis never mix). Medians of 7 interleaved repetitions.
 * Build and run: scripts/bench-c-api. */
#include <callstub_ffi.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The fixtures live in a shared library (capi_fixture.c), as the functions a C program
 * calls through CallStub do: see docs/benchmarks.md on far branches. */
int f0(void);
int add2(int a, int b);
long sum6(long a, long b, long c, long d, long e, long f);
double fma3(double a, double b, double c);
void *ptr3(void *a, void *b, void *c);

typedef int (*F0)(void);
typedef int (*ADD2)(int, int);
typedef long (*SUM6)(long, long, long, long, long, long);
typedef double (*FMA3)(double, double, double);
typedef void *(*PTR3)(void *, void *, void *);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { REPETITIONS = 7, COLUMNS = 9 };

/* libffi 3.8's plan entry points, from LIBFFI38 (NULL when absent). Its ffi_prep_cif
 * prepares the cifs it plans: the layouts of ffi_cif and ffi_type are the same. */
static void *(*plan38_alloc)(ffi_cif *);
static void (*plan38_invoke)(void *, void (*)(void), void *, void **);
static ffi_status (*prep38)(ffi_cif *, ffi_abi, unsigned, ffi_type *, ffi_type **);
static ffi_type *types38[32];

static void load38(void) {
    const char *path = getenv("LIBFFI38");
    if (!path) return;
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "LIBFFI38: %s\n", dlerror());
        exit(1);
    }
    plan38_alloc = (void *(*)(ffi_cif *))dlsym(library, "ffi_call_plan_alloc");
    plan38_invoke = (void (*)(void *, void (*)(void), void *, void **))dlsym(library, "ffi_call_plan_invoke");
    prep38 = (ffi_status(*)(ffi_cif *, ffi_abi, unsigned, ffi_type *, ffi_type **))dlsym(library, "ffi_prep_cif");
    if (!plan38_alloc || !plan38_invoke || !prep38) {
        fprintf(stderr, "LIBFFI38: no call plans in %s\n", path);
        exit(1);
    }
    /* The builtin types by name, from 3.8 (pointers into its own data). */
    const char *names[] = {"ffi_type_sint32", "ffi_type_sint64", "ffi_type_double", "ffi_type_pointer"};  /* int, long */
    for (int i = 0; i < 4; i++)
        if (!(types38[i] = (ffi_type *)dlsym(library, names[i]))) {
            fprintf(stderr, "LIBFFI38: no %s\n", names[i]);
            exit(1);
        }
}

/* A type of Debian's libffi translated to 3.8's. */
static ffi_type *to38(ffi_type *type) {
    if (type == &ffi_type_sint) return types38[0];
    if (type == &ffi_type_slong) return types38[1];
    if (type == &ffi_type_double) return types38[2];
    return types38[3];
}
static const long N = 10000000;

/* One row: the four loops, interleaved, REPETITIONS times; prints the medians. */
#define ROW(name, declaration, type, direct_call, nargs, rtype, ...)                                     \
    do {                                                                                                 \
        callstub_function *function;                                                                     \
        if (callstub_bind_address((void (*)(void))name, declaration, CALLSTUB_BACKEND_JIT, &function)) {  \
            fprintf(stderr, "%s: %s\n", #name, callstub_last_error());                                    \
            exit(1);                                                                                     \
        }                                                                                                \
        callstub_entry entry;                                                                            \
        void *target;                                                                                    \
        callstub_function_entry(function, &entry, &target);                                              \
        ffi_type *types[] = {__VA_ARGS__};                                                               \
        ffi_cif cif;                                                                                     \
        ffi_prep_cif(&cif, FFI_DEFAULT_ABI, nargs, rtype, types);                                        \
        callstub_ffi_call_plan *plan = callstub_ffi_call_plan_alloc(&cif);                               \
        void (*volatile plan_invoke)(callstub_ffi_call_plan *, void (*)(void), void *, void **) =        \
            callstub_ffi_call_plan_invoke;                                                               \
        void (*volatile dropin)(ffi_cif *, void (*)(void), void *, void **) = callstub_ffi_call;         \
        ffi_type *types38_[sizeof types / sizeof types[0]];                                              \
        for (unsigned t = 0; t < nargs; t++) types38_[t] = to38(types[t]);                               \
        ffi_cif cif38;                                                                                   \
        void *plan38 = NULL;                                                                             \
        if (plan38_alloc) {                                                                              \
            prep38(&cif38, FFI_DEFAULT_ABI, nargs, to38(rtype), types38_);                               \
            plan38 = plan38_alloc(&cif38);                                                               \
        }                                                                                                \
        type volatile fp = name;                                                                         \
        callstub_status (*volatile call)(callstub_function *, void *, void **) = callstub_call;          \
        int (*volatile stub)(void *, void **, void *) = entry;                                           \
        double samples[COLUMNS][REPETITIONS];                                                            \
        for (int r = 0; r < REPETITIONS; r++) {                                                          \
            double t0 = now();                                                                           \
            for (long i = 0; i < N; i++) sink = (double)(direct_call);                                   \
            double t1 = now();                                                                           \
            for (long i = 0; i < N; i++) call(function, result, args);                                   \
            double t2 = now();                                                                           \
            for (long i = 0; i < N; i++) stub(target, args, result);                                     \
            double t3 = now();                                                                           \
            for (long i = 0; i < N; i++) plan_invoke(plan, (void (*)(void))name, result, args);          \
            double t4 = now();                                                                           \
            for (long i = 0; i < N / 4; i++) ffi_call(&cif, (void (*)(void))name, result, args);         \
            double t5 = now();                                                                           \
            if (plan38)                                                                                  \
                for (long i = 0; i < N; i++) plan38_invoke(plan38, (void (*)(void))name, result, args);  \
            double t6 = now();                                                                           \
            for (long i = 0; i < N; i++) dropin(&cif, (void (*)(void))name, result, args);               \
            double t7 = now();                                                                           \
            for (long i = 0; i < N; i++) callstub_call_inline(function, result, args);                   \
            double t8 = now();                                                                           \
            for (long i = 0; i < N; i++)                                                                 \
                callstub_ffi_call_plan_invoke_inline(plan, (void (*)(void))name, result, args);          \
            double t9 = now();                                                                           \
            samples[0][r] = (t1 - t0) / N;                                                               \
            samples[1][r] = (t2 - t1) / N;                                                               \
            samples[2][r] = (t3 - t2) / N;                                                               \
            samples[3][r] = (t4 - t3) / N;                                                               \
            samples[4][r] = (t5 - t4) / (N / 4);                                                         \
            samples[5][r] = plan38 ? (t6 - t5) / N : 0;                                                  \
            samples[6][r] = (t7 - t6) / N;                                                               \
            samples[7][r] = (t8 - t7) / N;                                                               \
            samples[8][r] = (t9 - t8) / N;                                                               \
        }                                                                                                \
        printf("%-8s", #name);                                                                           \
        for (int c = 0; c < COLUMNS; c++) {                                                              \
            qsort(samples[c], REPETITIONS, sizeof(double), compare);                                     \
            printf(" %12.2f", samples[c][REPETITIONS / 2]);                                              \
        }                                                                                                \
        printf(" %+12.2f %+12.2f %10.1fx %10.1fx %10.1fx %10.1fx\n", samples[1][REPETITIONS / 2] - samples[0][REPETITIONS / 2], \
               samples[7][REPETITIONS / 2] - samples[0][REPETITIONS / 2],                                \
               samples[4][REPETITIONS / 2] / samples[6][REPETITIONS / 2],                                \
               samples[4][REPETITIONS / 2] / samples[3][REPETITIONS / 2],                                \
               plan38 ? samples[5][REPETITIONS / 2] / samples[3][REPETITIONS / 2] : 0.0,                 \
               plan38 ? samples[5][REPETITIONS / 2] / samples[8][REPETITIONS / 2] : 0.0);                \
        callstub_ffi_call_plan_free(plan);                                                               \
        callstub_function_free(function);                                                                \
    } while (0)

int main(void) {
    static double volatile sink;
    (void)sink;
    long long result_storage[4];
    void *result = result_storage;
    int i1 = 1, i2 = 2;
    long l[6] = {0, 1, 2, 3, 4, 5};
    double d[3] = {1, 1.5, 2.5};
    void *p8 = (void *)8, *p16 = (void *)16;
    load38();
    printf("%-8s %12s %12s %12s %12s %12s %12s %12s %12s %12s %12s %12s %10s %10s %10s %10s\n", "ns/call", "direct",
           "callstub_call", "entry", "cs plan", "ffi_call", "3.8 plan", "cs ffi_call", "call_inline", "plan_inline",
           "call-direct", "inline-direct", "ffi/cs_ffi", "ffi/csplan", "3.8/csplan", "3.8/inline");
    {
        void *args[] = {NULL};
        ROW(f0, "int f0(void)", F0, fp(), 0, &ffi_type_sint, NULL);
    }
    {
        void *args[] = {&i1, &i2};
        ROW(add2, "int add2(int, int)", ADD2, fp((int)i, 2), 2, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint);
    }
    {
        void *args[] = {&l[0], &l[1], &l[2], &l[3], &l[4], &l[5]};
        ROW(sum6, "long sum6(long, long, long, long, long, long)", SUM6,
            fp(i, 1, 2, 3, 4, 5), 6, &ffi_type_slong, &ffi_type_slong, &ffi_type_slong, &ffi_type_slong,
            &ffi_type_slong, &ffi_type_slong, &ffi_type_slong);
    }
    {
        void *args[] = {&d[0], &d[1], &d[2]};
        ROW(fma3, "double fma3(double, double, double)", FMA3, fp((double)i, 1.5, 2.5), 3,
            &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double);
    }
    {
        void *args[] = {&p8, &p8, &p16};
        ROW(ptr3, "void *ptr3(void *, void *, void *)", PTR3,
            (long)fp((void *)i, (void *)8, (void *)16), 3, &ffi_type_pointer, &ffi_type_pointer, &ffi_type_pointer,
            &ffi_type_pointer);
    }
    return 0;
}

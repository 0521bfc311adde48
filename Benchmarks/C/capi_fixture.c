/* The functions capi_bench.c calls, in a shared library of their own (scripts/bench-c-api
 * builds it): the same bodies as the scalar rows of `callstub bench`. */
int f0(void) { return 42; }
int add2(int a, int b) { return a + b; }
long sum6(long a, long b, long c, long d, long e, long f) { return a + b + c + d + e + f; }
double fma3(double a, double b, double c) { return a * b + c; }
void *ptr3(void *a, void *b, void *c) { return (char *)a + ((char *)c - (char *)b); }

/* The C fixture library of the CallStub tests (see callstub_fixture.h). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include "callstub_fixture.h"

#define ECHO(T, name) T echo_##name(T x) { return x; }
ECHO(_Bool, bool) ECHO(char, char) ECHO(signed char, schar) ECHO(unsigned char, uchar)
ECHO(short, short) ECHO(unsigned short, ushort) ECHO(int, int) ECHO(unsigned int, uint)
ECHO(long, long) ECHO(unsigned long, ulong) ECHO(long long, llong) ECHO(unsigned long long, ullong)
ECHO(float, float) ECHO(double, double) ECHO(long double, ldouble) ECHO(enum color, color)
ECHO(void *, pointer) ECHO(float _Complex, cfloat) ECHO(double _Complex, cdouble)

long long widen_schar(signed char x) { return x; }
long long widen_short(short x) { return x; }
long long widen_uchar(unsigned char x) { return x; }
long long widen_ushort(unsigned short x) { return x; }
long long widen_bool(_Bool x) { return x; }
double ldouble_to_double(long double x) { return (double)x; }

long isum0(void) { return 0; }
long isum1(long a1) { return a1; }
long isum2(long a1, long a2) { return a1 + 2 * a2; }
long isum3(long a1, long a2, long a3) { return a1 + 2 * a2 + 3 * a3; }
long isum6(long a1, long a2, long a3, long a4, long a5, long a6) {
    return a1 + 2 * a2 + 3 * a3 + 4 * a4 + 5 * a5 + 6 * a6;
}
long isum7(long a1, long a2, long a3, long a4, long a5, long a6, long a7) {
    return isum6(a1, a2, a3, a4, a5, a6) + 7 * a7;
}
long isum8(long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8) {
    return isum7(a1, a2, a3, a4, a5, a6, a7) + 8 * a8;
}
long isum12(long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8, long a9, long a10, long a11, long a12) {
    return isum8(a1, a2, a3, a4, a5, a6, a7, a8) + 9 * a9 + 10 * a10 + 11 * a11 + 12 * a12;
}
double dsum8(double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8) {
    return a1 + 2 * a2 + 3 * a3 + 4 * a4 + 5 * a5 + 6 * a6 + 7 * a7 + 8 * a8;
}
double dsum9(double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8, double a9) {
    return dsum8(a1, a2, a3, a4, a5, a6, a7, a8) + 9 * a9;
}
double dsum12(double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8, double a9, double a10, double a11, double a12) {
    return dsum9(a1, a2, a3, a4, a5, a6, a7, a8, a9) + 10 * a10 + 11 * a11 + 12 * a12;
}
double mixed16(int a, double b, long c, float d, char e, double f, unsigned short g, double h,
               int i, float j, long k, double l, short m, double n, long o, float p) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + 10 * j + 11 * k + 12 * l
        + 13 * m + 14 * n + 15 * o + 16 * p;
}
void do_nothing(void) {}

unsigned long string_length(const char *s) { return strlen(s); }
int string_checksum(const char *s) {
    int sum = 0;
    for (int k = 0; s[k]; k++) sum += (k + 1) * (unsigned char)s[k];
    return sum;
}
const char *greeting(void) { return "hello, world"; }
char *upper_copy(char *destination, const char *source) {
    size_t k = 0;
    for (; source[k]; k++) destination[k] = (source[k] >= 'a' && source[k] <= 'z') ? source[k] - 32 : source[k];
    destination[k] = 0;
    return destination;
}
void divmod(int a, int b, int *quotient, int *remainder) {
    *quotient = a / b;
    *remainder = a % b;
}
long sum_array(const long *values, int count) {
    long sum = 0;
    for (int k = 0; k < count; k++) sum += values[k];
    return sum;
}

/* Records: echo, make (field k = seed + k) and weigh (sum of field k * (k + 1)). */
#define ECHO_RECORD(S) struct S echo_##S(struct S s) { return s; }
ECHO_RECORD(S1) ECHO_RECORD(S3) ECHO_RECORD(S4) ECHO_RECORD(I2) ECHO_RECORD(F2) ECHO_RECORD(IF)
ECHO_RECORD(D1) ECHO_RECORD(I3) ECHO_RECORD(F3) ECHO_RECORD(DD) ECHO_RECORD(LD) ECHO_RECORD(DL)
ECHO_RECORD(FID) ECHO_RECORD(NP) ECHO_RECORD(NS) ECHO_RECORD(L3) ECHO_RECORD(NEST) ECHO_RECORD(BIG)
ECHO_RECORD(B64) ECHO_RECORD(LDS)

struct S1 make_S1(int n) { struct S1 s = {n}; return s; }
struct S3 make_S3(int n) { struct S3 s = {{n, n + 1, n + 2}}; return s; }
struct S4 make_S4(int n) { struct S4 s = {n, n + 1}; return s; }
struct I2 make_I2(int n) { struct I2 s = {n, n + 1}; return s; }
struct F2 make_F2(int n) { struct F2 s = {n, n + 1}; return s; }
struct IF make_IF(int n) { struct IF s = {n, n + 1}; return s; }
struct D1 make_D1(int n) { struct D1 s = {n}; return s; }
struct I3 make_I3(int n) { struct I3 s = {n, n + 1, n + 2}; return s; }
struct F3 make_F3(int n) { struct F3 s = {n, n + 1, n + 2}; return s; }
struct DD make_DD(int n) { struct DD s = {n, n + 1}; return s; }
struct LD make_LD(int n) { struct LD s = {n, n + 1}; return s; }
struct DL make_DL(int n) { struct DL s = {n, n + 1}; return s; }
struct FID make_FID(int n) { struct FID s = {n, n + 1, n + 2}; return s; }
struct NS make_NS(int n) { struct NS s = {{n}, n + 1}; return s; }
struct L3 make_L3(int n) { struct L3 s = {n, n + 1, n + 2}; return s; }
struct NEST make_NEST(int n) { struct NEST s = {{n, n + 1}, {n + 2, n + 3}}; return s; }
struct BIG make_BIG(int n) {
    struct BIG s;
    for (int k = 0; k < 4; k++) { s.d[k] = n + k; s.i[k] = n + 4 + k; }
    return s;
}
struct B64 make_B64(int n) {
    struct B64 s;
    for (int k = 0; k < 8; k++) s.a[k] = n + k;
    return s;
}
struct LDS make_LDS(int n) { struct LDS s = {n}; return s; }

double weigh_S1(struct S1 s) { return s.a; }
double weigh_S3(struct S3 s) { return s.a[0] + 2 * s.a[1] + 3 * s.a[2]; }
double weigh_S4(struct S4 s) { return s.a + 2 * s.b; }
double weigh_I2(struct I2 s) { return s.a + 2 * s.b; }
double weigh_F2(struct F2 s) { return s.a + 2 * s.b; }
double weigh_IF(struct IF s) { return s.a + 2 * s.b; }
double weigh_D1(struct D1 s) { return s.a; }
double weigh_I3(struct I3 s) { return s.a + 2 * s.b + 3 * s.c; }
double weigh_F3(struct F3 s) { return s.a + 2 * s.b + 3 * s.c; }
double weigh_DD(struct DD s) { return s.a + 2 * s.b; }
double weigh_LD(struct LD s) { return s.a + 2 * s.b; }
double weigh_DL(struct DL s) { return s.a + 2 * s.b; }
double weigh_FID(struct FID s) { return s.a + 2 * s.b + 3 * s.c; }
double weigh_NS(struct NS s) { return s.a.x + 2 * s.b; }
double weigh_L3(struct L3 s) { return s.a + 2 * s.b + 3 * s.c; }
double weigh_NEST(struct NEST s) { return s.p.a + 2 * s.p.b + 3 * s.q.a + 4 * s.q.b; }
double weigh_BIG(struct BIG s) {
    double sum = 0;
    for (int k = 0; k < 4; k++) sum += (k + 1) * s.d[k] + (k + 5) * s.i[k];
    return sum;
}
double weigh_B64(struct B64 s) {
    double sum = 0;
    for (int k = 0; k < 8; k++) sum += (k + 1) * s.a[k];
    return sum;
}
double weigh_LDS(struct LDS s) { return (double)s.x; }

double dd_after_seven_doubles(double a, double b, double c, double d, double e, double f, double g,
                              struct DD s, double h) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * s.a + 9 * s.b + 10 * h;
}
long i3_after_five_longs(long a, long b, long c, long d, long e, struct I3 s, long f) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * s.a + 7 * s.b + 8 * s.c + 9 * f;
}
double two_records(struct LD x, struct DL y, struct F3 z) {
    return x.a + 2 * x.b + 3 * y.a + 4 * y.b + 5 * z.a + 6 * z.b + 7 * z.c;
}

union U echo_U(union U u) { return u; }
struct BITS echo_BITS(struct BITS b) { return b; }
struct PACKED echo_PACKED(struct PACKED p) { return p; }
double weigh_A32(struct A32 a) { return a.a + 2.0 * a.b; }
int bits_sum(struct BITS *b) { return (int)b->a + b->b + (int)b->c; }
void bits_set(struct BITS *b, unsigned a, int bv, unsigned c) { b->a = a; b->b = bv; b->c = c; }

long vsum_int(int count, ...) {
    va_list list;
    va_start(list, count);
    long sum = 0;
    for (int k = 0; k < count; k++) sum += (k + 1) * va_arg(list, int);
    va_end(list);
    return sum;
}
double vsum_double(int count, ...) {
    va_list list;
    va_start(list, count);
    double sum = 0;
    for (int k = 0; k < count; k++) sum += (k + 1) * va_arg(list, double);
    va_end(list);
    return sum;
}
double vmixed(const char *format, ...) {
    va_list list;
    va_start(list, format);
    double sum = 0;
    for (int k = 0; format[k]; k++) {
        double weight = k + 1;
        switch (format[k]) {
        case 'i': sum += weight * va_arg(list, int); break;
        case 'l': sum += weight * va_arg(list, long); break;
        case 'd': sum += weight * va_arg(list, double); break;
        case 's': sum += weight * strlen(va_arg(list, const char *)); break;
        case 'p': sum += weight * (va_arg(list, void *) != NULL); break;
        case 'D': { struct DD s = va_arg(list, struct DD); sum += weight * (s.a + s.b); break; }
        }
    }
    va_end(list);
    return sum;
}

int fail_with_errno(int code) {
    errno = code;
    return -1;
}

int drive_int(int (*f)(int), int x) { return f(x); }
signed char drive_schar(signed char (*f)(signed char), signed char x) { return f(x); }
unsigned short drive_ushort(unsigned short (*f)(unsigned short), unsigned short x) { return f(x); }
_Bool drive_bool(_Bool (*f)(_Bool), _Bool x) { return f(x); }
float drive_float(float (*f)(float), float x) { return f(x); }
long double drive_ldouble(long double (*f)(long double), long double x) { return f(x); }
long drive_none(long (*f)(void)) { return f(); }
long drive_long12(long (*f)(long, long, long, long, long, long, long, long, long, long, long, long)) {
    return f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
}
double drive_double10(double (*f)(double, double, double, double, double, double, double, double, double, double)) {
    return f(0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5);
}
double drive_mixed16(double (*f)(int, double, long, float, char, double, unsigned short, double,
                                 int, float, long, double, short, double, long, float)) {
    return f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -13, 14, 15, 16);
}
double drive_after_seven(double (*f)(double, double, double, double, double, double, double, struct DD, double)) {
    struct DD s = {8, 9};
    return f(1, 2, 3, 4, 5, 6, 7, s, 10);
}
void drive_void(void (*f)(int *), int *out) { f(out); }
#define DRIVE_RECORD(S) double drive_##S(struct S (*f)(struct S, int), int seed) { return weigh_##S(f(make_##S(seed), seed)); }
DRIVE_RECORD(S1) DRIVE_RECORD(S3) DRIVE_RECORD(S4) DRIVE_RECORD(I2) DRIVE_RECORD(F2) DRIVE_RECORD(IF)
DRIVE_RECORD(D1) DRIVE_RECORD(I3) DRIVE_RECORD(F3) DRIVE_RECORD(DD) DRIVE_RECORD(LD) DRIVE_RECORD(DL)
DRIVE_RECORD(FID) DRIVE_RECORD(NS) DRIVE_RECORD(L3) DRIVE_RECORD(NEST) DRIVE_RECORD(BIG) DRIVE_RECORD(B64)
DRIVE_RECORD(LDS)

#include <pthread.h>
struct thread_call { long (*f)(long); long x; long result; };
static void *thread_main(void *argument) {
    struct thread_call *call = argument;
    call->result = call->f(call->x);
    return NULL;
}
long drive_from_thread(long (*f)(long), long x) {
    struct thread_call call = { f, x, 0 };
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_main, &call) != 0) return -1;
    pthread_join(thread, NULL);
    return call.result;
}

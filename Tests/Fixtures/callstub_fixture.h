/* The C fixture library of the CallStub tests: every argument and result shape the slow
 * path must pass. No preprocessor lines: CallStub reads this header as a declaration set.
 * Functions echo or combine their arguments so that the expected values come from C. */

enum color { RED, GREEN = 5, BLUE = 1000 };

/* Scalars: echo, and widen to 64 bits (checks sign and zero extension of narrow types). */
_Bool echo_bool(_Bool x);
char echo_char(char x);
signed char echo_schar(signed char x);
unsigned char echo_uchar(unsigned char x);
short echo_short(short x);
unsigned short echo_ushort(unsigned short x);
int echo_int(int x);
unsigned int echo_uint(unsigned int x);
long echo_long(long x);
unsigned long echo_ulong(unsigned long x);
long long echo_llong(long long x);
unsigned long long echo_ullong(unsigned long long x);
float echo_float(float x);
double echo_double(double x);
long double echo_ldouble(long double x);
enum color echo_color(enum color x);
void *echo_pointer(void *x);
float _Complex echo_cfloat(float _Complex x);
double _Complex echo_cdouble(double _Complex x);
long long widen_schar(signed char x);
long long widen_short(short x);
long long widen_uchar(unsigned char x);
long long widen_ushort(unsigned short x);
long long widen_bool(_Bool x);
double ldouble_to_double(long double x);

/* 0 to 12 arguments: sum of a_i * i, so a swapped or dropped argument shows. */
long isum0(void);
long isum1(long a1);
long isum2(long a1, long a2);
long isum3(long a1, long a2, long a3);
long isum6(long a1, long a2, long a3, long a4, long a5, long a6);
long isum7(long a1, long a2, long a3, long a4, long a5, long a6, long a7);
long isum8(long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8);
long isum12(long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8, long a9, long a10, long a11, long a12);
double dsum8(double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8);
double dsum9(double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8, double a9);
double dsum12(double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8, double a9, double a10, double a11, double a12);
/* Mixed: 8 integer-class and 8 SSE-class arguments, interleaved, some narrow. */
double mixed16(int a, double b, long c, float d, char e, double f, unsigned short g, double h,
               int i, float j, long k, double l, short m, double n, long o, float p);
void do_nothing(void);

/* Pointers, strings and out-parameters. */
unsigned long string_length(const char *s);
int string_checksum(const char *s);
const char *greeting(void);
char *upper_copy(char *destination, const char *source);
void divmod(int a, int b, int *quotient, int *remainder);
long sum_array(const long *values, int count);

/* Records of every class mix (psABI eightbyte classes in the comments). */
struct S1 { char a; };                                 /* 1: INTEGER */
struct S3 { char a[3]; };                              /* 3: INTEGER, array */
struct S4 { short a; char b; };                        /* 4: INTEGER */
struct I2 { int a, b; };                               /* 8: INTEGER */
struct F2 { float a, b; };                             /* 8: SSE */
struct IF { int a; float b; };                         /* 8: INTEGER (merged) */
struct D1 { double a; };                               /* 8: SSE */
struct I3 { int a, b, c; };                            /* 12: INTEGER INTEGER */
struct F3 { float a, b, c; };                          /* 12: SSE SSE */
struct DD { double a, b; };                            /* 16: SSE SSE */
struct LD { long a; double b; };                       /* 16: INTEGER SSE */
struct DL { double a; long b; };                       /* 16: SSE INTEGER */
struct FID { float a; int b; double c; };              /* 16: INTEGER SSE */
struct NP { const char *name; int n; };                /* 16: INTEGER INTEGER, pointer */
struct NS { struct { float x; } a; int b; };           /* 8: nested anonymous struct */
struct L3 { long a, b, c; };                           /* 24: MEMORY */
struct NEST { struct I2 p; struct DD q; };             /* 24: MEMORY, nested */
struct BIG { double d[4]; int i[4]; };                 /* 48: MEMORY, arrays */
struct B64 { long a[8]; };                             /* 64: MEMORY */
struct LDS { long double x; };                         /* 16: X87 class, memory */

struct S1 echo_S1(struct S1 s);
struct S3 echo_S3(struct S3 s);
struct S4 echo_S4(struct S4 s);
struct I2 echo_I2(struct I2 s);
struct F2 echo_F2(struct F2 s);
struct IF echo_IF(struct IF s);
struct D1 echo_D1(struct D1 s);
struct I3 echo_I3(struct I3 s);
struct F3 echo_F3(struct F3 s);
struct DD echo_DD(struct DD s);
struct LD echo_LD(struct LD s);
struct DL echo_DL(struct DL s);
struct FID echo_FID(struct FID s);
struct NP echo_NP(struct NP s);
struct NS echo_NS(struct NS s);
struct L3 echo_L3(struct L3 s);
struct NEST echo_NEST(struct NEST s);
struct BIG echo_BIG(struct BIG s);
struct B64 echo_B64(struct B64 s);
struct LDS echo_LDS(struct LDS s);

/* Made in C from a seed: field k (in order, arrays element by element) is seed + k. */
struct S1 make_S1(int seed);
struct S3 make_S3(int seed);
struct S4 make_S4(int seed);
struct I2 make_I2(int seed);
struct F2 make_F2(int seed);
struct IF make_IF(int seed);
struct D1 make_D1(int seed);
struct I3 make_I3(int seed);
struct F3 make_F3(int seed);
struct DD make_DD(int seed);
struct LD make_LD(int seed);
struct DL make_DL(int seed);
struct FID make_FID(int seed);
struct NS make_NS(int seed);
struct L3 make_L3(int seed);
struct NEST make_NEST(int seed);
struct BIG make_BIG(int seed);
struct B64 make_B64(int seed);
struct LDS make_LDS(int seed);

/* Weighted sums of the fields (field k times k + 1), computed in C. */
double weigh_S1(struct S1 s);
double weigh_S3(struct S3 s);
double weigh_S4(struct S4 s);
double weigh_I2(struct I2 s);
double weigh_F2(struct F2 s);
double weigh_IF(struct IF s);
double weigh_D1(struct D1 s);
double weigh_I3(struct I3 s);
double weigh_F3(struct F3 s);
double weigh_DD(struct DD s);
double weigh_LD(struct LD s);
double weigh_DL(struct DL s);
double weigh_FID(struct FID s);
double weigh_NS(struct NS s);
double weigh_L3(struct L3 s);
double weigh_NEST(struct NEST s);
double weigh_BIG(struct BIG s);
double weigh_B64(struct B64 s);
double weigh_LDS(struct LDS s);

/* Registers exhausted before a record: it goes to the stack whole, later scalars still
 * take the registers that are left. */
double dd_after_seven_doubles(double a, double b, double c, double d, double e, double f, double g,
                              struct DD s, double h);
long i3_after_five_longs(long a, long b, long c, long d, long e, struct I3 s, long f);
double two_records(struct LD x, struct DL y, struct F3 z);

/* Types libffi cannot pass by value. */
union U { int i; float f; };
struct BITS { unsigned a : 3; int b : 5; unsigned c : 20; };
struct PACKED { char c; int i; } __attribute__((packed));
union U echo_U(union U u);
struct BITS echo_BITS(struct BITS b);
struct PACKED echo_PACKED(struct PACKED p);
/* Over-aligned: passed by value in memory, copied with the record's alignment. */
struct A32 { double a; long b; } __attribute__((aligned(32)));
double weigh_A32(struct A32 a);
int bits_sum(struct BITS *b);
void bits_set(struct BITS *b, unsigned a, int bv, unsigned c);

/* Variadic functions. */
long vsum_int(int count, ...);
double vsum_double(int count, ...);
/* Each character of the format takes one argument: i int, l long, d double, s string
 * (adds its length), p pointer (adds 1 unless NULL), D struct DD (adds a + b). */
double vmixed(const char *format, ...);

/* errno. */
int fail_with_errno(int code);

/* Callback drivers: each calls the function pointer it is given with known arguments and
 * returns what it returned (records: weighed as weigh_* does). */
int drive_int(int (*f)(int), int x);
signed char drive_schar(signed char (*f)(signed char), signed char x);
unsigned short drive_ushort(unsigned short (*f)(unsigned short), unsigned short x);
_Bool drive_bool(_Bool (*f)(_Bool), _Bool x);
float drive_float(float (*f)(float), float x);
long double drive_ldouble(long double (*f)(long double), long double x);
long drive_none(long (*f)(void));
long drive_long12(long (*f)(long, long, long, long, long, long, long, long, long, long, long, long));
double drive_double10(double (*f)(double, double, double, double, double, double, double, double, double, double));
double drive_mixed16(double (*f)(int, double, long, float, char, double, unsigned short, double,
                                 int, float, long, double, short, double, long, float));
double drive_after_seven(double (*f)(double, double, double, double, double, double, double, struct DD, double));
void drive_void(void (*f)(int *), int *out);
double drive_S1(struct S1 (*f)(struct S1, int), int seed);
double drive_S3(struct S3 (*f)(struct S3, int), int seed);
double drive_S4(struct S4 (*f)(struct S4, int), int seed);
double drive_I2(struct I2 (*f)(struct I2, int), int seed);
double drive_F2(struct F2 (*f)(struct F2, int), int seed);
double drive_IF(struct IF (*f)(struct IF, int), int seed);
double drive_D1(struct D1 (*f)(struct D1, int), int seed);
double drive_I3(struct I3 (*f)(struct I3, int), int seed);
double drive_F3(struct F3 (*f)(struct F3, int), int seed);
double drive_DD(struct DD (*f)(struct DD, int), int seed);
double drive_LD(struct LD (*f)(struct LD, int), int seed);
double drive_DL(struct DL (*f)(struct DL, int), int seed);
double drive_FID(struct FID (*f)(struct FID, int), int seed);
double drive_NS(struct NS (*f)(struct NS, int), int seed);
double drive_L3(struct L3 (*f)(struct L3, int), int seed);
double drive_NEST(struct NEST (*f)(struct NEST, int), int seed);
double drive_BIG(struct BIG (*f)(struct BIG, int), int seed);
double drive_B64(struct B64 (*f)(struct B64, int), int seed);
double drive_LDS(struct LDS (*f)(struct LDS, int), int seed);
/* Calls f from a thread of its own (pthread_create) and returns its result. */
long drive_from_thread(long (*f)(long), long x);

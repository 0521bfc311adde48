/* Every entry point of callstub.h against the fixture library, linked directly too: each
 * call through CallStub is compared with the same call made by the C compiler. Bad input
 * (NULL and freed handles, wrong declarations, missing symbols, unknown flags) must give
 * a status and a message. Prints one line per failed check and "N checks, F failed".
 * argv[1]: the fixture library's path. */
#include <callstub.h>
#include <callstub_ffi.h>
#include "callstub_fixture.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

#define CHECK(condition, ...)                                   \
    do {                                                        \
        ++checks;                                               \
        if (!(condition)) {                                     \
            ++failures;                                         \
            printf("FAILED line %d: %s: ", __LINE__, #condition); \
            printf(__VA_ARGS__);                                \
            printf("\n");                                       \
        }                                                       \
    } while (0)

/* A call that must succeed. */
#define OK(call) CHECK((call) == CALLSTUB_OK, "%s", callstub_last_error())

/* A call that must fail with `status` and a message containing `text`. */
#define FAILS(call, status, text)                                                          \
    do {                                                                                   \
        callstub_status got_ = (call);                                                     \
        CHECK(got_ == (status) && strstr(callstub_last_error(), (text)) != NULL, "got %s: %s", \
              callstub_status_name(got_), callstub_last_error());                          \
    } while (0)

static callstub_library *fixture;

static callstub_function *bind(const char *name, const char *declaration, unsigned flags) {
    callstub_function *function = NULL;
    OK(callstub_bind(fixture, name, declaration, flags, &function));
    return function;
}

static void scalars(void) {
    static const unsigned flag_sets[] = {0, CALLSTUB_BACKEND_LIBFFI, CALLSTUB_BACKEND_JIT, CALLSTUB_TIER_EAGER};
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        unsigned flags = flag_sets[i];
        /* From the DWARF (no declaration), and from a declaration. */
        callstub_function *echo = bind("echo_int", NULL, flags);
        int x = -123456;
        long long wide = 0;
        void *args[] = {&x};
        OK(callstub_call(echo, &wide, args));
        CHECK((int)wide == echo_int(x), "echo_int %lld, flags %u", wide, flags);
        /* The inlined fast path: the stub straight away, or callstub_call for the rest. */
        wide = 0;
        OK(callstub_call_inline(echo, &wide, args));
        CHECK((int)wide == echo_int(x), "echo_int inline %lld, flags %u", wide, flags);
        /* The shortest call, for functions whose stub was compiled when bound. */
        callstub_entry entry = NULL;
        void *target = NULL;
        if (flags == CALLSTUB_BACKEND_JIT || flags == CALLSTUB_TIER_EAGER) {
            OK(callstub_function_entry(echo, &entry, &target));
            wide = 0;
            CHECK(entry && entry(target, args, &wide) == 0 && (int)wide == x, "entry: %lld", wide);
        } else {
            FAILS(callstub_function_entry(echo, &entry, &target), CALLSTUB_ERROR_BACKEND, "CALLSTUB_TIER_EAGER");
        }
        callstub_function_free(echo);

        /* Narrow integer results are widened to 8 bytes, as ffi_call does (ffi_arg). */
        callstub_function *schar = bind("echo_schar", "signed char echo_schar(signed char)", flags);
        signed char c = -5;
        long long widened = 0;
        void *cargs[] = {&c};
        OK(callstub_call(schar, &widened, cargs));
        CHECK(widened == -5, "echo_schar widened to %lld, flags %u", widened, flags);
        callstub_function_free(schar);

        callstub_function *mixed = bind("mixed16", NULL, flags);
        int a = 1; double b = 2.5; long c3 = -3; float d = 4.25f; char e = 'e'; double f = 6.5;
        unsigned short g = 7; double h = 8.5; int i9 = 9; float j = 10.5f; long k = 11; double l = 12.5;
        short m = -13; double n = 14.5; long o = 15; float p = 16.5f;
        void *margs[] = {&a, &b, &c3, &d, &e, &f, &g, &h, &i9, &j, &k, &l, &m, &n, &o, &p};
        double got = 0;
        OK(callstub_call(mixed, &got, margs));
        CHECK(got == mixed16(a, b, c3, d, e, f, g, h, i9, j, k, l, m, n, o, p), "mixed16 %g", got);
        got = 0;
        OK(callstub_call_inline(mixed, &got, margs));
        CHECK(got == mixed16(a, b, c3, d, e, f, g, h, i9, j, k, l, m, n, o, p), "mixed16 inline %g", got);
        callstub_function_free(mixed);

        callstub_function *ld = bind("echo_ldouble", NULL, flags);
        long double lx = 1.0L / 3, lgot = 0;
        void *largs[] = {&lx};
        OK(callstub_call(ld, &lgot, largs));
        CHECK(lgot == echo_ldouble(lx), "echo_ldouble");
        callstub_function_free(ld);
    }
}

static void records(void) {
    callstub_function *echo_dd = bind("echo_DD", NULL, CALLSTUB_TIER_EAGER);
    struct DD dd = make_DD(3), dd_got;
    void *args[] = {&dd};
    OK(callstub_call(echo_dd, &dd_got, args));
    struct DD dd_direct = echo_DD(dd);
    CHECK(memcmp(&dd_got, &dd_direct, sizeof dd_got) == 0, "echo_DD bytes");
    callstub_function_free(echo_dd);

    /* MEMORY class both ways (sret and a stack copy), with libffi too. */
    for (unsigned flags = 0; flags <= CALLSTUB_BACKEND_LIBFFI; flags += CALLSTUB_BACKEND_LIBFFI) {
        callstub_function *echo_big = bind("echo_BIG", NULL, flags);
        struct BIG big = make_BIG(7), big_got;
        void *bargs[] = {&big};
        CHECK(callstub_result_size(echo_big) >= sizeof big_got, "result size %zu", callstub_result_size(echo_big));
        OK(callstub_call(echo_big, &big_got, bargs));
        struct BIG big_direct = echo_BIG(big);
        CHECK(memcmp(&big_got, &big_direct, sizeof big_got) == 0, "echo_BIG bytes, flags %u", flags);
        callstub_function_free(echo_big);
    }

    /* A bit-field struct: libffi cannot pass it, the JIT can. */
    callstub_function *bits = bind("echo_BITS", NULL, 0);
    char *text = NULL;
    OK(callstub_describe(bits, CALLSTUB_DESCRIBE_BACKEND, &text));
    CHECK(text && strstr(text, "backend: jit"), "%s", text ? text : "(null)");
    free(text);
    struct BITS bv = {5, -3, 77777}, bits_got;
    void *bits_args[] = {&bv};
    OK(callstub_call(bits, &bits_got, bits_args));
    CHECK(bits_got.a == 5 && bits_got.b == -3 && bits_got.c == 77777, "echo_BITS");
    FAILS(callstub_bind(fixture, "echo_BITS", NULL, CALLSTUB_BACKEND_LIBFFI, &bits), CALLSTUB_ERROR_BACKEND, "libffi");
    callstub_function_free(bits);
}

static void variadic_and_errno(void) {
    callstub_function *vsum = bind("vsum_int", NULL, 0);
    int count = 3, v1 = 10, v2 = 20, v3 = 30;
    long sum = 0;
    void *args[] = {&count, &v1, &v2, &v3};
    for (int round = 0; round < 3; round++) {  /* the shape is prepared once, then reused */
        OK(callstub_call_variadic(vsum, "int, int, int", &sum, args));
        CHECK(sum == vsum_int(3, 10, 20, 30), "vsum_int %ld", sum);
    }
    /* Tails of 1 to 10 ints on a JIT handle, each called three times: the first eight
     * tails are served by callstub_call_variadic's own list, the others through Swift. */
    callstub_function *vsum_jit = bind("vsum_int", NULL, CALLSTUB_BACKEND_JIT);
    int values[11] = {0, 3, -5, 7, 11, -13, 17, 19, -23, 29, 31};
    for (int round = 0; round < 3; round++)
        for (int tail = 1; tail <= 10; tail++) {
            char types[64] = "";
            void *vargs[11];
            long expected = 0;
            vargs[0] = &values[0];
            values[0] = tail;
            for (int k = 1; k <= tail; k++) {
                strcat(types, k == 1 ? "int" : ", int");
                vargs[k] = &values[k];
                expected += (long)k * values[k];  /* vsum_int weighs the k-th by k */
            }
            long got = 0;
            OK(callstub_call_variadic(vsum_jit, types, &got, vargs));
            CHECK(got == expected, "vsum_int with %d ints, round %d: %ld, expected %ld", tail, round, got, expected);
        }
    callstub_function_free(vsum_jit);

    const char *format = "ids";
    int i = 4; double d = 2.5; const char *s = "hello";
    double mixed = 0;
    callstub_function *vmixed_fn = bind("vmixed", NULL, 0);
    void *margs[] = {&format, &i, &d, &s};
    OK(callstub_call_variadic(vmixed_fn, "int, double, const char *", &mixed, margs));
    CHECK(mixed == vmixed("ids", 4, 2.5, "hello"), "vmixed %g", mixed);
    FAILS(callstub_call_variadic(vmixed_fn, "int, struct nowhere", &mixed, margs), CALLSTUB_ERROR_DECLARATION, "nowhere");
    callstub_function *echo = bind("echo_int", NULL, 0);
    FAILS(callstub_call_variadic(echo, "int", &mixed, margs), CALLSTUB_ERROR_ARGUMENT, "not variadic");
    callstub_function_free(echo);
    callstub_function_free(vmixed_fn);
    callstub_function_free(vsum);

    for (unsigned flags = CALLSTUB_CAPTURE_ERRNO; flags <= (CALLSTUB_CAPTURE_ERRNO | CALLSTUB_BACKEND_JIT); flags += CALLSTUB_BACKEND_JIT) {
        callstub_function *fail = bind("fail_with_errno", NULL, flags);
        int code = ERANGE, result = 0;
        void *eargs[] = {&code};
        errno = 0;
        OK(callstub_call(fail, &result, eargs));
        CHECK(callstub_errno() == ERANGE, "captured errno %d, flags %u", callstub_errno(), flags);
        callstub_function_free(fail);
    }
}

static void handler_twice(void *context, void *result, void **args) {
    ++*(int *)context;
    *(int *)result = 2 * *(int *)args[0];
}

static void handler_DD(void *context, void *result, void **args) {
    (void)context;
    struct DD in = *(struct DD *)args[0];
    int seed = *(int *)args[1];
    struct DD out = {in.a + seed, in.b * 2};
    memcpy(result, &out, sizeof out);
}

/* The same callback in C, the oracle for drive_DD's result. */
static struct DD direct_DD(struct DD in, int seed) {
    struct DD out = {in.a + seed, in.b * 2};
    return out;
}

static void callbacks(void) {
    for (unsigned flags = 0; flags <= CALLSTUB_BACKEND_JIT; flags += CALLSTUB_BACKEND_LIBFFI) {
        int calls = 0;
        callstub_callback *twice = NULL;
        OK(callstub_callback_new("int (*)(int)", handler_twice, &calls, flags, &twice));
        int (*pointer)(int) = (int (*)(int))callstub_callback_pointer(twice);
        CHECK(pointer && pointer(21) == 42 && drive_int(pointer, 5) == 10 && calls == 2, "twice, flags %u", flags);

        /* Through CallStub: drive_int called by callstub_call with the callback as argument. */
        callstub_function *drive = bind("drive_int", NULL, 0);
        int x = 8, got = 0;
        void *args[] = {&pointer, &x};
        OK(callstub_call(drive, &got, args));
        CHECK(got == 16, "drive_int through CallStub %d", got);
        callstub_function_free(drive);
        callstub_callback_free(twice);

        /* A struct by value in and out. */
        callstub_callback *dd = NULL;
        OK(callstub_callback_new("struct DD { double a, b; } (*)(struct DD, int)", handler_DD, NULL, flags, &dd));
        struct DD (*dd_pointer)(struct DD, int) = (struct DD (*)(struct DD, int))callstub_callback_pointer(dd);
        CHECK(dd_pointer && drive_DD(dd_pointer, 3) == drive_DD(direct_DD, 3), "drive_DD, flags %u", flags);
        callstub_callback_free(dd);
    }
    callstub_callback *bad = NULL;
    FAILS(callstub_callback_new("int (*)(int, ...)", handler_twice, NULL, 0, &bad), CALLSTUB_ERROR_DECLARATION, "variadic");
    FAILS(callstub_callback_new("int (*)(int)", NULL, NULL, 0, &bad), CALLSTUB_ERROR_HANDLE, "handler is NULL");
    FAILS(callstub_callback_new("int (*)(int)", handler_twice, NULL, CALLSTUB_CAPTURE_ERRNO, &bad), CALLSTUB_ERROR_ARGUMENT, "flags");
    CHECK(callstub_callback_pointer(NULL) == NULL, "pointer of NULL");
}

/* The first bit set in `bytes` (a bit-field's offset found by setting it in C). */
static size_t first_bit(const unsigned char *bytes, size_t size) {
    for (size_t bit = 0; bit < size * 8; bit++)
        if (bytes[bit / 8] >> (bit % 8) & 1) return bit;
    return (size_t)-1;
}

/* The member of record type `type` named `name`, or NULL. */
static const callstub_member *member_named(const callstub_signature *signature, int type, const char *name) {
    const callstub_type *record = &signature->types[type];
    for (size_t index = 0; index < record->count; index++) {
        const callstub_member *member = &signature->members[record->first + index];
        if (member->name && !strcmp(member->name, name)) return member;
    }
    return NULL;
}

/* The type of parameter `index` (0-based) or, for -1, the result. */
static int parameter_type(const callstub_signature *signature, int index) {
    const callstub_type *function = &signature->types[signature->function];
    return index < 0 ? function->element : signature->members[function->first + index].type;
}

#define MEMBER_AT(signature_, type_, record_, field_)                                                        \
    do {                                                                                                        \
        const callstub_member *member_ = member_named(signature_, type_, #field_);                              \
        CHECK(member_ && member_->offset_in_bits == offsetof(record_, field_) * 8 && member_->bit_width == 0 &&   \
                  signature_->types[member_->type].size == sizeof(((record_ *)0)->field_),                     \
              "%s.%s", #record_, #field_);                                                                      \
    } while (0)

/* callstub_function_signature's tables against the C compiler's sizeof, _Alignof, offsetof
 * and bit placement; a callback made from a parameter's type. */
static void signatures(void) {
    const callstub_signature *signature = NULL;
    callstub_function *nest = bind("echo_NEST", NULL, 0);
    OK(callstub_function_signature(nest, &signature));
    const callstub_type *function = &signature->types[signature->function];
    CHECK(function->kind == CALLSTUB_TYPE_FUNCTION && function->count == 1 && !(function->flags & CALLSTUB_TYPE_VARIADIC),
          "echo_NEST's function type");
    int record = parameter_type(signature, -1);
    CHECK(record == parameter_type(signature, 0), "one entry per record");
    CHECK(signature->types[record].kind == CALLSTUB_TYPE_STRUCT && signature->types[record].size == sizeof(struct NEST) &&
              signature->types[record].alignment == _Alignof(struct NEST) && !strcmp(signature->types[record].name, "struct NEST"),
          "struct NEST: %s", signature->types[record].name);
    MEMBER_AT(signature, record, struct NEST, p);
    MEMBER_AT(signature, record, struct NEST, q);
    int i2 = member_named(signature, record, "p")->type;
    MEMBER_AT(signature, i2, struct I2, b);
    int dd = member_named(signature, record, "q")->type;
    MEMBER_AT(signature, dd, struct DD, b);
    CHECK(signature->types[member_named(signature, dd, "b")->type].kind == CALLSTUB_TYPE_FLOAT, "double member");
    callstub_function_free(nest);

    callstub_function *bits = bind("bits_sum", NULL, 0);
    OK(callstub_function_signature(bits, &signature));
    const callstub_type *pointer = &signature->types[parameter_type(signature, 0)];
    CHECK(pointer->kind == CALLSTUB_TYPE_POINTER && signature->types[pointer->element].size == sizeof(struct BITS),
          "struct BITS *");
    struct BITS ones;
    const char *names[] = {"a", "b", "c"};
    const size_t widths[] = {3, 5, 20};
    for (int field = 0; field < 3; field++) {
        memset(&ones, 0, sizeof ones);
        if (field == 0) ones.a = 1;
        if (field == 1) ones.b = 1;
        if (field == 2) ones.c = 1;
        const callstub_member *member = member_named(signature, pointer->element, names[field]);
        CHECK(member && member->bit_width == widths[field] &&
                  member->offset_in_bits == first_bit((const unsigned char *)&ones, sizeof ones),
              "bit-field %s", names[field]);
    }
    CHECK(signature->types[member_named(signature, pointer->element, "b")->type].kind == CALLSTUB_TYPE_SIGNED, "int b : 5");
    callstub_function_free(bits);

    callstub_function *packed = bind("echo_PACKED", NULL, 0);
    OK(callstub_function_signature(packed, &signature));
    record = parameter_type(signature, 0);
    CHECK(signature->types[record].size == sizeof(struct PACKED) && signature->types[record].alignment == _Alignof(struct PACKED),
          "packed size");
    MEMBER_AT(signature, record, struct PACKED, i);
    callstub_function_free(packed);

    callstub_function *u = bind("echo_U", NULL, 0);
    OK(callstub_function_signature(u, &signature));
    record = parameter_type(signature, 0);
    CHECK(signature->types[record].kind == CALLSTUB_TYPE_UNION && signature->types[record].size == sizeof(union U) &&
              member_named(signature, record, "f")->offset_in_bits == 0,
          "union U");
    callstub_function_free(u);

    /* Flags: plain char, x87 long double, complex, const pointee, variadic. */
    struct {
        const char *name;
        int parameter;
        int kind;
        unsigned flag;
    } flags[] = {
        {"echo_char", 0, CALLSTUB_TYPE_SIGNED, CALLSTUB_TYPE_CHAR},
        {"echo_schar", 0, CALLSTUB_TYPE_SIGNED, 0},
        {"echo_ldouble", 0, CALLSTUB_TYPE_FLOAT, CALLSTUB_TYPE_X87},
        {"echo_cdouble", -1, CALLSTUB_TYPE_COMPLEX, 0},
        {"echo_color", 0, CALLSTUB_TYPE_UNSIGNED, CALLSTUB_TYPE_ENUM},
        {"widen_bool", 0, CALLSTUB_TYPE_BOOL, 0},
    };
    for (size_t index = 0; index < sizeof flags / sizeof flags[0]; index++) {
        callstub_function *echo = bind(flags[index].name, NULL, 0);
        OK(callstub_function_signature(echo, &signature));
        const callstub_type *type = &signature->types[parameter_type(signature, flags[index].parameter)];
        CHECK(type->kind == flags[index].kind && (type->flags & (CALLSTUB_TYPE_CHAR | CALLSTUB_TYPE_X87 | CALLSTUB_TYPE_ENUM)) == flags[index].flag,
              "%s: kind %d flags %u", flags[index].name, type->kind, type->flags);
        callstub_function_free(echo);
    }
    callstub_function *length = bind("string_length", NULL, 0);
    OK(callstub_function_signature(length, &signature));
    pointer = &signature->types[parameter_type(signature, 0)];
    CHECK(signature->types[pointer->element].flags & CALLSTUB_TYPE_CONST, "const char *");
    callstub_function_free(length);
    callstub_function *vsum = bind("vsum_int", NULL, 0);
    OK(callstub_function_signature(vsum, &signature));
    CHECK(signature->types[signature->function].flags & CALLSTUB_TYPE_VARIADIC, "vsum_int is variadic");
    callstub_function_free(vsum);

    /* A callback of a parameter's function type: drive_DD's, records by value both ways. */
    callstub_function *drive = bind("drive_DD", NULL, 0);
    OK(callstub_function_signature(drive, &signature));
    pointer = &signature->types[parameter_type(signature, 0)];
    CHECK(signature->types[pointer->element].kind == CALLSTUB_TYPE_FUNCTION, "a function pointer");
    for (unsigned backend = 0; backend <= CALLSTUB_BACKEND_JIT; backend += CALLSTUB_BACKEND_LIBFFI) {
        callstub_callback *callback = NULL;
        OK(callstub_callback_new_from_signature(signature, pointer->element, handler_DD, NULL, backend, &callback));
        struct DD (*made)(struct DD, int) = (struct DD (*)(struct DD, int))callstub_callback_pointer(callback);
        CHECK(made && drive_DD(made, 4) == drive_DD(direct_DD, 4), "callback from a signature, flags %u", backend);
        const callstub_signature *own = NULL;
        OK(callstub_callback_signature(callback, &own));
        CHECK(own && own->types[own->function].count == 2, "the callback's own signature");
        callstub_callback_free(callback);
    }
    callstub_callback *bad = NULL;
    FAILS(callstub_callback_new_from_signature(signature, 999, handler_DD, NULL, 0, &bad), CALLSTUB_ERROR_ARGUMENT, "not an index");
    FAILS(callstub_callback_new_from_signature(signature, parameter_type(signature, 1), handler_DD, NULL, 0, &bad),
          CALLSTUB_ERROR_ARGUMENT, "not a function type");
    struct {
        callstub_signature copy;
        char zeros[64];
    } forged = {*signature, {0}};
    FAILS(callstub_callback_new_from_signature(&forged.copy, 0, handler_DD, NULL, 0, &bad), CALLSTUB_ERROR_HANDLE, "not a signature");
    FAILS(callstub_function_signature(NULL, &signature), CALLSTUB_ERROR_HANDLE, "NULL");
    FAILS(callstub_function_signature(drive, NULL), CALLSTUB_ERROR_HANDLE, "NULL");
    callstub_function_free(drive);
}

static void introspection_and_checks(void) {
    callstub_function *echo = bind("echo_DD", NULL, 0);
    static const char *const expected[] = {"struct DD echo_DD(struct DD", "xmm0", "requested: auto", "verified"};
    for (int what = 0; what < 4; what++) {
        char *text = NULL;
        OK(callstub_describe(echo, (callstub_description)what, &text));
        CHECK(text && strstr(text, expected[what]), "describe %d: %s", what, text ? text : "(null)");
        free(text);
    }
    char *text = NULL;
    FAILS(callstub_describe(echo, (callstub_description)9, &text), CALLSTUB_ERROR_ARGUMENT, "unknown description");
    CHECK(callstub_parameter_count(echo) == 1 && callstub_parameter_count(NULL) == -1, "parameter count");
    callstub_function_free(echo);

    char *header = NULL;
    OK(callstub_library_signature(fixture, "weigh_NEST", &header));
    CHECK(header && strstr(header, "struct NEST {") && strstr(header, "weigh_NEST("), "%s", header ? header : "(null)");
    free(header);

    char *report = NULL;
    OK(callstub_library_check(fixture, "int echo_int(int)", 0, &report));
    CHECK(report && strstr(report, "echo_int: verified"), "%s", report ? report : "(null)");
    free(report);
    report = NULL;
    FAILS(callstub_library_check(fixture, "struct DD { float a, b; }; double weigh_DD(struct DD)", 0, &report),
          CALLSTUB_ERROR_MISMATCH, "disagrees");
    CHECK(report && strstr(report, "declared") && strstr(report, "actual"), "%s", report ? report : "(null)");
    free(report);
    /* Binding with a wrong declaration fails the same way. */
    callstub_function *wrong = NULL;
    FAILS(callstub_bind(fixture, "echo_int", "double echo_int(double)", 0, &wrong), CALLSTUB_ERROR_MISMATCH, "echo_int");
    CHECK(wrong == NULL, "out-parameter untouched");
    /* Off, the same declaration binds. */
    OK(callstub_bind(fixture, "echo_int", "long echo_int(long)", CALLSTUB_VERIFY_OFF, &wrong));
    callstub_function_free(wrong);

    /* A declaration set, then functions bound from it. */
    OK(callstub_library_declare(fixture, "struct LD { long a; double b; }; double weigh_LD(struct LD s);"));
    callstub_function *weigh = bind("weigh_LD", NULL, 0);
    struct LD ld = make_LD(4);
    double weight = 0;
    void *args[] = {&ld};
    OK(callstub_call(weigh, &weight, args));
    CHECK(weight == weigh_LD(ld), "weigh_LD %g", weight);
    callstub_function_free(weigh);

    /* A function pointer found at run time. */
    callstub_function *by_address = NULL;
    OK(callstub_bind_address((void (*)(void))echo_long, "long (*)(long)", 0, &by_address));
    long value = -99, got = 0;
    void *vargs[] = {&value};
    OK(callstub_call(by_address, &got, vargs));
    CHECK(got == -99, "by address %ld", got);
    callstub_function_free(by_address);

    /* Real headers, preprocessed. */
    callstub_library *libc = NULL;
    OK(callstub_library_open("libc.so.6", &libc));
    const char *headers[] = {"stdlib.h"};
    const char *arguments[] = {"-D_GNU_SOURCE"};
    OK(callstub_library_include(libc, headers, 1, arguments, 1));
    callstub_function *labs_fn = NULL;
    OK(callstub_bind(libc, "labs", NULL, 0, &labs_fn));
    long negative = -42, absolute = 0;
    void *labs_args[] = {&negative};
    OK(callstub_call(labs_fn, &absolute, labs_args));
    CHECK(absolute == 42, "labs %ld", absolute);
    callstub_function_free(labs_fn);
    const char *missing[] = {"no/such/header.h"};
    FAILS(callstub_library_include(libc, missing, 1, NULL, 0), CALLSTUB_ERROR_PREPROCESSOR, "no/such/header.h");
    callstub_library_close(libc);
}

/* libffi cifs checked against the fixture's DWARF (callstub_ffi.h). */
static void ffi_checks(void) {
    ffi_type *dd_elements[] = {&ffi_type_double, &ffi_type_double, NULL};
    ffi_type dd = {0, 0, FFI_TYPE_STRUCT, dd_elements};
    ffi_type *weigh_args[] = {&dd};
    ffi_cif weigh;
    CHECK(ffi_prep_cif(&weigh, FFI_DEFAULT_ABI, 1, &ffi_type_double, weigh_args) == FFI_OK, "prep");
    char *report = NULL;
    OK(callstub_ffi_check(&weigh, fixture, "weigh_DD", 0, &report));
    CHECK(report && strstr(report, "weigh_DD: verified"), "%s", report ? report : "(null)");
    free(report);

    ffi_type *ff_elements[] = {&ffi_type_float, &ffi_type_float, NULL};
    ffi_type ff = {0, 0, FFI_TYPE_STRUCT, ff_elements};
    ffi_type *wrong_args[] = {&ff};
    ffi_cif wrong;
    CHECK(ffi_prep_cif(&wrong, FFI_DEFAULT_ABI, 1, &ffi_type_double, wrong_args) == FFI_OK, "prep");
    report = NULL;
    FAILS(callstub_ffi_check(&wrong, fixture, "weigh_DD", 0, &report), CALLSTUB_ERROR_MISMATCH, "weigh_DD");
    CHECK(report && strstr(report, "declared") && strstr(report, "actual"), "%s", report ? report : "(null)");
    free(report);

    ffi_type *int_args[] = {&ffi_type_double};
    ffi_cif echo;
    CHECK(ffi_prep_cif(&echo, FFI_DEFAULT_ABI, 1, &ffi_type_sint32, int_args) == FFI_OK, "prep");
    FAILS(callstub_ffi_check(&echo, fixture, "echo_int", 0, NULL), CALLSTUB_ERROR_MISMATCH, "echo_int");
    FAILS(callstub_ffi_check(&echo, fixture, "no_such_function", 0, NULL), CALLSTUB_ERROR_DEBUG_INFO, "no_such_function");
    FAILS(callstub_ffi_check(NULL, fixture, "echo_int", 0, NULL), CALLSTUB_ERROR_HANDLE, "cif is NULL");
    FAILS(callstub_ffi_check(&echo, NULL, "echo_int", 0, NULL), CALLSTUB_ERROR_HANDLE, "library handle is NULL");
    FAILS(callstub_ffi_check(&echo, fixture, "echo_int", CALLSTUB_CAPTURE_ERRNO, NULL), CALLSTUB_ERROR_ARGUMENT, "flags");
    ffi_cif damaged = echo;
    damaged.arg_types = NULL;
    FAILS(callstub_ffi_check(&damaged, fixture, "echo_int", 0, NULL), CALLSTUB_ERROR_ARGUMENT, "no argument types");
}

/* A cif on the stack, made for echo_double or echo_long at the same addresses each time:
 * callstub_ffi_call must tell them apart by content. */
__attribute__((noinline)) static long long same_stack_cif(int as_double) {
    ffi_type *types[1];
    ffi_cif cif;
    types[0] = as_double ? &ffi_type_double : &ffi_type_slong;
    ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, types[0], types);
    double d = 2.5;
    long l = -7;
    void *args[] = {as_double ? (void *)&d : (void *)&l};
    union { double d; long l; long long raw; } result = {0};
    callstub_ffi_call(&cif, as_double ? (void (*)(void))echo_double : (void (*)(void))echo_long, &result, args);
    return as_double ? (result.d == 2.5) : (result.l == -7);
}

/* fast_path.c's count of callstub_ffi_call lookups that missed its cache of cifs by address
 * (not in callstub.h: the library built by swift build exports it for this test). */
size_t _callstub_cif_cache_misses(void);

static void ffi_calls(void) {
    for (int round = 0; round < 6; round++)
        CHECK(same_stack_cif(round % 2) == 1, "stack cif round %d", round);

    /* The same cifs as ffi_call, on results that widen, records, variadic cifs. */
    ffi_type *schar_args[] = {&ffi_type_sint8};
    ffi_cif schar_cif;
    ffi_prep_cif(&schar_cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint8, schar_args);
    signed char c = -9;
    void *cargs[] = {&c};
    ffi_arg mine = 0, theirs = 0;
    callstub_ffi_call(&schar_cif, (void (*)(void))echo_schar, &mine, cargs);
    ffi_call(&schar_cif, (void (*)(void))echo_schar, &theirs, cargs);
    CHECK(mine == theirs, "echo_schar %ld %ld", (long)mine, (long)theirs);

    ffi_type *dd_elements[] = {&ffi_type_double, &ffi_type_double, NULL};
    ffi_type dd = {0, 0, FFI_TYPE_STRUCT, dd_elements};
    ffi_type *dd_args[] = {&dd};
    ffi_cif dd_cif;
    ffi_prep_cif(&dd_cif, FFI_DEFAULT_ABI, 1, &dd, dd_args);
    struct DD value = make_DD(7), got;
    void *dargs[] = {&value};
    callstub_ffi_call(&dd_cif, (void (*)(void))echo_DD, &got, dargs);
    struct DD direct = echo_DD(value);
    CHECK(memcmp(&got, &direct, sizeof got) == 0, "echo_DD through callstub_ffi_call");

    /* Same types in another order: another shape. */
    ffi_type *ld_elements[] = {&ffi_type_slong, &ffi_type_double, NULL};
    ffi_type ld = {0, 0, FFI_TYPE_STRUCT, ld_elements};
    ffi_type *ld_args[] = {&ld};
    ffi_cif ld_cif;
    ffi_prep_cif(&ld_cif, FFI_DEFAULT_ABI, 1, &ffi_type_double, ld_args);
    struct LD ld_value = make_LD(3);
    double weight = 0;
    void *largs[] = {&ld_value};
    callstub_ffi_call(&ld_cif, (void (*)(void))weigh_LD, &weight, largs);
    CHECK(weight == weigh_LD(ld_value), "weigh_LD through callstub_ffi_call %g", weight);

    ffi_type *vsum_args[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_double};
    ffi_cif vsum_cif;
    ffi_prep_cif_var(&vsum_cif, FFI_DEFAULT_ABI, 1, 3, &ffi_type_double, vsum_args);
    int two = 2;
    double y1 = 0.5, y2 = 4, vsum_got = 0;
    void *vargs[] = {&two, &y1, &y2};
    callstub_ffi_call(&vsum_cif, (void (*)(void))vsum_double, &vsum_got, vargs);
    CHECK(vsum_got == vsum_double(2, 0.5, 4.0), "vsum_double through callstub_ffi_call %g", vsum_got);
    callstub_ffi_call(&vsum_cif, (void (*)(void))vsum_double, NULL, vargs);  /* rvalue NULL */

    callstub_ffi_call(NULL, (void (*)(void))vsum_double, &vsum_got, vargs);
    CHECK(strstr(callstub_last_error(), "cif is NULL") != NULL, "%s", callstub_last_error());

    /* One cif and one record type at the same addresses, the type's elements swapped
     * between calls: equal pointers, other content (the cache compares the content). */
    ffi_type *swapped_elements[] = {&ffi_type_slong, &ffi_type_double, NULL};
    ffi_type swapped = {0, 0, FFI_TYPE_STRUCT, swapped_elements};
    ffi_type *swapped_args[] = {&swapped};
    ffi_cif swapped_cif;
    size_t misses_before_swaps = _callstub_cif_cache_misses();
    for (int round = 0; round < 6; round++) {
        int as_dl = round % 2;
        swapped_elements[0] = as_dl ? &ffi_type_double : &ffi_type_slong;
        swapped_elements[1] = as_dl ? &ffi_type_slong : &ffi_type_double;
        swapped.size = 0;
        swapped.alignment = 0;
        ffi_prep_cif(&swapped_cif, FFI_DEFAULT_ABI, 1, &ffi_type_double, swapped_args);
        double out = 0, want;
        if (as_dl) {
            struct DL in = make_DL(round);
            void *a[] = {&in};
            want = weigh_DL(in);
            callstub_ffi_call(&swapped_cif, (void (*)(void))weigh_DL, &out, a);
        } else {
            struct LD in = make_LD(round);
            void *a[] = {&in};
            want = weigh_LD(in);
            callstub_ffi_call(&swapped_cif, (void (*)(void))weigh_LD, &out, a);
        }
        CHECK(out == want, "swapped record, round %d: %g, expected %g", round, out, want);
    }
    /* Every round changed the content under the same pointers: every round missed. */
    CHECK(_callstub_cif_cache_misses() - misses_before_swaps == 6, "misses over the swaps: %zu",
          _callstub_cif_cache_misses() - misses_before_swaps);
    /* A cif not seen before, called four times: one miss, then found at its address. */
    ffi_type *repeat_args[] = {&ffi_type_slong, &ffi_type_slong, &ffi_type_slong};
    ffi_cif repeat_cif;
    ffi_prep_cif(&repeat_cif, FFI_DEFAULT_ABI, 3, &ffi_type_slong, repeat_args);
    size_t misses_before_repeats = _callstub_cif_cache_misses();
    for (long round = 0; round < 4; round++) {
        long x = round, y = 10, z = -7, out = 0;
        void *a[] = {&x, &y, &z};
        callstub_ffi_call(&repeat_cif, (void (*)(void))isum3, &out, a);
        CHECK(out == isum3(x, y, z), "repeat %ld: %ld", round, out);
    }
    CHECK(_callstub_cif_cache_misses() - misses_before_repeats == 1, "misses over four calls of one cif: %zu",
          _callstub_cif_cache_misses() - misses_before_repeats);
    /* The argument types array refilled in place: same array, other pointers. */
    ffi_type *refilled[2] = {&ffi_type_slong, &ffi_type_slong};
    ffi_cif refilled_cif;
    for (int round = 0; round < 4; round++) {
        refilled[0] = refilled[1] = round % 2 ? &ffi_type_double : &ffi_type_slong;
        ffi_prep_cif(&refilled_cif, FFI_DEFAULT_ABI, 1, refilled[0], refilled);
        double d = 1.25;
        long l = 11;
        void *a[] = {round % 2 ? (void *)&d : (void *)&l};
        union { double d; long l; } out = {0};
        callstub_ffi_call(&refilled_cif, round % 2 ? (void (*)(void))echo_double : (void (*)(void))echo_long, &out, a);
        CHECK(round % 2 ? out.d == 1.25 : out.l == 11, "refilled types, round %d", round);
    }

    /* A cif damaged after it was seen (a NULL argument type, a NULL result type, a struct
     * without elements): an error and no call, where ffi_call itself would crash. */
    ffi_type *damaged_types[] = {&ffi_type_slong};
    ffi_cif damaged_cif;
    ffi_prep_cif(&damaged_cif, FFI_DEFAULT_ABI, 1, &ffi_type_slong, damaged_types);
    long damaged_in = 5, damaged_out = 0;
    void *damaged_args[] = {&damaged_in};
    callstub_ffi_call(&damaged_cif, (void (*)(void))echo_long, &damaged_out, damaged_args);
    CHECK(damaged_out == 5, "the cif before it is damaged: %ld", damaged_out);
    damaged_types[0] = NULL;
    callstub_ffi_call(&damaged_cif, (void (*)(void))echo_long, &damaged_out, damaged_args);
    CHECK(strstr(callstub_last_error(), "argument 1: the ffi_type pointer is NULL") != NULL, "%s", callstub_last_error());
    damaged_types[0] = &ffi_type_slong;
    damaged_cif.rtype = NULL;
    callstub_ffi_call(&damaged_cif, (void (*)(void))echo_long, &damaged_out, damaged_args);
    CHECK(strstr(callstub_last_error(), "the result: the ffi_type pointer is NULL") != NULL, "%s", callstub_last_error());
    ffi_type hollow = {16, 8, FFI_TYPE_STRUCT, NULL};
    damaged_cif.rtype = &ffi_type_slong;
    damaged_types[0] = &hollow;
    callstub_ffi_call(&damaged_cif, (void (*)(void))echo_long, &damaged_out, damaged_args);
    CHECK(strstr(callstub_last_error(), "elements array is NULL") != NULL, "%s", callstub_last_error());

    /* avalue NULL for a cif with arguments: an error and no call, not a crash. */
    double unused;
    callstub_ffi_call(&swapped_cif, (void (*)(void))weigh_DL, &unused, NULL);
    CHECK(strstr(callstub_last_error(), "avalue is NULL") != NULL, "%s", callstub_last_error());
}

/* Call plans (callstub_ffi_call_plan_*) against ffi_call and the compiler's own calls. */
static callstub_ffi_call_plan *plan_of(ffi_cif *cif) {
    callstub_ffi_call_plan *plan = callstub_ffi_call_plan_alloc(cif);
    CHECK(plan != NULL, "plan: %s", callstub_last_error());
    CHECK(callstub_ffi_call_plan_uses_jit(plan) == 1, "not served by the JIT");
    CHECK(callstub_ffi_call_plan_size(plan) > 0, "size");
    return plan;
}

static void ffi_plans(void) {
    /* Narrow results are widened to ffi_arg: signed and unsigned. */
    ffi_type *schar_args[] = {&ffi_type_sint8};
    ffi_cif schar_cif;
    ffi_prep_cif(&schar_cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint8, schar_args);
    callstub_ffi_call_plan *schar = plan_of(&schar_cif);
    signed char c = -5;
    void *cargs[] = {&c};
    ffi_arg planned = 0, called = 0;
    callstub_ffi_call_plan_invoke(schar, (void (*)(void))echo_schar, &planned, cargs);
    ffi_call(&schar_cif, (void (*)(void))echo_schar, &called, cargs);
    CHECK(planned == called && (ffi_sarg)planned == -5, "echo_schar %ld %ld", (long)planned, (long)called);
    callstub_ffi_call_plan_free(schar);

    ffi_type *uchar_args[] = {&ffi_type_uint8};
    ffi_cif uchar_cif;
    ffi_prep_cif(&uchar_cif, FFI_DEFAULT_ABI, 1, &ffi_type_uint8, uchar_args);
    callstub_ffi_call_plan *uchar = plan_of(&uchar_cif);
    unsigned char u = 200;
    void *uargs[] = {&u};
    callstub_ffi_call_plan_invoke(uchar, (void (*)(void))echo_uchar, &planned, uargs);
    ffi_call(&uchar_cif, (void (*)(void))echo_uchar, &called, uargs);
    CHECK(planned == called && planned == 200, "echo_uchar %lu %lu", (unsigned long)planned, (unsigned long)called);
    callstub_ffi_call_plan_free(uchar);

    /* Sixteen mixed arguments, registers and stack. */
    ffi_type *mixed_args[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_slong, &ffi_type_float, &ffi_type_schar,
                              &ffi_type_double, &ffi_type_ushort, &ffi_type_double, &ffi_type_sint, &ffi_type_float,
                              &ffi_type_slong, &ffi_type_double, &ffi_type_sshort, &ffi_type_double, &ffi_type_slong,
                              &ffi_type_float};
    ffi_cif mixed_cif;
    ffi_prep_cif(&mixed_cif, FFI_DEFAULT_ABI, 16, &ffi_type_double, mixed_args);
    callstub_ffi_call_plan *mixed = plan_of(&mixed_cif);
    int a = 1; double b = 2.5; long c3 = -3; float d = 4.25f; char e = 'e'; double f = 6.5;
    unsigned short g = 7; double h = 8.5; int i9 = 9; float j = 10.5f; long k = 11; double l = 12.5;
    short m = -13; double n = 14.5; long o = 15; float p = 16.5f;
    void *margs[] = {&a, &b, &c3, &d, &e, &f, &g, &h, &i9, &j, &k, &l, &m, &n, &o, &p};
    double got = 0;
    callstub_ffi_call_plan_invoke(mixed, (void (*)(void))mixed16, &got, margs);
    CHECK(got == mixed16(a, b, c3, d, e, f, g, h, i9, j, k, l, m, n, o, p), "mixed16 %g", got);
    got = 0;
    callstub_ffi_call_plan_invoke_inline(mixed, (void (*)(void))mixed16, &got, margs);
    CHECK(got == mixed16(a, b, c3, d, e, f, g, h, i9, j, k, l, m, n, o, p), "mixed16 inline %g", got);
    callstub_ffi_call_plan_free(mixed);

    /* Records: two SSE eightbytes, and one in memory (sret and a stack copy). */
#define ECHO_THROUGH_PLAN(record, echo, make, seed, ...)                                      \
    do {                                                                                      \
        ffi_type *elements[] = {__VA_ARGS__, NULL};                                           \
        ffi_type type = {0, 0, FFI_TYPE_STRUCT, elements};                                    \
        ffi_type *types[] = {&type};                                                          \
        ffi_cif cif;                                                                          \
        ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &type, types);                                 \
        callstub_ffi_call_plan *plan = plan_of(&cif);                                         \
        struct record value = make(seed), got;                                                \
        void *argv[] = {&value};                                                              \
        callstub_ffi_call_plan_invoke(plan, (void (*)(void))echo, &got, argv);                \
        struct record direct = echo(value);                                                   \
        CHECK(memcmp(&got, &direct, sizeof got) == 0, #echo " through a plan");               \
        memset(&got, 0, sizeof got);                                                          \
        callstub_ffi_call_plan_invoke_inline(plan, (void (*)(void))echo, &got, argv);         \
        CHECK(memcmp(&got, &direct, sizeof got) == 0, #echo " through a plan, inline");       \
        callstub_ffi_call_plan_free(plan);                                                    \
    } while (0)
    ECHO_THROUGH_PLAN(DD, echo_DD, make_DD, 5, &ffi_type_double, &ffi_type_double);
    ECHO_THROUGH_PLAN(BIG, echo_BIG, make_BIG, 9, &ffi_type_double, &ffi_type_double, &ffi_type_double,
                      &ffi_type_double, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint);

    /* Variadic cifs: %al must count the vector registers, as ffi_call sets it. */
    ffi_type *vmixed_args[] = {&ffi_type_pointer, &ffi_type_sint, &ffi_type_double, &ffi_type_pointer};
    ffi_cif vmixed_cif;
    CHECK(ffi_prep_cif_var(&vmixed_cif, FFI_DEFAULT_ABI, 1, 4, &ffi_type_double, vmixed_args) == FFI_OK, "prep var");
    callstub_ffi_call_plan *vplan = plan_of(&vmixed_cif);
    const char *format = "ids", *text = "hello";
    int vi = 4;
    double vd = 2.5, vgot = 0;
    void *vargs[] = {&format, &vi, &vd, &text};
    callstub_ffi_call_plan_invoke(vplan, (void (*)(void))vmixed, &vgot, vargs);
    CHECK(vgot == vmixed("ids", 4, 2.5, "hello"), "vmixed through a plan %g", vgot);
    callstub_ffi_call_plan_free(vplan);

    ffi_type *vsum_args[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_double, &ffi_type_double};
    ffi_cif vsum_cif;
    ffi_prep_cif_var(&vsum_cif, FFI_DEFAULT_ABI, 1, 4, &ffi_type_double, vsum_args);
    callstub_ffi_call_plan *vsum = plan_of(&vsum_cif);
    int three = 3;
    double x1 = 1.25, x2 = 2.5, x3 = -8, vsum_got = 0;
    void *vsum_argv[] = {&three, &x1, &x2, &x3};
    callstub_ffi_call_plan_invoke(vsum, (void (*)(void))vsum_double, &vsum_got, vsum_argv);
    CHECK(vsum_got == vsum_double(3, 1.25, 2.5, -8.0), "vsum_double through a plan %g", vsum_got);
    /* A NULL result: allowed, as ffi_call allows it. */
    callstub_ffi_call_plan_invoke(vsum, (void (*)(void))vsum_double, NULL, vsum_argv);
    callstub_ffi_call_plan_invoke_inline(vsum, (void (*)(void))vsum_double, NULL, vsum_argv);
    callstub_ffi_call_plan_free(vsum);

    /* Bad input. */
    CHECK(callstub_ffi_call_plan_alloc(NULL) == NULL && strstr(callstub_last_error(), "cif is NULL"), "NULL cif");
    ffi_cif damaged = vsum_cif;
    damaged.rtype = NULL;
    CHECK(callstub_ffi_call_plan_alloc(&damaged) == NULL && strstr(callstub_last_error(), "NULL"), "%s", callstub_last_error());
    callstub_ffi_call_plan_invoke(NULL, (void (*)(void))vsum_double, &vsum_got, vsum_argv);
    CHECK(strstr(callstub_last_error(), "plan handle is NULL") != NULL, "%s", callstub_last_error());
    callstub_ffi_call_plan_invoke(vsum, (void (*)(void))vsum_double, &vsum_got, vsum_argv);  /* freed above */
    CHECK(strstr(callstub_last_error(), "plan handle was freed") != NULL, "%s", callstub_last_error());
    callstub_ffi_call_plan_invoke_inline(vsum, (void (*)(void))vsum_double, &vsum_got, vsum_argv);
    CHECK(strstr(callstub_last_error(), "plan handle was freed") != NULL, "%s", callstub_last_error());
    callstub_ffi_call_plan_invoke_inline(NULL, (void (*)(void))vsum_double, &vsum_got, vsum_argv);
    CHECK(strstr(callstub_last_error(), "plan handle is NULL") != NULL, "%s", callstub_last_error());
    CHECK(callstub_ffi_call_plan_size(NULL) == 0 && callstub_ffi_call_plan_uses_jit(NULL) == -1, "NULL plan queries");
    callstub_ffi_call_plan_free(NULL);
}

static void bad_input(void) {
    callstub_library *library = NULL;
    callstub_function *function = NULL;
    FAILS(callstub_library_open(NULL, &library), CALLSTUB_ERROR_HANDLE, "name_or_path is NULL");
    FAILS(callstub_library_open("libc.so.6", NULL), CALLSTUB_ERROR_HANDLE, "NULL");
    FAILS(callstub_library_open("/no/such/library.so", &library), CALLSTUB_ERROR_LIBRARY, "/no/such/library.so");
    FAILS(callstub_library_open("/etc/passwd", &library), CALLSTUB_ERROR_LIBRARY, "not an ELF file");
    CHECK(library == NULL, "out-parameter untouched");
    FAILS(callstub_bind(NULL, "echo_int", NULL, 0, &function), CALLSTUB_ERROR_HANDLE, "library handle is NULL");
    FAILS(callstub_bind(fixture, NULL, NULL, 0, &function), CALLSTUB_ERROR_HANDLE, "name is NULL");
    FAILS(callstub_bind(fixture, "no_such_function", "int no_such_function(int)", 0, &function), CALLSTUB_ERROR_SYMBOL,
          "no_such_function");
    FAILS(callstub_bind(fixture, "echo_int", "int echo_int(int", 0, &function), CALLSTUB_ERROR_DECLARATION, "line 1, column");
    FAILS(callstub_bind(fixture, "echo_int", "int other(int)", 0, &function), CALLSTUB_ERROR_DECLARATION, "not echo_int");
    FAILS(callstub_bind(fixture, "echo_int", NULL, 1u << 20, &function), CALLSTUB_ERROR_ARGUMENT, "unknown flags");
    FAILS(callstub_bind(fixture, "echo_int", NULL, CALLSTUB_BACKEND_LIBFFI | CALLSTUB_BACKEND_JIT, &function),
          CALLSTUB_ERROR_ARGUMENT, "exclude each other");
    FAILS(callstub_bind(fixture, "echo_int", NULL, 0, NULL), CALLSTUB_ERROR_HANDLE, "NULL");
    FAILS(callstub_bind_address(NULL, "int (*)(int)", 0, &function), CALLSTUB_ERROR_ARGUMENT, "NULL function pointer");
    FAILS(callstub_call(NULL, NULL, NULL), CALLSTUB_ERROR_HANDLE, "function handle is NULL");
    FAILS(callstub_call((callstub_function *)fixture, NULL, NULL), CALLSTUB_ERROR_HANDLE,
          "a library handle was given where a function handle is expected");
    callstub_function *echo = bind("echo_int", NULL, 0);
    int x = 1;
    long long result = 0;
    FAILS(callstub_call(echo, &result, NULL), CALLSTUB_ERROR_ARGUMENT, "args is NULL");
    void *args[] = {&x};
    OK(callstub_call(echo, NULL, args));  /* a result nobody reads */
    callstub_function_free(echo);
    /* Debug builds keep freed handles as tombstones. */
    FAILS(callstub_call(echo, &result, args), CALLSTUB_ERROR_HANDLE, "was freed");
    FAILS(callstub_call_inline(echo, &result, args), CALLSTUB_ERROR_HANDLE, "was freed");
    callstub_function *echo_jit = bind("echo_int", NULL, CALLSTUB_BACKEND_JIT);
    OK(callstub_call_inline(echo_jit, &result, args));
    FAILS(callstub_call_inline(echo_jit, &result, NULL), CALLSTUB_ERROR_ARGUMENT, "args is NULL");
    callstub_function_free(echo_jit);
    FAILS(callstub_call_inline(echo_jit, &result, args), CALLSTUB_ERROR_HANDLE, "was freed");
    FAILS(callstub_call_inline(NULL, &result, args), CALLSTUB_ERROR_HANDLE, "function handle is NULL");
    FAILS(callstub_call_inline((callstub_function *)fixture, &result, args), CALLSTUB_ERROR_HANDLE,
          "a library handle was given where a function handle is expected");
    callstub_function_free(NULL);
    callstub_library_close(NULL);
    callstub_callback_free(NULL);
    CHECK(strcmp(callstub_status_name((callstub_status)77), "CALLSTUB_UNKNOWN_STATUS") == 0, "unknown status name");
    CHECK(strcmp(callstub_status_name(CALLSTUB_ERROR_MISMATCH), "CALLSTUB_ERROR_MISMATCH") == 0, "status name");
    CHECK(strlen(callstub_version()) > 0, "version");

    /* A closed library: its functions keep working, new bindings fail. */
    callstub_library *closing = NULL;
    OK(callstub_library_open("libm.so.6", &closing));
    callstub_function *cosine = NULL;
    OK(callstub_bind(closing, "cos", "double cos(double)", 0, &cosine));
    callstub_library_close(closing);
    double zero = 0, one = 0;
    void *cargs[] = {&zero};
    OK(callstub_call(cosine, &one, cargs));
    CHECK(one == 1.0, "cos after close %g", one);
    callstub_function_free(cosine);
    FAILS(callstub_bind(closing, "sin", "double sin(double)", 0, &cosine), CALLSTUB_ERROR_HANDLE, "was freed");
}

/* Threads share one adaptively tiered handle across its tier-up (after 1,000 calls). */
static callstub_function *shared_sum;

static void *hammer(void *seed_pointer) {
    long seed = (long)(size_t)seed_pointer, bad = 0;
    for (long round = 0; round < 5000; round++) {
        long a = seed, b = round, c = -round, got = 0;
        void *args[] = {&a, &b, &c};
        if (callstub_call(shared_sum, &got, args) != CALLSTUB_OK || got != isum3(a, b, c)) bad++;
    }
    return (void *)(size_t)bad;
}

static void threads(void) {
    shared_sum = bind("isum3", NULL, 0);
    pthread_t workers[4];
    for (long i = 0; i < 4; i++) pthread_create(&workers[i], NULL, hammer, (void *)(size_t)(i + 1));
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        pthread_join(workers[i], &bad);
        CHECK(bad == NULL, "thread %d: %zu wrong results", i, (size_t)bad);
    }
    callstub_function_free(shared_sum);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE.so\n", argv[0]);
        return 2;
    }
    if (callstub_library_open(argv[1], &fixture) != CALLSTUB_OK) {
        fprintf(stderr, "%s\n", callstub_last_error());
        return 2;
    }
    scalars();
    records();
    variadic_and_errno();
    callbacks();
    signatures();
    introspection_and_checks();
    ffi_checks();
    ffi_plans();
    ffi_calls();
    bad_input();
    threads();
    callstub_library_close(fixture);
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}

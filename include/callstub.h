/*
 * callstub.h: the C interface of CallStub (libcallstub.so).
 *
 * Call C functions whose signatures are known only at run time, from a C declaration or
 * from the library's own DWARF debug info, through a JIT-compiled stub (the fast path) or
 * libffi (the fallback); check declarations against the DWARF; make C function pointers
 * that call back into C handlers. A thin layer over the Swift library: the messages are
 * the ones the Swift API and the `callstub` tool print.
 *
 * Build:  cc app.c $(pkg-config --cflags --libs callstub)
 * Docs:   docs/c-api.md
 *
 * Conventions
 * - Every function that can fail returns a callstub_status; CALLSTUB_OK is 0. On failure,
 *   callstub_last_error() gives the message (per thread) and out-parameters are left
 *   unchanged. No input aborts the process: NULL handles and pointers are errors.
 * - Handles are opaque. Each is made by one function and freed by one function; freeing
 *   NULL does nothing. A handle may be used from any thread, also concurrently, unless a
 *   function says otherwise. Builds with the debug configuration keep freed handles as
 *   tombstones, so that a call on a freed handle is CALLSTUB_ERROR_HANDLE, not a crash.
 * - Text returned through `char **` is allocated with malloc; free it with free().
 * - Strings passed in are UTF-8, NUL-terminated, and only read during the call.
 */
#ifndef CALLSTUB_H
#define CALLSTUB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status and errors ------------------------------------------------------------- */

typedef enum callstub_status {
    CALLSTUB_OK = 0,
    /* A NULL or freed handle, or a NULL pointer where one is required. */
    CALLSTUB_ERROR_HANDLE = 1,
    /* dlopen failed, or the file is not a loadable shared object. */
    CALLSTUB_ERROR_LIBRARY = 2,
    /* A declaration that does not parse, declares something else, or no backend can call. */
    CALLSTUB_ERROR_DECLARATION = 3,
    /* The symbol is not in the library (or was declared static). */
    CALLSTUB_ERROR_SYMBOL = 4,
    /* The declaration disagrees with the library's debug info. */
    CALLSTUB_ERROR_MISMATCH = 5,
    /* The library's debug info is missing, unreadable, or does not describe the function. */
    CALLSTUB_ERROR_DEBUG_INFO = 6,
    /* An argument that is not valid for this function (unknown flags, a bad value). */
    CALLSTUB_ERROR_ARGUMENT = 7,
    /* The requested backend cannot serve (no JIT on this machine, libffi cannot express it). */
    CALLSTUB_ERROR_BACKEND = 8,
    /* The C preprocessor failed (callstub_library_include). */
    CALLSTUB_ERROR_PREPROCESSOR = 9
} callstub_status;

/* The message of the last failure on the calling thread ("" if none). Valid until the
 * thread's next CallStub call. Thread-safe. */
const char *callstub_last_error(void);

/* The status's name, e.g. "CALLSTUB_ERROR_SYMBOL". Thread-safe. */
const char *callstub_status_name(callstub_status status);

/* The library's version, e.g. "0.4.0". Thread-safe. */
const char *callstub_version(void);

/* ---- Libraries --------------------------------------------------------------------- */

typedef struct callstub_library callstub_library;

/* Opens a shared library by file name (searched as the dynamic linker does, e.g.
 * "libm.so.6") or by path (checked before it is mapped), with dlopen(RTLD_NOW | RTLD_LOCAL). */
callstub_status callstub_library_open(const char *name_or_path, callstub_library **library);

/* Adds C declarations (typedefs, structs, unions, enums, prototypes: a small header, no
 * preprocessor lines) to the library's declaration set. Not to be called concurrently
 * with another declare or include on the same library. */
callstub_status callstub_library_declare(callstub_library *library, const char *declarations);

/* Preprocesses real headers (`cc -E`, as `#include <name>` each) and adds their
 * declarations. `arguments` (may be NULL when `argument_count` is 0) are passed to the
 * preprocessor before the inputs: "-DNAME=VALUE", "-I/dir", "-std=gnu11". */
callstub_status callstub_library_include(
    callstub_library *library, const char *const *headers, size_t header_count,
    const char *const *arguments, size_t argument_count);

/* The signature of `name` read from the library's DWARF, as a C header declaring its types
 * and the function. */
callstub_status callstub_library_signature(callstub_library *library, const char *name, char **header);

/* Checks a declaration ("int abs(int)"; the last function it declares is checked; types
 * may come first) against the library's DWARF without binding it. CALLSTUB_OK when they
 * agree; CALLSTUB_ERROR_MISMATCH when a difference changes the call (with the
 * CALLSTUB_VERIFY_STRICT flag, any difference). `report` (may be NULL) receives the report:
 * both declarations, the differences, record layouts side by side. Functions without
 * debug info give CALLSTUB_ERROR_DEBUG_INFO. Flags: CALLSTUB_VERIFY_STRICT or 0. */
callstub_status callstub_library_check(
    callstub_library *library, const char *declaration, unsigned flags, char **report);

/* Gives up the handle. Functions bound from the library keep it loaded until they are freed. */
void callstub_library_close(callstub_library *library);

/* ---- Functions --------------------------------------------------------------------- */

typedef struct callstub_function callstub_function;

/* Flags for callstub_bind and callstub_bind_address (or-ed). */
enum {
    /* Set errno to 0 before each call and read it right after; see callstub_errno(). */
    CALLSTUB_CAPTURE_ERRNO = 1u << 0,
    /* Call through libffi only. */
    CALLSTUB_BACKEND_LIBFFI = 1u << 1,
    /* Compile the JIT stub now and call only through it; fail if the JIT cannot. */
    CALLSTUB_BACKEND_JIT = 1u << 2,
    /* With the automatic backend: compile the stub when bound, not after 1,000 calls. */
    CALLSTUB_TIER_EAGER = 1u << 3,
    /* Every difference from the DWARF is an error, not only those that change the call. */
    CALLSTUB_VERIFY_STRICT = 1u << 4,
    /* Do not check the declaration against the DWARF. */
    CALLSTUB_VERIFY_OFF = 1u << 5
};

/* Binds the exported function `name`. With a `declaration` (a prototype of `name`, after
 * any types it uses), it is checked against the library's DWARF where there is some
 * (CALLSTUB_ERROR_MISMATCH when they disagree); with NULL, the library's declarations are
 * used, and failing those the signature is read from the DWARF. */
callstub_status callstub_bind(
    callstub_library *library, const char *name, const char *declaration, unsigned flags,
    callstub_function **function);

/* Binds a function pointer obtained at run time with its declaration: a prototype
 * ("int compare(const void *, const void *)") or a type name ("int (*)(int)"). Nothing
 * keeps the code loaded: the caller does. Not checked against debug info. */
callstub_status callstub_bind_address(
    void (*address)(void), const char *declaration, unsigned flags, callstub_function **function);

/* Calls with libffi's `avalue` layout: args[i] points at the i-th argument's value,
 * `result` at callstub_result_size(function) writable bytes (integer results narrower
 * than 8 bytes are widened to 8, as ffi_call does; may be NULL for a void function).
 * The fast path: only the handle is checked. Variadic functions are called with their
 * fixed arguments only; use callstub_call_variadic for others. Thread-safe. */
callstub_status callstub_call(callstub_function *function, void *result, void **args);

/* callstub_call with its check compiled into the caller: for a C program that calls many
 * times, it saves the jump into the library (and the PLT's), and in a loop over one
 * handle the compiler can check once. Same contract and result as callstub_call: a
 * handle whose stub was fixed at binding (CALLSTUB_BACKEND_JIT or CALLSTUB_TIER_EAGER)
 * goes straight to the stub; anything else (other handles, NULL pointers, errors) is
 * handed to callstub_call. It reads the first fields of a handle, which are part of
 * libcallstub.so.0's ABI (callstub_handle_prefix_, not for other use). */
struct callstub_handle_prefix_ {
    unsigned long long tag;
    void *reserved_[2];
    int (*stub)(void *target, void **args, void *result);
    void *target;
};
#define CALLSTUB_FUNCTION_TAG_ 0x435346554E435449ULL

static inline callstub_status callstub_call_inline(callstub_function *function, void *result, void **args) {
    const struct callstub_handle_prefix_ *prefix = (const struct callstub_handle_prefix_ *)(const void *)function;
    if (prefix && result && args && prefix->tag == CALLSTUB_FUNCTION_TAG_ && prefix->stub)
        return (callstub_status)prefix->stub(prefix->target, args, result);
    return callstub_call(function, result, args);
}

/* The shortest call: the function's compiled stub itself, to be called as
 * `entry(target, args, result)` with callstub_call's args and result (it returns 0). No
 * handle is checked. Only for functions whose stub was compiled when bound
 * (CALLSTUB_BACKEND_JIT or CALLSTUB_TIER_EAGER; otherwise CALLSTUB_ERROR_BACKEND); valid
 * until the handle is freed. Thread-safe. */
typedef int (*callstub_entry)(void *target, void **args, void *result);
callstub_status callstub_function_entry(const callstub_function *function, callstub_entry *entry, void **target);

/* Calls a variadic function with a tail of arguments whose (promoted) C types are given as
 * a declaration of type names, e.g. "int, double, const char *". Each distinct tail is
 * prepared once and cached; when it has a compiled stub (CALLSTUB_BACKEND_JIT, or once
 * tiered up), the first 8 tails of a handle are then found by their text alone, with no
 * lock. Thread-safe. */
callstub_status callstub_call_variadic(
    callstub_function *function, const char *variadic_types, void *result, void **args);

/* The errno the calling thread's last call through a CALLSTUB_CAPTURE_ERRNO function left. */
int callstub_errno(void);

/* The bytes callstub_call's result buffer must hold (at least 16; 0 for a NULL handle). */
size_t callstub_result_size(const callstub_function *function);

/* Number of fixed parameters, or -1 for a NULL handle. */
int callstub_parameter_count(const callstub_function *function);

/* What callstub_describe reports. */
typedef enum callstub_description {
    /* The signature as a C prototype, with the declarations of records it uses. */
    CALLSTUB_DESCRIBE_DECLARATION = 0,
    /* The x86-64 System V call plan: where each argument and the result go. */
    CALLSTUB_DESCRIBE_PLAN = 1,
    /* The backend serving calls now ("jit" or "libffi"), the requested one, and why
     * the JIT does not serve when it does not. */
    CALLSTUB_DESCRIBE_BACKEND = 2,
    /* Whether the declaration was checked against DWARF, where the DWARF came from, warnings. */
    CALLSTUB_DESCRIBE_VERIFICATION = 3
} callstub_description;

callstub_status callstub_describe(const callstub_function *function, callstub_description what, char **text);

/* Frees the handle. Calls running on other threads must have returned. */
void callstub_function_free(callstub_function *function);

/* ---- Signatures as data ----------------------------------------------------------- */

/* What a type is (callstub_type.kind). Typedefs are resolved; `name` keeps their spelling. */
typedef enum callstub_type_kind {
    CALLSTUB_TYPE_VOID = 0,
    /* Integers and enums: size 1, 2, 4, 8 or 16 bytes, by the sign of their (underlying) type. */
    CALLSTUB_TYPE_SIGNED = 1,
    CALLSTUB_TYPE_UNSIGNED = 2,
    CALLSTUB_TYPE_BOOL = 3,
    /* Size 2 (_Float16), 4, 8, or 16: long double (flag CALLSTUB_TYPE_X87) or _Float128. */
    CALLSTUB_TYPE_FLOAT = 4,
    /* `element` is the component's floating type. */
    CALLSTUB_TYPE_COMPLEX = 5,
    /* `element` is the pointee (a CALLSTUB_TYPE_FUNCTION for a function pointer). */
    CALLSTUB_TYPE_POINTER = 6,
    /* `element` is the element type, `count` the elements (0 for an unknown bound). */
    CALLSTUB_TYPE_ARRAY = 7,
    /* `count` members from members[first]; size 0 and flag CALLSTUB_TYPE_INCOMPLETE
     * for a record declared but never defined. */
    CALLSTUB_TYPE_STRUCT = 8,
    CALLSTUB_TYPE_UNION = 9,
    /* `element` is the result, `count` parameters from members[first] (offsets 0);
     * flag CALLSTUB_TYPE_VARIADIC after the last one. */
    CALLSTUB_TYPE_FUNCTION = 10
} callstub_type_kind;

/* callstub_type.flags (or-ed). */
enum {
    CALLSTUB_TYPE_CONST = 1u << 0,
    /* Stored big-endian (scalar_storage_order("big-endian") records). */
    CALLSTUB_TYPE_BIG_ENDIAN = 1u << 1,
    /* Plain `char` (text, where signed and unsigned char are small integers). */
    CALLSTUB_TYPE_CHAR = 1u << 2,
    CALLSTUB_TYPE_ENUM = 1u << 3,
    /* long double: the x87 80-bit format in 16 bytes. */
    CALLSTUB_TYPE_X87 = 1u << 4,
    CALLSTUB_TYPE_INCOMPLETE = 1u << 5,
    CALLSTUB_TYPE_VARIADIC = 1u << 6
};

/* One type of a signature. Indices (`element`, callstub_member.type) are into the
 * signature's `types`; -1 is none. */
typedef struct callstub_type {
    int kind;
    unsigned flags;
    size_t size;
    size_t alignment;
    int element;
    size_t count;
    size_t first;
    /* The type as C spells it ("const char *", "struct P2d", "size_t"). */
    const char *name;
} callstub_type;

/* A record member or a function parameter. */
typedef struct callstub_member {
    /* NULL for an unnamed member or parameter. */
    const char *name;
    int type;
    /* From the start of the record; a member that is not a bit-field starts on a byte. */
    size_t offset_in_bits;
    /* A bit-field's width (bits numbered from the least significant of little-endian
     * storage, as gcc and clang place them on x86-64); 0 when it is not a bit-field. */
    size_t bit_width;
} callstub_member;

/* A function's type and every type it reaches (records behind pointers included, each
 * once), as tables a language binding can convert values with: the sizes, alignments
 * and offsets are CallStub's own layout, checked against the C compilers. */
typedef struct callstub_signature {
    /* The index of the CALLSTUB_TYPE_FUNCTION type. */
    int function;
    size_t type_count;
    const callstub_type *types;
    size_t member_count;
    const callstub_member *members;
} callstub_signature;

/* The bound function's signature as tables, valid until the handle is freed. Thread-safe. */
callstub_status callstub_function_signature(const callstub_function *function, const callstub_signature **signature);

/* ---- Callbacks --------------------------------------------------------------------- */

typedef struct callstub_callback callstub_callback;

/* A C handler for a callback: `args` has the avalue layout (args[i] points at the i-th
 * argument's value); write the result's value at `result` (nothing for void; integer
 * results narrower than 8 bytes may be written as their own size). Structs and unions
 * come and go by value as their bytes. */
typedef void (*callstub_handler)(void *context, void *result, void **args);

/* Makes a C function pointer of the type `declaration` (a function pointer type name such
 * as "int (*)(const void *, const void *)", which may define the records it uses, or a
 * function type name such as "int (int)") that calls
 * `handler(context, result, args)`. Flags: CALLSTUB_BACKEND_LIBFFI, CALLSTUB_BACKEND_JIT or 0. */
callstub_status callstub_callback_new(
    const char *declaration, callstub_handler handler, void *context, unsigned flags,
    callstub_callback **callback);

/* The function pointer to hand to C; cast it to the callback's type. NULL for a NULL handle. */
void (*callstub_callback_pointer(const callstub_callback *callback))(void);

/* callstub_callback_new for the function type `signature->types[type]` (a
 * CALLSTUB_TYPE_FUNCTION, for instance the pointee of a function pointer parameter): the
 * callback a language binding makes for a parameter, with no declaration to write. The
 * signature is only read during the call. */
callstub_status callstub_callback_new_from_signature(
    const callstub_signature *signature, int type, callstub_handler handler, void *context, unsigned flags,
    callstub_callback **callback);

/* The callback's signature as tables (see callstub_function_signature), valid until the
 * handle is freed. Thread-safe. */
callstub_status callstub_callback_signature(const callstub_callback *callback, const callstub_signature **signature);

/* Frees the callback's code. The pointer must no longer be called. */
void callstub_callback_free(callstub_callback *callback);

#ifdef __cplusplus
}
#endif

#endif /* CALLSTUB_H */

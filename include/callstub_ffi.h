/*
 * callstub_ffi.h: CallStub beside libffi (libcallstub.so).
 *
 * For programs that already describe their calls with libffi's ffi_cif: check a cif
 * against the library's DWARF before calling through it, and call through JIT-compiled
 * plans (libffi 3.7's call-plan API). Includes <ffi.h> and <callstub.h>. See docs/c-api.md.
 */
#ifndef CALLSTUB_FFI_H
#define CALLSTUB_FFI_H

#include <callstub.h>
#include <ffi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Checks a prepared cif (ffi_prep_cif) for calling `symbol` against `library`'s DWARF:
 * the "patch libffi to check type information" of the Fedora proposal, done beside
 * libffi. The cif's types are read back as C (structs as their elements); CALLSTUB_OK
 * when they agree with the DWARF, CALLSTUB_ERROR_MISMATCH when a difference changes the
 * call (with CALLSTUB_VERIFY_STRICT, any difference), CALLSTUB_ERROR_DEBUG_INFO when there
 * is no debug info to check with, CALLSTUB_ERROR_ARGUMENT for a cif that cannot be read
 * (NULL types, another ABI). `report` (may be NULL) receives the report, as
 * callstub_library_check gives it. Thread-safe. */
callstub_status callstub_ffi_check(
    const ffi_cif *cif, callstub_library *library, const char *symbol, unsigned flags, char **report);

/* ---- ffi_call served by JIT stubs ------------------------------------------------ */

/* ffi_call(cif, fn, rvalue, avalue) with exactly its contract (the avalue layout, integer
 * results narrower than 8 bytes widened to ffi_arg, rvalue may be NULL, variadic cifs from
 * ffi_prep_cif_var), served from the JIT stub of the cif's shape: a libffi user switches
 * by replacing the name. A cif is remembered by its address and checked on every call: its
 * ABI, argument count and type pointers, and for types that are not libffi's own
 * (ffi_type_sint32, ...) their content too (size, alignment, code, elements), so a cif
 * re-prepared at the same address, or a type changed in place, is noticed. A cif seen for
 * the first time (or changed) is identified by its content and planned once per content.
 * A cif the JIT does not take, or too large to identify (over 64 arguments, 512 types in
 * all, or structs nested 16 deep), goes to ffi_call itself. A NULL cif or fn, or a NULL
 * avalue for a cif with arguments, makes no call and sets callstub_last_error().
 * Thread-safe. */
void callstub_ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue);

/* ---- Call plans: libffi 3.7's ffi_call_plan_* served by JIT stubs ---------------- */

typedef struct callstub_ffi_call_plan callstub_ffi_call_plan;

/* Reads a prepared cif (ffi_prep_cif or ffi_prep_cif_var) and makes a plan calling
 * through the JIT stub of its shape; a cif the JIT does not take is still planned and its
 * calls go to ffi_call. The cif must outlive the plan, and its types must not change.
 * NULL (with callstub_last_error()) for a cif that cannot be read. Thread-safe. */
callstub_ffi_call_plan *callstub_ffi_call_plan_alloc(ffi_cif *cif);

/* Calls as ffi_call(cif, fn, rvalue, avalue) does: avalue[i] points at the i-th argument,
 * integer results narrower than 8 bytes are widened to ffi_arg; rvalue may be NULL. A
 * plan may be invoked from many threads at once. A NULL or freed plan makes no call and
 * sets callstub_last_error(). */
void callstub_ffi_call_plan_invoke(callstub_ffi_call_plan *plan, void (*fn)(void), void *rvalue, void **avalue);

/* callstub_ffi_call_plan_invoke with its check compiled into the caller (as
 * callstub_call_inline in callstub.h): a plan served by a stub is called straight away,
 * anything else (ffi_call's plans, NULL pointers, errors) is handed to
 * callstub_ffi_call_plan_invoke. Reads the first fields of the plan handle, part of
 * libcallstub.so.0's ABI. */
#define CALLSTUB_PLAN_TAG_ 0x4353464649504C41ULL
struct callstub_plan_prefix_ {
    unsigned long long tag;
    void *reserved_[2];
    int (*stub)(void (*fn)(void), void **avalue, void *rvalue);
};

static inline void callstub_ffi_call_plan_invoke_inline(
    callstub_ffi_call_plan *plan, void (*fn)(void), void *rvalue, void **avalue) {
    const struct callstub_plan_prefix_ *prefix = (const struct callstub_plan_prefix_ *)(const void *)plan;
    if (prefix && fn && rvalue && avalue && prefix->tag == CALLSTUB_PLAN_TAG_ && prefix->stub) {
        prefix->stub(fn, avalue, rvalue);
        return;
    }
    callstub_ffi_call_plan_invoke(plan, fn, rvalue, avalue);
}

/* Frees a plan (NULL: nothing). */
void callstub_ffi_call_plan_free(callstub_ffi_call_plan *plan);

/* The bytes CallStub allocated for the plan (its handle and description; the stub is
 * shared by every plan of the same shape). 0 for NULL. */
size_t callstub_ffi_call_plan_size(callstub_ffi_call_plan *plan);

/* Which backend serves the plan: 1 for the JIT stub, 0 for ffi_call, -1 for NULL. */
int callstub_ffi_call_plan_uses_jit(const callstub_ffi_call_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* CALLSTUB_FFI_H */

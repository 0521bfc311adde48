/* The C API's hot entry points, in C (fast_path.c): callstub_call,
 * callstub_ffi_call_plan_invoke and callstub_ffi_call check their handle or cif and jump
 * straight into a JIT stub; everything else goes to the Swift entry points declared here
 * (CallStubC), which own all the logic. Written in C because a Swift @_cdecl function
 * adds a jump and a frame (docs/c-api.md, "Where the nanoseconds go"). */
#ifndef CALLSTUB_FAST_PATH_H
#define CALLSTUB_FAST_PATH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The memory a handle points at (Handles.swift makes and frees it; the first five fields
 * of a function or plan handle are also include/callstub.h's callstub_handle_prefix_, read
 * by callstub_call_inline and callstub_ffi_call_plan_invoke_inline in C programs: part of
 * libcallstub.so.0's ABI): a tag saying what
 * it is (or that it was freed), the retained Swift object, for a function handle its
 * BoundFunction (unretained), and, when the stub was fixed at binding, the stub and the
 * address to hand it. A plan handle keeps its stub and no target. */
typedef struct callstub_handle_record {
    uint64_t tag;
    void *object;
    void *callee;
    const void *fixed_stub;
    const void *fixed_target;
    /* A function handle's variadic shapes seen so far, for callstub_call_variadic: read
     * and written by fast_path.c only (atomically), NULL until the first. */
    const void *variadic_shapes;
} callstub_handle_record;

/* The tags ("CSFUNCTI", "CSFFIPLA"); HandleTag in Handles.swift holds the same values. */
#define CALLSTUB_TAG_FUNCTION 0x435346554E435449ULL
#define CALLSTUB_TAG_PLAN 0x4353464649504C41ULL

/* ---- Swift entry points the fast paths fall back to (CallStubC, not exported) ---- */

/* callstub_call for everything but a live function handle with a fixed stub. */
int32_t _callstub_call_slow(void *handle, void *result, void **args);
/* callstub_call_variadic for a tail not seen yet (or not served by a stub), and errors. */
int32_t _callstub_call_variadic_slow(void *handle, const char *types, void *result, void **args);
/* callstub_ffi_call_plan_invoke for everything but a live JIT plan and non-NULL pointers. */
void _callstub_plan_invoke_slow(void *plan, void *fn, void *result, void **args);
/* callstub_ffi_call's plan lookup by content: 1 and the stub (NULL: ffi_call serves)
 * when the cif was read and planned, 0 when it could not be and ffi_call serves it, -1
 * when ffi_call would crash on it (callstub_last_error says why). */
int32_t _callstub_ffi_plan(const void *cif, const void **stub);
/* callstub_ffi_call by content (CIFCalls.call): NULL result or args, uncacheable cifs. */
void _callstub_ffi_call_slow(void *cif, void *fn, void *result, void **args);

/* ---- For Swift: the variadic shapes of a handle, the C entry points' addresses, and
 * the cif cache's counters ---- */

/* Remembers a variadic tail's stub for callstub_call_variadic (the first 8 tails of a
 * handle; later ones stay on the slow path). One writer at a time per handle: the caller
 * holds the handle's lock. */
void _callstub_remember_variadic(callstub_handle_record *record, const char *types, const void *stub, const void *target);
/* Frees what _callstub_remember_variadic made, when the handle is freed. */
void _callstub_forget_variadic(callstub_handle_record *record);
extern const void *const _callstub_call_variadic_entry;

extern const void *const _callstub_call_entry;
extern const void *const _callstub_ffi_call_entry;
extern const void *const _callstub_plan_invoke_entry;
/* callstub_ffi_call_plan_alloc and _free (Swift @_cdecl functions: taking their address
 * in Swift outside their file would define them twice). */
extern const void *const _callstub_plan_alloc_entry;
extern const void *const _callstub_plan_free_entry;

/* callstub.h's callstub_type, callstub_member and callstub_signature, for Swift
 * (Signature.swift fills them); fast_path.c checks that the layouts are the same. */
typedef struct callstub_type_record {
    int kind;
    unsigned flags;
    size_t size;
    size_t alignment;
    int element;
    size_t count;
    size_t first;
    const char *name;
} callstub_type_record;

typedef struct callstub_member_record {
    const char *name;
    int type;
    size_t offset_in_bits;
    size_t bit_width;
} callstub_member_record;

typedef struct callstub_signature_record {
    int function;
    size_t type_count;
    const callstub_type_record *types;
    size_t member_count;
    const callstub_member_record *members;
} callstub_signature_record;

/* The memory behind a `const callstub_signature *`: the tables, then a tag and the
 * SignatureTables object (unretained), so that callstub_callback_new_from_signature
 * finds the Swift types again. */
typedef struct callstub_signature_box {
    callstub_signature_record signature;
    uint64_t tag;
    const void *owner;
} callstub_signature_box;

/* The tag of a signature box ("CSSIGNAT"). */
#define CALLSTUB_TAG_SIGNATURE 0x43535349474E4154ULL

/* How many callstub_ffi_call lookups missed the address cache (Tests/CAPITests). */
size_t _callstub_cif_cache_misses(void);

#ifdef __cplusplus
}
#endif

#endif

/* The C API's three hot entry points (see callstub_fast_path.h). Each checks what it was
 * given and jumps into a JIT stub; anything unusual goes to the Swift entry points, which
 * report errors and make plans. The only state here is callstub_ffi_call's cache of cifs
 * by address. */
#include "callstub_fast_path.h"

#include <callstub.h>
#include <callstub_ffi.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A JIT stub: libffi's avalue shape, returning 0 (stubs are made by LLVMBackend). */
typedef int32_t (*stub_entry)(const void *target, void **args, void *result);

#define LIKELY(condition) __builtin_expect(!!(condition), 1)

callstub_status callstub_call(callstub_function *function, void *result, void **args) {
    const callstub_handle_record *record = (const callstub_handle_record *)function;
    if (LIKELY(record && result && args && record->tag == CALLSTUB_TAG_FUNCTION && record->fixed_stub))
        return (callstub_status)((stub_entry)record->fixed_stub)(record->fixed_target, args, result);
    return (callstub_status)_callstub_call_slow(function, result, args);
}

void callstub_ffi_call_plan_invoke(callstub_ffi_call_plan *plan, void (*fn)(void), void *rvalue, void **avalue) {
    const callstub_handle_record *record = (const callstub_handle_record *)plan;
    if (LIKELY(record && fn && rvalue && avalue && record->tag == CALLSTUB_TAG_PLAN && record->fixed_stub)) {
        ((stub_entry)record->fixed_stub)((const void *)fn, avalue, rvalue);
        return;
    }
    _callstub_plan_invoke_slow(plan, (void *)fn, rvalue, avalue);
}

/* ---- callstub_ffi_call: cifs by address, verified on every call ---------------------
 *
 * A cif is not identified by its address alone: one on the stack is re-prepared for other
 * signatures, and a type may be freed and another made at its address. An entry keeps the
 * cif's address, its ABI and argument count, and its result and argument type pointers;
 * libffi's own types (ffi_type_sint32, ...) never change, so for a cif of those alone
 * equal pointers are equal content. For any other type the entry also keeps the content
 * (match_type says how): the type's address, its size, alignment and type code, and the
 * elements of struct and complex types in order, and
 * each call compares that too. A changed cif is a miss, looked up by content in Swift
 * (CIFCalls) and recorded again. Entries are immutable once published (release store,
 * acquire load) and never freed: a replaced one may still be read by another thread;
 * ENTRY_LIMIT bounds them. */

/* The limits of an entry (CIFFingerprint's in Swift are the same or larger): a larger cif
 * is served through Swift on every call. */
enum { SLOT_COUNT = 4096, MAXIMUM_ARGUMENTS = 64, CODE_CAPACITY = 512, MAXIMUM_DEPTH = 16, ENTRY_LIMIT = 16384 };

typedef struct cif_entry {
    const ffi_cif *cif;
    uint64_t header; /* abi and nargs, as header_of reads them */
    const ffi_type *rtype;
    const void *stub; /* NULL: ffi_call serves the cif */
    /* Which of the result (bit 0) and arguments (bit 1 + i) are not libffi's own types,
     * and their content, in that order (0 codes when all are libffi's own). */
    uint64_t others[2];
    size_t count;
    const uint64_t *codes;
    ffi_type *types[];
} cif_entry;

static _Atomic(const cif_entry *) slots[SLOT_COUNT];
static atomic_size_t entry_count, miss_count;

size_t _callstub_cif_cache_entries(void) { return atomic_load_explicit(&entry_count, memory_order_relaxed); }
size_t _callstub_cif_cache_misses(void) { return atomic_load_explicit(&miss_count, memory_order_relaxed); }

static inline size_t slot_of(const ffi_cif *cif) { return ((uintptr_t)cif >> 3) & (SLOT_COUNT - 1); }

/* The ABI and argument count, the cif's first eight bytes, as one word. */
static inline uint64_t header_of(const ffi_cif *cif) {
    uint64_t header;
    memcpy(&header, cif, sizeof header);
    return header;
}

/* Size (32 bits), alignment (16) and type code (16) of one ffi_type. */
static inline uint64_t type_word(const ffi_type *type) {
    return (uint64_t)type->size << 32 | (uint64_t)type->alignment << 16 | type->type;
}

static inline int has_elements(const ffi_type *type) {
    return type->type == FFI_TYPE_STRUCT || type->type == FFI_TYPE_COMPLEX;
}

/* libffi's own types: constants whose content never changes. */
static int is_libffi_type(const ffi_type *type) {
    const ffi_type *const own[] = {
        &ffi_type_void, &ffi_type_uint8, &ffi_type_sint8, &ffi_type_uint16, &ffi_type_sint16,
        &ffi_type_uint32, &ffi_type_sint32, &ffi_type_uint64, &ffi_type_sint64, &ffi_type_float,
        &ffi_type_double, &ffi_type_longdouble, &ffi_type_pointer, &ffi_type_complex_float,
        &ffi_type_complex_double, &ffi_type_complex_longdouble};
    for (size_t index = 0; index < sizeof own / sizeof own[0]; index++)
        if (type == own[index]) return 1;
    return 0;
}

/* The content of a type that is not libffi's own, as record_other writes it: its address
 * and type_word; for struct and complex types then the element count (bit 63 set when
 * every element is libffi's own), every element's address (bit 0 set for libffi's own:
 * ffi_types are aligned, and the content of libffi's own never changes), and the content
 * of each element that is not libffi's own, in order. Where the codes continue when `type`
 * is what they describe; NULL when it is not. The codes are read in the order they were
 * written (a type code that differs fails before its elements are read), so the reading
 * never runs past them. */
static const uint64_t *match_nested(ffi_type *const *elements, uint64_t count, const uint64_t *pointers,
    const uint64_t *codes, int depth);

static inline const uint64_t *match_other(const ffi_type *type, const uint64_t *codes, int depth) {
    if (codes[0] != (uintptr_t)type || codes[1] != type_word(type)) return NULL;
    if (!has_elements(type)) return codes + 2;
    ffi_type *const *elements = type->elements;
    if (!elements) return NULL;
    uint64_t header = codes[2], count = header & ~(1ull << 63);
    const uint64_t *pointers = codes + 3;
    /* Each element is compared before the next is read: a shorter array ends at its NULL. */
    for (uint64_t index = 0; index < count; index++)
        if (!elements[index] || (uintptr_t)elements[index] != (pointers[index] & ~(uint64_t)1)) return NULL;
    if (elements[count]) return NULL;
    codes = pointers + count;
    return header >> 63 ? codes : match_nested(elements, count, pointers, codes, depth + 1);
}

/* The content of the elements that are not libffi's own (structs in structs). */
__attribute__((noinline)) static const uint64_t *match_nested(ffi_type *const *elements, uint64_t count,
    const uint64_t *pointers, const uint64_t *codes, int depth) {
    if (depth > MAXIMUM_DEPTH) return NULL;
    for (uint64_t index = 0; index < count; index++)
        if (!(pointers[index] & 1) && !(codes = match_other(elements[index], codes, depth))) return NULL;
    return codes;
}

static inline int is_other(const cif_entry *entry, unsigned bit) { return (entry->others[bit >> 6] >> (bit & 63)) & 1; }

/* The content of the types that are not libffi's own, for a cif whose type pointers
 * matched (so none is NULL). */
static inline int content_matches(const cif_entry *entry, const ffi_cif *cif) {
    const uint64_t *codes = entry->codes;
    if (is_other(entry, 0) && !(codes = match_other(cif->rtype, codes, 0))) return 0;
    for (unsigned index = 0; index < cif->nargs; index++)
        if (is_other(entry, index + 1) && !(codes = match_other(cif->arg_types[index], codes, 0))) return 0;
    return 1;
}

/* The cif's address, ABI, argument count and type pointers: all a cif of libffi's own
 * types needs; the others also need content_matches. */
static inline int pointers_match(const cif_entry *entry, const ffi_cif *cif) {
    if (entry->cif != cif || entry->header != header_of(cif) || entry->rtype != cif->rtype) return 0;
    unsigned count = cif->nargs;
    if (count == 0) return 1;
    ffi_type *const *types = cif->arg_types, *const *expected = entry->types;
    if (!types) return 0;
    /* Unrolled for the usual counts: a load, a compare and a branch per argument. */
    switch (count) {
    default:
        for (unsigned index = 8; index < count; index++)
            if (types[index] != expected[index]) return 0;
        /* fall through */
#define CALLSTUB_COMPARE(n) \
    case n + 1:             \
        if (types[n] != expected[n]) return 0;
        CALLSTUB_COMPARE(7)
        CALLSTUB_COMPARE(6)
        CALLSTUB_COMPARE(5)
        CALLSTUB_COMPARE(4)
        CALLSTUB_COMPARE(3)
        CALLSTUB_COMPARE(2)
        CALLSTUB_COMPARE(1)
        CALLSTUB_COMPARE(0)
#undef CALLSTUB_COMPARE
    }
    return 1;
}

/* Appends the codes of a type that is not libffi's own (as match_other reads them); 0 when
 * they do not fit or the type cannot be read. */
static int record_other(const ffi_type *type, uint64_t *codes, size_t *count, int depth) {
    if (*count + 3 > CODE_CAPACITY || type->size > UINT32_MAX || ((uintptr_t)type & 1)) return 0;
    codes[(*count)++] = (uintptr_t)type;
    codes[(*count)++] = type_word(type);
    if (!has_elements(type)) return 1;
    if (depth >= MAXIMUM_DEPTH || !type->elements) return 0;
    uint64_t elements = 0, own = 1;
    while (type->elements[elements]) {
        own = own && is_libffi_type(type->elements[elements]);
        if (++elements + *count + 1 > CODE_CAPACITY) return 0;
    }
    codes[(*count)++] = elements | own << 63;
    for (uint64_t index = 0; index < elements; index++)
        codes[(*count)++] = (uintptr_t)type->elements[index] | (uint64_t)is_libffi_type(type->elements[index]);
    for (uint64_t index = 0; index < elements; index++)
        if (!is_libffi_type(type->elements[index]) && !record_other(type->elements[index], codes, count, depth + 1)) return 0;
    return 1;
}

/* Publishes an entry for `cif` served by `stub`, when its codes fit and the limit allows. */
static void remember(const ffi_cif *cif, const void *stub) {
    unsigned nargs = cif->nargs;
    if (nargs > MAXIMUM_ARGUMENTS || !cif->rtype || (nargs > 0 && !cif->arg_types)) return;
    uint64_t codes[CODE_CAPACITY], others[2] = {0, 0};
    size_t count = 0;
    for (unsigned bit = 0; bit <= nargs; bit++) {
        const ffi_type *type = bit == 0 ? cif->rtype : cif->arg_types[bit - 1];
        if (!type) return;
        if (is_libffi_type(type)) continue;
        if (!record_other(type, codes, &count, 0)) return;
        others[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
    if (atomic_fetch_add_explicit(&entry_count, 1, memory_order_relaxed) >= ENTRY_LIMIT) {
        atomic_fetch_sub_explicit(&entry_count, 1, memory_order_relaxed);
        return;
    }
    cif_entry *entry = malloc(sizeof(cif_entry) + nargs * sizeof(ffi_type *) + count * sizeof(uint64_t));
    if (!entry) return;
    entry->cif = cif;
    entry->header = header_of(cif);
    entry->rtype = cif->rtype;
    entry->stub = stub;
    for (unsigned index = 0; index < nargs; index++) entry->types[index] = cif->arg_types[index];
    uint64_t *stored = (uint64_t *)(entry->types + nargs);
    for (size_t index = 0; index < count; index++) stored[index] = codes[index];
    entry->count = count;
    entry->codes = stored;
    entry->others[0] = others[0];
    entry->others[1] = others[1];
    atomic_store_explicit(&slots[slot_of(cif)], entry, memory_order_release);
}

__attribute__((noinline)) static void call_after_miss(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    atomic_fetch_add_explicit(&miss_count, 1, memory_order_relaxed);
    const void *stub = NULL;
    if (!_callstub_ffi_plan(cif, &stub)) {
        _callstub_ffi_call_slow(cif, (void *)fn, rvalue, avalue);
        return;
    }
    remember(cif, stub);
    if (stub)
        ((stub_entry)stub)((const void *)fn, avalue, rvalue);
    else
        ffi_call(cif, fn, rvalue, avalue);
}

/* A call through an entry whose pointers matched, for a cif served by ffi_call or with
 * types of its own (their content is compared first). Apart from the fast path, so that
 * callstub_ffi_call saves no registers. */
__attribute__((noinline)) static void call_through(
    const cif_entry *entry, ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    if (entry->count > 0 && !content_matches(entry, cif)) {
        call_after_miss(cif, fn, rvalue, avalue);
        return;
    }
    if (entry->stub)
        ((stub_entry)entry->stub)((const void *)fn, avalue, rvalue);
    else
        ffi_call(cif, fn, rvalue, avalue);
}

void callstub_ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    if (LIKELY(cif && fn && rvalue && (avalue || cif->nargs == 0))) {
        const cif_entry *entry = atomic_load_explicit(&slots[slot_of(cif)], memory_order_acquire);
        if (LIKELY(entry && pointers_match(entry, cif))) {
            if (LIKELY(entry->count == 0 && entry->stub != NULL)) {
                ((stub_entry)entry->stub)((const void *)fn, avalue, rvalue);
                return;
            }
            call_through(entry, cif, fn, rvalue, avalue);
            return;
        }
        call_after_miss(cif, fn, rvalue, avalue);
        return;
    }
    _callstub_ffi_call_slow(cif, (void *)fn, rvalue, avalue);
}

const void *const _callstub_call_entry = (const void *)callstub_call;
const void *const _callstub_ffi_call_entry = (const void *)callstub_ffi_call;
const void *const _callstub_plan_invoke_entry = (const void *)callstub_ffi_call_plan_invoke;
const void *const _callstub_plan_alloc_entry = (const void *)callstub_ffi_call_plan_alloc;
const void *const _callstub_plan_free_entry = (const void *)callstub_ffi_call_plan_free;

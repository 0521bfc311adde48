/* The C API's hot entry points (see callstub_fast_path.h). Each checks what it was
 * given and jumps into a JIT stub; anything unusual goes to the Swift entry points, which
 * report errors and make plans. The state kept here: each function handle's variadic
 * tails seen so far, and callstub_ffi_call's cifs by address. */
#include "callstub_fast_path.h"

#include <callstub.h>
#include <callstub_ffi.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The Swift mirrors of callstub.h's signature tables (callstub_fast_path.h) have its layout. */
#define CALLSTUB_SAME_LAYOUT_(a, b, field) \
    _Static_assert(offsetof(a, field) == offsetof(b, field), #a "." #field " moved")
_Static_assert(sizeof(callstub_type) == sizeof(callstub_type_record), "callstub_type changed");
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, flags);
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, size);
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, alignment);
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, element);
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, count);
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, first);
CALLSTUB_SAME_LAYOUT_(callstub_type, callstub_type_record, name);
_Static_assert(sizeof(callstub_member) == sizeof(callstub_member_record), "callstub_member changed");
CALLSTUB_SAME_LAYOUT_(callstub_member, callstub_member_record, type);
CALLSTUB_SAME_LAYOUT_(callstub_member, callstub_member_record, offset_in_bits);
CALLSTUB_SAME_LAYOUT_(callstub_member, callstub_member_record, bit_width);
_Static_assert(sizeof(callstub_signature) == sizeof(callstub_signature_record), "callstub_signature changed");
CALLSTUB_SAME_LAYOUT_(callstub_signature, callstub_signature_record, type_count);
CALLSTUB_SAME_LAYOUT_(callstub_signature, callstub_signature_record, types);
CALLSTUB_SAME_LAYOUT_(callstub_signature, callstub_signature_record, member_count);
CALLSTUB_SAME_LAYOUT_(callstub_signature, callstub_signature_record, members);

/* A JIT stub: libffi's avalue shape, returning 0 (stubs are made by LLVMBackend). */
typedef int32_t (*stub_entry)(const void *target, void **args, void *result);

#define LIKELY(condition) __builtin_expect(!!(condition), 1)
#define UNLIKELY(condition) __builtin_expect(!!(condition), 0)

/* The tag is read between the NULL tests: with the four pointers tested in one condition,
 * clang combines the tests into vector compares, a dozen instructions more per call. */
callstub_status callstub_call(callstub_function *function, void *result, void **args) {
    const callstub_handle_record *record = (const callstub_handle_record *)function;
    if (UNLIKELY(!record) || UNLIKELY(record->tag != CALLSTUB_TAG_FUNCTION)) goto slow;
    if (UNLIKELY(!result) || UNLIKELY(!args) || UNLIKELY(!record->fixed_stub)) goto slow;
    return (callstub_status)((stub_entry)record->fixed_stub)(record->fixed_target, args, result);
slow:
    return (callstub_status)_callstub_call_slow(function, result, args);
}

/* ---- callstub_call_variadic: the tails seen so far, by their text ----------------
 * A list is immutable once published (release store, acquire load); a new tail publishes
 * a copy with one more entry, and the lists it replaced are freed with the handle. */

enum { VARIADIC_SHAPES = 8 };

typedef struct variadic_shapes {
    const struct variadic_shapes *replaced;
    unsigned count;
    struct {
        char *types;
        const void *stub, *target;
    } entries[VARIADIC_SHAPES];
} variadic_shapes;

callstub_status callstub_call_variadic(callstub_function *function, const char *variadic_types, void *result, void **args) {
    const callstub_handle_record *record = (const callstub_handle_record *)function;
    if (UNLIKELY(!record) || UNLIKELY(record->tag != CALLSTUB_TAG_FUNCTION)) goto slow;
    if (UNLIKELY(!variadic_types) || UNLIKELY(!result) || UNLIKELY(!args)) goto slow;
    const variadic_shapes *shapes = __atomic_load_n((const variadic_shapes *const *)&record->variadic_shapes, __ATOMIC_ACQUIRE);
    if (shapes)
        for (unsigned index = 0; index < shapes->count; index++)
            if (strcmp(shapes->entries[index].types, variadic_types) == 0)
                return (callstub_status)((stub_entry)shapes->entries[index].stub)(shapes->entries[index].target, args, result);
slow:
    return (callstub_status)_callstub_call_variadic_slow(function, variadic_types, result, args);
}

void _callstub_remember_variadic(callstub_handle_record *record, const char *types, const void *stub, const void *target) {
    const variadic_shapes *old = __atomic_load_n((const variadic_shapes *const *)&record->variadic_shapes, __ATOMIC_ACQUIRE);
    if (old && old->count >= VARIADIC_SHAPES) return;
    for (unsigned index = 0; old && index < old->count; index++)
        if (strcmp(old->entries[index].types, types) == 0) return;
    variadic_shapes *made = calloc(1, sizeof *made);
    char *copy = strdup(types);
    if (!made || !copy) {
        free(made);
        free(copy);
        return;
    }
    if (old) *made = *old;
    made->replaced = old;
    made->entries[made->count].types = copy;
    made->entries[made->count].stub = stub;
    made->entries[made->count].target = target;
    made->count++;
    __atomic_store_n((const variadic_shapes **)&record->variadic_shapes, made, __ATOMIC_RELEASE);
}

void _callstub_forget_variadic(callstub_handle_record *record) {
    const variadic_shapes *newest = record->variadic_shapes;
    if (!newest) return;
    /* The newest list holds every string; each list is its own allocation. */
    for (unsigned index = 0; index < newest->count; index++) free(newest->entries[index].types);
    for (const variadic_shapes *list = newest, *next; list; list = next) {
        next = list->replaced;
        free((void *)list);
    }
    record->variadic_shapes = NULL;
}

void callstub_ffi_call_plan_invoke(callstub_ffi_call_plan *plan, void (*fn)(void), void *rvalue, void **avalue) {
    const callstub_handle_record *record = (const callstub_handle_record *)plan;
    if (UNLIKELY(!record) || UNLIKELY(record->tag != CALLSTUB_TAG_PLAN)) goto slow;
    if (UNLIKELY(!fn) || UNLIKELY(!rvalue) || UNLIKELY(!avalue) || UNLIKELY(!record->fixed_stub)) goto slow;
    ((stub_entry)record->fixed_stub)((const void *)fn, avalue, rvalue);
    return;
slow:
    _callstub_plan_invoke_slow(plan, (void *)fn, rvalue, avalue);
}

/* ---- callstub_ffi_call: cifs by address, verified on every call ---------------------
 *
 * A cif is not identified by its address alone: one on the stack is re-prepared for other
 * signatures, and a type may be freed and another made at its address. An entry keeps the
 * cif's address, its ABI and argument count, and its result and argument type pointers;
 * libffi's own types (ffi_type_sint32, ...) never change, so for a cif of those alone
 * equal pointers are equal content. For any other type the entry also keeps checks of
 * its content (record_checks): its size, alignment and type code, and for struct and
 * complex types the elements array and every element pointer (then the NULL after them),
 * recursively for elements that are not libffi's own; each call compares that too. A
 * changed cif is a miss, looked up by content in Swift
 * (CIFCalls) and recorded again. Entries are immutable once published (release store,
 * acquire load) and never freed: a replaced one may still be read by another thread;
 * ENTRY_LIMIT bounds them. */

/* The limits of an entry (CIFFingerprint's in Swift are the same or larger): a larger cif
 * is served through Swift on every call. */
enum { SLOT_COUNT = 4096, MAXIMUM_ARGUMENTS = 64, CHECK_CAPACITY = 512, MAXIMUM_DEPTH = 16, ENTRY_LIMIT = 16384 };

/* One check of a type's content: the 8 bytes at `address`, masked, must equal `expected`.
 * The checks of an entry are ordered so that a pointer is checked before anything behind
 * it is read: a changed type fails at its first difference, before a freed or shorter
 * array behind it is read. */
typedef uint64_t __attribute__((may_alias)) word;
typedef struct content_check {
    const word *address;
    uint64_t mask, expected;
} content_check;

typedef struct cif_entry {
    const ffi_cif *cif;
    uint64_t header; /* abi and nargs, as header_of reads them */
    const ffi_type *rtype;
    const void *stub; /* NULL: ffi_call serves the cif */
    /* The checks of the content of the result and argument types that are not libffi's
     * own (none when all are). */
    size_t check_count;
    const content_check *checks;
    ffi_type *types[];
} cif_entry;

static _Atomic(const cif_entry *) slots[SLOT_COUNT];
static atomic_size_t entry_count, miss_count;

size_t _callstub_cif_cache_misses(void) { return atomic_load_explicit(&miss_count, memory_order_relaxed); }

static inline size_t slot_of(const ffi_cif *cif) { return ((uintptr_t)cif >> 3) & (SLOT_COUNT - 1); }

/* The ABI and argument count, the cif's first eight bytes, as one word. */
static inline uint64_t header_of(const ffi_cif *cif) {
    uint64_t header;
    memcpy(&header, cif, sizeof header);
    return header;
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

/* The content checks of a cif whose type pointers matched. */
static inline int content_matches(const cif_entry *entry) {
    const content_check *check = entry->checks, *end = check + entry->check_count;
    for (; check != end; check++)
        if ((*check->address & check->mask) != check->expected) return 0;
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

/* Appends a check; 0 when the list is full. */
static int add_check(content_check *checks, size_t *count, const void *address, uint64_t mask) {
    if (*count >= CHECK_CAPACITY) return 0;
    const word *at = (const word *)address;
    checks[(*count)++] = (content_check){at, mask, *at & mask};
    return 1;
}

/* Appends the checks of a type that is not libffi's own (its address is checked before,
 * by the caller): size; alignment and type code (4 bytes: the rest of that word is
 * padding); for struct and complex types the elements pointer, each element pointer and
 * the NULL after them, then the checks of the elements that are not libffi's own. 0 when
 * they do not fit or the type cannot be read. */
static int record_checks(const ffi_type *type, content_check *checks, size_t *count, int depth) {
    if (!add_check(checks, count, &type->size, ~(uint64_t)0) || !add_check(checks, count, &type->alignment, 0xFFFFFFFFu))
        return 0;
    if (!has_elements(type)) return 1;
    if (depth >= MAXIMUM_DEPTH || !type->elements || !add_check(checks, count, &type->elements, ~(uint64_t)0)) return 0;
    size_t elements = 0;
    do {
        if (!add_check(checks, count, &type->elements[elements], ~(uint64_t)0)) return 0;
    } while (type->elements[elements++]);
    for (size_t index = 0; index + 1 < elements; index++)
        if (!is_libffi_type(type->elements[index]) && !record_checks(type->elements[index], checks, count, depth + 1)) return 0;
    return 1;
}

/* Publishes an entry for `cif` served by `stub`, when its checks fit and the limit allows. */
static void remember(const ffi_cif *cif, const void *stub) {
    unsigned nargs = cif->nargs;
    if (nargs > MAXIMUM_ARGUMENTS || !cif->rtype || (nargs > 0 && !cif->arg_types)) return;
    content_check checks[CHECK_CAPACITY];
    size_t count = 0;
    for (unsigned index = 0; index <= nargs; index++) {
        const ffi_type *type = index == 0 ? cif->rtype : cif->arg_types[index - 1];
        if (!type) return;
        if (is_libffi_type(type)) continue;
        /* A type used again (a struct result and argument, or two arguments) is checked once. */
        int seen = index > 0 && type == cif->rtype;
        for (unsigned earlier = 1; earlier < index && !seen; earlier++) seen = type == cif->arg_types[earlier - 1];
        if (!seen && !record_checks(type, checks, &count, 0)) return;
    }
    if (atomic_fetch_add_explicit(&entry_count, 1, memory_order_relaxed) >= ENTRY_LIMIT) {
        atomic_fetch_sub_explicit(&entry_count, 1, memory_order_relaxed);
        return;
    }
    cif_entry *entry = malloc(sizeof(cif_entry) + nargs * sizeof(ffi_type *) + count * sizeof(content_check));
    if (!entry) return;
    entry->cif = cif;
    entry->header = header_of(cif);
    entry->rtype = cif->rtype;
    entry->stub = stub;
    for (unsigned index = 0; index < nargs; index++) entry->types[index] = cif->arg_types[index];
    content_check *stored = (content_check *)(entry->types + nargs);
    for (size_t index = 0; index < count; index++) stored[index] = checks[index];
    entry->check_count = count;
    entry->checks = stored;
    atomic_store_explicit(&slots[slot_of(cif)], entry, memory_order_release);
}

__attribute__((noinline)) static void call_after_miss(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    atomic_fetch_add_explicit(&miss_count, 1, memory_order_relaxed);
    const void *stub = NULL;
    /* Not planned but sound: ffi_call serves it from now on (remembered with no stub). */
    if (_callstub_ffi_plan(cif, &stub) < 0) return;
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
    if (!content_matches(entry)) {
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
            if (LIKELY(entry->check_count == 0 && entry->stub != NULL)) {
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
const void *const _callstub_call_variadic_entry = (const void *)callstub_call_variadic;
const void *const _callstub_ffi_call_entry = (const void *)callstub_ffi_call;
const void *const _callstub_plan_invoke_entry = (const void *)callstub_ffi_call_plan_invoke;
const void *const _callstub_plan_alloc_entry = (const void *)callstub_ffi_call_plan_alloc;
const void *const _callstub_plan_free_entry = (const void *)callstub_ffi_call_plan_free;

/* callstub._native.Function: a function bound through libcallstub, called with Python
 * values. Each parameter's conversion is chosen once when it is bound (plain ints and
 * floats take a short path, everything else the signature tables'); a call converts into
 * a frame on the C stack and enters the JIT stub through callstub_call_inline. */
#include "_native.h"

#include <limits.h>
#include <string.h>

/* The short paths, by parameter and result type. */
enum {
    SHORT_NONE = 0, /* the signature tables' conversion (cs_to_c, cs_from_c) */
    SHORT_S8, SHORT_S16, SHORT_S32, SHORT_S64, SHORT_U8, SHORT_U16, SHORT_U32, SHORT_U64,
    SHORT_FLOAT, SHORT_DOUBLE, SHORT_VOID, SHORT_RECORD,
    SHORT_POINTER /* an int address or None; as a result, pointers other than to char */
};

typedef struct {
    int type;
    int path;
    size_t offset;          /* in the frame */
    size_t size;            /* of the type */
    size_t alignment_mask;  /* of the type, less one */
    RecordTypeObject *record; /* a record by value: its type (the library's, shared by name) */
} Parameter;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    TablesObject *tables;
    callstub_function *function;
    const callstub_signature *signature;
    PyObject *name;
    const char *c_name;
    RecordTypeObject *result_record;
    RecordObject *last_result; /* the last record result, reused while nothing else holds it */
    callstub_entry entry;      /* the stub fixed when bound (eager or JIT), else NULL */
    void *target;              /* its target */
    PyObject *registry;
    int result_type;
    int result_path;
    int variadic;
    int release_gil;
    Py_ssize_t parameter_count;
    size_t frame_size;
    size_t result_size;
    size_t result_alignment_mask; /* of the result type, less one */
    Parameter *parameters;
    PyMethodDef method;     /* of the builtin function calls go through (cs_function_new) */
    char *doc;              /* its __doc__: the declaration (malloc'd by libcallstub) */
} FunctionObject;

_Thread_local cs_call_state cs_calls;

static int short_path(const callstub_type *type) {
    if (type->flags & CALLSTUB_TYPE_BIG_ENDIAN) return SHORT_NONE;
    switch (type->kind) {
    case CALLSTUB_TYPE_VOID: return SHORT_VOID;
    case CALLSTUB_TYPE_SIGNED:
        switch (type->size) {
        case 1: return SHORT_S8;
        case 2: return SHORT_S16;
        case 4: return SHORT_S32;
        case 8: return SHORT_S64;
        }
        return SHORT_NONE;
    case CALLSTUB_TYPE_UNSIGNED:
        switch (type->size) {
        case 1: return SHORT_U8;
        case 2: return SHORT_U16;
        case 4: return SHORT_U32;
        case 8: return SHORT_U64;
        }
        return SHORT_NONE;
    case CALLSTUB_TYPE_POINTER:
        return SHORT_POINTER;
    case CALLSTUB_TYPE_FLOAT:
        return type->size == 4 ? SHORT_FLOAT : type->size == 8 ? SHORT_DOUBLE : SHORT_NONE;
    case CALLSTUB_TYPE_STRUCT:
    case CALLSTUB_TYPE_UNION:
        return (type->flags & CALLSTUB_TYPE_INCOMPLETE) ? SHORT_NONE : SHORT_RECORD;
    default: return SHORT_NONE;
    }
}

/* The value of a plain int of one digit (|value| < 2**30), read in place: 1; else 0. */
static inline int compact_value(PyObject *value, long long *number) {
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact((PyLongObject *)value)) return 0;
    *number = PyUnstable_Long_CompactValue((PyLongObject *)value);
    return 1;
#elif PY_VERSION_HEX >= 0x030B0000
    Py_ssize_t size = Py_SIZE(value);  /* the digit count, negative for negative values */
    if (size < -1 || size > 1) return 0;
    *number = size * (long long)((PyLongObject *)value)->ob_digit[0];
    return 1;
#else
    return 0;
#endif
}

/* A plain int in range, written at `slot`: 1; anything else: 0 (the general path decides). */
static inline int short_integer(int path, PyObject *value, char *slot) {
    if (!PyLong_CheckExact(value)) return 0;
    long long number;
    if (!compact_value(value, &number)) {
        int overflow;
        number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow) return 0;
    }
    switch (path) {
    case SHORT_S8: if (number < -128 || number > 127) return 0; *(int8_t *)slot = (int8_t)number; return 1;
    case SHORT_S16: if (number < SHRT_MIN || number > SHRT_MAX) return 0; *(int16_t *)slot = (int16_t)number; return 1;
    case SHORT_S32: if (number < INT_MIN || number > INT_MAX) return 0; *(int32_t *)slot = (int32_t)number; return 1;
    case SHORT_S64: *(int64_t *)slot = number; return 1;
    case SHORT_U8: if (number < 0 || number > UCHAR_MAX) return 0; *(uint8_t *)slot = (uint8_t)number; return 1;
    case SHORT_U16: if (number < 0 || number > USHRT_MAX) return 0; *(uint16_t *)slot = (uint16_t)number; return 1;
    case SHORT_U32: if (number < 0 || number > UINT_MAX) return 0; *(uint32_t *)slot = (uint32_t)number; return 1;
    case SHORT_U64: if (number < 0) return 0; *(uint64_t *)slot = (uint64_t)number; return 1;
    case SHORT_POINTER: *(void **)slot = (void *)(intptr_t)number; return 1;  /* as PyLong_AsVoidPtr */
    }
    return 0;
}

/* A pointer parameter's short path: None (NULL) or a plain int address. */
static inline int short_pointer(PyObject *value, char *slot) {
    if (value != Py_None) return short_integer(SHORT_POINTER, value, slot);
    *(void **)slot = NULL;
    return 1;
}

/* A record result's bytes, read an eightbyte at a time as the stub (or the callee, for a
 * result in memory) wrote them: a wider load over two narrower stores would wait for
 * them to reach the cache (a store-forwarding stall: 3.6 ns of dd2's 38.9 from Python,
 * docs/benchmarks.md). */
static inline void copy_result(char *destination, const char *source, size_t size) {
    if (size % 8) {
        memcpy(destination, source, size);
        return;
    }
    for (size_t offset = 0; offset < size; offset += 8) {
        uint64_t eightbyte;
        memcpy(&eightbyte, source + offset, 8);
        __asm__("" : "+r"(eightbyte));  /* kept one eightbyte wide: not merged into wider loads */
        memcpy(destination + offset, &eightbyte, 8);
    }
}

/* A record's bytes, copied inline for the common sizes (memcpy with a constant size). */
static inline void copy_record(char *destination, const char *source, size_t size) {
    switch (size) {
    case 8: memcpy(destination, source, 8); break;
    case 16: memcpy(destination, source, 16); break;
    case 32: memcpy(destination, source, 32); break;
    default: memcpy(destination, source, size);
    }
}

/* A parameter's argument on its short path: where the call reads it (written at `slot`,
 * or a record's own bytes), or NULL (the signature tables' conversion decides, or names
 * the error). `in_place`: no Python code runs between here and the call's reading the
 * arguments (the short call: exact types only, the GIL kept), so a record's bytes can be
 * read where they are. */
static inline __attribute__((always_inline)) char *short_argument(const Parameter *parameter, PyObject *value,
                                                                  char *slot, int in_place) {
    if (parameter->path == SHORT_RECORD) {
        /* Tested ahead of the switch (its jump table cost records ~8 instructions a call).
         * A record of the very type (the registry shares types by name). Its bytes are read
         * where they are when aligned as the type (calls only read a by-value argument's
         * bytes): copied into the frame, the stub's word loads waited for the copy's
         * stores (store forwarding; docs/benchmarks.md). */
        if (Py_TYPE(value) != &RecordType || ((RecordObject *)value)->type != parameter->record) return NULL;
        char *data = ((RecordObject *)value)->data;
        if (in_place && !((uintptr_t)data & parameter->alignment_mask)) return data;
        copy_record(slot, data, parameter->size);
        return slot;
    }
    switch (parameter->path) {
    case SHORT_DOUBLE:
        if (!PyFloat_CheckExact(value)) return NULL;
        *(double *)slot = PyFloat_AS_DOUBLE(value);
        return slot;
    case SHORT_FLOAT:
        if (!PyFloat_CheckExact(value)) return NULL;
        *(float *)slot = (float)PyFloat_AS_DOUBLE(value);
        return slot;
    case SHORT_POINTER:
        return short_pointer(value, slot) ? slot : NULL;
    case SHORT_NONE:
    case SHORT_VOID:
        return NULL;
    default:
        return short_integer(parameter->path, value, slot) ? slot : NULL;
    }
}

/* CPython's own small ints (-5 to 256, which PyLong_FromLong returns shared), held here so
 * that a small integer result is one comparison and a reference, not a call into the
 * interpreter (~17 instructions of a ~100-instruction call). Filled when the first
 * function is bound. Python 3.11 made them static objects of the runtime; before, each
 * interpreter had its own, so older versions take PyLong_FromLongLong. */
enum { SMALL_INT_MIN = -5, SMALL_INT_MAX = 256 };
#define SHARES_SMALL_INTS (PY_VERSION_HEX >= 0x030B0000)
static PyObject *small_ints[SMALL_INT_MAX - SMALL_INT_MIN + 1];

static int hold_small_ints(void) {
    if (!SHARES_SMALL_INTS || small_ints[0]) return 0;
    for (long value = SMALL_INT_MIN; value <= SMALL_INT_MAX; value++) {
        if (!(small_ints[value - SMALL_INT_MIN] = PyLong_FromLong(value))) return -1;
    }
    return 0;
}

static inline PyObject *signed_result(long long value) {
    if (SHARES_SMALL_INTS && value >= SMALL_INT_MIN && value <= SMALL_INT_MAX)
        return Py_NewRef(small_ints[value - SMALL_INT_MIN]);
    return PyLong_FromLongLong(value);
}

static inline PyObject *unsigned_result(unsigned long long value) {
    if (SHARES_SMALL_INTS && value <= SMALL_INT_MAX) return Py_NewRef(small_ints[value - SMALL_INT_MIN]);
    return PyLong_FromUnsignedLongLong(value);
}

static PyObject *short_result(int path, const char *result) {
    switch (path) {
    case SHORT_S8: return signed_result(*(const int8_t *)result);
    case SHORT_S16: return signed_result(*(const int16_t *)result);
    case SHORT_S32: return signed_result(*(const int32_t *)result);
    case SHORT_S64: return signed_result(*(const int64_t *)result);
    case SHORT_U8: return unsigned_result(*(const uint8_t *)result);
    case SHORT_U16: return unsigned_result(*(const uint16_t *)result);
    case SHORT_U32: return unsigned_result(*(const uint32_t *)result);
    case SHORT_U64: return unsigned_result(*(const uint64_t *)result);
    case SHORT_FLOAT: return PyFloat_FromDouble(*(const float *)result);
    case SHORT_DOUBLE: return PyFloat_FromDouble(*(const double *)result);
    case SHORT_VOID: Py_RETURN_NONE;
    case SHORT_POINTER: {
        void *address = *(void *const *)result;
        if (address) return unsigned_result((uintptr_t)address);
        Py_RETURN_NONE;
    }
    }
    return NULL;
}

/* The C type text and value of a variadic argument, chosen from its Python type as
 * ctypes does: int (long when it does not fit), double, const char * for bytes and str,
 * void * for None and buffers. */
static const char *variadic_argument(FunctionObject *self, Py_ssize_t index, PyObject *value, char *slot,
                                     PyObject **keep) {
    if (PyLong_Check(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow && number >= INT_MIN && number <= INT_MAX) {
            *(int32_t *)slot = (int32_t)number;
            return "int";
        }
        if (!overflow) {
            *(int64_t *)slot = number;
            return "long";
        }
        unsigned long long unsigned_number = PyLong_AsUnsignedLongLong(value);
        if (unsigned_number == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
        *(uint64_t *)slot = unsigned_number;
        return "unsigned long";
    }
    if (PyFloat_Check(value)) {
        *(double *)slot = PyFloat_AS_DOUBLE(value);
        return "double";
    }
    if (value == Py_None) {
        *(void **)slot = NULL;
        return "void *";
    }
    if (PyBytes_Check(value)) {
        *(const char **)slot = PyBytes_AS_STRING(value);
        return "const char *";
    }
    if (PyUnicode_Check(value)) {
        const char *utf8 = PyUnicode_AsUTF8(value);
        if (!utf8) return NULL;
        *(const char **)slot = utf8;
        return "const char *";
    }
    if (PyObject_CheckBuffer(value)) {
        PyObject *view = PyMemoryView_FromObject(value);
        if (!view) return NULL;
        *(void **)slot = PyMemoryView_GET_BUFFER(view)->buf;
        int kept = cs_keep_add(keep, view);
        Py_DECREF(view);
        return kept < 0 ? NULL : "void *";
    }
    PyErr_Format(PyExc_TypeError,
                 "%U() argument %zd (variadic): pass an int, float, bytes, str, None or a buffer, not %s "
                 "(bind a declaration with the exact types for others)",
                 self->name, index + 1, Py_TYPE(value)->tp_name);
    return NULL;
}

static PyObject *wrong_count(FunctionObject *self, Py_ssize_t count) {
    char *declaration = NULL;
    callstub_describe(self->function, CALLSTUB_DESCRIBE_DECLARATION, &declaration);
    const char *last = declaration ? strrchr(declaration, '\n') : NULL;
    PyErr_Format(PyExc_TypeError, "%U() takes %s%zd argument%s (%s), %zd given", self->name,
                 self->variadic ? "at least " : "", self->parameter_count, self->parameter_count == 1 ? "" : "s",
                 last ? last + 1 : declaration ? declaration : "?", count);
    free(declaration);
    return NULL;
}

enum { SMALL_FRAME = 512, SMALL_ARGUMENTS = 16, SMALL_RESULT = 64 };

/* The call itself: through the variadic tail `types` when given, else through the stub
 * fixed when the function was bound, else libcallstub's inline path (which tiers up). */
static inline __attribute__((always_inline)) callstub_status call(FunctionObject *self, const char *types, void *result, void **arguments) {
    if (types) return callstub_call_variadic(self->function, types, result, arguments);
    if (self->entry) return (callstub_status)self->entry(self->target, arguments, result);
    return callstub_call_inline(self->function, result, arguments);
}

/* The call with the GIL handled: 0, or -1 with an exception set, a callback's raised
 * during the call included. */
static inline __attribute__((always_inline)) int enter(FunctionObject *self, const char *types, void *result, void **arguments) {
    callstub_status status;
    if (!cs_live_callbacks && !self->release_gil) {
        /* No callback exists, so the call cannot lead back into Python: nothing to track. */
        status = call(self, types, result, arguments);
    } else {
        cs_call_state *state = &cs_calls;  /* one thread-local lookup per call */
        state->depth++;
        if (self->release_gil) {
            Py_BEGIN_ALLOW_THREADS
            status = call(self, types, result, arguments);
            Py_END_ALLOW_THREADS
        } else {
            status = call(self, types, result, arguments);
        }
        state->depth--;
        if (state->pending_type && state->depth == 0) {
            /* A callback raised during the call: the call raises it now. */
            PyErr_Restore(state->pending_type, state->pending_value, state->pending_traceback);
            state->pending_type = state->pending_value = state->pending_traceback = NULL;
            return -1;
        }
    }
    if (status != CALLSTUB_OK) {
        cs_raise_status(status);
        return -1;
    }
    return 0;
}

/* The last record result, written anew, handed out: referenced first, then what the
 * caller stored pointers to let go (their finalizers may call this function again, which
 * then finds the record held and makes another). */
static inline PyObject *recycled_result(RecordObject *record) {
    Py_INCREF(record);
    Py_CLEAR(record->keep);
    return (PyObject *)record;
}

/* A record result: the last one again when only this function still holds it (its
 * reference count is 1, so no Python code can see it change: the caller dropped it), else
 * a new record, kept as the last one. A loop that drops each result allocates nothing. */
static PyObject *record_result(FunctionObject *self, const char *bytes) {
    RecordObject *record = self->last_result;
    if (!record || Py_REFCNT(record) != 1) {
        if (!(record = (RecordObject *)cs_record_new(self->result_record, NULL))) return NULL;
        Py_XSETREF(self->last_result, record);
    }
    copy_result(record->data, bytes, self->result_record->size);
    return recycled_result(record);  /* a new record keeps nothing yet */
}

static PyObject *function_vectorcall(FunctionObject *self, PyObject *const *values, size_t flags, PyObject *keywords) {
    Py_ssize_t count = PyVectorcall_NARGS(flags);
    if (keywords && PyTuple_GET_SIZE(keywords)) {
        PyErr_Format(PyExc_TypeError, "%U() takes no keyword arguments", self->name);
        return NULL;
    }
    if (count != self->parameter_count && !(self->variadic && count > self->parameter_count))
        return wrong_count(self, count);
    _Alignas(16) char small_frame[SMALL_FRAME];
    void *small_arguments[SMALL_ARGUMENTS];
    size_t frame_size = self->frame_size + (size_t)(count - self->parameter_count) * 16;
    char *frame = frame_size <= SMALL_FRAME ? small_frame : PyMem_Malloc(frame_size);
    void **arguments = count <= SMALL_ARGUMENTS ? small_arguments : PyMem_Malloc(sizeof(void *) * count);
    PyObject *keep = NULL, *result = NULL;
    char small_types[256], *variadic_types = NULL, *result_bytes = NULL;
    if (!frame || !arguments) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t index = 0; index < self->parameter_count; index++) {
        const Parameter *parameter = &self->parameters[index];
        char *slot = frame + parameter->offset;
        PyObject *value = values[index];
        /* Records are copied here: converting a later argument can run Python code (an
         * __index__, a callable made a callback) that changes an earlier record. */
        if ((arguments[index] = short_argument(parameter, value, slot, 0))) continue;
        arguments[index] = slot;
        cs_place place = {self->c_name, (int)index + 1, NULL, CS_FOR_THE_CALL};
        if (cs_to_c(self->signature, parameter->type, value, slot, &keep, &place) < 0) goto done;
    }
    if (count > self->parameter_count) {
        /* The tail's C types, as "int, double, const char *" (each name is under 16 bytes). */
        char *slot = frame + self->frame_size;
        size_t capacity = (size_t)(count - self->parameter_count) * 16;
        variadic_types = capacity <= sizeof small_types ? small_types : PyMem_Malloc(capacity);
        if (!variadic_types) {
            PyErr_NoMemory();
            goto done;
        }
        char *end = variadic_types;
        for (Py_ssize_t index = self->parameter_count; index < count; index++, slot += 16) {
            arguments[index] = slot;
            const char *name = variadic_argument(self, index, values[index], slot, &keep);
            if (!name) goto done;
            if (index > self->parameter_count) {
                memcpy(end, ", ", 2);
                end += 2;
            }
            size_t length = strlen(name);
            memcpy(end, name, length + 1);  /* not sprintf: it cost more than the call */
            end += length;
        }
    }
    _Alignas(16) char small_result[SMALL_RESULT];
    result_bytes = self->result_size <= sizeof small_result ? small_result : PyMem_Malloc(self->result_size);
    if (!result_bytes) {
        PyErr_NoMemory();
        goto done;
    }
    if (enter(self, variadic_types, result_bytes, arguments) < 0) goto done;
    if (self->result_path == SHORT_RECORD) result = record_result(self, result_bytes);
    else if (self->result_path != SHORT_NONE) result = short_result(self->result_path, result_bytes);
    else result = cs_from_c(self->tables, self->result_type, result_bytes, NULL);
done:
    Py_XDECREF(keep);
    if (variadic_types && variadic_types != small_types) PyMem_Free(variadic_types);
    if (frame != small_frame) PyMem_Free(frame);
    if (arguments != small_arguments) PyMem_Free(arguments);
    if (result_bytes && result_bytes != small_result) PyMem_Free(result_bytes);
    return result;
}

/* The call of functions whose every parameter and result has a short path, that are not
 * variadic and keep the GIL: no allocation, nothing kept, one pass. An argument the short
 * path does not take (a dict for a record, an int subclass, an int out of range) sends the
 * whole call to function_vectorcall, which converts it or names the error; the short
 * conversions have no side effects, so doing them again is harmless. */
static inline __attribute__((always_inline)) PyObject *short_call(FunctionObject *self, PyObject *const *values,
                                                                  Py_ssize_t count) {
    if (count != self->parameter_count) return function_vectorcall(self, values, (size_t)count, NULL);
    _Alignas(16) char frame[SMALL_FRAME];
    _Alignas(16) char result_bytes[SMALL_RESULT];
    void *arguments[SMALL_ARGUMENTS];
    for (Py_ssize_t index = 0; index < count; index++) {
        const Parameter *parameter = &self->parameters[index];
        char *slot = frame + parameter->offset;
        if (!(arguments[index] = short_argument(parameter, values[index], slot, 1)))
            return function_vectorcall(self, values, (size_t)count, NULL);
    }
    RecordObject *recycled = self->last_result;
    if (self->result_path == SHORT_RECORD && recycled && Py_REFCNT(recycled) == 1 && !cs_live_callbacks &&
        !self->release_gil && recycled->type->size >= self->result_size &&
        !((uintptr_t)recycled->data & self->result_alignment_mask)) {
        /* The last record result, dropped by the caller: the call writes into it (no Python
         * code runs before it returns, so no one can take it meanwhile). */
        if (enter(self, NULL, recycled->data, arguments) < 0) return NULL;
        return recycled_result(recycled);
    }
    if (enter(self, NULL, result_bytes, arguments) < 0) return NULL;
    if (self->result_path == SHORT_RECORD) return record_result(self, result_bytes);
    return short_result(self->result_path, result_bytes);
}

/* The Function object's own vectorcall (`f.__self__(...)`) on the short path. */
static PyObject *function_vectorcall_short(FunctionObject *self, PyObject *const *values, size_t flags,
                                           PyObject *keywords) {
    if (keywords && PyTuple_GET_SIZE(keywords)) return function_vectorcall(self, values, flags, keywords);
    return short_call(self, values, PyVectorcall_NARGS(flags));
}

/* What the builtin function calls (METH_FASTCALL) on the short path: the short call in
 * this frame (through the Function's vectorcall, one more indirect call and frame: ~10
 * instructions of ~100). */
static PyObject *function_fastcall_short(PyObject *self, PyObject *const *values, Py_ssize_t count) {
    return short_call((FunctionObject *)self, values, count);
}

static PyObject *function_fastcall(PyObject *self, PyObject *const *values, Py_ssize_t count) {
    return ((FunctionObject *)self)->vectorcall(self, values, (size_t)count, NULL);
}

/* A function of one parameter is a METH_O builtin: CPython 3.11 calls those with the
 * argument alone (PRECALL_NO_KW_BUILTIN_O), ~2 ns less than METH_FASTCALL's path with one
 * argument. CPython checks the count then ("takes exactly one argument (2 given)"). */
static PyObject *function_o_short(PyObject *self, PyObject *value) {
    return short_call((FunctionObject *)self, &value, 1);
}

static PyObject *function_o(PyObject *self, PyObject *value) {
    return ((FunctionObject *)self)->vectorcall(self, &value, 1, NULL);
}

/* function_vectorcall_short where it applies, else the general function_vectorcall. */
static void choose_vectorcall(FunctionObject *self) {
    int short_only = !self->variadic && !self->release_gil && self->result_path != SHORT_NONE &&
                     self->frame_size <= SMALL_FRAME && self->result_size <= SMALL_RESULT &&
                     self->parameter_count <= SMALL_ARGUMENTS;
    for (Py_ssize_t index = 0; short_only && index < self->parameter_count; index++)
        short_only = self->parameters[index].path != SHORT_NONE && self->parameters[index].path != SHORT_VOID;
    self->vectorcall = (vectorcallfunc)(short_only ? function_vectorcall_short : function_vectorcall);
    /* The builtin reads its method's function on every call (CPython 3.11 and later). */
    if (self->method.ml_flags == METH_O)
        self->method.ml_meth = short_only ? function_o_short : function_o;
    else
        self->method.ml_meth = (PyCFunction)(void (*)(void))(short_only ? function_fastcall_short : function_fastcall);
}

/* What users call: a builtin function (exactly PyCFunction: METH_O for one parameter,
 * else METH_FASTCALL) whose __self__ is the Function. CPython specialises calls of builtin
 * functions (3.11: PRECALL_NO_KW_BUILTIN_O, PRECALL_BUILTIN_FAST), which skips the generic
 * vectorcall dispatch a call of any other object takes. Steals `self`. */
static PyObject *builtin_of(FunctionObject *self) {
    callstub_describe(self->function, CALLSTUB_DESCRIBE_DECLARATION, &self->doc);
    int flags = self->parameter_count == 1 && !self->variadic ? METH_O : METH_FASTCALL;
    self->method = (PyMethodDef){self->c_name, NULL, flags, self->doc};
    choose_vectorcall(self);
    PyObject *builtin = PyCFunction_New(&self->method, (PyObject *)self);
    Py_DECREF(self);
    return builtin;
}

/* A record pointed to through a typedef (`gsl_sf_result *` for struct
 * gsl_sf_result_struct) is registered under the typedef's name too, so that
 * CDLL.record("gsl_sf_result") finds it: a record's own entry carries its tag, and the
 * pointer's spelling is where the typedef survives. 0, or -1 with an exception set. */
static int register_alias(TablesObject *tables, int pointer, PyObject *registry) {
    const callstub_signature *signature = tables->signature;
    const callstub_type *described = &signature->types[pointer];
    if (described->element < 0) return 0;
    const callstub_type *pointee = &signature->types[described->element];
    if ((pointee->kind != CALLSTUB_TYPE_STRUCT && pointee->kind != CALLSTUB_TYPE_UNION) ||
        (pointee->flags & CALLSTUB_TYPE_INCOMPLETE) || !described->name)
        return 0;
    /* "const gsl_sf_result *" -> "gsl_sf_result": one identifier, or no alias. */
    const char *start = described->name, *end = start + strlen(start);
    if (!strncmp(start, "const ", 6)) start += 6;
    if (end - start < 2 || strcmp(end - 2, " *")) return 0;
    end -= 2;
    for (const char *c = start; c < end; c++)
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (c > start && *c >= '0' && *c <= '9')))
            return 0;
    if (end == start || ((size_t)(end - start) == strlen(pointee->name) && !strncmp(start, pointee->name, end - start)))
        return 0;
    PyObject *alias = PyUnicode_FromStringAndSize(start, end - start);
    RecordTypeObject *record = alias ? cs_record_type(tables, described->element, registry) : NULL;
    int failed = !record || !PyDict_SetDefault(registry, alias, (PyObject *)record);
    Py_XDECREF(alias);
    Py_XDECREF(record);
    return failed ? -1 : 0;
}

PyObject *cs_function_new(callstub_function *function, PyObject *name, PyObject *registry, int release_gil) {
    if (hold_small_ints() < 0) {
        callstub_function_free(function);
        return NULL;
    }
    const callstub_signature *signature;
    callstub_status status = callstub_function_signature(function, &signature);
    if (status != CALLSTUB_OK) {
        callstub_function_free(function);
        return cs_raise_status(status);
    }
    TablesObject *tables = (TablesObject *)cs_tables_new(function, signature);
    if (!tables) return NULL;
    FunctionObject *self = PyObject_GC_New(FunctionObject, &FunctionType);
    if (!self) {
        Py_DECREF(tables);
        return NULL;
    }
    const callstub_type *type = &signature->types[signature->function];
    self->vectorcall = (vectorcallfunc)function_vectorcall;
    self->doc = NULL;
    self->method = (PyMethodDef){NULL, NULL, 0, NULL};
    self->tables = tables;
    self->function = function;
    self->signature = signature;
    self->name = name;
    Py_INCREF(name);
    self->c_name = PyUnicode_AsUTF8(name);
    self->registry = registry;
    Py_XINCREF(registry);
    self->result_type = type->element;
    self->result_path = short_path(&signature->types[type->element]);
    if (self->result_path == SHORT_POINTER) {
        /* char pointers come back as bytes (cs_from_c) */
        const callstub_type *pointee = &signature->types[signature->types[type->element].element];
        if (pointee->kind == CALLSTUB_TYPE_SIGNED && (pointee->flags & CALLSTUB_TYPE_CHAR))
            self->result_path = SHORT_NONE;
    }
    self->result_record = NULL;
    self->last_result = NULL;
    if (callstub_function_entry(function, &self->entry, &self->target) != CALLSTUB_OK) self->entry = NULL;
    self->variadic = (type->flags & CALLSTUB_TYPE_VARIADIC) != 0;
    self->release_gil = release_gil;
    self->parameter_count = (Py_ssize_t)type->count;
    self->result_size = callstub_result_size(function);
    self->result_alignment_mask = signature->types[type->element].alignment - 1;
    self->parameters = PyMem_Calloc(type->count ? type->count : 1, sizeof(Parameter));
    PyObject_GC_Track(self);
    if (!self->parameters || !self->c_name) {
        Py_DECREF(self);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    size_t offset = 0;
    for (size_t index = 0; index < type->count; index++) {
        Parameter *parameter = &self->parameters[index];
        parameter->type = signature->members[type->first + index].type;
        const callstub_type *described = &signature->types[parameter->type];
        parameter->path = short_path(described);
        parameter->offset = offset;
        parameter->size = described->size;
        parameter->alignment_mask = described->alignment ? described->alignment - 1 : 0;
        if (parameter->path == SHORT_RECORD &&
            !(parameter->record = cs_record_type(tables, parameter->type, registry))) {
            Py_DECREF(self);
            return NULL;
        }
        size_t size = described->size > 16 ? described->size : 16;
        offset += (size + 15) & ~(size_t)15;
    }
    self->frame_size = offset;
    if (self->result_path == SHORT_RECORD &&
        !(self->result_record = cs_record_type(tables, self->result_type, registry))) {
        Py_DECREF(self);
        return NULL;
    }
    choose_vectorcall(self);
    /* Records the function reaches by value or through pointers, for CDLL.record. */
    for (size_t index = 0; registry && index < signature->type_count; index++) {
        const callstub_type *described = &signature->types[index];
        if ((described->kind == CALLSTUB_TYPE_STRUCT || described->kind == CALLSTUB_TYPE_UNION) &&
            !(described->flags & CALLSTUB_TYPE_INCOMPLETE)) {
            RecordTypeObject *record = cs_record_type(tables, (int)index, registry);
            if (!record) {
                Py_DECREF(self);
                return NULL;
            }
            Py_DECREF(record);
        } else if (described->kind == CALLSTUB_TYPE_POINTER && register_alias(tables, (int)index, registry) < 0) {
            Py_DECREF(self);
            return NULL;
        }
    }
    return builtin_of(self);
}

static int function_traverse(FunctionObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->registry);
    Py_VISIT(self->result_record);
    for (Py_ssize_t index = 0; self->parameters && index < self->parameter_count; index++)
        Py_VISIT(self->parameters[index].record);
    return 0;
}

static int function_clear(FunctionObject *self) {
    Py_CLEAR(self->registry);
    Py_CLEAR(self->result_record);
    Py_CLEAR(self->last_result);
    for (Py_ssize_t index = 0; self->parameters && index < self->parameter_count; index++)
        Py_CLEAR(self->parameters[index].record);
    return 0;
}

static void function_dealloc(FunctionObject *self) {
    PyObject_GC_UnTrack(self);
    function_clear(self);
    Py_XDECREF(self->name);
    PyMem_Free(self->parameters);
    free(self->doc);
    Py_XDECREF(self->tables);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *describe(FunctionObject *self, callstub_description what) {
    char *text = NULL;
    callstub_status status = callstub_describe(self->function, what, &text);
    if (status != CALLSTUB_OK) return cs_raise_status(status);
    PyObject *result = PyUnicode_FromString(text);
    free(text);
    return result;
}

static PyObject *function_get_declaration(FunctionObject *self, void *closure) {
    return describe(self, CALLSTUB_DESCRIBE_DECLARATION);
}

static PyObject *function_get_backend(FunctionObject *self, void *closure) {
    return describe(self, CALLSTUB_DESCRIBE_BACKEND);
}

static PyObject *function_get_verification(FunctionObject *self, void *closure) {
    return describe(self, CALLSTUB_DESCRIBE_VERIFICATION);
}

static PyObject *function_get_plan(FunctionObject *self, void *closure) { return describe(self, CALLSTUB_DESCRIBE_PLAN); }

static PyObject *function_get_name(FunctionObject *self, void *closure) {
    Py_INCREF(self->name);
    return self->name;
}

static PyObject *function_get_release_gil(FunctionObject *self, void *closure) { return PyBool_FromLong(self->release_gil); }

static int function_set_release_gil(FunctionObject *self, PyObject *value, void *closure) {
    int truth = value ? PyObject_IsTrue(value) : 0;
    if (truth < 0) return -1;
    self->release_gil = truth;
    choose_vectorcall(self);
    return 0;
}

static PyGetSetDef function_getset[] = {
    {"__name__", (getter)function_get_name, NULL, "The C function's name.", NULL},
    {"declaration", (getter)function_get_declaration, NULL, "The signature as C declares it (records first).", NULL},
    {"backend", (getter)function_get_backend, NULL, "Which backend serves calls, and why.", NULL},
    {"verification", (getter)function_get_verification, NULL, "How the signature was checked against debug info.", NULL},
    {"plan", (getter)function_get_plan, NULL, "The x86-64 System V call plan.", NULL},
    {"release_gil", (getter)function_get_release_gil, (setter)function_set_release_gil,
     "Whether calls let other Python threads run (for functions that block).", NULL},
    {NULL},
};

static PyObject *function_repr(FunctionObject *self) {
    PyObject *declaration = describe(self, CALLSTUB_DESCRIBE_DECLARATION);
    if (!declaration) return NULL;
    PyObject *result = PyUnicode_FromFormat("<callstub function %U>", declaration);
    Py_DECREF(declaration);
    return result;
}

PyTypeObject FunctionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "callstub.Function",
    .tp_basicsize = sizeof(FunctionObject),
    .tp_dealloc = (destructor)function_dealloc,
    .tp_vectorcall_offset = offsetof(FunctionObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)function_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)function_traverse,
    .tp_clear = (inquiry)function_clear,
    .tp_getset = function_getset,
    .tp_doc = "A C function bound through libcallstub, called with Python values.",
};

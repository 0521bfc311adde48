/* callstub._native's shared declarations: Python values to and from C bytes by the
 * signature tables of include/callstub.h (callstub_function_signature), records, bound
 * functions and callbacks. Every layout comes from libcallstub; this extension only reads
 * and writes values at the offsets the tables give. */
#ifndef CALLSTUB_PYTHON_NATIVE_H
#define CALLSTUB_PYTHON_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <callstub.h>
#include <stdint.h>

/* The exception for a failed libcallstub status (sets it, returns NULL). */
PyObject *cs_raise_status(callstub_status status);

/* ---- Tables: keeps a handle (and so its signature tables) alive ---- */

/* What a callback's handler reads (its context, inside the callback's TablesObject): it
 * lives as long as the callback's code, and a callback whose Python object is gone (or
 * that C calls at interpreter shutdown) finds `function` NULL and returns zeros. */
typedef struct {
    const callstub_signature *signature;
    PyObject *function; /* the Python callable, owned by the Callback object */
    struct TablesObject *tables; /* the TablesObject holding this state (borrowed) */
} CallbackState;

typedef struct TablesObject {
    PyObject_HEAD
    callstub_function *function; /* freed with the object */
    callstub_callback *callback; /* freed with the object */
    const callstub_signature *signature;
    CallbackState callback_state;
    PyObject *records; /* the record types of this signature made so far, by type index */
} TablesObject;

extern PyTypeObject TablesType;
PyObject *cs_tables_new(callstub_function *function, const callstub_signature *signature);

/* ---- Record types and records ---- */

/* A record type of some signature: its name, size and members by name (members of
 * unnamed struct and union members included, as C lets them be named). */
typedef struct {
    PyObject_HEAD
    TablesObject *tables; /* keeps `signature` alive */
    const callstub_signature *signature;
    int type;
    PyObject *name;
    PyObject *fields; /* name -> (member index, bit offset of its record) */
    PyObject *field_names; /* tuple, in declaration order */
    size_t size;
    /* Records of this type freed with their bytes inline, kept for the next (a call
     * returning a record then allocates nothing); they hold no references. */
    int spare_count;
    struct RecordObject *spare[4];
} RecordTypeObject;

extern PyTypeObject RecordTypeType;

/* A record value: bytes laid out as `type` says, its own or a view into `base`'s. */
typedef struct RecordObject {
    PyObject_VAR_HEAD
    RecordTypeObject *type;
    PyObject *base;     /* the object whose memory `data` points into; NULL: inline */
    PyObject *keep;     /* objects stored pointers point into (a list, or NULL) */
    char *data;
    _Alignas(16) char inline_data[];
} RecordObject;

extern PyTypeObject RecordType;

/* The record type of `tables->signature->types[type]`: made once per tables, and shared
 * by name through `registry` (a dict, or NULL) when the registered one has the same
 * layout. New reference. */
RecordTypeObject *cs_record_type(TablesObject *tables, int type, PyObject *registry);
/* A record owning a copy of `bytes` (NULL: zeros). New reference. */
PyObject *cs_record_new(RecordTypeObject *type, const void *bytes);

/* ---- Conversions ---- */

/* How long a pointer written by a conversion lives, so that what it points into lives as long. */
typedef enum {
    /* A call's argument: the caller holds the arguments for the call; only objects the
     * conversion makes (buffer views, callbacks) go to the keep list. */
    CS_FOR_THE_CALL = 0,
    /* Stored in a record: everything pointed into goes to the record's keep list. */
    CS_IN_A_RECORD,
    /* Handed to C with nothing to hold it (a callback's result): refused. */
    CS_NOWHERE
} cs_lifetime;

/* What a conversion is for, to name it in messages: "add2() argument 2 (int)",
 * "field b (double)", "struct DD" (a record made from a value). */
typedef struct {
    const char *function; /* NULL: not a call */
    int argument;         /* 1-based; 0: the result; -1: a field, or the record when `field` is NULL */
    const char *field;
    cs_lifetime lifetime;
} cs_place;

/* Adds `object` to a keep list made on first use; -1 on failure. */
int cs_keep_add(PyObject **keep, PyObject *object);

/* Writes `value` as `signature->types[type]` at `destination` (size bytes of the type);
 * what pointers written point into is kept in `*keep` as `place->lifetime` says (`keep`
 * may be NULL for CS_NOWHERE). Returns 0, or -1 with a TypeError / OverflowError /
 * ValueError naming `place`. */
int cs_to_c(const callstub_signature *signature, int type, PyObject *value, char *destination, PyObject **keep,
            const cs_place *place);
/* The Python value of the bytes at `source` as `tables->signature->types[type]`.
 * `owner`: records read from it are views into it (NULL: copies). */
PyObject *cs_from_c(TablesObject *tables, int type, const char *source, PyObject *owner);

/* Whether two types of two signatures are the same for a call (records by name and layout). */
int cs_same_type(const callstub_signature *a, int a_type, const callstub_signature *b, int b_type);

/* A description for messages: "argument 2 (struct P2d)". Writes into `buffer`. */
const char *cs_describe(const cs_place *place, const callstub_signature *signature, int type, char *buffer,
                        size_t size);

/* ---- Callbacks ---- */

typedef struct {
    PyObject_HEAD
    TablesObject *tables; /* the callstub_callback handle and the handler's state */
    const callstub_signature *signature;
    PyObject *name;
} CallbackObject;

extern PyTypeObject CallbackType;
/* A callback of the function type `signature->types[type]` calling `function`. */
PyObject *cs_callback_for(const callstub_signature *signature, int type, PyObject *function, unsigned flags);

/* ---- Functions ---- */

/* Per thread: how deep callstub calls are nested, and a callback's exception waiting for
 * the outermost of them to raise it (one struct: one thread-local lookup per call). */
typedef struct {
    int depth;
    PyObject *pending_type, *pending_value, *pending_traceback;
} cs_call_state;

extern _Thread_local cs_call_state cs_calls;

/* How many Callback objects are alive (changed under the GIL). Python code runs in a
 * callback only while its object lives (a freed one's code returns zeros), so while there
 * are none, a call that keeps the GIL cannot lead into Python and skips cs_calls. */
extern Py_ssize_t cs_live_callbacks;

extern PyTypeObject FunctionType;
/* `function` bound for Python: the builtin function to call, whose __self__ is the
 * callstub.Function (declaration, backend, plan, release_gil). Takes `function`. */
PyObject *cs_function_new(callstub_function *function, PyObject *name, PyObject *registry, int release_gil);

/* The ctypes adapter (set by callstub/__init__.py): adapter(object) -> the address a
 * ctypes object stands for as a pointer, called for instances of cs_ctypes_classes only. */
extern PyObject *cs_pointer_adapter, *cs_ctypes_classes;

#endif

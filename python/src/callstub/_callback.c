/* callstub._native.Callback: a C function pointer that calls a Python callable, through
 * callstub_callback_new. The handler takes the GIL, converts the arguments by the
 * callback's signature tables, and writes the result back; an exception is raised by the
 * callstub call that led into C (or reported as unraisable when there is none).
 * Shutdown: a callback freed while the interpreter finalizes keeps its code and state
 * (C may still hold it, as an atexit handler does), and the handler touches nothing of
 * Python then: it returns zeros. */
#include "_native.h"

#include <string.h>

Py_ssize_t cs_live_callbacks;

/* Whether the interpreter is shutting down or gone (C's exit handlers run after it). */
static int finalizing(void) {
#if PY_VERSION_HEX >= 0x030D0000
    return !Py_IsInitialized() || Py_IsFinalizing();
#else
    return !Py_IsInitialized() || _Py_IsFinalizing();
#endif
}

static void failed(CallbackState *self) {
    cs_call_state *state = &cs_calls;
    if (state->depth > 0 && !state->pending_type)
        PyErr_Fetch(&state->pending_type, &state->pending_value, &state->pending_traceback);
    else PyErr_WriteUnraisable(self->function);
}

static void handler(void *context, void *result, void **arguments) {
    CallbackState *self = context;
    const callstub_signature *signature = self->signature;
    const callstub_type *type = &signature->types[signature->function];
    size_t result_size = signature->types[type->element].size;
    if (result_size) memset(result, 0, result_size < 8 ? 8 : result_size);
    /* After an exception waiting to be raised, the callback does nothing until that call returns. */
    if (finalizing() || !self->function || cs_calls.pending_type) return;
    PyGILState_STATE state = PyGILState_Ensure();
    PyObject *small[8];
    PyObject **values = type->count <= 8 ? small : PyMem_Calloc(type->count, sizeof(PyObject *));
    Py_ssize_t converted = 0;
    if (!values) {
        PyErr_NoMemory();
        failed(self);
        goto done;
    }
    for (; converted < (Py_ssize_t)type->count; converted++) {
        int parameter = signature->members[type->first + converted].type;
        /* Records come as copies: the frame is gone once the callback returns. */
        values[converted] = cs_from_c(self->tables, parameter, arguments[converted], NULL);
        if (!values[converted]) {
            failed(self);
            goto done;
        }
    }
    PyObject *value = PyObject_Vectorcall(self->function, values, converted, NULL);
    if (!value) failed(self);
    else if (signature->types[type->element].kind != CALLSTUB_TYPE_VOID) {
        /* Nothing can hold what a pointer in the result points into once the callback returns. */
        cs_place place = {"callback", 0, NULL, CS_NOWHERE};
        if (cs_to_c(signature, type->element, value, result, NULL, &place) < 0) {
            memset(result, 0, result_size);
            failed(self);
        }
    }
    Py_XDECREF(value);
done:
    for (Py_ssize_t index = 0; index < converted; index++) Py_DECREF(values[index]);
    if (values && values != small) PyMem_Free(values);
    PyGILState_Release(state);
}

/* A new callback object for `function`, with its tables and state, before its handle is made. */
static CallbackObject *callback_alloc(PyTypeObject *type, PyObject *function, PyObject *name) {
    if (!PyCallable_Check(function)) {
        PyErr_Format(PyExc_TypeError, "a callback calls a callable, not %s", Py_TYPE(function)->tp_name);
        return NULL;
    }
    CallbackObject *self = (CallbackObject *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    cs_live_callbacks++;
    self->name = name;
    Py_INCREF(name);
    if (!(self->tables = (TablesObject *)cs_tables_new(NULL, NULL))) {
        Py_DECREF(self);
        return NULL;
    }
    self->tables->callback_state.function = function;
    Py_INCREF(function);
    return self;
}

static PyObject *callback_finish(CallbackObject *self, callstub_status status) {
    if (status == CALLSTUB_OK) status = callstub_callback_signature(self->tables->callback, &self->signature);
    if (status != CALLSTUB_OK) {
        Py_DECREF(self);
        return cs_raise_status(status);
    }
    self->tables->signature = self->signature;
    self->tables->callback_state.signature = self->signature;
    return (PyObject *)self;
}

PyObject *cs_callback_for(const callstub_signature *signature, int type, PyObject *function, unsigned flags) {
    PyObject *name = PyUnicode_FromFormat("%s", signature->types[type].name);
    if (!name) return NULL;
    CallbackObject *self = callback_alloc(&CallbackType, function, name);
    Py_DECREF(name);
    if (!self) return NULL;
    callstub_status status = callstub_callback_new_from_signature(signature, type, handler, &self->tables->callback_state, flags,
                                                                  &self->tables->callback);
    if (status == CALLSTUB_ERROR_BACKEND && (flags & CALLSTUB_BACKEND_LIBFFI))
        /* What libffi cannot take (a record of one long double): the JIT's callback. */
        status = callstub_callback_new_from_signature(signature, type, handler, &self->tables->callback_state,
                                                      flags & ~CALLSTUB_BACKEND_LIBFFI, &self->tables->callback);
    return callback_finish(self, status);
}

/* Callback(declaration, function, flags=0) */
static PyObject *callback_new(PyTypeObject *type, PyObject *arguments, PyObject *keywords) {
    static char *names[] = {"declaration", "function", "flags", NULL};
    PyObject *declaration, *function;
    unsigned flags = 0;
    if (!PyArg_ParseTupleAndKeywords(arguments, keywords, "UO|I", names, &declaration, &function, &flags)) return NULL;
    CallbackObject *self = callback_alloc(type, function, declaration);
    if (!self) return NULL;
    const char *text = PyUnicode_AsUTF8(declaration);
    if (!text) {
        Py_DECREF(self);
        return NULL;
    }
    callstub_status status = callstub_callback_new(text, handler, &self->tables->callback_state, flags,
                                                   &self->tables->callback);
    return callback_finish(self, status);
}

static int callback_traverse(CallbackObject *self, visitproc visit, void *arg) {
    if (self->tables) Py_VISIT(self->tables->callback_state.function);
    return 0;
}

static int callback_clear(CallbackObject *self) {
    if (self->tables) Py_CLEAR(self->tables->callback_state.function);
    return 0;
}

static void callback_dealloc(CallbackObject *self) {
    PyObject_GC_UnTrack(self);
    callback_clear(self);
    /* The code goes with the tables, which records of the callback's types may keep; at
     * shutdown it stays (C may still call it: atexit handlers run after finalization). */
    if (!finalizing()) Py_XDECREF(self->tables);
    Py_XDECREF(self->name);
    Py_TYPE(self)->tp_free((PyObject *)self);
    cs_live_callbacks--;
}

static PyObject *callback_get_address(CallbackObject *self, void *closure) {
    return PyLong_FromVoidPtr((void *)callstub_callback_pointer(self->tables->callback));
}

static PyObject *callback_repr(CallbackObject *self) {
    return PyUnicode_FromFormat("<callstub callback %U calling %R>", self->name,
                                self->tables->callback_state.function ? self->tables->callback_state.function : Py_None);
}

static PyGetSetDef callback_getset[] = {
    {"address", (getter)callback_get_address, NULL, "The C function pointer (valid while the callback lives).", NULL},
    {NULL},
};

PyTypeObject CallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "callstub.Callback",
    .tp_basicsize = sizeof(CallbackObject),
    .tp_dealloc = (destructor)callback_dealloc,
    .tp_repr = (reprfunc)callback_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)callback_traverse,
    .tp_clear = (inquiry)callback_clear,
    .tp_new = callback_new,
    .tp_getset = callback_getset,
    .tp_doc = "Callback(declaration, function): a C function pointer of the type `declaration` (for instance "
              "\"int (*)(const void *, const void *)\") calling `function`. C may call it while the object lives.",
};

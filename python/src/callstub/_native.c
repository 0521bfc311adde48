/* callstub._native: the C API (include/callstub.h) for the Python package. A library
 * handle is a capsule that closes it; errors carry callstub_last_error(). The module's
 * functions open, declare, check and bind; values, records, functions and callbacks live
 * in _values.c, _function.c and _callback.c. */
#include "_native.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static const char library_capsule_name[] = "callstub.library";

static void close_library(PyObject *capsule) {
    callstub_library *library = PyCapsule_GetPointer(capsule, library_capsule_name);
    if (library) callstub_library_close(library);
}

static callstub_library *library_of(PyObject *capsule) {
    return PyCapsule_GetPointer(capsule, library_capsule_name);
}

/* The exception of a failed status: OSError for a library that cannot be opened,
 * LookupError for missing symbols or debug info, ValueError for the rest. */
PyObject *cs_raise_status(callstub_status status) {
    PyObject *type = PyExc_ValueError;
    if (status == CALLSTUB_ERROR_LIBRARY) type = PyExc_OSError;
    if (status == CALLSTUB_ERROR_SYMBOL || status == CALLSTUB_ERROR_DEBUG_INFO) type = PyExc_LookupError;
    if (status == CALLSTUB_ERROR_MISMATCH) type = PyExc_TypeError;
    PyErr_Format(type, "%s: %s", callstub_status_name(status), callstub_last_error());
    return NULL;
}

/* open_library(path) -> capsule */
static PyObject *open_library(PyObject *self, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    callstub_library *library = NULL;
    callstub_status status;
    Py_BEGIN_ALLOW_THREADS
    status = callstub_library_open(path, &library);
    Py_END_ALLOW_THREADS
    if (status != CALLSTUB_OK) return cs_raise_status(status);
    return PyCapsule_New(library, library_capsule_name, close_library);
}

/* check(library, declarations, strict) -> (status name, report): the report of
 * callstub_library_check; raises for statuses other than OK and MISMATCH. */
static PyObject *check(PyObject *self, PyObject *args) {
    PyObject *capsule;
    const char *declarations;
    int strict;
    if (!PyArg_ParseTuple(args, "Osp", &capsule, &declarations, &strict)) return NULL;
    callstub_library *library = library_of(capsule);
    if (!library) return NULL;
    char *report = NULL;
    callstub_status status;
    Py_BEGIN_ALLOW_THREADS
    status = callstub_library_check(library, declarations, strict ? CALLSTUB_VERIFY_STRICT : 0, &report);
    Py_END_ALLOW_THREADS
    if (status != CALLSTUB_OK && status != CALLSTUB_ERROR_MISMATCH) {
        free(report);
        return cs_raise_status(status);
    }
    PyObject *result = Py_BuildValue("(ss)", callstub_status_name(status), report ? report : "");
    free(report);
    return result;
}

/* file_of(address) -> the path of the loaded object that holds `address` (dladdr), or None. */
static PyObject *file_of(PyObject *self, PyObject *args) {
    unsigned long long address;
    if (!PyArg_ParseTuple(args, "K", &address)) return NULL;
    Dl_info info;
    if (!dladdr((void *)(uintptr_t)address, &info) || !info.dli_fname) Py_RETURN_NONE;
    return PyUnicode_FromString(info.dli_fname);
}

/* declare(library, declarations): callstub_library_declare. */
static PyObject *declare(PyObject *self, PyObject *args) {
    PyObject *capsule;
    const char *declarations;
    if (!PyArg_ParseTuple(args, "Os", &capsule, &declarations)) return NULL;
    callstub_library *library = library_of(capsule);
    if (!library) return NULL;
    callstub_status status = callstub_library_declare(library, declarations);
    if (status != CALLSTUB_OK) return cs_raise_status(status);
    Py_RETURN_NONE;
}

/* The strings of a list or tuple, as a malloc'd array of pointers into them (borrowed
 * from the sequence, which the caller keeps); NULL with an exception set. */
static const char **strings_of(PyObject *sequence, const char *what, Py_ssize_t *count) {
    *count = PySequence_Fast_GET_SIZE(sequence);
    const char **strings = PyMem_Calloc(*count ? (size_t)*count : 1, sizeof(char *));
    if (!strings) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t index = 0; index < *count; index++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, index);
        if (!PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s %zd: expected a str, got %s", what, index + 1, Py_TYPE(item)->tp_name);
            PyMem_Free(strings);
            return NULL;
        }
        if (!(strings[index] = PyUnicode_AsUTF8(item))) {
            PyMem_Free(strings);
            return NULL;
        }
    }
    return strings;
}

/* include(library, headers, arguments): real headers, through the C preprocessor. */
static PyObject *include(PyObject *self, PyObject *args) {
    PyObject *capsule, *header_list, *argument_list;
    if (!PyArg_ParseTuple(args, "OO!O!", &capsule, &PyList_Type, &header_list, &PyList_Type, &argument_list))
        return NULL;
    callstub_library *library = library_of(capsule);
    if (!library) return NULL;
    Py_ssize_t header_count, argument_count;
    const char **headers = strings_of(header_list, "header", &header_count);
    const char **arguments = headers ? strings_of(argument_list, "preprocessor argument", &argument_count) : NULL;
    if (!arguments) {
        PyMem_Free(headers);
        return NULL;
    }
    callstub_status status;
    Py_BEGIN_ALLOW_THREADS  /* runs cc -E */
    status = callstub_library_include(library, headers, (size_t)header_count, arguments, (size_t)argument_count);
    Py_END_ALLOW_THREADS
    PyMem_Free(headers);
    PyMem_Free(arguments);
    if (status != CALLSTUB_OK) return cs_raise_status(status);
    Py_RETURN_NONE;
}

/* bind(library, name, declaration or None, flags, registry, release_gil) -> Function */
static PyObject *bind(PyObject *self, PyObject *args) {
    PyObject *capsule, *name, *registry;
    const char *declaration;
    unsigned flags;
    int release_gil;
    if (!PyArg_ParseTuple(args, "OUzIO!p", &capsule, &name, &declaration, &flags, &PyDict_Type, &registry, &release_gil))
        return NULL;
    callstub_library *library = library_of(capsule);
    const char *text = PyUnicode_AsUTF8(name);
    if (!library || !text) return NULL;
    callstub_function *function = NULL;
    callstub_status status;
    Py_BEGIN_ALLOW_THREADS
    status = callstub_bind(library, text, declaration, flags, &function);
    Py_END_ALLOW_THREADS
    if (status != CALLSTUB_OK) return cs_raise_status(status);
    return cs_function_new(function, name, registry, release_gil);
}

/* bind_address(address, declaration, flags, registry, release_gil) -> Function */
static PyObject *bind_address(PyObject *self, PyObject *args) {
    PyObject *address, *registry;
    const char *declaration;
    unsigned flags;
    int release_gil;
    if (!PyArg_ParseTuple(args, "OsIO!p", &address, &declaration, &flags, &PyDict_Type, &registry, &release_gil))
        return NULL;
    void *pointer = PyLong_AsVoidPtr(address);
    if (!pointer) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "the function's address is NULL");
        return NULL;
    }
    callstub_function *function = NULL;
    callstub_status status;
    Py_BEGIN_ALLOW_THREADS
    status = callstub_bind_address((void (*)(void))pointer, declaration, flags, &function);
    Py_END_ALLOW_THREADS
    if (status != CALLSTUB_OK) return cs_raise_status(status);
    char *described = NULL;
    PyObject *name = NULL;
    /* The name: the declarator's, from the prototype libcallstub prints. */
    if (callstub_describe(function, CALLSTUB_DESCRIBE_DECLARATION, &described) == CALLSTUB_OK) {
        const char *line = strrchr(described, '\n');
        line = line ? line + 1 : described;
        const char *open = strchr(line, '(');
        const char *start = open;
        while (start && start > line && (start[-1] == '_' || isalnum((unsigned char)start[-1]))) start--;
        name = open ? PyUnicode_FromStringAndSize(start, open - start) : NULL;
    }
    free(described);
    if (!name) name = PyUnicode_FromString("function");
    if (!name) {
        callstub_function_free(function);
        return NULL;
    }
    PyObject *result = cs_function_new(function, name, registry, release_gil);
    Py_DECREF(name);
    return result;
}

/* get_errno() -> the errno the thread's last call of a use_errno function left. */
static PyObject *get_errno(PyObject *self, PyObject *unused) { return PyLong_FromLong(callstub_errno()); }

/* set_pointer_adapter(adapter, classes): how instances of the ctypes classes (a tuple)
 * become addresses (callstub/__init__.py). */
static PyObject *set_pointer_adapter(PyObject *self, PyObject *args) {
    PyObject *adapter, *classes;
    if (!PyArg_ParseTuple(args, "OO!", &adapter, &PyTuple_Type, &classes)) return NULL;
    Py_XSETREF(cs_pointer_adapter, Py_NewRef(adapter));
    Py_XSETREF(cs_ctypes_classes, Py_NewRef(classes));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"declare", declare, METH_VARARGS, "Adds C declarations to a library's declaration set."},
    {"include", include, METH_VARARGS, "Adds the declarations of real headers (through the C preprocessor)."},
    {"bind", bind, METH_VARARGS, "Binds a function of a library."},
    {"bind_address", bind_address, METH_VARARGS, "Binds a function pointer with its declaration."},
    {"get_errno", get_errno, METH_NOARGS, "The errno captured by the thread's last use_errno call."},
    {"set_pointer_adapter", set_pointer_adapter, METH_VARARGS, "Sets the ctypes-to-address adapter."},
    {"open_library", open_library, METH_VARARGS, "Opens a shared library through libcallstub."},
    {"check", check, METH_VARARGS, "Checks a C declaration against the library's debug info."},
    {"file_of", file_of, METH_VARARGS, "The file of the loaded object holding an address."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "callstub._native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    PyTypeObject *types[] = {&TablesType, &RecordTypeType, &RecordType, &FunctionType, &CallbackType};
    for (size_t index = 0; index < sizeof types / sizeof types[0]; index++)
        if (PyType_Ready(types[index]) < 0) return NULL;
    PyObject *created = PyModule_Create(&module);
    if (!created) return NULL;
    if (PyModule_AddStringConstant(created, "library_version", callstub_version()) < 0 ||
        PyModule_AddObjectRef(created, "Function", (PyObject *)&FunctionType) < 0 ||
        PyModule_AddObjectRef(created, "Callback", (PyObject *)&CallbackType) < 0 ||
        PyModule_AddObjectRef(created, "Record", (PyObject *)&RecordType) < 0 ||
        PyModule_AddObjectRef(created, "RecordType", (PyObject *)&RecordTypeType) < 0 ||
        PyModule_AddIntConstant(created, "CAPTURE_ERRNO", CALLSTUB_CAPTURE_ERRNO) < 0 ||
        PyModule_AddIntConstant(created, "BACKEND_LIBFFI", CALLSTUB_BACKEND_LIBFFI) < 0 ||
        PyModule_AddIntConstant(created, "BACKEND_JIT", CALLSTUB_BACKEND_JIT) < 0 ||
        PyModule_AddIntConstant(created, "TIER_EAGER", CALLSTUB_TIER_EAGER) < 0 ||
        PyModule_AddIntConstant(created, "VERIFY_STRICT", CALLSTUB_VERIFY_STRICT) < 0 ||
        PyModule_AddIntConstant(created, "VERIFY_OFF", CALLSTUB_VERIFY_OFF) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

/* callstub._native: the C API (include/callstub.h) for the Python package. A library
 * handle is a capsule that closes it; errors carry callstub_last_error(). Nothing here
 * decides anything: the Python layer (callstub/__init__.py) builds the declarations. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <callstub.h>
#include <dlfcn.h>
#include <stdlib.h>

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
static PyObject *raise_status(callstub_status status) {
    PyObject *type = PyExc_ValueError;
    if (status == CALLSTUB_ERROR_LIBRARY) type = PyExc_OSError;
    if (status == CALLSTUB_ERROR_SYMBOL || status == CALLSTUB_ERROR_DEBUG_INFO) type = PyExc_LookupError;
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
    if (status != CALLSTUB_OK) return raise_status(status);
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
        return raise_status(status);
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

static PyMethodDef methods[] = {
    {"open_library", open_library, METH_VARARGS, "Opens a shared library through libcallstub."},
    {"check", check, METH_VARARGS, "Checks a C declaration against the library's debug info."},
    {"file_of", file_of, METH_VARARGS, "The file of the loaded object holding an address."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "callstub._native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *created = PyModule_Create(&module);
    if (created && PyModule_AddStringConstant(created, "library_version", callstub_version()) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

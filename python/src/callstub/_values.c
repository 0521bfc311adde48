/* Python values to and from C bytes by libcallstub's signature tables (callstub.h,
 * "Signatures as data"), and the record objects: a record's bytes are its own or a view
 * into its parent's, which it keeps alive. */
#include "_native.h"

#include <stdbool.h>
#include <string.h>

PyObject *cs_pointer_adapter = NULL, *cs_ctypes_classes = NULL;

static const callstub_type *type_at(const callstub_signature *signature, int type) { return &signature->types[type]; }

int cs_keep_add(PyObject **keep, PyObject *object) {
    if (!*keep && !(*keep = PyList_New(0))) return -1;
    return PyList_Append(*keep, object);
}

const char *cs_describe(const cs_place *place, const callstub_signature *signature, int type, char *buffer,
                        size_t size) {
    const char *name = type_at(signature, type)->name;
    if (place->argument > 0)
        snprintf(buffer, size, "%s%sargument %d (%s)", place->function ? place->function : "",
                 place->function ? "() " : "", place->argument, name);
    else if (place->argument == 0)
        snprintf(buffer, size, "%s%sresult (%s)", place->function ? place->function : "", place->function ? "() " : "",
                 name);
    else if (place->field)
        snprintf(buffer, size, "field %s (%s)", place->field, name);
    else
        snprintf(buffer, size, "%s", name);
    return buffer;
}

/* Raises `exception` with "<place>: <message>" (PyUnicode_FromFormat's format). */
static int fail(PyObject *exception, const cs_place *place, const callstub_signature *signature, int type,
                const char *format, ...) {
    char where[512];
    va_list arguments;
    va_start(arguments, format);
    PyObject *message = PyUnicode_FromFormatV(format, arguments);
    va_end(arguments);
    if (message) {
        PyErr_Format(exception, "%s: %U", cs_describe(place, signature, type, where, sizeof where), message);
        Py_DECREF(message);
    }
    return -1;
}

/* ---- Scalars ---- */

static void store_bytes(char *destination, const void *value, size_t size, bool big_endian) {
    if (!big_endian) {
        memcpy(destination, value, size);
        return;
    }
    const char *bytes = value;
    for (size_t index = 0; index < size; index++) destination[index] = bytes[size - 1 - index];
}

static void load_bytes(void *value, const char *source, size_t size, bool big_endian) {
    store_bytes(value, source, size, big_endian);
}

/* An integer's value (ints and objects with __index__), range-checked for `size` bytes. */
static int integer_value(PyObject *value, size_t size, bool is_signed, unsigned __int128 *bits, const cs_place *place,
                         const callstub_signature *signature, int type) {
    PyObject *index = NULL;
    if (!PyLong_Check(value)) {
        if (PyFloat_Check(value) || !PyIndex_Check(value))
            return fail(PyExc_TypeError, place, signature, type, "expected an int, got %s", Py_TYPE(value)->tp_name);
        if (!(index = PyNumber_Index(value))) return -1;
        value = index;
    }
    int result = 0;
    if (size <= 8) {
        if (is_signed) {
            int overflow = 0;
            long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (number == -1 && PyErr_Occurred()) result = -1;
            else if (overflow || (size < 8 && (number < -(1LL << (size * 8 - 1)) || number >= (1LL << (size * 8 - 1)))))
                result = fail(PyExc_OverflowError, place, signature, type, "%R does not fit", value);
            else *bits = (unsigned __int128)(__int128)number;
        } else {
            unsigned long long number = PyLong_AsUnsignedLongLong(value);
            if (number == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                result = fail(PyExc_OverflowError, place, signature, type, "%R does not fit", value);
            } else if (size < 8 && number >> (size * 8))
                result = fail(PyExc_OverflowError, place, signature, type, "%R does not fit", value);
            else *bits = number;
        }
    } else {
        unsigned char bytes[16];
#if PY_VERSION_HEX >= 0x030D0000  /* 3.13 added the with_exceptions argument */
        if (_PyLong_AsByteArray((PyLongObject *)value, bytes, 16, 1, is_signed, 1) < 0) {
#else
        if (_PyLong_AsByteArray((PyLongObject *)value, bytes, 16, 1, is_signed) < 0) {
#endif
            PyErr_Clear();
            result = fail(PyExc_OverflowError, place, signature, type, "%R does not fit", value);
        } else memcpy(bits, bytes, 16);
    }
    Py_XDECREF(index);
    return result;
}

/* A float, or anything float() takes without parsing text (ints, __float__, __index__). */
static int float_value(PyObject *value, double *number, const cs_place *place, const callstub_signature *signature,
                       int type) {
    if (PyFloat_Check(value)) {
        *number = PyFloat_AS_DOUBLE(value);
        return 0;
    }
    *number = PyFloat_AsDouble(value);
    if (*number == -1.0 && PyErr_Occurred()) {
        int too_large = PyErr_ExceptionMatches(PyExc_OverflowError);
        PyErr_Clear();
        return too_large ? fail(PyExc_OverflowError, place, signature, type, "%R does not fit", value)
                         : fail(PyExc_TypeError, place, signature, type, "expected a float, got %s", Py_TYPE(value)->tp_name);
    }
    return 0;
}

static int store_float(const callstub_type *described, double number, char *destination, const cs_place *place,
                       const callstub_signature *signature, int type) {
    bool big = described->flags & CALLSTUB_TYPE_BIG_ENDIAN;
    switch (described->size) {
    case 2: {
        char half[2];
        if (PyFloat_Pack2(number, half, 1) < 0) return -1;
        store_bytes(destination, half, 2, big);
        return 0;
    }
    case 4: {
        float single = (float)number;
        store_bytes(destination, &single, 4, big);
        return 0;
    }
    case 8:
        store_bytes(destination, &number, 8, big);
        return 0;
    default:
        if (described->flags & CALLSTUB_TYPE_X87) {
            long double extended = number;
            memset(destination, 0, 16);
            store_bytes(destination, &extended, 10, big);
            return 0;
        }
        return fail(PyExc_TypeError, place, signature, type, "_Float128 values cannot be made from Python floats");
    }
}

static PyObject *load_float(const callstub_type *described, const char *source) {
    bool big = described->flags & CALLSTUB_TYPE_BIG_ENDIAN;
    switch (described->size) {
    case 2: {
        char half[2];
        load_bytes(half, source, 2, big);
        return PyFloat_FromDouble(PyFloat_Unpack2(half, 1));
    }
    case 4: {
        float single;
        load_bytes(&single, source, 4, big);
        return PyFloat_FromDouble(single);
    }
    case 8: {
        double number;
        load_bytes(&number, source, 8, big);
        return PyFloat_FromDouble(number);
    }
    default:
        if (described->flags & CALLSTUB_TYPE_X87) {
            long double extended = 0;
            load_bytes(&extended, source, 10, big);
            return PyFloat_FromDouble((double)extended);
        }
        PyErr_Format(PyExc_TypeError, "%s values cannot be read as Python floats", described->name);
        return NULL;
    }
}

/* ---- Pointers ---- */

static bool is_char_pointee(const callstub_signature *signature, const callstub_type *pointer) {
    const callstub_type *pointee = type_at(signature, pointer->element);
    return (pointee->kind == CALLSTUB_TYPE_SIGNED || pointee->kind == CALLSTUB_TYPE_UNSIGNED) && pointee->size == 1;
}

static bool is_void_pointee(const callstub_signature *signature, const callstub_type *pointer) {
    return type_at(signature, pointer->element)->kind == CALLSTUB_TYPE_VOID;
}

static int store_pointer(const callstub_type *described, const void *address, char *destination) {
    uintptr_t bits = (uintptr_t)address;
    store_bytes(destination, &bits, sizeof bits, described->flags & CALLSTUB_TYPE_BIG_ENDIAN);
    return 0;
}

/* Makes `object`, which a pointer being written points into, live as long as the pointer
 * (see cs_lifetime); `made`: the conversion made it, so no caller holds it. */
static int hold(PyObject *object, bool made, PyObject **keep, const cs_place *place, const callstub_signature *signature,
                int type) {
    switch (place->lifetime) {
    case CS_NOWHERE:
        return fail(PyExc_TypeError, place, signature, type,
                    "a pointer into a Python %s would outlive it here; give an int address", Py_TYPE(object)->tp_name);
    case CS_FOR_THE_CALL:
        return made ? cs_keep_add(keep, object) : 0;
    case CS_IN_A_RECORD:
        return cs_keep_add(keep, object);
    }
    return 0;
}

static int store_pointer_into(const callstub_type *described, const void *address, char *destination, PyObject *object,
                              bool made, PyObject **keep, const cs_place *place, const callstub_signature *signature,
                              int type) {
    if (hold(object, made, keep, place, signature, type) < 0) return -1;
    return store_pointer(described, address, destination);
}


static int pointer_to_c(const callstub_signature *signature, int type, PyObject *value, char *destination,
                        PyObject **keep, const cs_place *place) {
    const callstub_type *described = type_at(signature, type);
    const callstub_type *pointee = type_at(signature, described->element);
    if (value == Py_None) return store_pointer(described, NULL, destination);
    if (PyLong_Check(value)) {
        void *address = PyLong_AsVoidPtr(value);
        if (!address && PyErr_Occurred()) {
            PyErr_Clear();
            return fail(PyExc_OverflowError, place, signature, type, "%R is not an address", value);
        }
        return store_pointer(described, address, destination);
    }
    if (PyBytes_Check(value))
        return store_pointer_into(described, PyBytes_AS_STRING(value), destination, value, false, keep, place, signature, type);
    if (PyUnicode_Check(value)) {
        if (!is_char_pointee(signature, described))
            return fail(PyExc_TypeError, place, signature, type, "a str goes only to char pointers");
        Py_ssize_t length;
        const char *utf8 = PyUnicode_AsUTF8AndSize(value, &length);  // cached in the str
        if (!utf8) return -1;
        if ((Py_ssize_t)strlen(utf8) != length)
            return fail(PyExc_ValueError, place, signature, type, "the str holds a NUL character");
        return store_pointer_into(described, utf8, destination, value, false, keep, place, signature, type);
    }
    if (PyObject_TypeCheck(value, &RecordType)) {
        RecordObject *record = (RecordObject *)value;
        if (pointee->kind != CALLSTUB_TYPE_VOID &&
            !cs_same_type(record->type->signature, record->type->type, signature, described->element))
            return fail(PyExc_TypeError, place, signature, type, "a %U record does not go to a pointer to %s",
                        record->type->name, pointee->name);
        return store_pointer_into(described, record->data, destination, value, false, keep, place, signature, type);
    }
    if (PyObject_TypeCheck(value, &CallbackType)) {
        CallbackObject *callback = (CallbackObject *)value;
        if (pointee->kind != CALLSTUB_TYPE_VOID &&
            !cs_same_type(callback->signature, callback->signature->function, signature, described->element))
            return fail(PyExc_TypeError, place, signature, type, "callback %U has another type", callback->name);
        return store_pointer_into(described, (const void *)callstub_callback_pointer(callback->tables->callback),
                                  destination, value, false, keep, place, signature, type);
    }
    if (pointee->kind == CALLSTUB_TYPE_FUNCTION && PyCallable_Check(value) && place->lifetime != CS_NOWHERE) {
        /* A Python callable for a function pointer: a callback living as long as the pointer. */
        PyObject *callback = cs_callback_for(signature, described->element, value, CALLSTUB_BACKEND_LIBFFI);
        if (!callback) return -1;
        int stored = store_pointer_into(
            described, (const void *)callstub_callback_pointer(((CallbackObject *)callback)->tables->callback), destination,
            callback, true, keep, place, signature, type);
        Py_DECREF(callback);
        return stored;
    }
    if (cs_pointer_adapter && cs_ctypes_classes) {
        /* ctypes pointers, byref() and instances: their address as callstub/__init__.py reads it. */
        int is_ctypes = PyObject_IsInstance(value, cs_ctypes_classes);
        if (is_ctypes < 0) return -1;
        if (is_ctypes) {
            PyObject *address = PyObject_CallOneArg(cs_pointer_adapter, value);
            if (!address) return -1;
            void *pointer = PyLong_AsVoidPtr(address);
            Py_DECREF(address);
            if (!pointer && PyErr_Occurred()) return -1;
            return store_pointer_into(described, pointer, destination, value, false, keep, place, signature, type);
        }
    }
    if (PyObject_CheckBuffer(value)) {
        /* Shared, not copied: the memoryview holds the buffer while the pointer lives. */
        PyObject *view = PyMemoryView_FromObject(value);
        if (!view) return -1;
        Py_buffer *buffer = PyMemoryView_GET_BUFFER(view);
        int stored = PyBuffer_IsContiguous(buffer, 'A')
                         ? store_pointer_into(described, buffer->buf, destination, view, true, keep, place, signature, type)
                         : fail(PyExc_TypeError, place, signature, type, "the %s buffer is not contiguous",
                                Py_TYPE(value)->tp_name);
        Py_DECREF(view);
        return stored;
    }
    return fail(PyExc_TypeError, place, signature, type,
                "expected None, an int address, bytes, a buffer, a record or a ctypes object, got %s",
                Py_TYPE(value)->tp_name);
}

static PyObject *pointer_from_c(const callstub_signature *signature, const callstub_type *described, const char *source) {
    uintptr_t bits;
    load_bytes(&bits, source, sizeof bits, described->flags & CALLSTUB_TYPE_BIG_ENDIAN);
    if (!bits) Py_RETURN_NONE;
    const callstub_type *pointee = type_at(signature, described->element);
    if (pointee->kind == CALLSTUB_TYPE_SIGNED && (pointee->flags & CALLSTUB_TYPE_CHAR))
        return PyBytes_FromString((const char *)bits);
    return PyLong_FromVoidPtr((void *)bits);
}

/* ---- Records ---- */

static int record_to_c(const callstub_signature *signature, int type, PyObject *value, char *destination,
                       PyObject **keep, const cs_place *place);

static int array_to_c(const callstub_signature *signature, int type, PyObject *value, char *destination,
                      PyObject **keep, const cs_place *place) {
    const callstub_type *described = type_at(signature, type);
    const callstub_type *element = type_at(signature, described->element);
    memset(destination, 0, described->size);
    if ((PyBytes_Check(value) || PyUnicode_Check(value)) && element->size == 1 &&
        (element->kind == CALLSTUB_TYPE_SIGNED || element->kind == CALLSTUB_TYPE_UNSIGNED)) {
        Py_ssize_t length;
        const char *bytes = PyBytes_Check(value) ? PyBytes_AS_STRING(value) : PyUnicode_AsUTF8AndSize(value, &length);
        if (!bytes) return -1;
        if (PyBytes_Check(value)) length = PyBytes_GET_SIZE(value);
        if ((size_t)length > described->size)
            return fail(PyExc_ValueError, place, signature, type, "%zd bytes do not fit in %zu", length,
                        described->size);
        memcpy(destination, bytes, length);
        return 0;
    }
    PyObject *sequence = PySequence_Fast(value, "");
    if (!sequence) {
        PyErr_Clear();
        return fail(PyExc_TypeError, place, signature, type, "expected a sequence, got %s", Py_TYPE(value)->tp_name);
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    if (described->count && (size_t)count > described->count) {
        Py_DECREF(sequence);
        return fail(PyExc_ValueError, place, signature, type, "%zd elements do not fit in %zu", count, described->count);
    }
    for (Py_ssize_t index = 0; index < count; index++) {
        if (cs_to_c(signature, described->element, PySequence_Fast_GET_ITEM(sequence, index),
                    destination + index * element->size, keep, place) < 0) {
            Py_DECREF(sequence);
            return -1;
        }
    }
    Py_DECREF(sequence);
    return 0;
}

/* The bits of a bit-field, little-endian storage (gcc and clang's x86-64 placement). */
static unsigned __int128 read_bits(const char *record, size_t offset, size_t width) {
    unsigned __int128 bits = 0;
    size_t first = offset / 8, last = (offset + width - 1) / 8;
    for (size_t byte = last + 1; byte-- > first;) bits = (bits << 8) | (unsigned char)record[byte];
    bits >>= offset % 8;
    return width >= 128 ? bits : bits & (((unsigned __int128)1 << width) - 1);
}

static void write_bits(char *record, size_t offset, size_t width, unsigned __int128 value) {
    for (size_t bit = 0; bit < width; bit++) {
        size_t at = offset + bit;
        unsigned char mask = (unsigned char)(1u << (at % 8));
        if ((value >> bit) & 1) record[at / 8] |= mask;
        else record[at / 8] &= (unsigned char)~mask;
    }
}

static int member_to_c(const callstub_signature *signature, const callstub_member *member, size_t base_bits,
                       PyObject *value, char *record, PyObject **keep, cs_lifetime lifetime) {
    cs_place place = {NULL, -1, member->name ? member->name : "?", lifetime};
    size_t offset = base_bits + member->offset_in_bits;
    if (!member->bit_width) return cs_to_c(signature, member->type, value, record + offset / 8, keep, &place);
    const callstub_type *described = type_at(signature, member->type);
    if (described->flags & CALLSTUB_TYPE_BIG_ENDIAN)
        return fail(PyExc_TypeError, &place, signature, member->type, "bit-fields in big-endian storage are not supported");
    unsigned __int128 bits;
    bool is_signed = described->kind == CALLSTUB_TYPE_SIGNED;
    if (integer_value(value, described->size, is_signed, &bits, &place, signature, member->type) < 0) return -1;
    __int128 number = (__int128)bits;
    if (described->size < 16 && is_signed) number = (__int128)(long long)bits;
    size_t width = member->bit_width;
    bool fits = is_signed ? (width >= 128 || (number >= -((__int128)1 << (width - 1)) && number < ((__int128)1 << (width - 1))))
                          : (width >= 128 || bits >> width == 0);
    if (!fits) return fail(PyExc_OverflowError, &place, signature, member->type, "%R does not fit in %zu bits", value, width);
    write_bits(record, offset, width, bits);
    return 0;
}

/* Finds the member named `name` in the record (or in its unnamed members); its bit offset
 * from the outermost record goes to *base. */
static const callstub_member *find_member(const callstub_signature *signature, int type, const char *name,
                                          size_t *base) {
    const callstub_type *described = type_at(signature, type);
    for (size_t index = 0; index < described->count; index++) {
        const callstub_member *member = &signature->members[described->first + index];
        if (member->name && !strcmp(member->name, name)) return member;
        const callstub_type *inner = type_at(signature, member->type);
        if (!member->name && (inner->kind == CALLSTUB_TYPE_STRUCT || inner->kind == CALLSTUB_TYPE_UNION)) {
            size_t inner_base = *base + member->offset_in_bits;
            const callstub_member *found = find_member(signature, member->type, name, &inner_base);
            if (found) {
                *base = inner_base;
                return found;
            }
        }
    }
    return NULL;
}

static int record_to_c(const callstub_signature *signature, int type, PyObject *value, char *destination,
                       PyObject **keep, const cs_place *place) {
    const callstub_type *described = type_at(signature, type);
    if (described->flags & CALLSTUB_TYPE_INCOMPLETE)
        return fail(PyExc_TypeError, place, signature, type, "the record is incomplete (declared, never defined)");
    if (PyObject_TypeCheck(value, &RecordType)) {
        RecordObject *record = (RecordObject *)value;
        if (!cs_same_type(record->type->signature, record->type->type, signature, type))
            return fail(PyExc_TypeError, place, signature, type, "got a %U record", record->type->name);
        /* Its pointers into Python objects: held by the record (and so by the caller during a call). */
        if (record->keep && hold(record->keep, false, keep, place, signature, type) < 0) return -1;
        memcpy(destination, record->data, described->size);
        return 0;
    }
    memset(destination, 0, described->size);
    if (PyDict_Check(value)) {
        PyObject *key, *item;
        Py_ssize_t position = 0;
        while (PyDict_Next(value, &position, &key, &item)) {
            const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
            size_t base = 0;
            const callstub_member *member = name ? find_member(signature, type, name, &base) : NULL;
            if (!member) return fail(PyExc_TypeError, place, signature, type, "it has no field %R", key);
            if (member_to_c(signature, member, base, item, destination, keep, place->lifetime) < 0) return -1;
        }
        return 0;
    }
    if (PyTuple_Check(value) || PyList_Check(value)) {
        Py_ssize_t count = PySequence_Fast_GET_SIZE(value);
        size_t fields = described->kind == CALLSTUB_TYPE_UNION ? (described->count ? 1 : 0) : described->count;
        if ((size_t)count > fields)
            return fail(PyExc_TypeError, place, signature, type, "%zd values for %zu fields", count, fields);
        for (Py_ssize_t index = 0; index < count; index++) {
            const callstub_member *member = &signature->members[described->first + index];
            if (member_to_c(signature, member, 0, PySequence_Fast_GET_ITEM(value, index), destination, keep,
                            place->lifetime) < 0)
                return -1;
        }
        return 0;
    }
    if (PyObject_CheckBuffer(value)) {
        /* A ctypes Structure, bytes: taken as the record's bytes when the size agrees. */
        Py_buffer buffer;
        if (PyObject_GetBuffer(value, &buffer, PyBUF_SIMPLE) < 0) return -1;
        int result = 0;
        if ((size_t)buffer.len != described->size)
            result = fail(PyExc_TypeError, place, signature, type, "%zd bytes given for %zu", buffer.len, described->size);
        else memcpy(destination, buffer.buf, described->size);
        PyBuffer_Release(&buffer);
        return result;
    }
    return fail(PyExc_TypeError, place, signature, type, "expected a record, a dict or a tuple, got %s",
                Py_TYPE(value)->tp_name);
}

/* ---- Any type ---- */

int cs_to_c(const callstub_signature *signature, int type, PyObject *value, char *destination, PyObject **keep,
            const cs_place *place) {
    const callstub_type *described = type_at(signature, type);
    switch (described->kind) {
    case CALLSTUB_TYPE_SIGNED:
    case CALLSTUB_TYPE_UNSIGNED: {
        unsigned __int128 bits;
        if (integer_value(value, described->size, described->kind == CALLSTUB_TYPE_SIGNED, &bits, place, signature,
                          type) < 0)
            return -1;
        store_bytes(destination, &bits, described->size, described->flags & CALLSTUB_TYPE_BIG_ENDIAN);
        return 0;
    }
    case CALLSTUB_TYPE_BOOL: {
        int truth = PyObject_IsTrue(value);
        if (truth < 0) return -1;
        *destination = (char)truth;
        return 0;
    }
    case CALLSTUB_TYPE_FLOAT: {
        double number;
        if (float_value(value, &number, place, signature, type) < 0) return -1;
        return store_float(described, number, destination, place, signature, type);
    }
    case CALLSTUB_TYPE_COMPLEX: {
        if (!PyComplex_Check(value) && !PyFloat_Check(value) && !PyLong_Check(value))
            return fail(PyExc_TypeError, place, signature, type, "expected a complex, got %s", Py_TYPE(value)->tp_name);
        Py_complex number = PyComplex_AsCComplex(value);
        if (PyErr_Occurred()) return -1;
        const callstub_type *part = type_at(signature, described->element);
        if (store_float(part, number.real, destination, place, signature, type) < 0) return -1;
        return store_float(part, number.imag, destination + part->size, place, signature, type);
    }
    case CALLSTUB_TYPE_POINTER:
        return pointer_to_c(signature, type, value, destination, keep, place);
    case CALLSTUB_TYPE_ARRAY:
        return array_to_c(signature, type, value, destination, keep, place);
    case CALLSTUB_TYPE_STRUCT:
    case CALLSTUB_TYPE_UNION:
        return record_to_c(signature, type, value, destination, keep, place);
    default:
        return fail(PyExc_TypeError, place, signature, type, "no Python value converts to it");
    }
}

PyObject *cs_from_c(TablesObject *tables, int type, const char *source, PyObject *owner) {
    const callstub_signature *signature = tables->signature;
    const callstub_type *described = type_at(signature, type);
    bool big = described->flags & CALLSTUB_TYPE_BIG_ENDIAN;
    switch (described->kind) {
    case CALLSTUB_TYPE_VOID:
        Py_RETURN_NONE;
    case CALLSTUB_TYPE_SIGNED:
    case CALLSTUB_TYPE_UNSIGNED: {
        unsigned char bytes[16] = {0};
        load_bytes(bytes, source, described->size, big);
        bool is_signed = described->kind == CALLSTUB_TYPE_SIGNED;
        switch (described->size) {
        case 1: return is_signed ? PyLong_FromLong(*(int8_t *)bytes) : PyLong_FromLong(*(uint8_t *)bytes);
        case 2: return is_signed ? PyLong_FromLong(*(int16_t *)bytes) : PyLong_FromLong(*(uint16_t *)bytes);
        case 4: return is_signed ? PyLong_FromLong(*(int32_t *)bytes) : PyLong_FromUnsignedLong(*(uint32_t *)bytes);
        case 8: return is_signed ? PyLong_FromLongLong(*(int64_t *)bytes) : PyLong_FromUnsignedLongLong(*(uint64_t *)bytes);
        default: return _PyLong_FromByteArray(bytes, 16, 1, is_signed);
        }
    }
    case CALLSTUB_TYPE_BOOL:
        return PyBool_FromLong(*source != 0);
    case CALLSTUB_TYPE_FLOAT:
        return load_float(described, source);
    case CALLSTUB_TYPE_COMPLEX: {
        const callstub_type *part = type_at(signature, described->element);
        PyObject *real = load_float(part, source), *imaginary = real ? load_float(part, source + part->size) : NULL;
        PyObject *result = imaginary ? PyComplex_FromDoubles(PyFloat_AS_DOUBLE(real), PyFloat_AS_DOUBLE(imaginary)) : NULL;
        Py_XDECREF(real);
        Py_XDECREF(imaginary);
        return result;
    }
    case CALLSTUB_TYPE_POINTER:
        return pointer_from_c(signature, described, source);
    case CALLSTUB_TYPE_ARRAY: {
        const callstub_type *element = type_at(signature, described->element);
        if (element->size == 1 && (element->flags & CALLSTUB_TYPE_CHAR))
            return PyBytes_FromStringAndSize(source, strnlen(source, described->size));
        PyObject *list = PyList_New(described->count);
        for (size_t index = 0; list && index < described->count; index++) {
            PyObject *item = cs_from_c(tables, described->element, source + index * element->size, owner);
            if (!item) Py_CLEAR(list);
            else PyList_SET_ITEM(list, index, item);
        }
        return list;
    }
    case CALLSTUB_TYPE_STRUCT:
    case CALLSTUB_TYPE_UNION: {
        RecordTypeObject *record_type = cs_record_type(tables, type, NULL);
        if (!record_type) return NULL;
        PyObject *record;
        if (owner) {
            /* A view into the owner's bytes, keeping it alive. */
            RecordObject *view = PyObject_NewVar(RecordObject, &RecordType, 0);
            if (view) {
                view->type = record_type;
                Py_INCREF(record_type);
                view->base = owner;
                Py_INCREF(owner);
                view->keep = NULL;
                view->data = (char *)source;
            }
            record = (PyObject *)view;
        } else record = cs_record_new(record_type, source);
        Py_DECREF(record_type);
        return record;
    }
    default:
        PyErr_Format(PyExc_TypeError, "%s has no Python value", described->name);
        return NULL;
    }
}

/* ---- Same types across signatures ---- */

static int same_type(const callstub_signature *a, int a_type, const callstub_signature *b, int b_type, int depth) {
    const callstub_type *x = type_at(a, a_type), *y = type_at(b, b_type);
    unsigned ignored = CALLSTUB_TYPE_CONST | CALLSTUB_TYPE_ENUM;
    if (x->kind != y->kind || x->size != y->size || x->alignment != y->alignment ||
        (x->flags & ~ignored) != (y->flags & ~ignored) || x->count != y->count)
        return 0;
    switch (x->kind) {
    case CALLSTUB_TYPE_COMPLEX:
    case CALLSTUB_TYPE_POINTER:
    case CALLSTUB_TYPE_ARRAY:
        /* Pointers to records compare the records by name only below this depth. */
        return depth > 8 || same_type(a, x->element, b, y->element, depth + 1);
    case CALLSTUB_TYPE_STRUCT:
    case CALLSTUB_TYPE_UNION:
        if (strcmp(x->name, y->name)) return 0;
        if (depth > 2) return 1;
        for (size_t index = 0; index < x->count; index++) {
            const callstub_member *m = &a->members[x->first + index], *n = &b->members[y->first + index];
            if (m->offset_in_bits != n->offset_in_bits || m->bit_width != n->bit_width ||
                (m->name == NULL) != (n->name == NULL) || (m->name && strcmp(m->name, n->name)) ||
                !same_type(a, m->type, b, n->type, depth + 1))
                return 0;
        }
        return 1;
    case CALLSTUB_TYPE_FUNCTION:
        if (!same_type(a, x->element, b, y->element, depth + 1)) return 0;
        for (size_t index = 0; index < x->count; index++)
            if (!same_type(a, a->members[x->first + index].type, b, b->members[y->first + index].type, depth + 1))
                return 0;
        return 1;
    default:
        return 1;
    }
}

int cs_same_type(const callstub_signature *a, int a_type, const callstub_signature *b, int b_type) {
    if (a == b && a_type == b_type) return 1;
    return same_type(a, a_type, b, b_type, 0);
}

/* ---- Tables ---- */

static int tables_traverse(TablesObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->records);
    return 0;
}

static int tables_clear(TablesObject *self) {
    Py_CLEAR(self->records);
    return 0;
}

static void tables_dealloc(TablesObject *self) {
    PyObject_GC_UnTrack(self);
    tables_clear(self);
    callstub_function_free(self->function);
    callstub_callback_free(self->callback);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* GC: record types refer to their tables, and the tables cache them. */
PyTypeObject TablesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "callstub._native.Tables",
    .tp_basicsize = sizeof(TablesObject),
    .tp_dealloc = (destructor)tables_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)tables_traverse,
    .tp_clear = (inquiry)tables_clear,
    .tp_doc = "Keeps a bound function's or a callback's handle, and so its signature tables, alive.",
};

PyObject *cs_tables_new(callstub_function *function, const callstub_signature *signature) {
    TablesObject *tables = PyObject_GC_New(TablesObject, &TablesType);
    if (!tables) {
        callstub_function_free(function);
        return NULL;
    }
    tables->function = function;
    tables->callback = NULL;
    tables->signature = signature;
    tables->callback_state = (CallbackState){NULL, NULL, tables};
    tables->records = NULL;
    PyObject_GC_Track(tables);
    return (PyObject *)tables;
}

/* ---- Record types ---- */

static int add_fields(RecordTypeObject *self, PyObject *names, int type, size_t base) {
    const callstub_type *described = type_at(self->signature, type);
    for (size_t index = 0; index < described->count; index++) {
        size_t member_index = described->first + index;
        const callstub_member *member = &self->signature->members[member_index];
        const callstub_type *inner = type_at(self->signature, member->type);
        if (!member->name) {
            if ((inner->kind == CALLSTUB_TYPE_STRUCT || inner->kind == CALLSTUB_TYPE_UNION) &&
                add_fields(self, names, member->type, base + member->offset_in_bits) < 0)
                return -1;
            continue;
        }
        PyObject *key = PyUnicode_FromString(member->name);
        PyObject *place = key ? Py_BuildValue("(nn)", (Py_ssize_t)member_index, (Py_ssize_t)base) : NULL;
        int failed = !place || PyDict_SetItem(self->fields, key, place) < 0 || PyList_Append(names, key) < 0;
        Py_XDECREF(key);
        Py_XDECREF(place);
        if (failed) return -1;
    }
    return 0;
}

/* A new record type of `tables->signature->types[type]`, registered by name in `registry`
 * (when not anonymous and not taken). */
static RecordTypeObject *record_type_new(TablesObject *tables, int type, PyObject *name, PyObject *registry) {
    RecordTypeObject *self = PyObject_GC_New(RecordTypeObject, &RecordTypeType);
    if (!self) return NULL;
    self->tables = tables;
    Py_INCREF(tables);
    self->signature = tables->signature;
    self->type = type;
    self->name = name;
    Py_INCREF(name);
    self->fields = PyDict_New();
    self->field_names = NULL;
    self->size = type_at(tables->signature, type)->size;
    self->spare_count = 0;
    PyObject_GC_Track(self);
    PyObject *names = PyList_New(0);
    int failed = !self->fields || !names || add_fields(self, names, type, 0) < 0 ||
                 !(self->field_names = PyList_AsTuple(names));
    Py_XDECREF(names);
    if (!failed && registry && !strstr(type_at(tables->signature, type)->name, "<anonymous>")) {
        int known = PyDict_Contains(registry, name);
        failed = known < 0 || (!known && PyDict_SetItem(registry, name, (PyObject *)self) < 0);
    }
    if (failed) Py_CLEAR(self);
    return self;
}

RecordTypeObject *cs_record_type(TablesObject *tables, int type, PyObject *registry) {
    if (!tables->records && !(tables->records = PyDict_New())) return NULL;
    PyObject *key = PyLong_FromLong(type);
    if (!key) return NULL;
    RecordTypeObject *result = (RecordTypeObject *)PyDict_GetItemWithError(tables->records, key);
    if (result || PyErr_Occurred()) {
        Py_XINCREF(result);
        Py_DECREF(key);
        return result;
    }
    PyObject *name = PyUnicode_FromString(type_at(tables->signature, type)->name);
    RecordTypeObject *known = name && registry ? (RecordTypeObject *)PyDict_GetItemWithError(registry, name) : NULL;
    if (known && cs_same_type(known->signature, known->type, tables->signature, type)) {
        result = known;
        Py_INCREF(result);
    } else if (name && !PyErr_Occurred()) result = record_type_new(tables, type, name, registry);
    Py_XDECREF(name);
    if (result && PyDict_SetItem(tables->records, key, (PyObject *)result) < 0) Py_CLEAR(result);
    Py_DECREF(key);
    return result;
}

static int record_type_traverse(RecordTypeObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->tables);
    return 0;
}

static void record_type_dealloc(RecordTypeObject *self) {
    PyObject_GC_UnTrack(self);
    Py_XDECREF(self->tables);
    Py_XDECREF(self->name);
    Py_XDECREF(self->fields);
    Py_XDECREF(self->field_names);
    while (self->spare_count) PyObject_Free(self->spare[--self->spare_count]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* RecordType(value=None): a new record of this type, zeroed or from a dict, tuple or record. */
static PyObject *record_type_call(RecordTypeObject *self, PyObject *arguments, PyObject *keywords) {
    PyObject *value = NULL;
    if (!PyArg_ParseTuple(arguments, "|O", &value)) return NULL;
    if (keywords && PyDict_GET_SIZE(keywords)) {
        if (value) {
            PyErr_SetString(PyExc_TypeError, "give the fields as one dict or tuple, or as keywords, not both");
            return NULL;
        }
        value = keywords;
    }
    RecordObject *record = (RecordObject *)cs_record_new(self, NULL);
    if (!record || !value) return (PyObject *)record;
    cs_place place = {NULL, -1, NULL, CS_IN_A_RECORD};
    if (record_to_c(self->signature, self->type, value, record->data, &record->keep, &place) < 0) {
        Py_DECREF(record);
        return NULL;
    }
    return (PyObject *)record;
}

static PyObject *record_type_repr(RecordTypeObject *self) { return PyUnicode_FromFormat("<callstub record type %U>", self->name); }

static PyObject *record_type_get_size(RecordTypeObject *self, void *closure) {
    return PyLong_FromSize_t(type_at(self->signature, self->type)->size);
}

static PyObject *record_type_get_fields(RecordTypeObject *self, void *closure) {
    Py_INCREF(self->field_names);
    return self->field_names;
}

static PyObject *record_type_get_name(RecordTypeObject *self, void *closure) {
    Py_INCREF(self->name);
    return self->name;
}

static PyGetSetDef record_type_getset[] = {
    {"name", (getter)record_type_get_name, NULL, "The record's C name.", NULL},
    {"size", (getter)record_type_get_size, NULL, "sizeof the record.", NULL},
    {"fields", (getter)record_type_get_fields, NULL, "The field names, in declaration order.", NULL},
    {NULL},
};

PyTypeObject RecordTypeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "callstub.RecordType",
    .tp_basicsize = sizeof(RecordTypeObject),
    .tp_dealloc = (destructor)record_type_dealloc,
    .tp_call = (ternaryfunc)record_type_call,
    .tp_repr = (reprfunc)record_type_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    /* No tp_clear: the tables' cache is cleared instead, and the signature stays valid. */
    .tp_traverse = (traverseproc)record_type_traverse,
    .tp_getset = record_type_getset,
    .tp_doc = "A C struct or union type; calling it makes a record (zeroed, or from a dict, tuple or keywords).",
};

/* ---- Records ---- */

PyObject *cs_record_new(RecordTypeObject *type, const void *bytes) {
    size_t size = type->size;
    RecordObject *self;
    if (type->spare_count)
        self = (RecordObject *)PyObject_InitVar((PyVarObject *)type->spare[--type->spare_count], &RecordType,
                                                (Py_ssize_t)size);
    else if (!(self = PyObject_NewVar(RecordObject, &RecordType, (Py_ssize_t)size)))
        return NULL;
    self->type = type;
    Py_INCREF(type);
    self->base = NULL;
    self->keep = NULL;
    self->data = self->inline_data;
    if (bytes) memcpy(self->data, bytes, size);
    else memset(self->data, 0, size);
    return (PyObject *)self;
}

static void record_dealloc(RecordObject *self) {
    RecordTypeObject *type = self->type;
    Py_XDECREF(self->base);
    Py_XDECREF(self->keep);
    /* Kept for the next record of its type when its bytes are inline and the type lives on
     * (this is not its last reference, so dropping it frees nothing). */
    if (type && !self->base && Py_SIZE(self) == (Py_ssize_t)type->size && Py_REFCNT(type) > 1 &&
        type->spare_count < (int)(sizeof type->spare / sizeof type->spare[0])) {
        type->spare[type->spare_count++] = self;
        Py_DECREF(type);
        return;
    }
    Py_XDECREF(type);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The member named `name` and the bit offset of the record holding it; NULL: not a field. */
static const callstub_member *record_member(RecordObject *self, PyObject *name, size_t *base) {
    PyObject *place = PyDict_GetItemWithError(self->type->fields, name);
    if (!place) return NULL;
    *base = (size_t)PyLong_AsSsize_t(PyTuple_GET_ITEM(place, 1));
    return &self->type->signature->members[PyLong_AsSsize_t(PyTuple_GET_ITEM(place, 0))];
}

static PyObject *record_getattro(RecordObject *self, PyObject *name) {
    size_t base;
    const callstub_member *member = record_member(self, name, &base);
    if (!member) return PyErr_Occurred() ? NULL : PyObject_GenericGetAttr((PyObject *)self, name);
    const callstub_signature *signature = self->type->signature;
    size_t offset = base + member->offset_in_bits;
    if (member->bit_width) {
        const callstub_type *described = type_at(signature, member->type);
        unsigned __int128 bits = read_bits(self->data, offset, member->bit_width);
        if (described->kind == CALLSTUB_TYPE_SIGNED && member->bit_width < 128 && (bits >> (member->bit_width - 1)) & 1)
            bits |= ~(unsigned __int128)0 << member->bit_width;
        if (described->kind == CALLSTUB_TYPE_BOOL) return PyBool_FromLong(bits != 0);
        unsigned char bytes[16];
        memcpy(bytes, &bits, 16);
        return _PyLong_FromByteArray(bytes, 16, 1, described->kind == CALLSTUB_TYPE_SIGNED);
    }
    return cs_from_c(self->type->tables, member->type, self->data + offset / 8, (PyObject *)self);
}

static int record_setattro(RecordObject *self, PyObject *name, PyObject *value) {
    size_t base;
    const callstub_member *member = record_member(self, name, &base);
    if (!member) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_AttributeError, "%U has no field %R", self->type->name, name);
        return -1;
    }
    if (!value) {
        PyErr_SetString(PyExc_TypeError, "record fields cannot be deleted");
        return -1;
    }
    /* Pointers stored in the record point into objects it must keep: the outermost record's list. */
    RecordObject *root = self;
    while (root->base && PyObject_TypeCheck(root->base, &RecordType)) root = (RecordObject *)root->base;
    return member_to_c(self->type->signature, member, base, value, self->data, &root->keep, CS_IN_A_RECORD);
}

static PyObject *record_repr(RecordObject *self) {
    PyObject *parts = PyList_New(0);
    if (!parts) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(self->type->field_names);
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *name = PyTuple_GET_ITEM(self->type->field_names, index);
        PyObject *value = record_getattro(self, name);
        PyObject *part = value ? PyUnicode_FromFormat("%U=%R", name, value) : NULL;
        Py_XDECREF(value);
        if (!part || PyList_Append(parts, part) < 0) {
            Py_XDECREF(part);
            Py_DECREF(parts);
            return NULL;
        }
        Py_DECREF(part);
    }
    PyObject *separator = PyUnicode_FromString(", ");
    PyObject *joined = separator ? PyUnicode_Join(separator, parts) : NULL;
    Py_XDECREF(separator);
    Py_DECREF(parts);
    if (!joined) return NULL;
    /* "struct div_t" -> "div_t(...)"; "div_t" (a typedef of an unnamed struct) as it is. */
    const char *type_name = PyUnicode_AsUTF8(self->type->name);
    const char *space = type_name ? strrchr(type_name, ' ') : NULL;
    PyObject *result = PyUnicode_FromFormat("%s(%U)", space ? space + 1 : type_name, joined);
    Py_DECREF(joined);
    return result;
}

static PyObject *record_richcompare(RecordObject *self, PyObject *other, int op) {
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(other, &RecordType)) Py_RETURN_NOTIMPLEMENTED;
    RecordObject *that = (RecordObject *)other;
    size_t size = type_at(self->type->signature, self->type->type)->size;
    int equal = cs_same_type(self->type->signature, self->type->type, that->type->signature, that->type->type) &&
                !memcmp(self->data, that->data, size);
    return PyBool_FromLong(op == Py_EQ ? equal : !equal);
}

static int record_getbuffer(RecordObject *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data,
                             (Py_ssize_t)type_at(self->type->signature, self->type->type)->size, 0, flags);
}

static PyBufferProcs record_as_buffer = {.bf_getbuffer = (getbufferproc)record_getbuffer};

static PyObject *record_dir(RecordObject *self, PyObject *unused) { return PySequence_List(self->type->field_names); }

static PyObject *record_get_type(RecordObject *self, void *closure) {
    Py_INCREF(self->type);
    return (PyObject *)self->type;
}

static PyObject *record_get_address(RecordObject *self, void *closure) { return PyLong_FromVoidPtr(self->data); }

static PyMethodDef record_methods[] = {
    {"__dir__", (PyCFunction)record_dir, METH_NOARGS, NULL},
    {NULL},
};

static PyGetSetDef record_getset[] = {
    {"_type", (getter)record_get_type, NULL, "The record's type.", NULL},
    {"_address", (getter)record_get_address, NULL, "The address of the record's bytes.", NULL},
    {NULL},
};

PyTypeObject RecordType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "callstub.Record",
    .tp_basicsize = sizeof(RecordObject),
    .tp_itemsize = 1,
    .tp_dealloc = (destructor)record_dealloc,
    .tp_repr = (reprfunc)record_repr,
    .tp_getattro = (getattrofunc)record_getattro,
    .tp_setattro = (setattrofunc)record_setattro,
    .tp_as_buffer = &record_as_buffer,
    .tp_richcompare = (richcmpfunc)record_richcompare,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = record_methods,
    .tp_getset = record_getset,
    .tp_doc = "A C struct or union value: fields as attributes, bytes through the buffer protocol.",
};

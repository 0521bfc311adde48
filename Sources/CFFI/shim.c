// Accessors for libffi's predefined ffi_type globals (see CFFI.h).
#include "CFFI.h"
#include <errno.h>

ffi_type *CFFI_type_void(void) { return &ffi_type_void; }
ffi_type *CFFI_type_uint8(void) { return &ffi_type_uint8; }
ffi_type *CFFI_type_sint8(void) { return &ffi_type_sint8; }
ffi_type *CFFI_type_uint16(void) { return &ffi_type_uint16; }
ffi_type *CFFI_type_sint16(void) { return &ffi_type_sint16; }
ffi_type *CFFI_type_uint32(void) { return &ffi_type_uint32; }
ffi_type *CFFI_type_sint32(void) { return &ffi_type_sint32; }
ffi_type *CFFI_type_uint64(void) { return &ffi_type_uint64; }
ffi_type *CFFI_type_sint64(void) { return &ffi_type_sint64; }
ffi_type *CFFI_type_float(void) { return &ffi_type_float; }
ffi_type *CFFI_type_double(void) { return &ffi_type_double; }
ffi_type *CFFI_type_longdouble(void) { return &ffi_type_longdouble; }
ffi_type *CFFI_type_pointer(void) { return &ffi_type_pointer; }
ffi_type *CFFI_type_complex_float(void) { return &ffi_type_complex_float; }
ffi_type *CFFI_type_complex_double(void) { return &ffi_type_complex_double; }
ffi_type *CFFI_type_complex_longdouble(void) { return &ffi_type_complex_longdouble; }

static _Thread_local int captured_errno;

void CFFI_call_capturing_errno(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    errno = 0;
    ffi_call(cif, fn, rvalue, avalue);
    captured_errno = errno;
}

int CFFI_captured_errno(void) { return captured_errno; }

void CFFI_save_errno(int value) { captured_errno = value; }

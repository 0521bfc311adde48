// libffi as one module, plus accessors for its predefined ffi_type globals, which
// Swift 6 refuses as shared mutable state when used directly.
#ifndef CALLSTUB_CFFI_H
#define CALLSTUB_CFFI_H
#include <ffi.h>

ffi_type *CFFI_type_void(void);
ffi_type *CFFI_type_uint8(void);
ffi_type *CFFI_type_sint8(void);
ffi_type *CFFI_type_uint16(void);
ffi_type *CFFI_type_sint16(void);
ffi_type *CFFI_type_uint32(void);
ffi_type *CFFI_type_sint32(void);
ffi_type *CFFI_type_uint64(void);
ffi_type *CFFI_type_sint64(void);
ffi_type *CFFI_type_float(void);
ffi_type *CFFI_type_double(void);
ffi_type *CFFI_type_longdouble(void);
ffi_type *CFFI_type_pointer(void);
ffi_type *CFFI_type_complex_float(void);
ffi_type *CFFI_type_complex_double(void);
ffi_type *CFFI_type_complex_longdouble(void);

/// ffi_call between `errno = 0` and a read of errno into a thread-local slot, so that no
/// other code runs between the callee and the read.
void CFFI_call_capturing_errno(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue);
/// The errno saved by the last capturing call on this thread.
int CFFI_captured_errno(void);
/// Saves a value as this thread's captured errno (called by JIT stubs right after their call).
void CFFI_save_errno(int value);
#endif

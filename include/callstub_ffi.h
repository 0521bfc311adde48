/*
 * callstub_ffi.h: CallStub beside libffi (libcallstub.so).
 *
 * For programs that already describe their calls with libffi's ffi_cif: check a cif
 * against the library's DWARF before calling through it. Includes <ffi.h> and
 * <callstub.h>. See docs/c-api.md.
 */
#ifndef CALLSTUB_FFI_H
#define CALLSTUB_FFI_H

#include <callstub.h>
#include <ffi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Checks a prepared cif (ffi_prep_cif) for calling `symbol` against `library`'s DWARF:
 * the "patch libffi to check type information" of the Fedora proposal, done beside
 * libffi. The cif's types are read back as C (structs as their elements); CALLSTUB_OK
 * when they agree with the DWARF, CALLSTUB_ERROR_MISMATCH when a difference changes the
 * call (with CALLSTUB_VERIFY_STRICT, any difference), CALLSTUB_ERROR_DEBUG_INFO when there
 * is no debug info to check with, CALLSTUB_ERROR_ARGUMENT for a cif that cannot be read
 * (NULL types, another ABI). `report` (may be NULL) receives the report, as
 * callstub_library_check gives it. Thread-safe. */
callstub_status callstub_ffi_check(
    const ffi_cif *cif, callstub_library *library, const char *symbol, unsigned flags, char **report);

#ifdef __cplusplus
}
#endif

#endif /* CALLSTUB_FFI_H */

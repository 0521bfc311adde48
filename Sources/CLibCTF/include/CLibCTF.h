// libctf (binutils' Compact C Type Format library, without BFD) as a module, with a loader
// that opens the CTF of an ELF file: its .ctf section (a dictionary or an archive of them,
// as GNU ld writes it) or a sidecar file, with the file's dynamic symbol table so that
// functions are found by symbol. Headers come from binutils-dev.
#ifndef CALLSTUB_CLIBCTF_H
#define CALLSTUB_CLIBCTF_H
#include <ctf-api.h>
#include <stddef.h>

/// The CTF of one library and the buffers libctf reads it from (it does not copy them).
typedef struct CLibCTF_types CLibCTF_types;

/// Opens the CTF of the ELF file at `elf_path`: its .ctf section, or, when `ctf_path` is
/// given, that file's contents (a sidecar), with `elf_path`'s .dynsym for symbol lookups.
/// NULL on failure, with a message in `reason` (a static or libctf string).
CLibCTF_types *CLibCTF_open(const char *elf_path, const char *ctf_path, const char **reason);

/// The archive (a single dictionary is opened as an archive of one).
ctf_archive_t *CLibCTF_archive(CLibCTF_types *types);

/// The size in bytes of the CTF read (the section or the sidecar file).
size_t CLibCTF_size(CLibCTF_types *types);

void CLibCTF_close(CLibCTF_types *types);

/// Links the CTF dictionary `ctf` (as ctf_write_mem writes it, symbols indexed by name)
/// against the ELF file at `elf_path` with libctf's linker: types deduplicated again, and
/// every name that is in the file's .dynstr (symbol names above all) written as a
/// reference to it instead of a copy. The symbol tables stay indexed by name (a table in
/// .dynsym order would be smaller, but libctf's reader and writer disagree on where
/// IFUNC and multiply-versioned symbols go in it). `cuname` is recorded as the
/// dictionary's compilation-unit name. Returns a malloc'd buffer (a dictionary, or an
/// archive when conflicting types need child dictionaries) and its size, or NULL with a
/// message in `reason`.
unsigned char *CLibCTF_link(const unsigned char *ctf, size_t size, const char *elf_path, const char *cuname,
                            size_t *out_size, const char **reason);

/// The compilation-unit name recorded in the library's CTF (the first dictionary of an
/// archive), malloc'd, or NULL.
char *CLibCTF_cuname(CLibCTF_types *types);

/// The GNU build-id of the ELF file at `path` (its NT_GNU_BUILD_ID note): the number of
/// bytes written to `out` (at most `capacity`), or -1 when the file has none.
int CLibCTF_build_id(const char *path, unsigned char *out, size_t capacity);

#endif

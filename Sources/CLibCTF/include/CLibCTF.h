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

#endif

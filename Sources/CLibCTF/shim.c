// Opening a library's CTF with libctf-nobfd: the sections are read with libelf (libctf
// without BFD cannot read ELF itself) and kept for as long as the archive lives.
#include "CLibCTF.h"
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct CLibCTF_types {
    ctf_archive_t *archive;
    void *ctf_data;
    size_t ctf_size;
    void *symbols;
    void *strings;
};

static void *copy_section(Elf_Scn *section, size_t *size) {
    Elf_Data *data = elf_getdata(section, NULL);
    if (data == NULL || data->d_buf == NULL || data->d_size == 0) return NULL;
    void *copy = malloc(data->d_size);
    if (copy == NULL) return NULL;
    memcpy(copy, data->d_buf, data->d_size);
    *size = data->d_size;
    return copy;
}

static void *read_file(const char *path, size_t *size) {
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return NULL;
    struct stat status;
    void *buffer = NULL;
    if (fstat(descriptor, &status) == 0 && S_ISREG(status.st_mode) && status.st_size > 0 && status.st_size < (1L << 31)) {
        buffer = malloc((size_t)status.st_size);
        size_t done = 0;
        while (buffer != NULL && done < (size_t)status.st_size) {
            ssize_t got = read(descriptor, (char *)buffer + done, (size_t)status.st_size - done);
            if (got <= 0) { free(buffer); buffer = NULL; break; }
            done += (size_t)got;
        }
        if (buffer != NULL) *size = done;
    }
    close(descriptor);
    return buffer;
}

CLibCTF_types *CLibCTF_open(const char *elf_path, const char *ctf_path, const char **reason) {
    *reason = NULL;
    CLibCTF_types *types = calloc(1, sizeof *types);
    if (types == NULL) { *reason = "out of memory"; return NULL; }
    elf_version(EV_CURRENT);
    int descriptor = open(elf_path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) { *reason = "cannot open the library"; free(types); return NULL; }
    Elf *elf = elf_begin(descriptor, ELF_C_READ, NULL);
    size_t names = 0;
    size_t symbol_size = 0, string_size = 0, symbol_entry = 0;
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &names) != 0) {
        *reason = "not an ELF file";
    } else {
        for (Elf_Scn *section = elf_nextscn(elf, NULL); section != NULL; section = elf_nextscn(elf, section)) {
            GElf_Shdr header;
            if (gelf_getshdr(section, &header) == NULL) continue;
            const char *name = elf_strptr(elf, names, header.sh_name);
            if (name != NULL && strcmp(name, ".ctf") == 0 && ctf_path == NULL && types->ctf_data == NULL) {
                types->ctf_data = copy_section(section, &types->ctf_size);
            } else if (header.sh_type == SHT_DYNSYM && types->symbols == NULL) {
                types->symbols = copy_section(section, &symbol_size);
                symbol_entry = header.sh_entsize;
                Elf_Scn *linked = elf_getscn(elf, header.sh_link);
                if (linked != NULL) types->strings = copy_section(linked, &string_size);
            }
        }
    }
    if (elf != NULL) elf_end(elf);
    close(descriptor);
    if (*reason == NULL && ctf_path != NULL) {
        types->ctf_data = read_file(ctf_path, &types->ctf_size);
        if (types->ctf_data == NULL) *reason = "cannot read the CTF file";
    }
    if (*reason == NULL && types->ctf_data == NULL) *reason = "no .ctf section";
    if (*reason == NULL) {
        ctf_sect_t ctf = {.cts_name = ".ctf", .cts_data = types->ctf_data, .cts_size = types->ctf_size, .cts_entsize = 1};
        ctf_sect_t symbols = {.cts_name = ".dynsym", .cts_data = types->symbols, .cts_size = symbol_size, .cts_entsize = symbol_entry};
        ctf_sect_t strings = {.cts_name = ".dynstr", .cts_data = types->strings, .cts_size = string_size, .cts_entsize = 1};
        int error = 0;
        int have_symbols = types->symbols != NULL && types->strings != NULL && symbol_entry > 0;
        types->archive = ctf_arc_bufopen(&ctf, have_symbols ? &symbols : NULL, have_symbols ? &strings : NULL, &error);
        if (types->archive == NULL) *reason = ctf_errmsg(error);
    }
    if (*reason != NULL) {
        CLibCTF_close(types);
        return NULL;
    }
    return types;
}

ctf_archive_t *CLibCTF_archive(CLibCTF_types *types) { return types->archive; }

size_t CLibCTF_size(CLibCTF_types *types) { return types->ctf_size; }

void CLibCTF_close(CLibCTF_types *types) {
    if (types == NULL) return;
    if (types->archive != NULL) ctf_arc_close(types->archive);
    free(types->ctf_data);
    free(types->symbols);
    free(types->strings);
    free(types);
}

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


/* ---- Validation before libctf ------------------------------------------------------
 * libctf 2.40 trusts much of what it reads: a damaged section makes it read out of
 * bounds (a fuzz test crashed it in ctf_func_type_info). So every dictionary is checked
 * here first, for the only form CallStub reads (CTF format v3, uncompressed, as gcc and
 * GNU ld write it), bare or in an archive: the header and its sections inside the
 * buffer, each type record inside the type section with the data its kind has, every
 * type it names (parent or child) defined, every name inside its string table, and
 * every type the function, object and variable sections name defined. */

struct ctf_span { const unsigned char *data; size_t size; };

static uint32_t read32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t read64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int type_defined(uint32_t id, int child, long own, long parent) {
    if (id == 0) return 1;
    if (id <= CTF_MAX_PTYPE) return child ? (long)id <= parent : (long)id <= own;
    return child && (long)(id & CTF_MAX_PTYPE) <= own;
}

static int name_valid(uint32_t name, uint32_t string_length, size_t external_length) {
    if (CTF_NAME_STID(name)) return (name & 0x7fffffff) < external_length;
    return name < string_length || (name == 0 && string_length == 0);
}

/* Walks the type section; with `check`, also checks what each record names. */
/* The type a reference kind leads to within the same dictionary (a local index, 0 for
 * none or one in the parent). */
static uint32_t local_index(uint32_t id, int child, long own) {
    if (child) return id > CTF_MAX_PTYPE && (long)(id & CTF_MAX_PTYPE) <= own ? (id & CTF_MAX_PTYPE) : 0;
    return id <= CTF_MAX_PTYPE && (long)id <= own ? id : 0;
}

static long walk_types(struct ctf_span dict, int check, int child, long own, long parent,
                       size_t external_length, uint32_t *successors, const char **reason) {
    const ctf_header_t *header = (const ctf_header_t *)dict.data;
    const unsigned char *types = dict.data + sizeof(ctf_header_t) + header->cth_typeoff;
    size_t size = header->cth_stroff - header->cth_typeoff;
    size_t at = 0;
    long count = 0;
#define NEED(n) do { if ((n) > size - at) { *reason = "a type record runs past the type section"; return -1; } } while (0)
#define TYPE(id) do { if (check && !type_defined((id), child, own, parent)) { *reason = "a type names a type that is not defined"; return -1; } } while (0)
#define NAME(n) do { if (check && !name_valid((n), header->cth_strlen, external_length)) { *reason = "a name lies outside its string table"; return -1; } } while (0)
    while (at < size) {
        NEED(sizeof(ctf_stype_t));
        const unsigned char *record = types + at;
        uint32_t name = read32(record), info = read32(record + 4), size_or_type = read32(record + 8);
        size_t head = size_or_type == CTF_LSIZE_SENT ? sizeof(ctf_type_t) : sizeof(ctf_stype_t);
        NEED(head);
        uint64_t type_size = size_or_type;
        if (size_or_type == CTF_LSIZE_SENT) type_size = ((uint64_t)read32(record + 12) << 32) | read32(record + 16);
        at += head;
        NAME(name);
        unsigned kind = CTF_V2_INFO_KIND(info);
        uint32_t vlen = CTF_V2_INFO_VLEN(info);
        const unsigned char *data = types + at;
        switch (kind) {
        case CTF_K_UNKNOWN:
            break;
        case CTF_K_INTEGER: case CTF_K_FLOAT:
            NEED(4); at += 4; break;
        case CTF_K_POINTER: case CTF_K_TYPEDEF: case CTF_K_VOLATILE: case CTF_K_CONST: case CTF_K_RESTRICT:
            TYPE(size_or_type);
            if (successors != NULL) successors[count + 1] = local_index(size_or_type, child, own);
            break;
        case CTF_K_FORWARD:
            /* What it forwards (libctf indexes its name tables by it). */
            if (check && size_or_type != CTF_K_UNKNOWN && size_or_type != CTF_K_STRUCT && size_or_type != CTF_K_UNION
                && size_or_type != CTF_K_ENUM) {
                *reason = "a forward of a kind other than struct, union or enum";
                return -1;
            }
            break;
        case CTF_K_ARRAY:
            NEED(sizeof(ctf_array_t));
            TYPE(read32(data)); TYPE(read32(data + 4));
            if (successors != NULL) successors[count + 1] = local_index(read32(data), child, own);
            at += sizeof(ctf_array_t); break;
        case CTF_K_FUNCTION: {
            size_t bytes = ((size_t)vlen + (vlen & 1)) * 4;
            NEED(bytes);
            TYPE(size_or_type);
            for (uint32_t i = 0; i < vlen; i++) TYPE(read32(data + 4 * i));
            if (successors != NULL) successors[count + 1] = local_index(size_or_type, child, own);
            at += bytes; break;
        }
        case CTF_K_STRUCT: case CTF_K_UNION: {
            size_t member = type_size >= CTF_LSTRUCT_THRESH ? sizeof(ctf_lmember_t) : sizeof(ctf_member_t);
            NEED((size_t)vlen * member);
            for (uint32_t i = 0; i < vlen; i++) {
                const unsigned char *m = data + member * i;
                NAME(read32(m));
                TYPE(read32(m + 8));
            }
            at += (size_t)vlen * member; break;
        }
        case CTF_K_ENUM:
            NEED((size_t)vlen * sizeof(ctf_enum_t));
            for (uint32_t i = 0; i < vlen; i++) NAME(read32(data + sizeof(ctf_enum_t) * i));
            at += (size_t)vlen * sizeof(ctf_enum_t); break;
        case CTF_K_SLICE:
            NEED(sizeof(ctf_slice_t));
            TYPE(read32(data));
            if (successors != NULL) successors[count + 1] = local_index(read32(data), child, own);
            at += sizeof(ctf_slice_t); break;
        default:
            *reason = "a type of an unknown kind";
            return -1;
        }
        if (++count > CTF_MAX_PTYPE) { *reason = "too many types"; return -1; }
    }
    return count;
#undef NEED
#undef TYPE
#undef NAME
}

/* The header: magic, version 3, no compression, sections in order inside the buffer. */
static int check_header(struct ctf_span dict, const char **reason) {
    if (dict.size < sizeof(ctf_header_t)) { *reason = "shorter than a CTF header"; return 0; }
    const ctf_header_t *header = (const ctf_header_t *)dict.data;
    if (header->cth_magic != CTF_MAGIC) { *reason = "not CTF (bad magic number)"; return 0; }
    if (header->cth_version != CTF_VERSION_3) { *reason = "a CTF version other than 3"; return 0; }
    if (header->cth_flags & CTF_F_COMPRESS) { *reason = "compressed CTF is not supported"; return 0; }
    if ((header->cth_flags & ~CTF_F_MAX) != 0) { *reason = "unknown CTF flags"; return 0; }
    uint32_t offsets[] = {header->cth_lbloff, header->cth_objtoff, header->cth_funcoff, header->cth_objtidxoff,
                          header->cth_funcidxoff, header->cth_varoff, header->cth_typeoff, header->cth_stroff};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        if (offsets[i] % 4 != 0 || (i > 0 && offsets[i] < offsets[i - 1])) { *reason = "CTF sections out of order"; return 0; }
    }
    uint64_t end = (uint64_t)header->cth_stroff + header->cth_strlen;
    if (end > dict.size - sizeof(ctf_header_t)) { *reason = "CTF sections run past the end"; return 0; }
    if (header->cth_strlen > 0 && dict.data[sizeof(ctf_header_t) + end - 1] != 0) {
        *reason = "the CTF string table is not terminated"; return 0;
    }
    return 1;
}

/* The number of types in the dictionary's type section, or -1 with a reason. */
static long count_types(struct ctf_span dict, const char **reason) {
    if (!check_header(dict, reason)) return -1;
    return walk_types(dict, 0, 0, 0, 0, 0, NULL, reason);
}

/* A dictionary's types (counted first: a type may name one defined after it) and the
 * types its function, object and variable sections name. Returns how many types it
 * defines, or -1 with a reason. */
static long check_dict(struct ctf_span dict, int child, long parent, size_t external_length, const char **reason) {
    long own = count_types(dict, reason);
    if (own < 0) return -1;
    /* Each type's one successor along pointers, typedefs, qualifiers, slices, array
     * elements and function results: C has no cycle among those (only through a struct
     * or union), and libctf follows them without a bound (a pointer to itself crashed it). */
    uint32_t *successors = calloc((size_t)own + 1, sizeof *successors);
    unsigned char *state = calloc((size_t)own + 1, 1);
    if (successors == NULL || state == NULL) { free(successors); free(state); *reason = "out of memory"; return -1; }
    long checked = walk_types(dict, 1, child, own, parent, external_length, successors, reason);
    for (long start = 1; checked >= 0 && start <= own; start++) {
        /* 0 unseen, 1 on the current path, 2 known to end. */
        uint32_t at = (uint32_t)start;
        while (at != 0 && state[at] == 0) { state[at] = 1; at = successors[at]; }
        if (at != 0 && state[at] == 1) { *reason = "a type refers back to itself through pointers, typedefs or qualifiers"; checked = -1; }
        for (at = (uint32_t)start; at != 0 && state[at] == 1; at = successors[at]) state[at] = 2;
    }
    free(successors);
    free(state);
    if (checked < 0) return -1;
    const ctf_header_t *header = (const ctf_header_t *)dict.data;
    const unsigned char *base = dict.data + sizeof(ctf_header_t);
    /* Object and function info: one type id per entry (the index sections hold names). */
    for (uint32_t at = header->cth_objtoff; at + 4 <= header->cth_objtidxoff; at += 4) {
        if (!type_defined(read32(base + at), child, own, parent)) { *reason = "a symbol's type is not defined"; return -1; }
    }
    for (uint32_t at = header->cth_objtidxoff; at + 4 <= header->cth_varoff; at += 4) {
        if (!name_valid(read32(base + at), header->cth_strlen, external_length)) { *reason = "a symbol index name lies outside its string table"; return -1; }
    }
    for (uint32_t at = header->cth_varoff; at + 8 <= header->cth_typeoff; at += 8) {
        if (!name_valid(read32(base + at), header->cth_strlen, external_length)
            || !type_defined(read32(base + at + 4), child, own, parent)) { *reason = "a variable's name or type is not defined"; return -1; }
    }
    return own;
}

#define CALLSTUB_CTFA_MAGIC 0x8b47f2a4d7623eebULL

/* A bare dictionary, or an archive of them (GNU ld's, when types conflict): the parent,
 * named ".ctf", first checked on its own, then each child against it. */
static int check_ctf(const unsigned char *data, size_t size, size_t external_length, const char **reason) {
    if (size >= 8 && read64(data) == CALLSTUB_CTFA_MAGIC) {
        if (size < 40) { *reason = "a CTF archive shorter than its header"; return 0; }
        uint64_t count = read64(data + 16), names = read64(data + 24), ctfs = read64(data + 32);
        if (count == 0 || count > (size - 40) / 16 || names > size || ctfs > size) { *reason = "a damaged CTF archive header"; return 0; }
        long parent = -1;
        for (int pass = 0; pass < 2; pass++) {
            for (uint64_t i = 0; i < count; i++) {
                const unsigned char *entry = data + 40 + 16 * i;
                uint64_t name = read64(entry), offset = read64(entry + 8);
                if (name >= size - names || offset > size - ctfs || size - ctfs - offset < 8) { *reason = "a damaged CTF archive entry"; return 0; }
                const char *label = (const char *)data + names + name;
                if (memchr(label, 0, size - names - name) == NULL) { *reason = "a damaged CTF archive name"; return 0; }
                uint64_t length = read64(data + ctfs + offset);
                if (length > size - ctfs - offset - 8) { *reason = "a CTF archive member runs past the end"; return 0; }
                struct ctf_span dict = {data + ctfs + offset + 8, (size_t)length};
                int is_parent = strcmp(label, ".ctf") == 0;
                if (pass == 0 && is_parent) {
                    if ((parent = check_dict(dict, 0, 0, external_length, reason)) < 0) return 0;
                } else if (pass == 1 && !is_parent) {
                    if (parent < 0) { *reason = "a CTF archive without its parent dictionary"; return 0; }
                    if (check_dict(dict, 1, parent, external_length, reason) < 0) return 0;
                }
            }
        }
        return 1;
    }
    struct ctf_span dict = {data, size};
    return check_dict(dict, 0, 0, external_length, reason) >= 0;
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
    if (*reason == NULL && ((uintptr_t)types->ctf_data % 8 != 0
                            || !check_ctf(types->ctf_data, types->ctf_size, string_size, reason))) {
        if (*reason == NULL) *reason = "misaligned CTF buffer";
    }
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

int CLibCTF_build_id(const char *path, unsigned char *out, size_t capacity) {
    elf_version(EV_CURRENT);
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return -1;
    Elf *elf = elf_begin(descriptor, ELF_C_READ, NULL);
    int length = -1;
    if (elf != NULL && elf_kind(elf) == ELF_K_ELF) {
        for (Elf_Scn *section = elf_nextscn(elf, NULL); section != NULL && length < 0; section = elf_nextscn(elf, section)) {
            GElf_Shdr header;
            if (gelf_getshdr(section, &header) == NULL || header.sh_type != SHT_NOTE) continue;
            Elf_Data *data = elf_getdata(section, NULL);
            if (data == NULL) continue;
            GElf_Nhdr note;
            size_t offset = 0, name_offset = 0, description_offset = 0;
            while ((offset = gelf_getnote(data, offset, &note, &name_offset, &description_offset)) > 0) {
                if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4
                    && memcmp((const char *)data->d_buf + name_offset, "GNU", 4) == 0
                    && note.n_descsz > 0 && note.n_descsz <= capacity) {
                    memcpy(out, (const char *)data->d_buf + description_offset, note.n_descsz);
                    length = (int)note.n_descsz;
                    break;
                }
            }
        }
    }
    if (elf != NULL) elf_end(elf);
    close(descriptor);
    return length;
}

/* ---- Linking a written dictionary against a library ------------------------------ */

struct string_table { const char *data; size_t size; size_t next; };

/* ctf_link_add_strtab's iterator: every non-empty string of .dynstr with its offset. */
static const char *next_string(uint32_t *offset, void *argument) {
    struct string_table *table = argument;
    while (table->next < table->size) {
        size_t at = table->next;
        const char *text = table->data + at;
        size_t length = strnlen(text, table->size - at);
        table->next = at + length + 1;
        if (length > 0 && at + length < table->size) { *offset = (uint32_t)at; return text; }
    }
    return NULL;
}

/* libctf 2.40 writes a linked dictionary's symbol indexes unsorted when it is told not
 * to filter symbols by the linker's symbol table, and its reader then fails to find
 * names in them (it sorts them on open, wrongly for names in the external string table).
 * So the pairs (name, type) of each table are sorted here by name, as strcmp orders
 * them, and the dictionary marked CTF_F_IDXSORTED: the reader then searches them as
 * they are. */
struct symbol_entry { const char *name; uint32_t name_ref; uint32_t type; };

static int compare_entries(const void *left, const void *right) {
    return strcmp(((const struct symbol_entry *)left)->name, ((const struct symbol_entry *)right)->name);
}

static int sort_table(unsigned char *base, uint32_t types_at, uint32_t types_end, uint32_t names_at, uint32_t names_end,
                      const char *strings, size_t string_size, const char *external, size_t external_size) {
    size_t count = (names_end - names_at) / 4;
    if (count == 0) return 1;
    if ((types_end - types_at) / 4 != count) return 0;
    struct symbol_entry *entries = calloc(count, sizeof *entries);
    if (entries == NULL) return 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t name = read32(base + names_at + 4 * i), offset = name & 0x7fffffff;
        const char *text = CTF_NAME_STID(name) ? (offset < external_size ? external + offset : NULL)
                                               : (offset < string_size ? strings + offset : NULL);
        if (text == NULL) { free(entries); return 0; }
        entries[i] = (struct symbol_entry){text, name, read32(base + types_at + 4 * i)};
    }
    qsort(entries, count, sizeof *entries, compare_entries);
    for (size_t i = 0; i < count; i++) {
        memcpy(base + names_at + 4 * i, &entries[i].name_ref, 4);
        memcpy(base + types_at + 4 * i, &entries[i].type, 4);
    }
    free(entries);
    return 1;
}

static int sort_symbol_indexes(unsigned char *data, size_t size, const char *external, size_t external_size) {
    unsigned char *dict = data;
    size_t dict_size = size;
    if (size >= 8 && read64(data) == CALLSTUB_CTFA_MAGIC) {
        /* An archive: the symbol tables are in the parent, ".ctf". */
        if (size < 40) return 0;
        uint64_t count = read64(data + 16), names = read64(data + 24), ctfs = read64(data + 32);
        dict = NULL;
        for (uint64_t i = 0; i < count && 40 + 16 * i + 16 <= size; i++) {
            uint64_t name = read64(data + 40 + 16 * i), offset = read64(data + 40 + 16 * i + 8);
            if (names + name >= size || ctfs + offset + 8 > size) return 0;
            if (strcmp((const char *)data + names + name, ".ctf") != 0) continue;
            dict_size = read64(data + ctfs + offset);
            dict = data + ctfs + offset + 8;
            if (dict_size > size - ctfs - offset - 8) return 0;
        }
        if (dict == NULL) return 0;
    }
    const char *reason = NULL;
    struct ctf_span span = {dict, dict_size};
    if (!check_header(span, &reason)) return 0;
    ctf_header_t *header = (ctf_header_t *)dict;
    unsigned char *base = dict + sizeof(ctf_header_t);
    const char *strings = (const char *)base + header->cth_stroff;
    if (!sort_table(base, header->cth_objtoff, header->cth_funcoff, header->cth_objtidxoff, header->cth_funcidxoff,
                    strings, header->cth_strlen, external, external_size)
        || !sort_table(base, header->cth_funcoff, header->cth_objtidxoff, header->cth_funcidxoff, header->cth_varoff,
                       strings, header->cth_strlen, external, external_size))
        return 0;
    header->cth_flags |= CTF_F_IDXSORTED;
    return 1;
}

unsigned char *CLibCTF_link(const unsigned char *ctf, size_t size, const char *elf_path, const char *cuname,
                            size_t *out_size, const char **reason) {
    *reason = NULL;
    unsigned char *written = NULL;
    void *symbols = NULL, *strings = NULL;
    size_t symbol_size = 0, string_size = 0, symbol_entry = 0;
    elf_version(EV_CURRENT);
    int descriptor = open(elf_path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) { *reason = "cannot open the library"; return NULL; }
    Elf *elf = elf_begin(descriptor, ELF_C_READ, NULL);
    if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
        *reason = "not an ELF file";
    } else {
        for (Elf_Scn *section = elf_nextscn(elf, NULL); section != NULL; section = elf_nextscn(elf, section)) {
            GElf_Shdr header;
            if (gelf_getshdr(section, &header) == NULL || header.sh_type != SHT_DYNSYM || symbols != NULL) continue;
            symbols = copy_section(section, &symbol_size);
            symbol_entry = header.sh_entsize;
            Elf_Scn *linked = elf_getscn(elf, header.sh_link);
            if (linked != NULL) strings = copy_section(linked, &string_size);
        }
        if (symbols == NULL || strings == NULL || symbol_entry < sizeof(Elf64_Sym)) *reason = "the library has no dynamic symbol table";
    }
    if (elf != NULL) elf_end(elf);
    close(descriptor);

    ctf_archive_t *input = NULL;
    ctf_dict_t *output = NULL;
    int error = 0;
    if (*reason == NULL) {
        ctf_sect_t section = {.cts_name = ".ctf", .cts_data = ctf, .cts_size = size, .cts_entsize = 1};
        input = ctf_arc_bufopen(&section, NULL, NULL, &error);
        if (input == NULL) *reason = ctf_errmsg(error);
    }
    if (*reason == NULL && (output = ctf_create(&error)) == NULL) *reason = ctf_errmsg(error);
    if (*reason == NULL) {
        /* The output owns its inputs once added (closed with it). */
        if (ctf_link_add_ctf(output, input, "callstub") < 0) *reason = ctf_errmsg(ctf_errno(output));
        else input = NULL;
    }
    if (*reason == NULL && ctf_link(output, CTF_LINK_SHARE_UNCONFLICTED | CTF_LINK_NO_FILTER_REPORTED_SYMS | CTF_LINK_OMIT_VARIABLES_SECTION) < 0) *reason = ctf_errmsg(ctf_errno(output));
    if (*reason == NULL) {
        struct string_table table = {strings, string_size, 0};
        if (ctf_link_add_strtab(output, next_string, &table) < 0) *reason = ctf_errmsg(ctf_errno(output));
    }
    if (*reason == NULL && cuname != NULL && ctf_cuname_set(output, cuname) < 0) *reason = ctf_errmsg(ctf_errno(output));
    if (*reason == NULL && (written = ctf_link_write(output, out_size, (size_t)-1)) == NULL)
        *reason = ctf_errmsg(ctf_errno(output));
    if (*reason == NULL && !sort_symbol_indexes(written, *out_size, strings, string_size)) {
        *reason = "the linked dictionary's symbol tables could not be sorted";
        free(written);
        written = NULL;
    }
    if (output != NULL) ctf_dict_close(output);
    if (input != NULL) ctf_arc_close(input);
    free(symbols);
    free(strings);
    return written;
}

char *CLibCTF_cuname(CLibCTF_types *types) {
    int error = 0;
    ctf_dict_t *first = ctf_arc_open_by_name(types->archive, NULL, &error);
    if (first == NULL) return NULL;
    const char *name = ctf_cuname(first);
    char *copy = name != NULL ? strdup(name) : NULL;
    ctf_dict_close(first);
    return copy;
}

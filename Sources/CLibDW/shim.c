// Intentionally small: the C target needs one translation unit; helpers for libdw
// macros that Swift cannot import go here.
#define _GNU_SOURCE
#include "CLibDW.h"
#include <dlfcn.h>
#include <link.h>

/* The search path: libdwfl's default (the file's directory, its .debug subdirectory and
 * /usr/lib/debug), as a string libdwfl keeps pointing at. */
static char *debuginfo_path = NULL;

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

Dwfl *CLibDW_begin_offline(void) { return dwfl_begin(&offline_callbacks); }

const char *CLibDW_loaded_path(void *handle) {
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return NULL;
    return map->l_name;
}

int CLibDW_load_bias(void *handle, uintptr_t *bias) {
    struct link_map *map = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return -1;
    *bias = (uintptr_t)map->l_addr;
    return 0;
}

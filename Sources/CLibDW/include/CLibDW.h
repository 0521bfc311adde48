// elfutils (libdw, libdwfl, libelf) as one module. Headers come from libdw-dev and
// libelf-dev.
#ifndef CALLSTUB_CLIBDW_H
#define CALLSTUB_CLIBDW_H
#include <dwarf.h>
#include <libelf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <elfutils/libdwelf.h>

/// A libdwfl session for files read from disk ("offline"): separate debug files are found
/// by build-id (/usr/lib/debug/.build-id/xx/rest.debug) and .gnu_debuglink (CRC checked),
/// dwz alternate files through .gnu_debugaltlink.
Dwfl *CLibDW_begin_offline(void);

/// The file a dlopen handle was loaded from (its link map's l_name), or NULL.
const char *CLibDW_loaded_path(void *handle);
/* The difference between a loaded library's addresses and its file's (link_map l_addr). */
int CLibDW_load_bias(void *handle, uintptr_t *bias);
#endif

// elfutils (libdw, libdwfl, libelf) as one module. Headers come from libdw-dev and
// libelf-dev.
#ifndef CALLSTUB_CLIBDW_H
#define CALLSTUB_CLIBDW_H
#include <dwarf.h>
#include <libelf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#endif

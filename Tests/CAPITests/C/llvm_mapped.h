/* Whether libLLVM is mapped into this process (for the lazy-loading and stub-cache tests). */
#ifndef LLVM_MAPPED_H
#define LLVM_MAPPED_H
#include <stdio.h>
#include <string.h>

static int llvm_mapped(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps)) found |= strstr(line, "libLLVM") != NULL;
    if (maps) fclose(maps);
    return found;
}
#endif

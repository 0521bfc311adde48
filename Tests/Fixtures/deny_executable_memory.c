/* deny_executable_memory seccomp|mdwe COMMAND [ARGUMENT…]: runs COMMAND denied executable
 * memory made from writable memory (deny_executable_memory.h). scripts/test runs the
 * calling tests under it: every call must then go through libffi, unharmed. */
#define _GNU_SOURCE
#include "deny_executable_memory.h"
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s seccomp|mdwe COMMAND [ARGUMENT...]\n", argv[0]);
        return 2;
    }
    if (deny_executable_memory(argv[1]) != 0) {
        perror("deny_executable_memory");
        return 125;
    }
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    return 127;
}

/* Denies this process (and what it executes) executable memory made from writable
 * memory, as hardened services run (issue 19, item 4):
 *   "seccomp": the filter systemd's MemoryDenyWriteExecute= installs: mmap asking for
 *              write and execute together, and mprotect/pkey_mprotect asking for
 *              execute, fail with EPERM. Mapping a file read+execute (the dynamic
 *              loader) stays allowed.
 *   "mdwe":    prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): the kernel refuses to make
 *              a mapping executable that was not (EACCES); Linux 6.3 and later.
 * Both last for the process's life and pass to the programs it executes. Returns 0, or
 * -1 with errno set. */
#ifndef DENY_EXECUTABLE_MEMORY_H
#define DENY_EXECUTABLE_MEMORY_H
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

static int deny_executable_memory(const char *how) {
    if (strcmp(how, "mdwe") == 0) return prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L);
    if (strcmp(how, "seccomp") != 0) {
        errno = EINVAL;
        return -1;
    }
    /* The third argument (prot) of mmap, mprotect and pkey_mprotect: its low 32 bits. */
    const unsigned prot = offsetof(struct seccomp_data, args[2]);
    struct sock_filter filter[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        /* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
        /* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, prot),
        /* 6 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
        /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 4, 5), /* to 12, 13 */
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
        /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 3),
        /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, prot),
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
        /* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        /* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0L, 0L);
}
#endif

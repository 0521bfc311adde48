// Signal handlers around a call from `callstub call`: a C function that crashes (a NULL
// out-parameter, a wrong declaration the debug info could not check) makes the tool say
// so and exit with a documented status. The handler uses only async-signal-safe calls
// (write, _exit: POSIX.1-2017 2.4.3) and runs on an alternate stack, so that a stack
// overflow in the callee is reported too.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "CCrashReport.h"

static const int caught[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
enum { caught_count = sizeof caught / sizeof *caught };
static struct sigaction previous[caught_count];
static char function_name[256];
static stack_t alternate_stack;

static size_t append(char *buffer, size_t used, const char *text) {
    while (*text && used < 511) buffer[used++] = *text++;
    return used;
}

static void report(int signal, siginfo_t *info, void *context) {
    (void)context;
    char message[512];
    size_t used = append(message, 0, "error: ");
    used = append(message, used, function_name);
    used = append(message, used, " crashed with ");
    used = append(message, used,
                  signal == SIGSEGV  ? "SIGSEGV"
                  : signal == SIGBUS ? "SIGBUS"
                  : signal == SIGFPE ? "SIGFPE"
                  : signal == SIGILL ? "SIGILL"
                                     : "SIGABRT");
    if (signal == SIGABRT) {  // abort(): no faulting address
        used = append(message, used, "\n");
        ssize_t ignored = write(2, message, used);
        (void)ignored;
        _exit(CALLSTUB_CRASH_STATUS);
    }
    used = append(message, used, " at address 0x");
    char digits[17];
    uintptr_t address = (uintptr_t)info->si_addr;
    int count = 0;
    do {
        digits[count++] = "0123456789abcdef"[address & 15];
        address >>= 4;
    } while (address && count < 16);
    while (count > 0 && used < 511) message[used++] = digits[--count];
    used = append(message, used, "\n");
    ssize_t ignored = write(2, message, used);
    (void)ignored;
    _exit(CALLSTUB_CRASH_STATUS);
}

int callstub_crash_report_begin(const char *name) {
    strncpy(function_name, name, sizeof function_name - 1);
    if (!alternate_stack.ss_sp) {
        alternate_stack.ss_size = 64 * 1024;
        alternate_stack.ss_sp = malloc(alternate_stack.ss_size);
        if (!alternate_stack.ss_sp || sigaltstack(&alternate_stack, NULL) != 0) return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = report;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < caught_count; i++) {
        if (sigaction(caught[i], &action, &previous[i]) != 0) return -1;
    }
    return 0;
}

void callstub_crash_report_end(void) {
    for (int i = 0; i < caught_count; i++) sigaction(caught[i], &previous[i], NULL);
}

// `callstub call` reports a crash inside the called C function instead of dying silently
// (crash_report.c).
#ifndef CALLSTUB_CCRASHREPORT_H
#define CALLSTUB_CCRASHREPORT_H

/// The status the tool exits with when the called function crashed.
enum { CALLSTUB_CRASH_STATUS = 2 };

/// From now until `callstub_crash_report_end`, a SIGSEGV, SIGBUS, SIGFPE, SIGILL or
/// SIGABRT (the callee's) prints `error: NAME crashed with SIG… at address 0x…` (no
/// address for SIGABRT) on standard error and exits with CALLSTUB_CRASH_STATUS. `name` is copied. Returns 0, or -1 if the handlers
/// could not be installed.
int callstub_crash_report_begin(const char *name);

/// Restores the handlers that were installed before.
void callstub_crash_report_end(void);
#endif

// The LLVM 19 C API as one module. `llvm-c` and `llvm/Config` beside this file are
// symbolic links into /usr/lib/llvm-19/include (installed by llvm-19-dev); nothing of
// LLVM's is copied into the repository.
#ifndef CALLSTUB_CLLVM_H
#define CALLSTUB_CLLVM_H
#include "llvm-c/Core.h"
#include "llvm-c/Analysis.h"
#include "llvm-c/Error.h"
#include "llvm-c/IRReader.h"
#include "llvm-c/LLJIT.h"
#include "llvm-c/Orc.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"

/// Loads libLLVM (lazy_llvm.c) once: NULL when it is loaded, else why it could not be.
/// No other function of this module may be called before it succeeds.
const char *CLLVM_Load(void);
/// The version of the LLVM headers CallStub was built against ("19.1.7").
const char *CLLVM_HeaderVersion(void);

/// Initialises the native target, its assembly printer and parser once.
/// Returns 0 on success (LLVM's convention: non-zero is failure).
int CLLVM_InitializeNativeTarget(void);

/// The exit gate (exit_gate.c): Enter returns 0 once the process has begun to exit, and
/// otherwise 1, and exit waits until the matching Leave. RegisterAtExit adds an atexit
/// handler that closes the gate.
int CLLVM_ExitGateEnter(void);
void CLLVM_ExitGateLeave(void);
void CLLVM_ExitGateRegisterAtExit(void);
#endif

// The gate that keeps LLVM from being used while the process exits (LLVMExitGate in
// LLVMBackend/ExitGate.swift says why). Its state lives here, in C, because it must be
// closed by exit even before any Swift code has run.
//
// When exit begins: glibc's exit() runs the exiting thread's thread_local destructors
// before any atexit handler, so the main thread's exit is caught by one registered when
// the library loads. An exit from another thread is caught by the atexit handlers
// CLLVM_ExitGateRegisterAtExit adds; exit handlers run newest first (C11 7.22.4.4), so one
// added after LLVM built its state runs before the destructors LLVM registered for it.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "CLLVM.h"

extern int __cxa_thread_atexit_impl(void (*destructor)(void *), void *object, void *dso_handle);
extern void *__dso_handle;

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static int gate_closed;
/// LLVM operations in progress, on all threads; `nested_here` counts this thread's.
static int inside;
static _Thread_local int nested_here;

int CLLVM_ExitGateEnter(void) {
    pthread_mutex_lock(&gate_lock);
    int admitted = !gate_closed;
    if (admitted) inside++;
    pthread_mutex_unlock(&gate_lock);
    if (admitted) nested_here++;
    return admitted;
}

void CLLVM_ExitGateLeave(void) {
    nested_here--;
    pthread_mutex_lock(&gate_lock);
    inside--;
    pthread_mutex_unlock(&gate_lock);
}

/// Closes the gate, then waits for the operations other threads have in progress: a stub
/// compiles in milliseconds; after 10 s exit goes on regardless.
static void close_gate(void) {
    const struct timespec millisecond = {0, 1000000};
    for (int waited = 0;; waited++) {
        pthread_mutex_lock(&gate_lock);
        gate_closed = 1;
        int others = inside - nested_here;
        pthread_mutex_unlock(&gate_lock);
        if (others <= 0 || waited >= 10000) return;
        nanosleep(&millisecond, NULL);
    }
}

static void close_gate_at_thread_exit(void *unused) {
    (void)unused;
    close_gate();
}

// Runs when the library is loaded. Only the main thread is watched this way: a library
// loaded from another thread would tie the gate to that thread's end instead.
__attribute__((constructor)) static void watch_main_thread_exit(void) {
    if (getpid() == gettid()) __cxa_thread_atexit_impl(close_gate_at_thread_exit, NULL, &__dso_handle);
}

void CLLVM_ExitGateRegisterAtExit(void) { atexit(close_gate); }

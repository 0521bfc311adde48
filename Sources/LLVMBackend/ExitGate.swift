// Keeps LLVM from being used while the process exits. libLLVM registers destructors for
// its global state with the C library's exit handlers, some of them lazily, on first use;
// when a program returns from `main` while LLVM works on another thread (a background
// tier-up compile, or the JIT's creation), exit destroys that state under it and the
// process crashes on its way out (seen in CI: a C program that had finished its work died
// with SIGSEGV in libLLVM during `exit`). The gate closes when exit begins: exit waits for
// the LLVM operations in progress, and every later one fails with a typed error (a stub
// asked for during exit falls back to libffi) instead of touching LLVM. The gate itself is
// C (CLLVM/exit_gate.c), closed from a thread_local destructor of the main thread.

internal import CLLVM
import Locks

enum LLVMExitGate {
    /// Runs `body` (which uses LLVM) unless the process is exiting; exit waits for it.
    static func run<Result>(_ body: () throws(JITError) -> Result) throws(JITError) -> Result {
        guard CLLVM_ExitGateEnter() != 0 else { throw .llvm("the process is exiting") }
        defer { CLLVM_ExitGateLeave() }
        return try body()
    }

    private static let registrations = Lock(0)

    /// Adds the atexit handler that catches an exit from a thread other than the main one.
    /// Called after LLVM has built its state (when a session is created, and after its
    /// first compiles, since LLVM creates some state on first use and registers its
    /// destructors then; lazy_llvm.c adds one right after loading libLLVM): only a handler
    /// added after a destructor runs before it. The first three calls add one; later ones
    /// add nothing.
    static func registerExitHandler() {
        let register = registrations.withLock { count -> Bool in
            count += 1
            return count <= 3
        }
        if register { CLLVM_ExitGateRegisterAtExit() }
    }
}

// Whether this process may make memory executable, decided once for every fast path.
// Seccomp filters (systemd's MemoryDenyWriteExecute), SELinux's deny_execmem and
// PR_SET_MDWE refuse to make anonymous memory executable; the JIT, the persistent stub
// cache and the callback trampolines all need it. The first refusal any of them meets is
// kept: from then on every binding and callback goes to libffi at once, with that
// reason, and none of them asks LLVM or the kernel again (issue 19, item 4).

import Locks

#if canImport(Glibc)
    import Glibc
#endif

public enum ExecutableMemory {
    /// The first refusal seen in this process, or nil.
    private static let refusal = Lock<JITError?>(nil)

    /// Why executable memory is not to be had in this process, once anything was refused.
    public static var denial: JITError? { refusal.withLock { $0 } }

    /// Asks the kernel once more (one page mapped read+write, then made read+execute) and
    /// keeps a refusal; returns it, or nil when executable memory can be had. Run before
    /// libLLVM is loaded, so that a process that may not execute what it writes never
    /// maps it, and after a compilation failed (a program may have turned on PR_SET_MDWE
    /// since).
    @discardableResult
    public static func probe() -> JITError? {
        if let denial { return denial }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let page = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            page != MAP_FAILED
        else { return nil }  // out of memory is not a refusal: the callers' own errors say it
        defer { munmap(page, pageSize) }
        return makeExecutable(page, byteCount: pageSize, what: "a probe page")
    }

    /// Makes `byteCount` bytes at `memory` (page-aligned, written) read+execute; nil on
    /// success. A refusal (EPERM, EACCES) is kept for the whole process; other failures
    /// are returned and not kept.
    public static func makeExecutable(_ memory: UnsafeMutableRawPointer, byteCount: Int, what: String) -> JITError? {
        if let denial { return denial }
        guard mprotect(memory, byteCount, PROT_READ | PROT_EXEC) != 0 else { return nil }
        let code = errno
        let failure = JITError.memory(
            "making \(what) read+execute failed: \(String(cString: strerror(code)))")
        guard code == EPERM || code == EACCES else { return failure }
        return refusal.withLock { kept in
            if kept == nil {
                kept = .memory(
                    "executable memory is denied in this process: making memory read+execute failed with "
                        + "\(String(cString: strerror(code))) (a seccomp filter such as systemd's "
                        + "MemoryDenyWriteExecute, SELinux deny_execmem or PR_SET_MDWE)")
            }
            return kept
        }
    }
}

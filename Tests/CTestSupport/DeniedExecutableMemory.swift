// Whether this test process may not make memory executable. scripts/test runs the calling
// tests a second time under a seccomp filter that denies it, as hardened services run
// (Tests/Fixtures/deny_executable_memory.c); there every binding must fall back to
// libffi and give the same results.

import Glibc

public enum DeniedExecutableMemory {
    /// A read+write page could not be made read+execute.
    public static let active: Bool = {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let page = mmap(nil, pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            page != MAP_FAILED
        else { return false }
        defer { munmap(page, pageSize) }
        return mprotect(page, pageSize, PROT_READ | PROT_EXEC) != 0
    }()
}

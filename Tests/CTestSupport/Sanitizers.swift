// Whether this test process runs under a sanitizer (`swift test --sanitize=…`): their
// runtimes define `__asan_init` / `__tsan_init`. Tools that cannot run instrumented
// binaries (valgrind) skip themselves then.

import Glibc

public enum Sanitizers {
    /// AddressSanitizer or ThreadSanitizer is linked into this process.
    public static let active: Bool = {
        let process = dlopen(nil, RTLD_NOW)
        defer { if let process { dlclose(process) } }
        let names: [String] = ["__asan_init", "__tsan_init"]
        return names.contains { dlsym(process, $0) != nil }
    }()
}

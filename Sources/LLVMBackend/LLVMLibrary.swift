// libLLVM, loaded on first use rather than at process start (CLLVM/lazy_llvm.c holds the
// loader and the forwarders). Every path into LLVM calls `load()` first.

internal import CLLVM

/// The LLVM shared library CallStub compiles with, loaded (`dlopen`) on first use.
public enum LLVMLibrary {
    /// Loads libLLVM if it is not loaded yet; throws why it cannot be (not installed, not
    /// LLVM 19). `CALLSTUB_LLVM_LIBRARY` in the environment names another library file.
    public static func load() throws(JITError) {
        if let failure = CLLVM_Load() { throw .llvm(String(cString: failure)) }
    }
}

// An ORC LLJIT instance behind a small safe wrapper: add textual IR modules, look up
// symbols. Later issues add the stub emitter on top; this file owns the raw LLVM calls
// for the JIT itself.

internal import CLLVM
import Locks

#if canImport(Glibc)
    import Glibc
#endif

/// Errors from the LLVM JIT.
public enum JITError: Error, Equatable, CustomStringConvertible {
    /// The native target could not be initialised.
    case targetUnavailable
    /// LLVM reported an error; the text is LLVM's.
    case llvm(String)
    /// Textual IR did not parse or verify; the text is LLVM's diagnostic.
    case invalidIR(String)
    /// No symbol of that name was defined in the session.
    case symbolNotFound(String)
    /// Executable memory could not be had (callback trampolines); the text says which call failed.
    case memory(String)

    public var description: String {
        switch self {
        case .memory(let text): return text
        case .targetUnavailable: return "LLVM native target is unavailable"
        case .llvm(let text): return "LLVM: \(text)"
        case .invalidIR(let text): return "invalid LLVM IR: \(text)"
        case .symbolNotFound(let name): return "JIT symbol not found: \(name)"
        }
    }
}

/// A module added with its own resource tracker, so that it can be freed.
public struct RemovableModule: @unchecked Sendable {
    let tracker: LLVMOrcResourceTrackerRef
}

/// One ORC LLJIT instance. Adding modules and looking up symbols are serialised behind
/// a lock: LLVM contexts are not thread-safe (FIELD-NOTES.md), so each added module is
/// parsed in a context of its own.
public final class JITSession: Sendable {
    // LLJIT itself is thread-safe; the lock serialises our use of it with module building.
    private nonisolated(unsafe) let instance: LLVMOrcLLJITRef
    /// The one context every module is parsed in; only used under `lock`.
    private nonisolated(unsafe) let sharedContext: LLVMOrcThreadSafeContextRef
    private let lock = Lock<Void>(())
    /// The objects LLVM emits while a module is added with `capturingObjects`; used only
    /// under `lock` (LLJIT compiles on the thread that looks a symbol up).
    private let objectCapture: ObjectCapture

    /// The target triple the JIT compiles for, e.g. `x86_64-pc-linux-gnu`.
    public let targetTriple: String
    /// The data layout string of the JIT's target machine.
    public let dataLayout: String

    /// Creates an LLJIT for the host. `optimized: false` (the default) generates code at
    /// `-O0`: the stubs run as fast and compile several times faster (FIELD-NOTES.md).
    /// The corresponding C function is `LLVMOrcCreateLLJIT`.
    public init(optimized: Bool = false) throws(JITError) {
        let capture = ObjectCapture()
        objectCapture = capture
        (instance, targetTriple, dataLayout, sharedContext) = try LLVMExitGate.run { () throws(JITError) in
            try LLVMLibrary.load()
            guard Self.nativeTargetReady else { throw .targetUnavailable }
            let builder = LLVMOrcCreateLLJITBuilder()
            // The builder takes ownership of the target machine builder, LLJIT of the builder.
            LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, try Self.hostMachineBuilder(optimized: optimized))
            var created: LLVMOrcLLJITRef?
            if let error = LLVMOrcCreateLLJIT(&created, builder) {
                throw .llvm(Self.consume(error))
            }
            guard let created else { throw .llvm("LLVMOrcCreateLLJIT returned no instance") }
            LLVMOrcObjectTransformLayerSetTransform(
                LLVMOrcLLJITGetObjTransformLayer(created), ObjectCapture.transform,
                Unmanaged.passUnretained(capture).toOpaque())
            // ORC's default reporter prints to stderr ("JIT session error: …"); ours keeps
            // the text for the failure the caller sees.
            LLVMOrcExecutionSessionSetErrorReporter(
                LLVMOrcLLJITGetExecutionSession(created), ObjectCapture.report,
                Unmanaged.passUnretained(capture).toOpaque())
            return (
                created, String(cString: LLVMOrcLLJITGetTripleString(created)),
                String(cString: LLVMOrcLLJITGetDataLayoutStr(created)), LLVMOrcCreateNewThreadSafeContext()
            )
        }
        LLVMExitGate.registerExitHandler()
    }

    deinit {
        try? LLVMExitGate.run { () throws(JITError) in
            if let error = LLVMOrcDisposeLLJIT(instance) { _ = Self.consume(error) }
            LLVMOrcDisposeThreadSafeContext(sharedContext)
        }
    }

    /// Parses textual LLVM IR, verifies it (in debug builds and tests: Debian's LLVM has no
    /// assertions, so bad IR would otherwise crash far away), and adds it to the JIT's
    /// main dylib. All modules share one LLVM context, used only under the session's lock.
    public func addModule(ir: String, name: String = "module") throws(JITError) {
        try locked { () throws(JITError) in try addModuleLocked(ir: ir, name: name) }
    }

    /// Builds a module with the IR builder (no text to generate or parse) and adds it.
    func addModule(name: String, building build: (IRModuleBuilder) -> Void) throws(JITError) {
        try locked { () throws(JITError) in
            let llvmContext = LLVMOrcThreadSafeContextGetContext(sharedContext)
            let builder = IRModuleBuilder(context: llvmContext!, name: name)
            build(builder)
            try addLocked(module: builder.takeModule())
        }
    }

    /// Builds a module that can be removed again (its code and data freed) with
    /// `remove(_:)`, and returns the address of `symbol` in it.
    func addRemovableModule(
        name: String, symbol: String, building build: (IRModuleBuilder) -> Void
    ) throws(JITError) -> (address: UnsafeRawPointer, module: RemovableModule) {
        let (addresses, module, _) = try addRemovableModule(name: name, symbols: [symbol], building: build)
        return (addresses[0], module)
    }

    /// Adds a module built by `build` under a resource tracker of its own and looks up
    /// `symbols` in it; `remove(_:)` frees its code. With `capturingObjects`, the ELF
    /// objects LLVM emitted for it come back too (for the persistent stub cache).
    func addRemovableModule(
        name: String, symbols: [String], capturingObjects: Bool = false, building build: (IRModuleBuilder) -> Void
    ) throws(JITError) -> (addresses: [UnsafeRawPointer], module: RemovableModule, objects: [[UInt8]]) {
        let added = try locked { () throws(JITError) -> ([UnsafeRawPointer], RemovableModule, [[UInt8]]) in
            objectCapture.objects = []
            objectCapture.isCapturing = capturingObjects
            defer {
                objectCapture.isCapturing = false
                objectCapture.objects = []
            }
            let llvmContext = LLVMOrcThreadSafeContextGetContext(sharedContext)
            let builder = IRModuleBuilder(context: llvmContext!, name: name)
            build(builder)
            let dylib = LLVMOrcLLJITGetMainJITDylib(instance)
            let tracker = LLVMOrcJITDylibCreateResourceTracker(dylib)!
            do throws(JITError) {
                try addLocked(module: builder.takeModule(), tracker: tracker)
                var pointers: [UnsafeRawPointer] = []
                for symbol in symbols {
                    var address: LLVMOrcExecutorAddress = 0
                    if let error = LLVMOrcLLJITLookup(instance, &address, symbol) { throw failure(Self.consume(error)) }
                    guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else { throw .symbolNotFound(symbol) }
                    pointers.append(pointer)
                }
                return (pointers, RemovableModule(tracker: tracker), objectCapture.objects)
            } catch {
                _ = LLVMOrcResourceTrackerRemove(tracker)
                LLVMOrcReleaseResourceTracker(tracker)
                throw error
            }
        }
        LLVMExitGate.registerExitHandler()
        return added
    }

    /// The error for a lookup that failed with LLVM's `text`: the denial of executable
    /// memory if that was the cause (kept for the process: nothing asks LLVM again), else
    /// LLVM's text with what the session reported while materialising. Under the lock.
    private func failure(_ text: String) -> JITError {
        let reported = objectCapture.reported
        objectCapture.reported = []
        if let denial = ExecutableMemory.probe() { return denial }
        return .llvm(reported.isEmpty ? text : "\(text): \(reported.joined(separator: "; "))")
    }

    /// Frees a removable module's code and data. Its addresses must not be used after.
    /// (While the process exits the module stays: the gate is closed to LLVM.)
    func remove(_ module: RemovableModule) {
        try? locked(makingCode: false) {
            if let error = LLVMOrcResourceTrackerRemove(module.tracker) { _ = Self.consume(error) }
            LLVMOrcReleaseResourceTracker(module.tracker)
        }
    }

    /// Runs `body` under the session's lock, unless the process is exiting (`LLVMExitGate`).
    /// Adding and looking up code also refuse at once where the process may not execute
    /// what LLVM would write (`ExecutableMemory`); removing code does not, so that modules
    /// compiled before a denial are still freed.
    private func locked<Result>(
        makingCode: Bool = true, _ body: () throws(JITError) -> Result
    ) throws(JITError) -> Result {
        if makingCode, let denial = ExecutableMemory.denial { throw denial }
        return try LLVMExitGate.run { () throws(JITError) -> Result in
            try lock.withLock { _ throws(JITError) -> Result in try body() }
        }
    }

    private func addModuleLocked(ir: String, name: String) throws(JITError) {
        let context = sharedContext
        let llvmContext = LLVMOrcThreadSafeContextGetContext(context)

        var module: LLVMModuleRef?
        var message: UnsafeMutablePointer<CChar>?
        let parsed: Bool = ir.withCString { text in
            // The buffer is consumed by LLVMParseIRInContext.
            let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(text, ir.utf8.count, name)
            return LLVMParseIRInContext(llvmContext, buffer, &module, &message) == 0
        }
        guard parsed, let module else {
            throw .invalidIR(Self.takeMessage(message) ?? "unknown parse error")
        }
        try addLocked(module: module)
    }

    /// Verifies (when asked) and adds a module the session now owns, to `tracker` if given.
    private func addLocked(module: LLVMModuleRef, tracker: LLVMOrcResourceTrackerRef? = nil) throws(JITError) {
        var message: UnsafeMutablePointer<CChar>?
        if Self.verifiesModules {
            if LLVMVerifyModule(module, LLVMReturnStatusAction, &message) != 0 {
                let text = Self.takeMessage(message) ?? "verification failed"
                LLVMDisposeModule(module)
                throw .invalidIR(text)
            }
            _ = Self.takeMessage(message)
        }
        let context = sharedContext
        // Consumes the module.
        let threadSafeModule = LLVMOrcCreateNewThreadSafeModule(module, context)
        let dylib = LLVMOrcLLJITGetMainJITDylib(instance)
        let error =
            tracker.map { LLVMOrcLLJITAddLLVMIRModuleWithRT(instance, $0, threadSafeModule) }
            ?? LLVMOrcLLJITAddLLVMIRModule(instance, dylib, threadSafeModule)
        if let error {
            LLVMOrcDisposeThreadSafeModule(threadSafeModule)
            throw .llvm(Self.consume(error))
        }
    }

    /// Whether modules are verified before they are added: in debug builds, and whenever
    /// `CALLSTUB_VERIFY_IR` is set (the test suite sets nothing: tests run debug builds).
    static let verifiesModules: Bool = {
        #if DEBUG
            return true
        #else
            return getenv("CALLSTUB_VERIFY_IR") != nil
        #endif
    }()

    /// The address of a symbol defined by an added module, compiling it on first use.
    public func address(of symbol: String) throws(JITError) -> UnsafeRawPointer {
        let result: Result<UInt64, JITError> = try locked { () -> Result<UInt64, JITError> in
            var address: LLVMOrcExecutorAddress = 0
            if let error = LLVMOrcLLJITLookup(instance, &address, symbol) {
                let text = Self.consume(error)
                return .failure(text.contains("Symbols not found") ? .symbolNotFound(symbol) : failure(text))
            }
            return .success(address)
        }
        let address = try result.get()
        LLVMExitGate.registerExitHandler()
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else {
            throw .symbolNotFound(symbol)
        }
        return pointer
    }

    // MARK: - LLVM plumbing

    /// A target machine for the x86-64 baseline (SSE2, no newer features) at the chosen
    /// optimisation level, wrapped as the JIT target machine builder LLJIT wants. Stubs and
    /// thunks only move values between memory and registers, which newer instructions do
    /// not speed up; compiled for the baseline, their code runs on every x86-64 CPU, so the
    /// persistent stub cache need not key it by CPU (nor ask the CPU, which is slow in a VM).
    private static func hostMachineBuilder(optimized: Bool) throws(JITError) -> LLVMOrcJITTargetMachineBuilderRef {
        let triple = LLVMGetDefaultTargetTriple()
        let cpu = "x86-64", features = ""
        defer { LLVMDisposeMessage(triple) }
        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        if LLVMGetTargetFromTriple(triple, &target, &message) != 0 {
            throw .llvm(takeMessage(message) ?? "no target for the host triple")
        }
        guard let machine = LLVMCreateTargetMachine(
            target, triple, cpu, features, optimized ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelNone,
            LLVMRelocDefault, LLVMCodeModelJITDefault)
        else { throw .llvm("LLVMCreateTargetMachine failed") }
        // Takes ownership of the target machine.
        return LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine)
    }

    private static let nativeTargetReady: Bool = CLLVM_InitializeNativeTarget() == 0

    fileprivate static func consume(_ error: LLVMErrorRef) -> String {
        let message = LLVMGetErrorMessage(error)
        defer { LLVMDisposeErrorMessage(message) }
        return message.map { String(cString: $0) } ?? "unknown LLVM error"
    }

    private static func takeMessage(_ message: UnsafeMutablePointer<CChar>?) -> String? {
        guard let message else { return nil }
        defer { LLVMDisposeMessage(message) }
        return String(cString: message)
    }
}

/// Copies of the objects LLVM emits, taken by the object transform layer while asked to,
/// and the errors the session reports (materialisation runs on the looking-up thread,
/// under the session's lock).
private final class ObjectCapture: @unchecked Sendable {
    var isCapturing = false
    var objects: [[UInt8]] = []
    var reported: [String] = []

    /// The execution session's error reporter: keeps the text instead of printing it.
    static let report: LLVMOrcErrorReporterFunction = { context, error in
        let capture = Unmanaged<ObjectCapture>.fromOpaque(context!).takeUnretainedValue()
        guard let error else { return }
        let text = JITSession.consume(error)
        if capture.reported.count < 8 { capture.reported.append(text) }
    }

    /// LLJIT's object transform: leaves the object as it is, and copies it when capturing.
    static let transform: LLVMOrcObjectTransformLayerTransformFunction = { context, objectInOut in
        let capture = Unmanaged<ObjectCapture>.fromOpaque(context!).takeUnretainedValue()
        if capture.isCapturing, let buffer = objectInOut?.pointee, let start = LLVMGetBufferStart(buffer) {
            capture.objects.append(Array(UnsafeRawBufferPointer(start: start, count: LLVMGetBufferSize(buffer))))
        }
        return nil
    }
}

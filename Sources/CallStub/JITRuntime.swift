// The process's one JIT: created on first use, shared by every bound function. If LLVM
// cannot create it (no executable memory, no target), every binding falls back to libffi
// and says why.

import ABILowering
import FFIBackend
import Dispatch
import LLVMBackend
import Locks

#if canImport(Glibc)
    import Glibc
#endif

enum JITRuntime {
    /// The shared stub compiler, or why there is none. `CALLSTUB_DISABLE_JIT` set in the
    /// environment turns the JIT off (as on a machine that forbids executable memory).
    static let shared: Result<StubCompiler, JITError> = {
        if let disabled { return .failure(disabled) }
        // Asked before libLLVM is loaded: a process that may not execute what it writes
        // never maps it (ExecutableMemory).
        if let denial = ExecutableMemory.probe() { return .failure(denial) }
        do throws(JITError) {
            let compiler = StubCompiler(session: try JITSession(), persistentCache: try? persistentCache.get())
            started.withLock { $0 = compiler }
            return .success(compiler)
        } catch {
            return .failure(error)
        }
    }()

    /// Why there is no JIT at all, before trying LLVM (register callbacks, which need no
    /// LLVM, obey it too).
    static let disabled: JITError? =
        getenv("CALLSTUB_DISABLE_JIT") != nil ? .llvm("disabled by CALLSTUB_DISABLE_JIT") : nil

    /// The compiler once `shared` has made it (reading `shared` would load libLLVM).
    private static let started = Lock<StubCompiler?>(nil)

    /// Stubs kept on disk across processes (LLVMBackend/PersistentStubCache.swift), or why
    /// there are none; read before libLLVM is loaded.
    static let persistentCache: Result<PersistentStubCache, JITError> =
        disabled.map { .failure($0) } ?? PersistentStubCache.configured(versionTag: "CallStub \(CallStubVersion.current)")

    /// The stub for `plan` from the persistent cache, unless the compiler has one in memory
    /// (whose uses it counts) or the stub captures errno (it calls absolute addresses).
    private static func persistedStub(for plan: CallPlan, capturesErrno: Bool) -> StubEntry? {
        guard !capturesErrno, case .success(let cache) = persistentCache, refusal(plan) == nil else { return nil }
        if let compiler = started.withLock({ $0 }), compiler.hasStub(for: plan) { return nil }
        return cache.stub(for: plan)
    }

    /// glibc's `__errno_location` and FFIBackend's per-thread errno slot.
    static let errnoHooks: ErrnoHooks? = {
        guard let location = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__errno_location") else { return nil }
        return ErrnoHooks(errnoLocation: UInt(bitPattern: location), save: FFICallInterface.errnoSaverAddress)
    }()

    /// Background compilations run one at a time on this queue, off every calling thread.
    private static let queue = DispatchQueue(label: "callstub.jit", qos: .utility)

    static func compileInBackground(
        plan: CallPlan, capturesErrno: Bool, then finish: @escaping @Sendable (Result<StubEntry, CallStubError>) -> Void
    ) {
        queue.async { finish(stub(for: plan, capturesErrno: capturesErrno)) }
    }

    /// Gives back a stub obtained from `stub(for:capturesErrno:)` or `stubs(for:capturesErrno:)`.
    static func release(plan: CallPlan, capturesErrno: Bool) {
        // Stubs from the persistent cache stay for the process's life; the compiler's own
        // are counted (and none exist before it started).
        guard let compiler = started.withLock({ $0 }) else { return }
        compiler.release(stubFor: plan, errno: capturesErrno ? errnoHooks : nil)
    }

    /// Returns when every background compilation queued so far has finished.
    static func waitForBackgroundCompilations() {
        queue.sync {}
    }

    /// Why the JIT must not take a plan: gcc and clang pass it differently, and a stub
    /// can follow only one of them.
    static func refusal(_ plan: CallPlan) -> CallStubError? {
        plan.compilerDisagreement.map {
            .unsupportedSignature(backend: .jit, reason: "gcc and clang pass this signature differently: \($0)")
        }
    }

    /// Stubs for many plans (one result per plan): from the persistent cache, the others
    /// compiled together as one module.
    static func stubs(for plans: [CallPlan], capturesErrno: Bool) -> [Result<StubEntry, CallStubError>] {
        let persisted = plans.map { persistedStub(for: $0, capturesErrno: capturesErrno) }
        let missing = plans.indices.filter { persisted[$0] == nil }
        var compiled = compiledStubs(for: missing.map { plans[$0] }, capturesErrno: capturesErrno).makeIterator()
        return plans.indices.map { persisted[$0].map { .success($0) } ?? compiled.next()! }
    }

    /// A stub for `plan`, or the reason there is none.
    static func stub(for plan: CallPlan, capturesErrno: Bool) -> Result<StubEntry, CallStubError> {
        stubs(for: [plan], capturesErrno: capturesErrno)[0]
    }

    /// Stubs compiled now for `plans` (none: the JIT is not started).
    private static func compiledStubs(for plans: [CallPlan], capturesErrno: Bool) -> [Result<StubEntry, CallStubError>] {
        if plans.isEmpty { return [] }
        switch shared {
        case .failure(let error):
            return plans.map { _ in .failure(.backendUnavailable(.jit, reason: error.description)) }
        case .success(let compiler):
            if capturesErrno && errnoHooks == nil {
                return plans.map { _ in .failure(.backendUnavailable(.jit, reason: "__errno_location not found")) }
            }
            let compilable = plans.filter { $0.compilerDisagreement == nil }
            var compiled: [Result<StubEntry, CallStubError>]
            do throws(JITError) {
                compiled = try compiler.stubs(for: compilable, errno: capturesErrno ? errnoHooks : nil).map { .success($0) }
            } catch {
                compiled = compilable.map { _ in .failure(.backendUnavailable(.jit, reason: error.description)) }
            }
            var next = compiled.makeIterator()
            return plans.map { plan in
                if let refusal = refusal(plan) { return .failure(refusal) }
                return next.next()!
            }
        }
    }
}

/// The persistent stub cache as this process sees it (docs/fast-path.md#stubs-kept-across-processes):
/// where it is, or why there is none, and its stubs by plan. Binding uses it by itself;
/// this is for tools and measurement.
public enum PersistentStubs {
    /// The directory stubs are kept in, or nil when the cache is off or unusable.
    public static var directory: String? { try? JITRuntime.persistentCache.get().directory }

    /// Why there is no cache (`CALLSTUB_STUB_CACHE=off`, an unsafe directory, …), or nil.
    public static var unavailableReason: String? {
        if case .failure(let error) = JITRuntime.persistentCache { return error.description }
        return nil
    }

    /// The address of the stub for `plan` (`void stub(void *fn, void **args, void *result)`)
    /// from this process's loaded stubs or the cache directory, without libLLVM; nil when
    /// the shape was never compiled by a process using this cache (or cannot be kept).
    public static func stubAddress(for plan: CallPlan) -> UnsafeRawPointer? {
        guard case .success(let cache) = JITRuntime.persistentCache, plan.compilerDisagreement == nil,
            let entry = cache.stub(for: plan)
        else { return nil }
        return unsafeBitCast(entry, to: UnsafeRawPointer.self)
    }
}

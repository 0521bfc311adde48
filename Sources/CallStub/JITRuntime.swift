// The process's one JIT: created on first use, shared by every bound function. If LLVM
// cannot create it (no executable memory, no target), every binding falls back to libffi
// and says why.

import ABILowering
import FFIBackend
import Dispatch
import LLVMBackend

#if canImport(Glibc)
    import Glibc
#endif

enum JITRuntime {
    /// The shared stub compiler, or why there is none. `CALLSTUB_DISABLE_JIT` set in the
    /// environment turns the JIT off (as on a machine that forbids executable memory).
    static let shared: Result<StubCompiler, JITError> = {
        if getenv("CALLSTUB_DISABLE_JIT") != nil { return .failure(.llvm("disabled by CALLSTUB_DISABLE_JIT")) }
        do throws(JITError) {
            return .success(StubCompiler(session: try JITSession()))
        } catch {
            return .failure(error)
        }
    }()

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
        guard case .success(let compiler) = shared else { return }
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

    /// Stubs for many plans compiled as one module (one result per plan).
    static func stubs(for plans: [CallPlan], capturesErrno: Bool) -> [Result<StubEntry, CallStubError>] {
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

    /// A stub for `plan`, or the reason there is none.
    static func stub(for plan: CallPlan, capturesErrno: Bool) -> Result<StubEntry, CallStubError> {
        switch shared {
        case .failure(let error):
            return .failure(.backendUnavailable(.jit, reason: error.description))
        case .success(let compiler):
            if capturesErrno && errnoHooks == nil {
                return .failure(.backendUnavailable(.jit, reason: "__errno_location not found"))
            }
            if let refusal = refusal(plan) { return .failure(refusal) }
            do throws(JITError) {
                return .success(try compiler.stub(for: plan, errno: capturesErrno ? errnoHooks : nil))
            } catch {
                return .failure(.backendUnavailable(.jit, reason: error.description))
            }
        }
    }
}

// What the backends make of a signature, for `callstub plan --explain` and `callstub ir`:
// whether libffi can take it, whether the JIT is there and compiles it, and the stub's IR.

import ABILowering
import FFIBackend
import LLVMBackend

/// Why each backend can or cannot serve a signature.
public struct BackendExplanation: Sendable {
    /// `nil` when libffi can call the signature, else why not.
    public var libffiRefusal: String?
    /// `nil` when the JIT compiled a stub for it, else why not.
    public var jitRefusal: String?

    /// Asks both backends about `signature` (compiling its stub if the JIT is available).
    public init(for signature: ValidatedSignature) {
        do throws(FFIError) {
            _ = try FFICallInterface(signature)
        } catch {
            libffiRefusal = error.description
        }
        if case .failure(let error) = JITRuntime.stub(for: X86_64SysV.plan(signature), capturesErrno: false) {
            jitRefusal = error.description
        }
    }

    /// The lines `callstub plan --explain` prints.
    public var lines: [String] {
        var lines: [String] = []
        lines.append(libffiRefusal.map { "libffi: cannot call this: \($0)" } ?? "libffi: can call this")
        lines.append(jitRefusal.map { "JIT: unavailable (\($0.replacingPrefix("the jit backend is not available: ")))" } ?? "JIT: stub compiled")
        switch (libffiRefusal, jitRefusal) {
        case (nil, nil):
            lines.append("auto: libffi for the first calls, then the stub (adaptive tiering)")
        case (nil, .some):
            lines.append("auto: libffi, since the JIT cannot serve")
        case (.some, nil):
            lines.append("auto: the stub, compiled when bound, since libffi cannot serve")
        case (.some, .some):
            lines.append("auto: no backend can call this")
        }
        return lines
    }
}

/// The LLVM IR of the downcall stub for `plan` (shape-keyed unless `target` is given).
/// Throws `backendUnavailable(.jit, …)` when libLLVM cannot be loaded.
public func downcallStubIR(
    for plan: CallPlan, target: UInt? = nil, capturesErrno: Bool = false
) throws(CallStubError) -> String {
    do throws(JITError) {
        return try DowncallStub.ir(
            for: plan, name: target == nil ? "callstub_stub" : "callstub_bound_stub", target: target,
            errno: capturesErrno ? JITRuntime.errnoHooks : nil)
    } catch {
        throw .backendUnavailable(.jit, reason: error.description)
    }
}

/// The LLVM IR of the upcall thunk for a callback of `plan`'s signature: calling a typed
/// closure itself when `typed` and every argument and the result is a scalar or pointer
/// (as `Callback.typed` does), else calling a frame entry (dynamic callbacks, records).
/// The closure's function and context are read from the trampoline slot in `%r10` (the
/// `nest` parameter): one thunk serves every callback of the shape.
/// Throws `backendUnavailable(.jit, …)` when libLLVM cannot be loaded.
public func upcallThunkIR(for plan: CallPlan, typed: Bool) throws(CallStubError) -> String {
    let classes = plan.signature.arguments.map(\.valueClass) + [plan.signature.result.valueClass]
    let callsClosure = typed && !classes.contains { if case .record = $0 { return true } else { return false } }
    do throws(JITError) {
        return try UpcallThunk.ir(for: plan, target: callsClosure ? .indirectClosure : .frameEntry)
    } catch {
        throw .backendUnavailable(.jit, reason: error.description)
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}

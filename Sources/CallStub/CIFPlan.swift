// libffi call interfaces served by JIT stubs: the drop-in for libffi's call plans
// (`ffi_call_plan_alloc`/`_invoke`, libffi 3.7) and the C API's callstub_ffi_call_plan_*.
// A prepared `ffi_cif` is read back as C types (FFICIFReader), validated and lowered like
// any signature, and called through the stub of its lowered shape; what the JIT does not
// take is called with `ffi_call` on the same cif.

import ABILowering
import CTypeModel
import FFIBackend
import LLVMBackend

/// A prepared `ffi_cif` and the code that calls through it.
public final class CIFPlan: @unchecked Sendable {
    /// The function type the cif describes (structs as anonymous structs of their elements).
    public let type: CFunctionType
    /// The JIT stub of the cif's shape, or `nil` when `ffi_call` serves.
    public let stub: UnsafeRawPointer?
    /// Why the JIT does not serve, when it does not.
    public let fallbackReason: String?
    /// The bytes a result buffer must hold (at least 16).
    public let resultBufferSize: Int
    /// The cif, for `ffi_call`; the caller keeps it alive, as libffi's plans require.
    private let cif: UnsafeRawPointer

    /// Reads and plans `cif` (prepared by `ffi_prep_cif` or `ffi_prep_cif_var`; it must
    /// outlive the plan). Throws `invalidArgument` for a cif that cannot be read.
    public init(cif: UnsafeRawPointer) throws(CallStubError) {
        var type: CFunctionType
        do { type = try FFICIFReader.functionType(ofCIF: cif) } catch {
            throw .invalidArgument(position: "the cif", type: "ffi_cif", reason: error.description)
        }
        self.type = type
        self.cif = cif
        // libffi sets %al to the number of vector registers on every call (variadic callees
        // need it, the others ignore it): the plan is made as for a variadic function
        // whose arguments are all fixed, so that the stub does the same.
        type.isVariadic = true
        let signature: ValidatedSignature
        do { signature = try ValidatedSignature.validate(type) } catch {
            throw .invalidArgument(position: "the cif", type: "ffi_cif", reason: error.description)
        }
        resultBufferSize = max(16, signature.result.valueClass.size)
        switch JITRuntime.stub(for: X86_64SysV.plan(signature), capturesErrno: false) {
        case .success(let entry):
            stub = unsafeBitCast(entry, to: UnsafeRawPointer.self)
            fallbackReason = nil
        case .failure(let error):
            stub = nil
            fallbackReason = error.description
        }
    }

    /// The backend serving the plan's calls.
    public var backend: CallBackend { stub == nil ? .libffi : .jit }

    /// Calls `function` as `ffi_call(cif, function, result, arguments)` does: `arguments`
    /// in the avalue layout, integer results narrower than 8 bytes widened to 8 (ffi_arg).
    /// `result` may be `nil` when nothing reads it.
    public func invoke(
        function: UnsafeRawPointer, result: UnsafeMutableRawPointer?, arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) {
        guard let stub else {
            FFICIFReader.call(cif: cif, function: function, result: result, arguments: arguments)
            return
        }
        Self.call(stub, resultBufferSize: resultBufferSize, function: function, result: result, arguments: arguments)
    }

    /// Calls a stub of the shape as `ffi_call` would: with no argument array when there are
    /// no arguments, and a scratch result when nobody reads it.
    static func call(
        _ stub: UnsafeRawPointer, resultBufferSize: Int, function: UnsafeRawPointer, result: UnsafeMutableRawPointer?,
        arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) {
        let entry = unsafeBitCast(stub, to: StubEntry.self)
        let arguments = arguments ?? UnsafeMutablePointer(bitPattern: 8)!  // no arguments are read
        if let result {
            entry(function, arguments, result)
        } else {
            withUnsafeTemporaryAllocation(byteCount: resultBufferSize, alignment: 16) { entry(function, arguments, $0.baseAddress!) }
        }
    }
}

/// `ffi_call` itself served from JIT stubs (the C API's `callstub_ffi_call`, which also
/// remembers each cif by its address). A cif is identified by its content (`CIFPlanTable`),
/// never by its address alone (a cif on the stack is reused for other signatures); the
/// plan of each content is made once and kept.
public enum CIFCalls {
    /// What serves a cif's calls.
    public enum Route: @unchecked Sendable {
        /// The JIT stub of the cif's shape (libffi's avalue shape: `stub(fn, avalue, rvalue)`)
        /// and the bytes its result buffer must hold.
        case stub(UnsafeRawPointer, resultBufferSize: Int)
        /// `ffi_call` itself: the JIT does not take the shape.
        case ffiCall
    }

    /// The route of `cif`'s calls, planned on first sight of its content; `nil` when the
    /// cif cannot be identified (too many types) or read, and `ffi_call` must serve.
    public static func route(cif: UnsafeRawPointer) -> Route? {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: CIFFingerprint.capacity) { buffer -> Route? in
            guard let count = CIFFingerprint.write(cif, into: buffer.baseAddress!) else { return nil }
            let codes = UnsafeBufferPointer(start: buffer.baseAddress!, count: count)
            guard let found = CIFPlanTable.shared.plan(for: codes) ?? CIFPlanTable.shared.insert(codes, cif: cif) else { return nil }
            return found.stub.map { .stub($0, resultBufferSize: found.resultBufferSize) } ?? .ffiCall
        }
    }

    /// Throws `invalidArgument` when `ffi_call` would crash on `cif` (a NULL result or
    /// argument type, a struct without elements): the check before handing it a cif that
    /// could not be planned.
    public static func checkUsable(cif: UnsafeRawPointer) throws(CallStubError) {
        if let reason = FFICIFReader.unusableReason(ofCIF: cif) {
            throw .invalidArgument(position: "the cif", type: "ffi_cif", reason: reason)
        }
    }

    /// Calls as `ffi_call(cif, function, result, arguments)` does. A cif that cannot be
    /// planned goes to `ffi_call` itself, which is then responsible for it, unless
    /// `ffi_call` would crash on it (a NULL type, say): that throws `invalidArgument` and
    /// makes no call.
    public static func call(
        cif: UnsafeRawPointer, function: UnsafeRawPointer, result: UnsafeMutableRawPointer?,
        arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) throws(CallStubError) {
        guard case .stub(let stub, let resultBufferSize) = route(cif: cif) else {
            try checkUsable(cif: cif)
            FFICIFReader.call(cif: cif, function: function, result: result, arguments: arguments)
            return
        }
        CIFPlan.call(stub, resultBufferSize: resultBufferSize, function: function, result: result, arguments: arguments)
    }
}

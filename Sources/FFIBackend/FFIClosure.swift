// libffi closures: the fallback for callbacks the JIT cannot take (or with no JIT). A
// closure with a prepared call interface forwards to the same handler shape as JIT thunks,
// `void handler(void *context, void **args, void *result)`, and widens integer results
// narrower than 64 bits to a full `ffi_arg`, as libffi requires of closures.

internal import CFFI
import ABILowering
import CTypeModel

/// The handler every callback path calls.
public typealias CallbackHandler = @convention(c) (
    UnsafeRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer
) -> Void

/// What libffi's entry needs to reach the handler.
struct ClosureTarget {
    var handler: CallbackHandler
    var context: UnsafeRawPointer
    /// 0: none; 1: sign-extend, 2: zero-extend the result's low `width` bytes to 8.
    var widening: Int
    var width: Int
}

/// libffi's closure entry: unpacks the target and widens narrow integer results.
private let closureEntry: @convention(c) (
    UnsafeMutablePointer<ffi_cif>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    UnsafeMutableRawPointer?
) -> Void = { _, result, arguments, userData in
    let target = userData!.assumingMemoryBound(to: ClosureTarget.self).pointee
    target.handler(target.context, arguments!, result!)
    guard target.widening != 0, let result else { return }
    let bits: UInt64
    switch target.width {
    case 1: bits = target.widening == 1 ? UInt64(bitPattern: Int64(result.load(as: Int8.self))) : UInt64(result.load(as: UInt8.self))
    case 2: bits = target.widening == 1 ? UInt64(bitPattern: Int64(result.load(as: Int16.self))) : UInt64(result.load(as: UInt16.self))
    default: bits = target.widening == 1 ? UInt64(bitPattern: Int64(result.load(as: Int32.self))) : UInt64(result.load(as: UInt32.self))
    }
    result.storeBytes(of: bits, as: UInt64.self)
}

/// A libffi closure: executable code with a C signature that calls a handler.
public final class FFIClosure: @unchecked Sendable {
    private let interface: FFICallInterface
    private let closure: UnsafeMutablePointer<ffi_closure>
    private let target: UnsafeMutablePointer<ClosureTarget>
    /// The C function pointer.
    public let code: UnsafeRawPointer

    /// Prepares a closure for `signature` calling `handler(context, args, result)`.
    /// The corresponding C functions are `ffi_closure_alloc` and `ffi_prep_closure_loc`.
    public init(_ signature: ValidatedSignature, handler: CallbackHandler, context: UnsafeRawPointer) throws(FFIError) {
        interface = try FFICallInterface(signature, forClosure: true)
        var code: UnsafeMutableRawPointer?
        guard let raw = ffi_closure_alloc(MemoryLayout<ffi_closure>.size, &code), let code else {
            throw .preparationFailed(status: "ffi_closure_alloc failed")
        }
        closure = raw.assumingMemoryBound(to: ffi_closure.self)
        var widening = 0
        var width = 0
        if case .integer(let kind) = signature.result.valueClass, kind.size < 8 {
            widening = kind.isSigned ? 1 : 2
            width = kind.size
        }
        target = .allocate(capacity: 1)
        target.initialize(to: ClosureTarget(handler: handler, context: context, widening: widening, width: width))
        let status = ffi_prep_closure_loc(closure, interface.cif, closureEntry, target, code)
        guard status == FFI_OK else {
            ffi_closure_free(raw)
            target.deallocate()
            throw .preparationFailed(status: FFICallInterface.name(of: status))
        }
        self.code = UnsafeRawPointer(code)
    }

    deinit {
        ffi_closure_free(closure)
        target.deallocate()
    }
}

// The callable entry behind a bound function: one prepared call shape (a validated
// signature, for variadic functions one tail) with the backend that executes it. Every
// calling style ends here: typed calls with a frame on the stack, dynamic calls with a
// frame they fill from values, raw calls with the caller's own `avalue` array.

import ABILowering
import FFIBackend
import LLVMBackend

/// One prepared call shape of a bound function: opaque to users, it appears only in the
/// `CArgumentConvertible` requirement so that record arguments can check their type.
public final class CallTarget: Sendable {
    let signature: ValidatedSignature
    let function: CPointer
    let capturesErrno: Bool
    /// The x86-64 SysV lowering: what a stub implements.
    let plan: CallPlan
    /// libffi's prepared interface, or `nil` when libffi cannot take the signature.
    private let interface: FFICallInterface?
    /// The JIT stub, or `nil` when calls go through libffi.
    @usableFromInline let stub: StubEntry?
    /// The backend calls go through.
    let backend: CallBackend
    /// Why the preferred backend is not the one used (`nil` when it is).
    let fallbackReason: String?
    /// Where each argument sits in a dynamic call frame, and the frame's size.
    let argumentOffsets: [Int]
    let frameSize: Int
    /// Bytes a result buffer needs (at least 16: libffi stores whole registers).
    @usableFromInline let resultBufferSize: Int
    private let argumentCount: Int
    private let writesArgumentArray: Bool
    /// Where the argument-pointer array and the result buffer sit in a dynamic call's scratch space.
    private let argumentArrayOffset: Int
    private let resultOffset: Int
    private let scratchSize: Int
    private let argumentCoders: [FastCoder]
    private let resultCoder: FastCoder

    init(
        signature: ValidatedSignature, function: CPointer, capturesErrno: Bool, backend requested: BindingOptions.Backend,
        precompiled: Result<StubEntry, CallStubError>? = nil
    ) throws(CallStubError) {
        self.signature = signature
        self.function = function
        self.capturesErrno = capturesErrno
        plan = X86_64SysV.plan(signature)

        // libffi: prepared unless only the JIT was asked for.
        var ffi: FFICallInterface?
        var ffiRefusal: String?
        if requested != .jit {
            do throws(FFIError) {
                ffi = try FFICallInterface(signature)
            } catch {
                ffiRefusal = error.description
            }
        }
        // The JIT: a stub unless only libffi was asked for.
        var stub: StubEntry?
        var jitRefusal: String?
        if requested != .libffi {
            switch precompiled ?? JITRuntime.stub(for: plan, capturesErrno: capturesErrno) {
            case .success(let entry): stub = entry
            case .failure(let error): jitRefusal = error.description
            }
        }
        switch requested {
        case .libffi:
            guard ffi != nil else { throw .unsupportedSignature(backend: .libffi, reason: ffiRefusal ?? "") }
            backend = .libffi
            fallbackReason = nil
        case .jit:
            guard stub != nil else {
                throw .backendUnavailable(.jit, reason: jitRefusal ?? "")
            }
            backend = .jit
            fallbackReason = nil
        case .auto:
            if stub != nil {
                backend = .jit
                fallbackReason = nil
            } else if ffi != nil {
                backend = .libffi
                fallbackReason = jitRefusal
            } else {
                throw .unsupportedSignature(
                    backend: .libffi, reason: "\(ffiRefusal ?? ""); and \(jitRefusal ?? "the JIT is unavailable")")
            }
        }
        self.interface = ffi
        self.stub = backend == .jit ? stub : nil

        var offsets: [Int] = []
        var size = 0
        for slot in signature.arguments {
            size = (size + slot.valueClass.alignment - 1) / slot.valueClass.alignment * slot.valueClass.alignment
            offsets.append(size)
            size += slot.valueClass.size
        }
        argumentOffsets = offsets
        frameSize = max(size, 1)
        resultBufferSize = max(16, signature.result.valueClass.size)
        argumentCount = signature.arguments.count
        // Only libffi writes into the argument array (by-value structs over 16 bytes).
        writesArgumentArray = self.stub == nil && (ffi?.writesArgumentArray ?? false)
        argumentArrayOffset = (frameSize + 15) / 16 * 16
        resultOffset = argumentArrayOffset + (argumentCount * 8 + 15) / 16 * 16
        scratchSize = resultOffset + resultBufferSize
        argumentCoders = signature.arguments.map { FastCoder($0.valueClass) }
        resultCoder = FastCoder(signature.result.valueClass)
    }

    /// Calls the function. `arguments` has libffi's `avalue` layout and may be written to
    /// by libffi (see `FFICallInterface.writesArgumentArray`); `result` holds
    /// `resultBufferSize` bytes.
    @inlinable @inline(__always)
    func invoke(_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) {
        if let stub {
            stub(functionAddress, arguments, result)
        } else {
            invokeLibffi(arguments, result)
        }
    }

    @usableFromInline var functionAddress: UnsafeRawPointer { UnsafeRawPointer(bitPattern: function.address)! }

    @usableFromInline
    func invokeLibffi(_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) {
        interface!.call(functionAddress, arguments: arguments, result: result, capturingErrno: capturesErrno)
    }

    /// Calls with an argument array the caller may reuse: copied first when libffi would
    /// write into it.
    func invokePreservingArguments(
        _ arguments: UnsafePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer
    ) {
        let count = argumentCount
        if !writesArgumentArray {
            invoke(UnsafeMutablePointer(mutating: arguments), result)
            return
        }
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: max(1, count)) { copy in
            for index in 0..<count { copy[index] = arguments[index] }
            invoke(copy.baseAddress!, result)
        }
    }

    // MARK: - Dynamic calls

    /// Converts `values` into a frame, calls, and reads the result back as a value.
    func call(_ values: [CValue]) throws(CallStubError) -> CValue {
        // One scratch block on the stack: the frame, the argument array, the result. A
        // constant size keeps the allocation free; large frames take the general route.
        if scratchSize <= 512 {
            return try withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { (scratch) throws(CallStubError) -> CValue in
                try call(values, scratch: scratch.baseAddress!)
            }
        }
        return try withUnsafeTemporaryAllocation(byteCount: scratchSize, alignment: 16) { (scratch) throws(CallStubError) -> CValue in
            try call(values, scratch: scratch.baseAddress!)
        }
    }

    private func call(_ values: [CValue], scratch base: UnsafeMutableRawPointer) throws(CallStubError) -> CValue {
        var strings: StringArena?  // copies of .string arguments, made only when there are some
        let argumentArray = (base + argumentArrayOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        for index in values.indices {
            let destination = base + argumentOffsets[index]
            if !argumentCoders[index].store(values[index], at: destination) {
                try storeGeneral(values[index], index: index, at: destination, strings: &strings)
            }
            argumentArray[index] = destination
        }
        let result = base + resultOffset
        result.storeBytes(of: (0 as UInt64, 0 as UInt64), as: (UInt64, UInt64).self)
        invoke(argumentArray, result)
        withExtendedLifetime(strings) {}
        return resultCoder.load(from: result) ?? ValueCoding.load(signature.result.valueClass, from: result)
    }

    private func storeGeneral(
        _ value: CValue, index: Int, at destination: UnsafeMutableRawPointer, strings: inout StringArena?
    ) throws(CallStubError) {
        if case .string = value, strings == nil { strings = StringArena() }
        let slot = signature.arguments[index]
        do throws(ValueMismatch) {
            try ValueCoding.store(value, as: slot.valueClass, at: destination, strings: strings)
        } catch {
            let position = index < signature.fixedArgumentCount ? "argument \(index + 1)" : "variadic argument \(index + 1)"
            throw .invalidArgument(position: position, type: slot.declared.description, reason: error.reason)
        }
    }
}

/// The fast conversions of the dynamic path: the common pairs of value kind and C scalar,
/// with no allocation or reference counting. Anything else takes `ValueCoding`'s general path.
enum FastCoder {
    case signed(Int)
    case unsigned(Int)
    case float
    case double
    case pointer
    case general

    init(_ valueClass: CValueClass) {
        switch valueClass {
        case .integer(let kind) where kind.size <= 8 && kind != .bool:
            self = kind.isSigned ? .signed(kind.size) : .unsigned(kind.size)
        case .floating(.float): self = .float
        case .floating(.double): self = .double
        case .pointer: self = .pointer
        default: self = .general
        }
    }

    /// Stores the value if this is a fast pair and the value fits; `false` sends it to the
    /// general path (which also produces the error message).
    @inline(__always)
    func store(_ value: CValue, at destination: UnsafeMutableRawPointer) -> Bool {
        switch (self, value) {
        case (.double, .double(let number)):
            destination.storeBytes(of: number, as: Double.self)
        case (.double, .int(let number)):
            destination.storeBytes(of: Double(number), as: Double.self)
        case (.float, .float(let number)):
            destination.storeBytes(of: number, as: Float.self)
        case (.signed(let size), .int(let number)):
            switch size {
            case 8: destination.storeBytes(of: number, as: Int64.self)
            case 4:
                guard let narrow = Int32(exactly: number) else { return false }
                destination.storeBytes(of: narrow, as: Int32.self)
            case 2:
                guard let narrow = Int16(exactly: number) else { return false }
                destination.storeBytes(of: narrow, as: Int16.self)
            default:
                guard let narrow = Int8(exactly: number) else { return false }
                destination.storeBytes(of: narrow, as: Int8.self)
            }
        case (.unsigned(let size), .uint(let number)):
            switch size {
            case 8: destination.storeBytes(of: number, as: UInt64.self)
            case 4:
                guard let narrow = UInt32(exactly: number) else { return false }
                destination.storeBytes(of: narrow, as: UInt32.self)
            default: return false
            }
        case (.pointer, .pointer(let pointer)):
            destination.storeBytes(of: pointer.address, as: UInt.self)
        default:
            return false
        }
        return true
    }

    /// Reads a fast result kind, or `nil` for the general path.
    @inline(__always)
    func load(from source: UnsafeRawPointer) -> CValue? {
        switch self {
        case .double: return .double(source.load(as: Double.self))
        case .float: return .float(source.load(as: Float.self))
        case .signed(8): return .int(source.load(as: Int64.self))
        case .signed(4): return .int(Int64(source.load(as: Int32.self)))
        case .unsigned(8): return .uint(source.load(as: UInt64.self))
        case .unsigned(4): return .uint(UInt64(source.load(as: UInt32.self)))
        case .pointer: return .pointer(CPointer(address: source.load(as: UInt.self)))
        default: return nil
        }
    }
}

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

    init(
        signature: ValidatedSignature, function: CPointer, capturesErrno: Bool, backend requested: BindingOptions.Backend
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
            switch JITRuntime.stub(for: plan, capturesErrno: capturesErrno) {
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
        // Strings need copies that live until the call returns; most calls have none.
        let strings = values.contains { if case .string = $0 { return true } else { return false } } ? StringArena() : nil
        // One scratch block (on the stack when small): the frame, the argument array, the result.
        let outcome = withUnsafeTemporaryAllocation(byteCount: scratchSize, alignment: 16) { scratch -> Result<CValue, CallStubError> in
            let base = scratch.baseAddress!
            let argumentArray = (base + argumentArrayOffset).bindMemory(to: UnsafeMutableRawPointer?.self, capacity: max(1, argumentCount))
            for (index, value) in values.enumerated() {
                let slot = signature.arguments[index]
                let destination = base + argumentOffsets[index]
                do throws(ValueMismatch) {
                    try ValueCoding.store(value, as: slot.valueClass, at: destination, strings: strings)
                } catch {
                    let position = index < signature.fixedArgumentCount ? "argument \(index + 1)" : "variadic argument \(index + 1)"
                    return .failure(.invalidArgument(position: position, type: slot.declared.description, reason: error.reason))
                }
                argumentArray[index] = destination
            }
            let result = base + resultOffset
            result.initializeMemory(as: UInt8.self, repeating: 0, count: resultBufferSize)
            invoke(argumentArray, result)
            return .success(ValueCoding.load(signature.result.valueClass, from: result))
        }
        withExtendedLifetime(strings) {}
        return try outcome.get()
    }
}

// The callable entry behind a bound function: one prepared call shape (a validated
// signature, for variadic functions one tail) with the backend that executes it. Every
// calling style ends here: typed calls with a frame on the stack, dynamic calls with a
// frame they fill from values, raw calls with the caller's own `avalue` array.

import ABILowering
import FFIBackend

/// One prepared call shape of a bound function: opaque to users, it appears only in the
/// `CArgumentConvertible` requirement so that record arguments can check their type.
public final class CallTarget: Sendable {
    let signature: ValidatedSignature
    let function: CPointer
    let capturesErrno: Bool
    private let interface: FFICallInterface
    /// Where each argument sits in a dynamic call frame, and the frame's size.
    let argumentOffsets: [Int]
    let frameSize: Int
    /// Bytes a result buffer needs (at least 16: libffi stores whole registers).
    @usableFromInline let resultBufferSize: Int

    init(signature: ValidatedSignature, function: CPointer, capturesErrno: Bool) throws(CallStubError) {
        do { interface = try FFICallInterface(signature) } catch {
            switch error {
            case .unsupportedType(let position, let type, let reason):
                throw .unsupportedSignature(backend: .libffi, reason: "\(position) (\(type)): \(reason)")
            case .preparationFailed:
                throw .unsupportedSignature(backend: .libffi, reason: error.description)
            }
        }
        self.signature = signature
        self.function = function
        self.capturesErrno = capturesErrno
        var offsets: [Int] = []
        var size = 0
        for slot in signature.arguments {
            size = (size + slot.valueClass.alignment - 1) / slot.valueClass.alignment * slot.valueClass.alignment
            offsets.append(size)
            size += slot.valueClass.size
        }
        argumentOffsets = offsets
        frameSize = max(size, 1)
        resultBufferSize = interface.resultBufferSize
    }

    /// Calls the function. `arguments` has libffi's `avalue` layout and may be written to
    /// by libffi (see `FFICallInterface.writesArgumentArray`); `result` holds
    /// `resultBufferSize` bytes.
    @usableFromInline
    func invoke(_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) {
        interface.call(UnsafeRawPointer(function.raw!), arguments: arguments, result: result, capturingErrno: capturesErrno)
    }

    /// Calls with an argument array the caller may reuse: copied first when libffi would
    /// write into it.
    func invokePreservingArguments(
        _ arguments: UnsafePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer
    ) {
        let count = signature.arguments.count
        if !interface.writesArgumentArray {
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
    /// `positions` names each argument in errors.
    func call(_ values: [CValue], name: String) throws(CallStubError) -> CValue {
        let strings = StringArena()
        let count = signature.arguments.count
        let frame = UnsafeMutableRawPointer.allocate(byteCount: frameSize, alignment: 16)
        defer { frame.deallocate() }
        let argumentArray = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, count))
        defer { argumentArray.deallocate() }
        for (index, value) in values.enumerated() {
            let slot = signature.arguments[index]
            let destination = frame + argumentOffsets[index]
            do throws(ValueMismatch) {
                try ValueCoding.store(value, as: slot.valueClass, at: destination, strings: strings)
            } catch {
                let position = index < signature.fixedArgumentCount ? "argument \(index + 1)" : "variadic argument \(index + 1)"
                throw .invalidArgument(position: position, type: slot.declared.description, reason: error.reason)
            }
            argumentArray[index] = destination
        }
        let result = UnsafeMutableRawPointer.allocate(byteCount: resultBufferSize, alignment: 16)
        defer { result.deallocate() }
        result.initializeMemory(as: UInt8.self, repeating: 0, count: resultBufferSize)
        invoke(argumentArray, result)
        withExtendedLifetime(strings) {}
        return ValueCoding.load(signature.result.valueClass, from: result)
    }
}

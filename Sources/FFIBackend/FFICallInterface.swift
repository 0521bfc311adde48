// The libffi backend: a prepared call interface (`ffi_cif`) per validated signature, and
// `ffi_call` through it, optionally capturing errno in the same C frame.

internal import CFFI
import ABILowering
import CTypeModel

/// Errors from the libffi backend.
public enum FFIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A type this backend cannot pass; `position` names the argument or the result.
    case unsupportedType(position: String, type: String, reason: String)
    /// `ffi_prep_cif` refused the signature; the status is libffi's.
    case preparationFailed(status: String)

    public var description: String {
        switch self {
        case .unsupportedType(let position, let type, let reason): return "\(position) (\(type)): \(reason)"
        case .preparationFailed(let status): return "ffi_prep_cif failed: \(status)"
        }
    }
}

/// A prepared libffi call interface for one validated signature (for a variadic function,
/// one call shape). It owns the `ffi_cif`, the argument-type array and the type tree that
/// libffi keeps pointers into, for as long as it lives.
public final class FFICallInterface: @unchecked Sendable {
    // Immutable after init; libffi only reads a prepared cif, so concurrent calls are safe.
    let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    private let tree: FFITypeTree
    public let signature: ValidatedSignature
    /// Whether `ffi_call` writes into the `avalue` array: libffi 3.4.4 stores the address
    /// of its own copy of every by-value struct larger than 16 bytes there. Callers that
    /// reuse an argument array must pass a fresh copy when this is set.
    public let writesArgumentArray: Bool
    /// The prepared `ffi_cif` (as `FFICIFReader` reads one).
    public var preparedCIF: UnsafeRawPointer { UnsafeRawPointer(cif) }

    /// Prepares the interface. The corresponding C functions are `ffi_prep_cif` and
    /// `ffi_prep_cif_var`. A closure's interface (`forClosure`) describes the arguments
    /// as they are: the workaround of `argumentsToSplit` is for `ffi_call` only.
    public init(_ signature: ValidatedSignature, forClosure: Bool = false) throws(FFIError) {
        let tree = FFITypeTree()
        if case .record(let record) = signature.result.valueClass, FFITypeTree.isX87Record(record) {
            // psABI §3.2.3: a record of class X87, X87UP is returned in %st0; libffi
            // 3.4.4 returns it through memory instead, which reads garbage.
            throw .unsupportedType(
                position: "result", type: signature.result.declared.description,
                reason: "libffi returns a record holding one long double in memory; the psABI returns it in %st0")
        }
        let resultType = try tree.type(
            for: signature.result.valueClass, position: "result", declared: signature.result.declared)
        var types: [UnsafeMutablePointer<ffi_type>] = []
        var writes = false
        var sources: [(argument: Int, offset: Int)] = []
        let split = forClosure ? [:] : Self.argumentsToSplit(signature)
        var fixedCount = signature.fixedArgumentCount
        for (index, slot) in signature.arguments.enumerated() {
            let position = index < signature.fixedArgumentCount ? "argument \(index + 1)" : "variadic argument \(index + 1)"
            // What libffi cannot pass is refused first, split or not.
            let type = try tree.type(for: slot.valueClass, position: position, declared: slot.declared)
            if let pieces = split[index] {
                // Passed as its register pieces, one scalar per eightbyte (see argumentsToSplit).
                for piece in pieces {
                    types.append(Self.scalarType(of: piece.kind))
                    sources.append((index, piece.offset))
                }
                if index < signature.fixedArgumentCount { fixedCount += pieces.count - 1 }
                continue
            }
            types.append(type)
            sources.append((index, 0))
            if case .record = slot.valueClass, slot.valueClass.size > 16 { writes = true }
        }
        let argumentTypes = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: max(1, types.count))
        for (index, type) in types.enumerated() { argumentTypes[index] = type }
        let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
        let status: ffi_status
        if signature.isVariadic {
            status = ffi_prep_cif_var(
                cif, FFI_DEFAULT_ABI, UInt32(fixedCount), UInt32(types.count), resultType, argumentTypes)
        } else {
            status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(types.count), resultType, argumentTypes)
        }
        guard status == FFI_OK else {
            cif.deallocate()
            argumentTypes.deallocate()
            throw .preparationFailed(status: Self.name(of: status))
        }
        self.cif = cif
        self.argumentTypes = argumentTypes
        self.tree = tree
        self.signature = signature
        self.writesArgumentArray = writes
        self.argumentSources = split.isEmpty ? nil : sources
    }

    /// Where each libffi argument comes from when some C arguments are split into pieces:
    /// (C argument, byte offset in it). nil when libffi's arguments are the C arguments.
    private let argumentSources: [(argument: Int, offset: Int)]?

    /// Record arguments libffi 3.4.4 passes wrongly, with the pieces to pass instead.
    ///
    /// libffi before 3.4.7 copies a by-value struct's first INTEGER eightbyte into the
    /// register save area with the struct's whole size (ffi64.c, `memcpy(&gpr[n], a,
    /// size)`; fixed by libffi pull request #848). When that eightbyte lands in the sixth
    /// integer register (%r9), the copy runs over into the slot of %xmm0, and an earlier
    /// argument passed there is replaced. Such a record goes entirely in registers, so
    /// passing its eightbytes as separate scalars loads exactly the same registers.
    static func argumentsToSplit(_ signature: ValidatedSignature) -> [Int: [Piece]] {
        let plan = X86_64SysV.plan(signature)
        var split: [Int: [Piece]] = [:]
        for (index, argument) in plan.arguments.enumerated() {
            guard case .record = signature.arguments[index].valueClass, signature.arguments[index].valueClass.size > 8,
                case .direct(let pieces) = argument.lowering, pieces.count > 1,
                case .gpr(5, false) = pieces[0].location
            else { continue }
            split[index] = pieces
        }
        return split
    }

    /// The libffi scalar type that loads a piece's register the way the psABI does.
    static func scalarType(of kind: PieceKind) -> UnsafeMutablePointer<ffi_type> {
        switch kind {
        case .float: return CFFI_type_float()
        // Two floats in one XMM register: the same 8 bytes as a double.
        case .double, .floatPair: return CFFI_type_double()
        case .integer(let bytes) where bytes <= 1: return CFFI_type_uint8()
        case .integer(let bytes) where bytes <= 2: return CFFI_type_uint16()
        case .integer(let bytes) where bytes <= 4: return CFFI_type_uint32()
        case .integer, .pointer, .int128, .x87: return CFFI_type_uint64()
        }
    }

    deinit {
        cif.deallocate()
        argumentTypes.deallocate()
    }

    /// The number of bytes a result buffer needs: the result's size, at least 16 (libffi
    /// widens integer results to a full `ffi_arg` and stores register pairs whole).
    public var resultBufferSize: Int { max(16, signature.result.valueClass.size) }

    /// Calls `function` with libffi's `avalue` layout: `arguments[i]` points at the i-th
    /// argument's value; `result` holds `resultBufferSize` bytes. With `capturingErrno`,
    /// errno is cleared before the call and saved right after it, in C, for
    /// `FFICallInterface.capturedErrno`. The corresponding C function is `ffi_call`.
    public func call(
        _ function: UnsafeRawPointer, arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
        result: UnsafeMutableRawPointer, capturingErrno: Bool = false
    ) {
        let entry = unsafeBitCast(function, to: (@convention(c) () -> Void).self)
        guard let argumentSources else {
            if capturingErrno {
                CFFI_call_capturing_errno(cif, entry, result, arguments)
            } else {
                ffi_call(cif, entry, result, arguments)
            }
            return
        }
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: argumentSources.count) { expanded in
            for (index, source) in argumentSources.enumerated() {
                expanded[index] = arguments[source.argument].map { $0 + source.offset }
            }
            if capturingErrno {
                CFFI_call_capturing_errno(cif, entry, result, expanded.baseAddress!)
            } else {
                ffi_call(cif, entry, result, expanded.baseAddress!)
            }
        }
    }

    /// The errno saved by the last capturing call on the calling thread.
    public static var capturedErrno: Int32 { CFFI_captured_errno() }

    /// The address of `void save(int)`, which stores a thread's captured errno: JIT stubs
    /// call it right after their call so that both backends report through one slot.
    public static var errnoSaverAddress: UInt {
        let save: @convention(c) (Int32) -> Void = CFFI_save_errno
        return UInt(bitPattern: unsafeBitCast(save, to: UnsafeRawPointer.self))
    }

    static func name(of status: ffi_status) -> String {
        switch status {
        case FFI_BAD_TYPEDEF: return "FFI_BAD_TYPEDEF"
        case FFI_BAD_ABI: return "FFI_BAD_ABI"
        case FFI_BAD_ARGTYPE: return "FFI_BAD_ARGTYPE"
        default: return "status \(status.rawValue)"
        }
    }
}

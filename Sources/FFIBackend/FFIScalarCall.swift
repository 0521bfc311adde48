// The libffi backend's first piece: a prepared call interface (`ffi_cif`) for functions
// whose parameters and result are C scalars, and `ffi_call` through it. Records,
// variadic tails and closures arrive with the slow-path issue.

internal import CFFI
import CTypeModel

/// Errors from the libffi backend.
public enum FFIError: Error, Equatable, CustomStringConvertible {
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

/// A prepared libffi call interface for a scalar-only signature. It owns the `ffi_cif`
/// and the argument-type array libffi keeps pointers into, for as long as it lives.
public final class FFIScalarInterface: @unchecked Sendable {
    // Immutable after init; libffi only reads a prepared cif, so concurrent calls are safe.
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    /// Number of fixed arguments.
    public let argumentCount: Int

    /// Prepares the interface. The corresponding C function is `ffi_prep_cif`.
    public init(result: CType, arguments: [CType]) throws(FFIError) {
        let resultType = try Self.ffiType(for: result, position: "result", allowVoid: true)
        var types: [UnsafeMutablePointer<ffi_type>] = []
        for (index, argument) in arguments.enumerated() {
            types.append(try Self.ffiType(for: argument, position: "argument \(index + 1)", allowVoid: false))
        }
        argumentCount = arguments.count
        argumentTypes = .allocate(capacity: max(1, types.count))
        for (index, type) in types.enumerated() { argumentTypes[index] = type }
        cif = .allocate(capacity: 1)
        let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(types.count), resultType, argumentTypes)
        guard status == FFI_OK else {
            cif.deallocate()
            argumentTypes.deallocate()
            throw .preparationFailed(status: Self.name(of: status))
        }
    }

    deinit {
        cif.deallocate()
        argumentTypes.deallocate()
    }

    /// Calls `function` with libffi's `avalue` layout: `arguments[i]` points at the i-th
    /// argument's value; `result` must hold at least 8 bytes (libffi widens small results).
    /// The corresponding C function is `ffi_call`.
    public func call(
        _ function: UnsafeRawPointer, arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
        result: UnsafeMutableRawPointer
    ) {
        let entry = unsafeBitCast(function, to: (@convention(c) () -> Void).self)
        ffi_call(cif, entry, result, arguments)
    }

    // MARK: - ffi_type for scalars

    private static func ffiType(for type: CType, position: String, allowVoid: Bool) throws(FFIError) -> UnsafeMutablePointer<ffi_type> {
        switch type.resolved {
        case .void where allowVoid:
            return CFFI_type_void()
        case .integer(let kind):
            switch (kind.size, kind.isSigned) {
            case (1, true): return CFFI_type_sint8()
            case (1, false): return CFFI_type_uint8()
            case (2, true): return CFFI_type_sint16()
            case (2, false): return CFFI_type_uint16()
            case (4, true): return CFFI_type_sint32()
            case (4, false): return CFFI_type_uint32()
            case (8, true): return CFFI_type_sint64()
            case (8, false): return CFFI_type_uint64()
            default:
                throw .unsupportedType(position: position, type: type.description, reason: "libffi has no 128-bit integer type")
            }
        case .enumeration(let enumeration):
            guard let underlying = enumeration.definition?.underlying else {
                throw .unsupportedType(position: position, type: type.description, reason: "incomplete enum")
            }
            return try ffiType(for: .integer(underlying), position: position, allowVoid: false)
        case .floating(.float): return CFFI_type_float()
        case .floating(.double): return CFFI_type_double()
        case .floating(.longDouble): return CFFI_type_longdouble()
        case .pointer: return CFFI_type_pointer()
        default:
            throw .unsupportedType(position: position, type: type.description, reason: "not a scalar type (not yet supported by this backend)")
        }
    }

    private static func name(of status: ffi_status) -> String {
        switch status {
        case FFI_BAD_TYPEDEF: return "FFI_BAD_TYPEDEF"
        case FFI_BAD_ABI: return "FFI_BAD_ABI"
        case FFI_BAD_ARGTYPE: return "FFI_BAD_ARGTYPE"
        default: return "status \(status.rawValue)"
        }
    }
}

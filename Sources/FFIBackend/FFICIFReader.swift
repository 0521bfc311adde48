// libffi call interfaces read back as C types: what a prepared `ffi_cif` describes, for
// the libffi drop-in (serving a cif from a JIT stub) and for checking a cif against a
// library's DWARF. A struct `ffi_type` becomes an anonymous struct whose members are its
// elements, laid out naturally (as libffi lays it out); every value read is checked.

internal import CFFI
import CTypeModel

/// Reads `ffi_cif`s and `ffi_type` trees.
public enum FFICIFReader {
    /// The deepest struct nesting read (a cycle in a damaged tree ends here).
    static let maximumDepth = 64

    /// The function type a prepared `ffi_cif` describes. Parameters are unnamed; structs
    /// are anonymous (`struct <anonymous>`). `cif` must point at an `ffi_cif` that
    /// `ffi_prep_cif` (or `ffi_prep_cif_var`) prepared.
    public static func functionType(ofCIF cif: UnsafeRawPointer) throws(FFIError) -> CFunctionType {
        let interface = cif.assumingMemoryBound(to: ffi_cif.self).pointee
        guard interface.abi == FFI_DEFAULT_ABI else {
            throw .unsupportedType(position: "the cif", type: "abi \(interface.abi.rawValue)", reason: "only FFI_DEFAULT_ABI (unix64) is served")
        }
        let count = Int(interface.nargs)
        guard count <= 1 << 16 else {
            throw .unsupportedType(position: "the cif", type: "nargs \(count)", reason: "implausibly many arguments")
        }
        var parameters: [CParameter] = []
        if count > 0 {
            guard let types = interface.arg_types else {
                throw .unsupportedType(position: "the cif", type: "arg_types NULL", reason: "\(count) arguments but no argument types")
            }
            for index in 0..<count {
                parameters.append(CParameter(type: try type(types[index], position: "argument \(index + 1)")))
            }
        }
        let result = try type(interface.rtype, position: "the result")
        return CFunctionType(result: result, parameters: parameters)
    }

    /// The C type of an `ffi_type`.
    static func type(_ pointer: UnsafeMutablePointer<ffi_type>?, position: String, depth: Int = 0) throws(FFIError) -> CQualType {
        guard let pointer else { throw .unsupportedType(position: position, type: "NULL", reason: "the ffi_type pointer is NULL") }
        guard depth < maximumDepth else {
            throw .unsupportedType(position: position, type: "struct", reason: "structs nested more than \(maximumDepth) deep")
        }
        let described = pointer.pointee
        switch Int32(described.type) {
        case FFI_TYPE_VOID: return CQualType(.void)
        case FFI_TYPE_INT, FFI_TYPE_SINT32: return CQualType(.integer(.int))
        case FFI_TYPE_UINT32: return CQualType(.integer(.unsignedInt))
        case FFI_TYPE_FLOAT: return CQualType(.floating(.float))
        case FFI_TYPE_DOUBLE: return CQualType(.floating(.double))
        case FFI_TYPE_LONGDOUBLE: return CQualType(.floating(.longDouble))
        case FFI_TYPE_UINT8: return CQualType(.integer(.unsignedChar))
        case FFI_TYPE_SINT8: return CQualType(.integer(.signedChar))
        case FFI_TYPE_UINT16: return CQualType(.integer(.unsignedShort))
        case FFI_TYPE_SINT16: return CQualType(.integer(.short))
        case FFI_TYPE_UINT64: return CQualType(.integer(.unsignedLong))
        case FFI_TYPE_SINT64: return CQualType(.integer(.long))
        case FFI_TYPE_POINTER: return CQualType(.pointer(to: .void))
        case FFI_TYPE_COMPLEX:
            let element = try elements(of: described, position: position).first
            guard let element, case .floating(let kind) = try type(element, position: position, depth: depth + 1).type else {
                throw .unsupportedType(position: position, type: "complex", reason: "a complex ffi_type whose element is not a floating type")
            }
            return CQualType(.complex(kind))
        case FFI_TYPE_STRUCT:
            var fields: [CField] = []
            for (index, element) in try elements(of: described, position: position).enumerated() {
                fields.append(CField(name: "e\(index)", type: try type(element, position: "\(position), element \(index)", depth: depth + 1)))
            }
            guard !fields.isEmpty else {
                throw .unsupportedType(position: position, type: "struct", reason: "a struct ffi_type without elements")
            }
            let record: CRecord
            do { record = try CRecord(kind: .struct, tag: nil, fields: fields) } catch {
                throw .unsupportedType(position: position, type: "struct", reason: "\(error)")
            }
            // A prepared cif has filled in size and alignment: they must be the natural layout's.
            if described.size != 0, described.size != record.size ?? 0 || Int(described.alignment) != record.alignment ?? 0 {
                throw .unsupportedType(
                    position: position, type: "struct",
                    reason: "size \(described.size) and alignment \(described.alignment) differ from its elements' natural layout (\(record.size ?? 0), \(record.alignment ?? 0))")
            }
            return CQualType(.record(record))
        default:
            throw .unsupportedType(position: position, type: "type code \(described.type)", reason: "not an ffi_type this libffi defines")
        }
    }

    /// The NULL-terminated `elements` array of a struct or complex `ffi_type`.
    private static func elements(of described: ffi_type, position: String) throws(FFIError) -> [UnsafeMutablePointer<ffi_type>] {
        guard let elements = described.elements else {
            throw .unsupportedType(position: position, type: "struct", reason: "the elements array is NULL")
        }
        var result: [UnsafeMutablePointer<ffi_type>] = []
        while let element = elements[result.count] {
            result.append(element)
            guard result.count <= FFITypeTree.maximumElementCount else {
                throw .unsupportedType(position: position, type: "struct", reason: "more than \(FFITypeTree.maximumElementCount) elements")
            }
        }
        return result
    }
}

extension FFICIFReader {
    /// Why `ffi_call` would crash on `cif`, if it would: a NULL result type, argument types
    /// array or argument type, or a struct or complex type with a NULL elements array or
    /// element (followed 64 deep, up to `FFITypeTree.maximumElementCount` elements each).
    /// Anything else is left to `ffi_call` (other ABIs included).
    public static func unusableReason(ofCIF cif: UnsafeRawPointer) -> String? {
        let interface = cif.assumingMemoryBound(to: ffi_cif.self).pointee
        func check(_ pointer: UnsafeMutablePointer<ffi_type>?, _ position: String, depth: Int) -> String? {
            guard let pointer else { return "\(position): the ffi_type pointer is NULL" }
            guard depth < maximumDepth else { return "\(position): structs nested more than \(maximumDepth) deep" }
            let code = Int32(pointer.pointee.type)
            guard code == FFI_TYPE_STRUCT || code == FFI_TYPE_COMPLEX else { return nil }
            guard let elements = pointer.pointee.elements else { return "\(position): the elements array is NULL" }
            var index = 0
            while let element = elements[index] {
                if let reason = check(element, "\(position), element \(index)", depth: depth + 1) { return reason }
                index += 1
                if index > FFITypeTree.maximumElementCount { return "\(position): more than \(FFITypeTree.maximumElementCount) elements" }
            }
            return nil
        }
        if let reason = check(interface.rtype, "the result", depth: 0) { return reason }
        let count = Int(interface.nargs)
        guard count > 0 else { return nil }
        guard count <= 1 << 16 else { return "nargs \(count): implausibly many arguments" }
        guard let types = interface.arg_types else { return "\(count) arguments but arg_types is NULL" }
        for index in 0..<count {
            if let reason = check(types[index], "argument \(index + 1)", depth: 0) { return reason }
        }
        return nil
    }

    /// `ffi_call` on a cif prepared elsewhere (the drop-in's fallback). The corresponding
    /// C function is `ffi_call`.
    public static func call(
        cif: UnsafeRawPointer, function: UnsafeRawPointer, result: UnsafeMutableRawPointer?,
        arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) {
        ffi_call(
            UnsafeMutablePointer(mutating: cif.assumingMemoryBound(to: ffi_cif.self)),
            unsafeBitCast(function, to: (@convention(c) () -> Void).self), result, arguments)
    }
}

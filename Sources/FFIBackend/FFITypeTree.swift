// `ffi_type` trees built from validated value classes (never from an ABI plan, so that
// libffi stays an independent oracle for the JIT). libffi lays a struct out naturally
// from its elements; every record is checked against CTypeModel's layout and refused
// when libffi would see a different one.

internal import CFFI
import ABILowering
import CTypeModel

/// Owns the `ffi_type` structs and element arrays of one call interface.
final class FFITypeTree {
    private var ownedTypes: [UnsafeMutablePointer<ffi_type>] = []
    private var ownedElementArrays: [UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>] = []
    private var records: [ObjectIdentifier: UnsafeMutablePointer<ffi_type>] = [:]

    /// The largest number of elements one record may have (arrays are spelled out).
    static let maximumElementCount = 1 << 16

    deinit {
        for type in ownedTypes { type.deallocate() }
        for elements in ownedElementArrays { elements.deallocate() }
    }

    /// The `ffi_type` of a value class; `position` and `declared` name it in errors.
    func type(
        for valueClass: CValueClass, position: String, declared: CQualType
    ) throws(FFIError) -> UnsafeMutablePointer<ffi_type> {
        func refuse(_ reason: String) -> FFIError {
            .unsupportedType(position: position, type: declared.description, reason: reason)
        }
        switch valueClass {
        case .void: return CFFI_type_void()
        case .integer(let kind):
            guard let type = Self.integerType(kind) else { throw refuse("libffi has no 128-bit integer type") }
            return type
        case .floating(.float): return CFFI_type_float()
        case .floating(.double): return CFFI_type_double()
        case .floating(.longDouble): return CFFI_type_longdouble()
        case .complex(.float): return CFFI_type_complex_float()
        case .complex(.double): return CFFI_type_complex_double()
        case .complex(.longDouble): return CFFI_type_complex_longdouble()
        case .floating(let kind), .complex(let kind): throw refuse("libffi has no \(kind.spelling) type")
        case .pointer: return CFFI_type_pointer()
        case .record(let record):
            do throws(RecordRefusal) {
                return try recordType(record)
            } catch {
                throw refuse(error.reason)
            }
        }
    }

    private static func integerType(_ kind: CIntegerKind) -> UnsafeMutablePointer<ffi_type>? {
        switch (kind.size, kind.isSigned) {
        case (1, true): return CFFI_type_sint8()
        case (1, false): return CFFI_type_uint8()
        case (2, true): return CFFI_type_sint16()
        case (2, false): return CFFI_type_uint16()
        case (4, true): return CFFI_type_sint32()
        case (4, false): return CFFI_type_uint32()
        case (8, true): return CFFI_type_sint64()
        case (8, false): return CFFI_type_uint64()
        default: return nil
        }
    }

    // MARK: - Records

    /// Whether a record's only data is one `long double` (its eightbytes classify as X87,
    /// X87UP), possibly nested or in a one-element array.
    static func isX87Record(_ record: CRecord) -> Bool {
        guard let definition = record.definition, definition.layout.size == 16 else { return false }
        func scalars(of type: CQualType) -> [CType] {
            switch type.resolved.type {
            case .array(let element, let count): return (0..<(count ?? 0)).flatMap { _ in scalars(of: element) }
            case .record(let inner):
                return inner.definition?.fields.flatMap { $0.isBitField ? [CType.int] : scalars(of: $0.type) } ?? []
            case let other: return [other]
            }
        }
        return scalars(of: CQualType(.record(record))) == [.longDouble]
    }

    struct RecordRefusal: Error {
        var reason: String
    }

    /// One element of a struct as libffi will see it, and where CTypeModel puts it.
    private struct Element {
        var type: UnsafeMutablePointer<ffi_type>
        var offset: Int
    }

    private func recordType(_ record: CRecord) throws(RecordRefusal) -> UnsafeMutablePointer<ffi_type> {
        if let known = records[ObjectIdentifier(record)] { return known }
        guard let definition = record.definition else { throw RecordRefusal(reason: "incomplete type \(record)") }
        if record.kind == .union {
            throw RecordRefusal(reason: "libffi cannot pass unions by value (libffi issue #33)")
        }
        // A record gcc and clang pass differently (a small one ending in a flexible array
        // member: libffi, which has no such member, takes gcc's side while the plan takes
        // clang's) is refused, as the JIT refuses it, so that the backends agree.
        if let reason = X86_64SysV.classificationDisagreement(.record(record)) {
            throw RecordRefusal(reason: "gcc and clang pass it differently: it \(reason)")
        }
        var elements: [Element] = []
        for (field, member) in zip(definition.fields, definition.layout.members) {
            let name = field.name ?? "(unnamed)"
            if field.isBitField {
                throw RecordRefusal(
                    reason: "member \(name) is a bit-field; libffi cannot pass bit-fields by value (libffi issue #33)")
            }
            do throws(RecordRefusal) {
                try appendElements(of: field.type, at: member.offsetInBytes, to: &elements)
            } catch {
                throw RecordRefusal(reason: "member \(name): \(error.reason)")
            }
            if elements.count > Self.maximumElementCount {
                throw RecordRefusal(reason: "more than \(Self.maximumElementCount) scalar elements for libffi")
            }
        }
        if elements.isEmpty { throw RecordRefusal(reason: "libffi cannot pass a record with no members") }

        let elementArray = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: elements.count + 1)
        ownedElementArrays.append(elementArray)
        for (index, element) in elements.enumerated() { elementArray[index] = element.type }
        elementArray[elements.count] = nil
        let type = UnsafeMutablePointer<ffi_type>.allocate(capacity: 1)
        ownedTypes.append(type)
        type.initialize(to: ffi_type(size: 0, alignment: 0, type: UInt16(FFI_TYPE_STRUCT), elements: elementArray))

        // libffi computes the natural layout of the elements; it must be CTypeModel's.
        var offsets = [Int](repeating: 0, count: elements.count)
        let status = ffi_get_struct_offsets(FFI_DEFAULT_ABI, type, &offsets)
        guard status == FFI_OK else {
            throw RecordRefusal(reason: "libffi refused the record (\(FFICallInterface.name(of: status)))")
        }
        let layout = definition.layout
        for (index, element) in elements.enumerated() where offsets[index] != element.offset {
            throw RecordRefusal(
                reason: "libffi would place byte \(element.offset) at \(offsets[index]); "
                    + "packed or over-aligned records are beyond libffi's natural layout")
        }
        if type.pointee.size != layout.size || Int(type.pointee.alignment) != layout.alignment {
            throw RecordRefusal(
                reason: "libffi computes size \(type.pointee.size), alignment \(type.pointee.alignment); "
                    + "the record has size \(layout.size), alignment \(layout.alignment)")
        }
        records[ObjectIdentifier(record)] = type
        return type
    }

    /// The elements of one member: a scalar, a nested record, or an array spelled out
    /// element by element (libffi has no array type).
    private func appendElements(of type: CQualType, at offset: Int, to elements: inout [Element]) throws(RecordRefusal) {
        let resolved = type.resolved
        switch resolved.type {
        case .array(let element, let count):
            guard let count, count > 0 else { return }  // flexible and zero-length arrays take no bytes
            let stride: Int
            do { stride = try element.layout().size } catch { throw RecordRefusal(reason: error.description) }
            if count > Self.maximumElementCount {
                throw RecordRefusal(reason: "more than \(Self.maximumElementCount) scalar elements for libffi")
            }
            for index in 0..<count {
                try appendElements(of: element, at: offset + index * stride, to: &elements)
                if elements.count > Self.maximumElementCount {
                    throw RecordRefusal(reason: "more than \(Self.maximumElementCount) scalar elements for libffi")
                }
            }
        case .record(let record):
            elements.append(Element(type: try recordType(record), offset: offset))
        case .integer(let kind):
            guard let type = Self.integerType(kind) else { throw RecordRefusal(reason: "libffi has no 128-bit integer type") }
            elements.append(Element(type: type, offset: offset))
        case .enumeration(let enumeration):
            guard let kind = enumeration.definition?.underlying, let type = Self.integerType(kind) else {
                throw RecordRefusal(reason: "enum has no libffi integer type")
            }
            elements.append(Element(type: type, offset: offset))
        case .floating(.float): elements.append(Element(type: CFFI_type_float(), offset: offset))
        case .floating(.double): elements.append(Element(type: CFFI_type_double(), offset: offset))
        case .floating(.longDouble): elements.append(Element(type: CFFI_type_longdouble(), offset: offset))
        case .complex(.float): elements.append(Element(type: CFFI_type_complex_float(), offset: offset))
        case .complex(.double): elements.append(Element(type: CFFI_type_complex_double(), offset: offset))
        case .complex(.longDouble): elements.append(Element(type: CFFI_type_complex_longdouble(), offset: offset))
        case .floating(let kind), .complex(let kind): throw RecordRefusal(reason: "libffi has no \(kind.spelling) type")
        case .pointer: elements.append(Element(type: CFFI_type_pointer(), offset: offset))
        case .void, .function, .typedef:
            throw RecordRefusal(reason: "not an object type")
        }
    }
}

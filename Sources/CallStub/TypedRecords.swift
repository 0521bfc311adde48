// Records in typed calls without allocation: a Swift struct of plain stored properties
// stands for a C struct when its layout is checked, once, against the C record's (each
// member's offset, size and value class, the whole size and alignment). Its bytes are
// then passed and returned as they are, like a scalar's: no heap allocation and no
// reference counting per call, unlike `CRecordValue` (which owns a byte array).
//
//     struct DD: CRecordConvertible { var a: Double; var b: Double
//         static var cRecordFields: [CRecordField] { [.init(\DD.a), .init(\DD.b)] } }
//     let dd2 = try function.typed((DD, DD).self, returning: DD.self)

import CTypeModel

/// One stored property of a `CRecordConvertible` struct, matched with the C member in the
/// same position.
public struct CRecordField {
    let offset: Int?
    let size: Int
    let alignment: Int
    let type: Any.Type

    /// The stored property at `keyPath` (a computed one is refused when checked).
    public init<Root, Value: BitwiseCopyable>(_ keyPath: KeyPath<Root, Value>) {
        offset = MemoryLayout<Root>.offset(of: keyPath)
        size = MemoryLayout<Value>.size
        alignment = MemoryLayout<Value>.alignment
        type = Value.self
    }
}

/// A Swift struct that stands for a C struct by value in typed calls: its stored
/// properties, listed in `cRecordFields` in the C members' order, must have the C
/// members' offsets, sizes and kinds (integers of the same size and signedness, the same
/// floating type, pointers for pointers, a `CRecordConvertible` struct for a nested
/// record). Checked when the typed handle is made; a mismatch is a `typeMismatch` error
/// naming the member. Bit-fields, arrays and unions are not matched: use `CRecordValue`.
public protocol CRecordConvertible: CArgumentConvertible, CResultConvertible, BitwiseCopyable {
    /// The stored properties, in the order of the C record's members.
    static var cRecordFields: [CRecordField] { get }
}

extension CRecordConvertible {
    public static func cArgumentMismatch(for valueClass: CValueClass) -> String? {
        guard case .record(let record) = valueClass else { return "is a record; the C type is not a struct" }
        return cRecordMismatch(with: record)
    }

    public static func cResultMismatch(for valueClass: CValueClass) -> String? { cArgumentMismatch(for: valueClass) }

    public static var cVariadicType: CQualType? { nil }

    /// Why this struct does not have `record`'s layout, if it does not.
    static func cRecordMismatch(with record: CRecord) -> String? {
        guard let definition = record.definition else { return "\(record) is incomplete" }
        guard record.kind == .struct else { return "\(record) is a union: use CRecordValue" }
        let layout = definition.layout
        guard MemoryLayout<Self>.size <= layout.size, layout.size <= MemoryLayout<Self>.stride else {
            return "is \(MemoryLayout<Self>.size) bytes; \(record) has \(layout.size)"
        }
        guard layout.alignment <= 16 else { return "\(record) is aligned to \(layout.alignment) bytes: use CRecordValue" }
        // Unnamed bit-fields stand for padding that the layout recovery filled in.
        let members = zip(definition.fields, layout.members).filter { $0.0.name != nil || $0.0.bitWidth == nil }
        let fields = cRecordFields
        guard fields.count == members.count else {
            return "lists \(fields.count) stored properties; \(record) has \(members.count) members"
        }
        for (field, (member, placement)) in zip(fields, members) {
            let name = "member \(member.name ?? "(anonymous)")"
            if member.bitWidth != nil { return "\(name) is a bit-field: use CRecordValue" }
            guard let offset = field.offset else { return "the property for \(name) is not a stored property" }
            guard offset * 8 == placement.offsetInBits else {
                return "the property for \(name) is at offset \(offset); C has it at \(placement.offsetInBits / 8)"
            }
            guard field.size * 8 == placement.sizeInBits else {
                return "the property for \(name) is \(field.size) bytes; C's is \(placement.sizeInBits / 8)"
            }
            if let reason = fieldMismatch(field, member.type) { return "the property for \(name) \(reason)" }
        }
        return nil
    }

    private static func fieldMismatch(_ field: CRecordField, _ type: CQualType) -> String? {
        if case .array = type.resolved.type { return "is an array in C: use CRecordValue" }
        guard let valueClass = ValueCoding.valueClass(of: type) else { return "has no C value class" }
        if case .record(let nested) = valueClass {
            guard let swiftType = field.type as? any CRecordConvertible.Type else {
                return "is \(field.type); the C member is \(nested): give a CRecordConvertible struct"
            }
            return swiftType.cRecordMismatch(with: nested)
        }
        guard let swiftType = field.type as? any CScalarConvertible.Type else {
            return "is \(field.type), which is not a C scalar type"
        }
        return swiftType.cScalarMismatch(for: valueClass)
    }

    /// The value's bytes, from a copy on the stack (with the record's size and alignment
    /// when Swift's are smaller: the callee may read the trailing padding).
    @inlinable @inline(__always)
    public func withCArgument<Result>(
        for target: CallTarget, at index: Int, _ body: (UnsafeMutableRawPointer) -> Result
    ) -> Result {
        if target.argumentAlignments[index] <= 8 && MemoryLayout<Self>.size == MemoryLayout<Self>.stride {
            // Written as whole eightbytes, the units the call reads: a copy written member
            // by member would be reloaded 8 bytes at a time over narrower stores, a
            // store-forwarding stall (struct { int a, b; }: 7.5 ns a call instead of 3.9).
            // (The compiler still goes through memory where a float and an integer share
            // an eightbyte: struct { float a; int b; double c; } takes 12 ns, docs/calling.md.)
            switch MemoryLayout<Self>.size {
            case 8:
                var word = unsafeBitCast(self, to: UInt64.self)
                return withUnsafeMutableBytes(of: &word) { body($0.baseAddress!) }
            case 16:
                var words = unsafeBitCast(self, to: (UInt64, UInt64).self)
                return withUnsafeMutableBytes(of: &words) { body($0.baseAddress!) }
            default:
                break
            }
        }
        if target.argumentAlignments[index] <= MemoryLayout<Self>.alignment && MemoryLayout<Self>.size == MemoryLayout<Self>.stride {
            var copy = self
            return withUnsafeMutableBytes(of: &copy) { body($0.baseAddress!) }
        }
        // (The C record's size is at most the stride and its alignment at most 16: checked.)
        return withUnsafeTemporaryAllocation(byteCount: max(MemoryLayout<Self>.stride, 16), alignment: 16) { buffer in
            buffer.baseAddress!.storeBytes(of: self, as: Self.self)
            return body(buffer.baseAddress!)
        }
    }

    @inlinable @inline(__always)
    public static func fromCResult(_ buffer: UnsafeRawPointer, target: CallTarget) -> Self {
        buffer.loadUnaligned(as: Self.self)
    }
}

// A struct or union value: the bytes of the C object together with its record type, with
// member access by path (`inner.x`, `points[2].y`, bit-fields, members stored in
// explicit byte order). Records go to and come back from calls by value as these.

import ABILowering
import CTypeModel

/// The bytes of one C struct or union, with its layout.
///
///     let point = try CRecordValue(p2d, elements: [.double(1), .double(2.5)])
///     try point.field("y")            // .double(2.5)
///     var copy = point
///     try copy.setField("x", to: .int(3))
public struct CRecordValue: Hashable, Sendable, CustomStringConvertible {
    /// The struct or union type.
    public let record: CRecord
    /// The object's bytes (`sizeof` of the record), padding included.
    public private(set) var bytes: [UInt8]
    /// The callbacks stored in its fields (`.callback`), kept alive as long as this value
    /// and its copies: the bytes hold only their pointers. Not part of equality.
    public private(set) var callbacks: [Callback] = []

    /// Records are equal when their types and bytes are.
    public static func == (left: CRecordValue, right: CRecordValue) -> Bool {
        left.record == right.record && left.bytes == right.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(record)
        hasher.combine(bytes)
    }

    /// A value with every byte zero, as `= {0}` in C.
    public init(_ record: CRecord) throws(CallStubError) {
        guard let layout = record.definition?.layout else {
            throw .invalidField(record: record.description, path: "", reason: "incomplete type has no value")
        }
        self.record = record
        self.bytes = [UInt8](repeating: 0, count: layout.size)
    }

    /// A value holding `bytes`, which must be exactly the record's size.
    public init(_ record: CRecord, bytes: [UInt8]) throws(CallStubError) {
        try self.init(record)
        guard bytes.count == self.bytes.count else {
            throw .invalidField(
                record: record.description, path: "", reason: "expected \(self.bytes.count) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// A value initialised like a C initializer list without designators: the elements go
    /// to the named members in order (unnamed bit-fields skipped, an anonymous struct or
    /// union taking one element), the rest are zero. A union takes at most one element,
    /// for its first member. Nested records and arrays take `.array` or `.record` values.
    public init(_ record: CRecord, elements: [CValue]) throws(CallStubError) {
        try self.init(record)
        let members = initializableMembers
        guard elements.count <= (record.kind == .union ? min(1, members.count) : members.count) else {
            throw .invalidField(
                record: record.description, path: "",
                reason: "\(elements.count) initializers for \(record.kind == .union ? 1 : members.count) members")
        }
        for (element, member) in zip(elements, members) {
            try store(element, at: member.location, path: member.name)
        }
    }

    init(trusted record: CRecord, bytes: [UInt8]) {
        self.record = record
        self.bytes = bytes
    }

    // MARK: - Members

    /// The value at `path`: member names joined by `.`, array elements as `[i]`, members
    /// of anonymous structs and unions by their own names.
    public func field(_ path: String) throws(CallStubError) -> CValue {
        let location = try locate(path)
        return try load(location, path: path)
    }

    /// Stores `value` at `path` (see `field(_:)`), checked against the member's type; an
    /// array member takes `.array` (or `.string` for a `char` array), zero-filling the rest.
    public mutating func setField(_ path: String, to value: CValue) throws(CallStubError) {
        let location = try locate(path)
        try store(value, at: location, path: path)
    }

    /// The type of the member at `path`.
    public func fieldType(_ path: String) throws(CallStubError) -> CQualType {
        try locate(path).type
    }

    /// `{1, 2.5}`: the initializable members in order, nested records and arrays in
    /// braces; a union shows its first member.
    public var description: String {
        var parts: [String] = []
        for member in initializableMembers {
            let value = (try? load(member.location, path: member.name))?.description ?? "?"
            parts.append(value)
            if record.kind == .union { break }
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// The named members and their values in order; members of anonymous structs and
    /// unions appear under their own names (a union: its first member only).
    public func namedMembers() -> [(name: String, value: CValue)] {
        var result: [(String, CValue)] = []
        for member in initializableMembers {
            guard let value = try? load(member.location, path: member.name) else { continue }
            if member.name.hasPrefix("#"), case .record(let inner) = value {
                result += inner.namedMembers()
            } else {
                result.append((member.name, value))
            }
            if record.kind == .union { break }
        }
        return result
    }

    /// The named members (and anonymous records) an initializer list fills, in order.
    var initializableMembers: [(name: String, location: FieldLocation)] {
        guard let definition = record.definition else { return [] }
        var members: [(String, FieldLocation)] = []
        for (index, (field, member)) in zip(definition.fields, definition.layout.members).enumerated() {
            guard field.name != nil || field.isAnonymousRecord else { continue }
            let name = field.name ?? "#\(index + 1)"
            members.append((name, FieldLocation(offsetInBits: member.offsetInBits, type: field.type, bitWidth: field.bitWidth)))
        }
        return members
    }

    // MARK: - Locating members

    struct FieldLocation {
        var offsetInBits: Int
        var type: CQualType
        var bitWidth: Int?
    }

    private func fail(_ path: String, _ reason: String) -> CallStubError {
        .invalidField(record: record.description, path: path, reason: reason)
    }

    func locate(_ path: String) throws(CallStubError) -> FieldLocation {
        var location = FieldLocation(offsetInBits: 0, type: CQualType(.record(record)), bitWidth: nil)
        var scanner = Substring(path)
        var first = true
        while !scanner.isEmpty || first {
            if !first {
                if scanner.hasPrefix(".") {
                    scanner = scanner.dropFirst()
                } else if !scanner.hasPrefix("[") {
                    throw fail(path, "expected '.' or '[' at '\(scanner)'")
                }
            }
            first = false
            if scanner.hasPrefix("[") {
                guard let close = scanner.firstIndex(of: "]"), let index = Int(scanner[scanner.index(after: scanner.startIndex)..<close]) else {
                    throw fail(path, "malformed array index at '\(scanner)'")
                }
                scanner = scanner[scanner.index(after: close)...]
                guard case .array(let element, let count) = location.type.resolved.type else {
                    throw fail(path, "\(location.type) is not an array")
                }
                guard index >= 0, count.map({ index < $0 }) ?? true else {
                    throw fail(path, "index \(index) is out of bounds for \(location.type)")
                }
                let stride: Int
                do { stride = try element.layout().size } catch { throw fail(path, error.description) }
                location = FieldLocation(offsetInBits: location.offsetInBits + index * stride * 8, type: element, bitWidth: nil)
                guard (location.offsetInBits / 8) + stride <= bytes.count else {
                    throw fail(path, "index \(index) lies beyond the record's \(bytes.count) bytes")
                }
                continue
            }
            let name = scanner.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard !name.isEmpty else { throw fail(path, "expected a member name at '\(scanner)'") }
            scanner = scanner.dropFirst(name.count)
            guard case .record(let inner) = location.type.resolved.type, let definition = inner.definition else {
                throw fail(path, "\(location.type) has no members")
            }
            guard let member = Self.member(named: String(name), in: definition) else {
                throw fail(path, "\(inner) has no member named \(name)")
            }
            location = FieldLocation(
                offsetInBits: location.offsetInBits + member.offsetInBits, type: member.type, bitWidth: member.bitWidth)
        }
        return location
    }

    /// A member by name, looking through anonymous structs and unions (C11 6.7.2.1p13).
    private static func member(named name: String, in definition: CRecordDefinition) -> FieldLocation? {
        for (field, member) in zip(definition.fields, definition.layout.members) {
            if field.name == name {
                return FieldLocation(offsetInBits: member.offsetInBits, type: field.type, bitWidth: field.bitWidth)
            }
            if field.isAnonymousRecord, case .record(let inner) = field.type.resolved.type, let innerDefinition = inner.definition,
                let found = Self.member(named: name, in: innerDefinition)
            {
                return FieldLocation(
                    offsetInBits: member.offsetInBits + found.offsetInBits, type: found.type, bitWidth: found.bitWidth)
            }
        }
        return nil
    }

    // MARK: - Reading and writing

    private func load(_ location: FieldLocation, path: String) throws(CallStubError) -> CValue {
        let byteOffset = location.offsetInBits / 8
        if let width = location.bitWidth {
            let kind = try bitFieldKind(location, path: path)
            var raw: UInt128 = 0
            for bit in 0..<width {
                let position = location.offsetInBits + bit
                if bytes[position / 8] >> (position % 8) & 1 != 0 { raw |= UInt128(1) << bit }
            }
            if kind.isSigned && width > 0 && raw >> (width - 1) & 1 != 0 {
                raw |= ~UInt128(0) << width  // sign-extend from the field's width
            }
            return ValueCoding.integerValue(raw, kind: kind)
        }
        let resolved = location.type.resolved
        if case .array(let element, let count) = resolved.type {
            let stride: Int
            do { stride = try element.layout().size } catch { throw fail(path, error.description) }
            let available = stride == 0 ? 0 : (bytes.count - byteOffset) / stride
            let elementCount = min(count ?? 0, available)
            var elements: [CValue] = []
            for index in 0..<elementCount {
                let inner = FieldLocation(offsetInBits: location.offsetInBits + index * stride * 8, type: element, bitWidth: nil)
                elements.append(try load(inner, path: path + "[\(index)]"))
            }
            return .array(elements)
        }
        guard let valueClass = ValueCoding.valueClass(of: location.type) else {
            throw fail(path, "\(location.type) has no value")
        }
        guard byteOffset + valueClass.size <= bytes.count else { throw fail(path, "lies beyond the record") }
        return bytes.withUnsafeBytes { raw in
            ValueCoding.load(valueClass, byteOrder: resolved.byteOrder, from: raw.baseAddress! + byteOffset)
        }
    }

    mutating func store(_ value: CValue, at location: FieldLocation, path: String) throws(CallStubError) {
        let byteOffset = location.offsetInBits / 8
        if let width = location.bitWidth {
            let kind = try bitFieldKind(location, path: path)
            let bits: UInt128
            do { bits = try ValueCoding.integerBits(value, kind: kind) } catch { throw fail(path, error.reason) }
            // The value must fit the field's width, as the field's signedness reads it.
            let fits: Bool
            if kind.isSigned {
                let signExtended = Int128(bitPattern: bits)
                let limit = Int128(1) << (width - 1)
                fits = signExtended >= -limit && signExtended < limit
            } else {
                fits = width >= 128 || bits >> width == 0
            }
            guard fits else { throw fail(path, "\(value) does not fit in a \(width)-bit \(kind.spelling) bit-field") }
            for bit in 0..<width {
                let position = location.offsetInBits + bit
                let mask = UInt8(1) << (position % 8)
                if bits >> bit & 1 != 0 { bytes[position / 8] |= mask } else { bytes[position / 8] &= ~mask }
            }
            return
        }
        let resolved = location.type.resolved
        if case .array(let element, let count) = resolved.type {
            let stride: Int
            do { stride = try element.layout().size } catch { throw fail(path, error.description) }
            let capacity = count ?? 0
            var elements: [CValue]
            switch value {
            case .array(let given): elements = given
            case .string(let string) where ValueCoding.isByteLike(element):
                // A char array from a string, as `char name[8] = "abc"`: the bytes, then a
                // NUL when there is room (C11 6.7.9p14).
                let signed = element.type.integerKind?.isSigned ?? false
                elements = string.utf8.map { signed ? .int(Int64(Int8(bitPattern: $0))) : .uint(UInt64($0)) }
            default: throw fail(path, "expected an initializer list for \(location.type), got \(ValueCoding.kindName(value))")
            }
            guard elements.count <= capacity else {
                throw fail(path, "\(elements.count) elements do not fit in \(location.type)")
            }
            for index in 0..<capacity {
                let inner = FieldLocation(offsetInBits: location.offsetInBits + index * stride * 8, type: element, bitWidth: nil)
                if index < elements.count {
                    try store(elements[index], at: inner, path: path + "[\(index)]")
                } else {
                    for byte in 0..<stride { bytes[byteOffset + index * stride + byte] = 0 }
                }
            }
            return
        }
        guard let valueClass = ValueCoding.valueClass(of: location.type) else {
            throw fail(path, "\(location.type) has no value")
        }
        guard byteOffset + valueClass.size <= bytes.count else { throw fail(path, "lies beyond the record") }
        let mismatch = bytes.withUnsafeMutableBytes { raw -> ValueMismatch? in
            do throws(ValueMismatch) {
                try ValueCoding.store(
                    value, as: valueClass, byteOrder: resolved.byteOrder, at: raw.baseAddress! + byteOffset, strings: nil)
                return nil
            } catch {
                return error
            }
        }
        if let mismatch { throw fail(path, mismatch.reason) }
        keepCallbacks(in: value)
    }

    /// Keeps the callbacks a stored value holds: its own, a nested record's, an
    /// initializer list's.
    private mutating func keepCallbacks(in value: CValue) {
        switch value {
        case .callback(let callback): callbacks.append(callback)
        case .record(let record): callbacks += record.callbacks
        case .array(let elements): for element in elements { keepCallbacks(in: element) }
        default: break
        }
    }

    private func bitFieldKind(_ location: FieldLocation, path: String) throws(CallStubError) -> CIntegerKind {
        guard let kind = location.type.type.integerKind else { throw fail(path, "bit-field has no integer type") }
        if location.type.resolved.byteOrder == .big {
            throw fail(path, "bit-fields in big-endian storage order are not supported")
        }
        return kind
    }
}

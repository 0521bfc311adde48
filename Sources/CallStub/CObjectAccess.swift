// Reading and writing the members of one C object in memory, by path (`inner.x`,
// `points[2].y`, bit-fields, members stored in explicit byte order): the code behind
// CRecordValue (bytes it owns) and CRecordView (bytes the caller owns). Every access is
// checked against the object's size before memory is touched.

import CTypeModel

/// Where a member lies in an object.
struct FieldLocation {
    var offsetInBits: Int
    var type: CQualType
    var bitWidth: Int?
}

/// Member access for objects of one type.
struct CObjectAccess {
    /// The object's type.
    let root: CQualType
    /// The object's size in bytes.
    let size: Int

    init(_ root: CQualType, size: Int) {
        self.root = root
        self.size = size
    }

    /// An error naming the object (`struct P`), printed only when one is thrown: an
    /// anonymous record's name is its whole body.
    func fail(_ path: String, _ reason: String) -> CallStubError {
        .invalidField(record: root.description, path: path, reason: reason)
    }

    // MARK: Locating members

    /// The member at `path`: names joined by `.`, array elements as `[i]`, members of
    /// anonymous structs and unions by their own names; the empty path is the object.
    func locate(_ path: String) throws(CallStubError) -> FieldLocation {
        var location = FieldLocation(offsetInBits: 0, type: root, bitWidth: nil)
        var scanner = Substring(path)
        var first = true
        while !scanner.isEmpty {
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
                guard (location.offsetInBits / 8) + stride <= size else {
                    throw fail(path, "index \(index) lies beyond the object's \(size) bytes")
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

    // MARK: Reading

    /// The value at `location` in `bytes` (the object's `size` bytes).
    func load(_ location: FieldLocation, path: String, from bytes: UnsafeRawBufferPointer) throws(CallStubError) -> CValue {
        precondition(bytes.count >= size, "the object's bytes are shorter than its type")
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
            let available = stride == 0 ? 0 : (size - byteOffset) / stride
            let elementCount = min(count ?? 0, available)
            var elements: [CValue] = []
            for index in 0..<elementCount {
                let inner = FieldLocation(offsetInBits: location.offsetInBits + index * stride * 8, type: element, bitWidth: nil)
                elements.append(try load(inner, path: path + "[\(index)]", from: bytes))
            }
            return .array(elements)
        }
        guard let valueClass = ValueCoding.valueClass(of: location.type) else {
            throw fail(path, "\(location.type) has no value")
        }
        guard byteOffset + valueClass.size <= size else { throw fail(path, "lies beyond the object") }
        return ValueCoding.load(valueClass, byteOrder: resolved.byteOrder, from: bytes.baseAddress! + byteOffset)
    }

    // MARK: Writing

    /// Stores `value` at `location` in `bytes`, checked against the member's type; an
    /// array takes `.array` (or `.string` for a `char` array), zero-filling the rest.
    /// Returns the callbacks whose pointers the value put in memory.
    func store(
        _ value: CValue, at location: FieldLocation, path: String, into bytes: UnsafeMutableRawBufferPointer
    ) throws(CallStubError) -> [Callback] {
        precondition(bytes.count >= size, "the object's bytes are shorter than its type")
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
            return []
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
            guard byteOffset + capacity * stride <= size else { throw fail(path, "lies beyond the object") }
            var callbacks: [Callback] = []
            for index in 0..<capacity {
                let inner = FieldLocation(offsetInBits: location.offsetInBits + index * stride * 8, type: element, bitWidth: nil)
                if index < elements.count {
                    callbacks += try store(elements[index], at: inner, path: path + "[\(index)]", into: bytes)
                } else {
                    for byte in 0..<stride { bytes[byteOffset + index * stride + byte] = 0 }
                }
            }
            return callbacks
        }
        guard let valueClass = ValueCoding.valueClass(of: location.type) else {
            throw fail(path, "\(location.type) has no value")
        }
        guard byteOffset + valueClass.size <= size else { throw fail(path, "lies beyond the object") }
        do throws(ValueMismatch) {
            try ValueCoding.store(value, as: valueClass, byteOrder: resolved.byteOrder, at: bytes.baseAddress! + byteOffset, strings: nil)
        } catch {
            throw fail(path, error.reason)
        }
        return Self.callbacks(in: value)
    }

    /// The callbacks a stored value holds: its own, a nested record's, an initializer list's.
    static func callbacks(in value: CValue) -> [Callback] {
        switch value {
        case .callback(let callback): return [callback]
        case .record(let record): return record.callbacks
        case .array(let elements): return elements.flatMap { callbacks(in: $0) }
        default: return []
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

// callstub.h's signatures as data (callstub_function_signature, callstub_callback_signature):
// a function type and every type it reaches, flattened into the C tables a language
// binding converts values with. The tables are C memory owned by a `SignatureTables`,
// which the handle's object keeps; this file holds their unsafe pointer code.

import CTypeModel
import CallStub
import CallStubCFastPath
import Locks
#if canImport(Glibc)
    import Glibc
#endif

/// callstub.h's `callstub_type_kind` values.
private enum TypeKind: Int32 {
    case void = 0, signed, unsigned, bool, float, complex, pointer, array, `struct`, union, function
}

/// callstub.h's type flags.
private enum TypeFlag {
    static let const: UInt32 = 1 << 0
    static let bigEndian: UInt32 = 1 << 1
    static let char: UInt32 = 1 << 2
    static let enumeration: UInt32 = 1 << 3
    static let x87: UInt32 = 1 << 4
    static let incomplete: UInt32 = 1 << 5
    static let variadic: UInt32 = 1 << 6
}

/// The tables of one function type, built once and kept in C memory until `deinit`.
final class SignatureTables: @unchecked Sendable {
    /// What `callstub_*_signature` hands out; its arrays and strings belong to this object.
    let box: UnsafeMutablePointer<callstub_signature_box>
    /// The types by their index in the tables.
    let types: [CQualType]
    private var strings: [UnsafeMutablePointer<CChar>] = []

    /// The tables as callstub.h's `callstub_signature`.
    var signature: UnsafeRawPointer { UnsafeRawPointer(box) }

    init(_ function: CFunctionType) {
        var builder = Builder()
        let root = builder.add(CQualType(.function(function)))
        self.types = builder.types.map(\.type)
        box = .allocate(capacity: 1)
        let types = UnsafeMutablePointer<callstub_type_record>.allocate(capacity: max(1, builder.types.count))
        let members = UnsafeMutablePointer<callstub_member_record>.allocate(capacity: max(1, builder.members.count))
        for (index, type) in builder.types.enumerated() {
            (types + index).initialize(
                to: callstub_type_record(
                    kind: type.kind.rawValue, flags: type.flags, size: type.size, alignment: type.alignment,
                    element: type.element, count: type.count, first: type.first, name: keep(type.name)))
        }
        for (index, member) in builder.members.enumerated() {
            (members + index).initialize(
                to: callstub_member_record(
                    name: member.name.map(keep), type: member.type, offset_in_bits: member.offsetInBits,
                    bit_width: member.bitWidth))
        }
        box.initialize(
            to: callstub_signature_box(
                signature: callstub_signature_record(
                    function: root, type_count: builder.types.count, types: types, member_count: builder.members.count,
                    members: members),
                tag: CALLSTUB_TAG_SIGNATURE, owner: nil))
        box.pointee.owner = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
    }

    /// The tables behind a `const callstub_signature *` from callstub_*_signature.
    static func owner(of signature: UnsafeRawPointer?) throws(Failure) -> SignatureTables {
        guard let signature else { throw Failure(.handle, "signature is NULL") }
        let box = signature.assumingMemoryBound(to: callstub_signature_box.self)
        guard box.pointee.tag == CALLSTUB_TAG_SIGNATURE, let owner = box.pointee.owner else {
            throw Failure(.handle, "not a signature from callstub_function_signature or callstub_callback_signature")
        }
        return Unmanaged<SignatureTables>.fromOpaque(owner).takeUnretainedValue()
    }

    deinit {
        box.pointee.tag = 0
        UnsafeMutablePointer(mutating: box.pointee.signature.types).deallocate()
        UnsafeMutablePointer(mutating: box.pointee.signature.members).deallocate()
        box.deallocate()
        for string in strings { free(string) }
    }

    private func keep(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text)!
        strings.append(copy)
        return UnsafePointer(copy)
    }

    /// The types and members in Swift values, before they are copied to C.
    private struct Builder {
        struct TypeEntry {
            var kind: TypeKind
            var flags: UInt32 = 0
            var size = 0
            var alignment = 1
            var element: Int32 = -1
            var count = 0
            var first = 0
            var name: String
            var type: CQualType
        }

        struct MemberEntry {
            var name: String?
            var type: Int32
            var offsetInBits: Int
            var bitWidth: Int
        }

        var types: [TypeEntry] = []
        var members: [MemberEntry] = []
        /// Each record once (so that a self-referencing record ends), by identity.
        var records: [ObjectIdentifier: Int32] = [:]

        /// Adds `written` (and what it reaches); its index.
        mutating func add(_ written: CQualType) -> Int32 {
            let resolved = written.resolved
            let name = written.description
            var flags: UInt32 = resolved.qualifiers.contains(.const) ? TypeFlag.const : 0
            if resolved.byteOrder == .big { flags |= TypeFlag.bigEndian }
            let layout = try? written.layout()
            var entry = TypeEntry(
                kind: .void, flags: flags, size: layout?.size ?? 0, alignment: layout?.alignment ?? 1, name: name,
                type: written)
            switch resolved.type {
            case .void, .typedef:
                break
            case .integer(let kind):
                entry.kind = kind == .bool ? .bool : kind.isSigned ? .signed : .unsigned
                if kind == .char { entry.flags |= TypeFlag.char }
            case .enumeration(let enumeration):
                let kind = enumeration.definition?.underlying ?? .unsignedInt
                entry.kind = kind.isSigned ? .signed : .unsigned
                entry.flags |= TypeFlag.enumeration
            case .floating(let kind):
                entry.kind = .float
                if kind == .longDouble { entry.flags |= TypeFlag.x87 }
            case .complex(let kind):
                entry.kind = .complex
                entry.element = add(CQualType(.floating(kind)))
            case .pointer(let pointee):
                entry.kind = .pointer
                return appending(entry) { builder in builder.add(pointee) }
            case .array(let element, let count):
                entry.kind = .array
                entry.count = count ?? 0
                return appending(entry) { builder in builder.add(element) }
            case .record(let record):
                return add(record, entry: entry)
            case .function(let function):
                entry.kind = .function
                if function.isVariadic { entry.flags |= TypeFlag.variadic }
                let index = append(entry)
                types[Int(index)].element = add(function.result)
                let first = members.count
                members += function.parameters.map { MemberEntry(name: $0.name, type: -1, offsetInBits: 0, bitWidth: 0) }
                for (offset, parameter) in function.parameters.enumerated() {
                    members[first + offset].type = add(parameter.type)
                }
                types[Int(index)].first = first
                types[Int(index)].count = function.parameters.count
                return index
            }
            return append(entry)
        }

        private mutating func add(_ record: CRecord, entry: TypeEntry) -> Int32 {
            if let known = records[ObjectIdentifier(record)] { return known }
            var entry = entry
            entry.kind = record.kind == .union ? .union : .struct
            guard let definition = record.definition else {
                entry.flags |= TypeFlag.incomplete
                entry.name = record.description
                let index = append(entry)
                records[ObjectIdentifier(record)] = index
                return index
            }
            entry.size = definition.layout.size
            entry.alignment = definition.layout.alignment
            // The record's own name, not the typedef or qualifiers it was reached through
            // (the entry is shared by every use).
            // An unnamed record is known by the typedef it was first reached through (div_t).
            if record.tag != nil {
                entry.name = record.description
            } else if case .typedef(let alias) = entry.type.type {
                entry.name = alias.name
            } else {
                entry.name = "\(record.kind.rawValue) <anonymous>"
            }
            entry.flags &= ~TypeFlag.const
            let index = append(entry)
            records[ObjectIdentifier(record)] = index
            let first = members.count
            members += zip(definition.fields, definition.layout.members).map { field, place in
                MemberEntry(
                    name: field.name, type: -1, offsetInBits: place.offsetInBits, bitWidth: field.bitWidth ?? 0)
            }
            for (offset, field) in definition.fields.enumerated() {
                members[first + offset].type = add(field.type)
            }
            types[Int(index)].first = first
            types[Int(index)].count = definition.fields.count
            return index
        }

        private mutating func append(_ entry: TypeEntry) -> Int32 {
            types.append(entry)
            return Int32(types.count - 1)
        }

        /// Appends `entry`, then sets its element to what `element` adds.
        private mutating func appending(_ entry: TypeEntry, element: (inout Builder) -> Int32) -> Int32 {
            let index = append(entry)
            let elementIndex = element(&self)
            types[Int(index)].element = elementIndex
            return index
        }
    }
}

/// A handle's signature tables, built on first use.
final class LazySignatureTables: Sendable {
    private let type: CFunctionType
    private let built = Lock<SignatureTables?>(nil)

    init(_ type: CFunctionType) { self.type = type }

    var tables: SignatureTables {
        built.withLock { built in
            if let built { return built }
            let tables = SignatureTables(type)
            built = tables
            return tables
        }
    }
}

@_cdecl("callstub_function_signature")
public func callstub_function_signature(
    _ handle: UnsafeRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let function = try Handles.object(handle, .function, as: FunctionHandle.self)
        guard let out else { throw Failure(.handle, "signature (the result pointer) is NULL") }
        out.pointee = function.signature.tables.signature
    }
}

@_cdecl("callstub_callback_signature")
public func callstub_callback_signature(
    _ handle: UnsafeRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let callback = try Handles.object(handle, .callback, as: CallbackHandle.self)
        guard let out else { throw Failure(.handle, "signature (the result pointer) is NULL") }
        out.pointee = callback.signature.tables.signature
    }
}

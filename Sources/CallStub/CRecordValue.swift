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
    /// The record, its bytes and its callbacks behind one reference, so that copying a
    /// value (into the `[CValue]` of a dynamic call, say) retains and releases one object,
    /// not three (issue 18). Written only while uniquely referenced (copy on write), so a
    /// value shared between threads is never written.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        @usableFromInline let record: CRecord
        /// Written only through `withMutableBytes`, which keeps `address` right.
        @usableFromInline @exclusivity(unchecked) private(set) var bytes: [UInt8]
        @usableFromInline @exclusivity(unchecked) var callbacks: [Callback]
        /// Where `bytes` keeps its elements, read without retaining the array: typed and
        /// dynamic calls pass a record argument from here (reading `bytes` retained and
        /// released the array, two atomic operations: 10 ns of a 12 ns typed call).
        @usableFromInline @exclusivity(unchecked) private(set) var address: UnsafeRawPointer

        init(record: CRecord, bytes: [UInt8], callbacks: [Callback] = []) {
            self.record = record
            self.bytes = bytes
            self.callbacks = callbacks
            address = Self.dummy
            address = elementAddress()
        }

        /// Changes the bytes in place (copied first if an array taken from `bytes` shares them).
        func withMutableBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) -> Result) -> Result {
            defer { address = elementAddress() }
            return bytes.withUnsafeMutableBytes(body)
        }

        /// The stored array's element address (a non-null one for an empty record).
        private func elementAddress() -> UnsafeRawPointer {
            bytes.withUnsafeBytes { $0.baseAddress } ?? Self.dummy
        }

        private nonisolated(unsafe) static let dummy = UnsafeRawPointer(bitPattern: 16).unsafelyUnwrapped
    }

    /// Read by the inlinable accessors, so that a typed call reading a record argument's
    /// bytes (inlined into the caller) does not call into the module for them.
    @usableFromInline var storage: Storage

    /// The struct or union type.
    @inlinable public var record: CRecord { storage.record }
    /// The object's bytes (`sizeof` of the record), padding included.
    @inlinable public var bytes: [UInt8] { storage.bytes }
    /// Calls `body` with the object's bytes in place, without copying them or retaining an
    /// array (reading `bytes` does both); the pointer is valid only inside `body`.
    ///
    ///     let a = result.withUnsafeBytes { $0.load(as: Double.self) }
    @inlinable
    public func withUnsafeBytes<Result, Failure>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withExtendedLifetime(storage) { () throws(Failure) -> Result in
            try body(UnsafeRawBufferPointer(start: storage.address, count: storage.bytes.count))
        }
    }
    /// The callbacks stored in its fields (`.callback`), kept alive as long as this value
    /// and its copies: the bytes hold only their pointers. Not part of equality.
    @inlinable public var callbacks: [Callback] { storage.callbacks }

    /// Records are equal when their types and bytes are.
    public static func == (left: CRecordValue, right: CRecordValue) -> Bool {
        left.storage === right.storage || (left.record == right.record && left.bytes == right.bytes)
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
        storage = Storage(record: record, bytes: [UInt8](repeating: 0, count: layout.size))
    }

    /// A value holding `bytes`, which must be exactly the record's size.
    public init(_ record: CRecord, bytes: [UInt8]) throws(CallStubError) {
        try self.init(record)
        guard bytes.count == self.bytes.count else {
            throw .invalidField(
                record: record.description, path: "", reason: "expected \(self.bytes.count) bytes, got \(bytes.count)")
        }
        storage = Storage(record: record, bytes: bytes)
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
        storage = Storage(record: record, bytes: bytes)
    }

    /// A value of `storage` as it is (a call's recycled result).
    init(storage: Storage) {
        self.storage = storage
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

    // MARK: - Reading and writing (CObjectAccess)

    var access: CObjectAccess { CObjectAccess(CQualType(.record(record)), size: bytes.count) }

    func locate(_ path: String) throws(CallStubError) -> FieldLocation {
        guard !path.isEmpty else { throw access.fail(path, "expected a member name") }
        return try access.locate(path)
    }

    private func load(_ location: FieldLocation, path: String) throws(CallStubError) -> CValue {
        let access = self.access
        let loaded = bytes.withUnsafeBytes { raw -> Result<CValue, CallStubError> in
            do throws(CallStubError) { return .success(try access.load(location, path: path, from: raw)) } catch {
                return .failure(error)
            }
        }
        return try loaded.get()
    }

    mutating func store(_ value: CValue, at location: FieldLocation, path: String) throws(CallStubError) {
        let access = self.access
        if !isKnownUniquelyReferenced(&storage) {
            storage = Storage(record: storage.record, bytes: storage.bytes, callbacks: storage.callbacks)
        }
        let stored = storage.withMutableBytes { raw -> Result<[Callback], CallStubError> in
            do throws(CallStubError) { return .success(try access.store(value, at: location, path: path, into: raw)) } catch {
                return .failure(error)
            }
        }
        storage.callbacks += try stored.get()
    }
}

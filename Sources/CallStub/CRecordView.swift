// Records over memory the caller owns: a view reads and writes the members of a C object
// in place (a buffer, a `Data`'s bytes, a mapped file, memory a C function returned), with
// every access checked against the object's layout and the view's bounds. Nothing is
// copied; big- and little-endian members are read and written in their own byte order.

import CTypeModel
import Glibc

/// A C object (usually a struct or union) in bytes that someone else owns.
///
///     let header = try library.type("struct hdr")
///     var bytes: [UInt8] = [0, 0, 0, 0x6c, 0x33, 0x33, 0x74, 0]
///     try bytes.withUnsafeMutableBytes { buffer in
///         let view = try CRecordView(header, bytes: buffer)
///         try view.field("len")                  // .uint(108): stored big-endian
///         try view.setField("len", to: .int(7))  // writes bytes 0–3 of `bytes`
///     }
///
/// A view does not keep the memory alive: use it only while the buffer is valid (inside
/// `withUnsafeMutableBytes`, or while a `CMappedFile` lives, whose views keep it alive).
/// Storing a `.callback` is refused: the memory could outlive the callback.
public struct CRecordView: @unchecked Sendable {
    /// The object's type.
    public let type: CQualType
    /// The object's size in bytes.
    public let size: Int
    /// Whether `setField` may write (a view over `UnsafeRawBufferPointer` may not).
    public let isWritable: Bool
    private let start: UnsafeMutableRawPointer
    /// What keeps the memory alive, if the view was made by its owner (`CMappedFile`).
    private let owner: AnyObject?

    /// A view of the object of type `type` at `offset` in `buffer`, which may be written.
    /// Throws when the type has no size or the object does not fit in the buffer.
    public init(_ type: CQualType, bytes buffer: UnsafeMutableRawBufferPointer, at offset: Int = 0) throws(CallStubError) {
        try self.init(type, start: buffer.baseAddress, count: buffer.count, offset: offset, writable: true, owner: nil)
    }

    /// A read-only view of the object of type `type` at `offset` in `buffer`.
    public init(_ type: CQualType, bytes buffer: UnsafeRawBufferPointer, at offset: Int = 0) throws(CallStubError) {
        try self.init(
            type, start: buffer.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }, count: buffer.count,
            offset: offset, writable: false, owner: nil)
    }

    /// A view of a struct or union (see `init(_:bytes:at:)`).
    public init(_ record: CRecord, bytes buffer: UnsafeMutableRawBufferPointer, at offset: Int = 0) throws(CallStubError) {
        try self.init(CQualType(.record(record)), bytes: buffer, at: offset)
    }

    /// A read-only view of a struct or union (see `init(_:bytes:at:)`).
    public init(_ record: CRecord, bytes buffer: UnsafeRawBufferPointer, at offset: Int = 0) throws(CallStubError) {
        try self.init(CQualType(.record(record)), bytes: buffer, at: offset)
    }

    init(
        _ type: CQualType, start: UnsafeMutableRawPointer?, count: Int, offset: Int, writable: Bool, owner: AnyObject?
    ) throws(CallStubError) {
        let size: Int
        do { size = try type.layout().size } catch {
            throw .invalidField(record: type.description, path: "", reason: error.description)
        }
        guard offset >= 0, size <= count, offset <= count - size, let start else {
            throw .invalidField(
                record: type.description, path: "",
                reason: "the object needs bytes \(offset)..<\(offset + size), the memory has \(count)")
        }
        self.type = type
        self.size = size
        self.isWritable = writable
        self.start = start + offset
        self.owner = owner
    }

    private var access: CObjectAccess { CObjectAccess(type, size: size) }

    /// The object's bytes (the memory itself, not a copy).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: size) }

    /// The value at `path` (see `CRecordValue.field(_:)`); the empty path is the whole
    /// object, a record as a `CRecordValue` copy.
    public func field(_ path: String = "") throws(CallStubError) -> CValue {
        try access.load(try access.locate(path), path: path, from: bytes)
    }

    /// Writes `value` at `path` in place, checked against the member's type as
    /// `CRecordValue.setField(_:to:)` checks it.
    public func setField(_ path: String, to value: CValue) throws(CallStubError) {
        guard isWritable else { throw access.fail(path, "the view is read-only") }
        guard CObjectAccess.callbacks(in: value).isEmpty else {
            throw access.fail(path, "a callback stored in memory the caller owns would outlive it: keep the Callback alive and store its unsafePointer")
        }
        _ = try access.store(value, at: try access.locate(path), path: path, into: UnsafeMutableRawBufferPointer(start: start, count: size))
    }

    /// The type of the member at `path`.
    public func fieldType(_ path: String) throws(CallStubError) -> CQualType {
        try access.locate(path).type
    }

    /// The object's regions: members, bit-fields and padding, in offset order.
    public func regions() throws(CallStubError) -> [CLayoutRegion] {
        do { return try type.layoutRegions() } catch {
            throw .invalidField(record: type.description, path: "", reason: error.description)
        }
    }
}

/// A file mapped into memory, whose objects are viewed in place: reads come from the page
/// cache, and writes through a writable mapping go to the file.
///
///     let file = try CMappedFile(path: "capture.bin")
///     let packet = try file.view(try library.type("struct hdr"), at: 24)
///     try packet.field("len")
public final class CMappedFile: @unchecked Sendable {
    /// The file's path.
    public let path: String
    /// The file's size in bytes (the mapping's).
    public let count: Int
    /// Whether views may write (the file was opened read-write and mapped shared).
    public let isWritable: Bool
    private let start: UnsafeMutableRawPointer?

    /// Maps `path` (read-only unless `writable`). An empty file maps to no bytes.
    public init(path: String, writable: Bool = false) throws(CallStubError) {
        let descriptor = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        guard descriptor >= 0 else { throw .fileNotMapped(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .fileNotMapped(path: path, reason: String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .fileNotMapped(path: path, reason: "not a regular file") }
        self.path = path
        self.count = Int(status.st_size)
        self.isWritable = writable
        if count == 0 {
            start = nil
            return
        }
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        let mapped = mmap(nil, count, protection, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else { throw .fileNotMapped(path: path, reason: String(cString: strerror(errno))) }
        start = mapped
    }

    deinit {
        if let start { munmap(start, count) }
    }

    /// The mapped bytes, valid while this object lives.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }

    /// A view of the object of type `type` at `offset`, which keeps the mapping alive.
    public func view(_ type: CQualType, at offset: Int = 0) throws(CallStubError) -> CRecordView {
        try CRecordView(type, start: start, count: count, offset: offset, writable: isWritable, owner: self)
    }
}

extension CValue {
    /// The bytes C holds for this value as an object of `type` (what `type x = value;`
    /// leaves in memory): members at their offsets in their byte order, padding zero.
    /// A value holding callbacks is refused: the bytes would outlive them.
    public func bytes(as type: CQualType) throws(CallStubError) -> [UInt8] {
        let size: Int
        do { size = try type.layout().size } catch {
            throw .invalidField(record: type.description, path: "", reason: error.description)
        }
        let access = CObjectAccess(type, size: size)
        guard CObjectAccess.callbacks(in: self).isEmpty else {
            throw access.fail("", "a callback's address in bytes would outlive it")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let root = FieldLocation(offsetInBits: 0, type: type, bitWidth: nil)
        let stored = bytes.withUnsafeMutableBytes { raw -> Result<Void, CallStubError> in
            do throws(CallStubError) {
                _ = try access.store(self, at: root, path: "", into: raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try stored.get()
        return bytes
    }
}

// Downcall stubs kept on disk across processes (issue 19): a shape-keyed stub takes the
// function's address as an argument, and when LLVM's object for it has no relocation
// inside the stub (RelocatableObject) its bytes run anywhere. After its first compile such
// a stub is written to the cache directory; a later process that needs the same lowered
// shape maps the file read+execute and calls the code in it, without loading libLLVM
// (where the file system is mounted `noexec`, a copy of the bytes in pages of its own).
//
// Safe by construction:
// - the directory is the user's (`$CALLSTUB_STUB_CACHE`, else `$XDG_CACHE_HOME/callstub`,
//   else `~/.cache/callstub`; `CALLSTUB_STUB_CACHE=off` turns the cache off), created
//   0700, and used only if it is a directory (not a link) owned by this user that nobody
//   else can write;
// - a file is read only if it is a regular file (not a link) owned by this user that
//   nobody else can write, of a sane size, whose magic, lengths, key (the whole key, not
//   only its hash: the text of the CallStub version, the LLVM version and the target —
//   the x86-64 baseline every stub is compiled for, so a directory shared between
//   machines is safe — then the shape's `keyBytes`) and checksum all match, checked in
//   the mapping itself; anything else is ignored and replaced after the next compile;
// - files are written whole to a temporary file (O_EXCL, 0600) and renamed over the
//   name, so concurrent writers never leave a torn file: each rename installs a whole one,
//   and a file a process has mapped is never changed by CallStub (only its owner could
//   rewrite it in place, as with any shared library it runs).

import ABILowering
internal import CLLVM
import Locks

#if canImport(Glibc)
    import Glibc
#endif

/// Stubs kept on disk across processes; see the file header for the rules.
public final class PersistentStubCache: Sendable {
    /// The directory the stubs are kept in.
    public let directory: String
    /// The key's text part (versions, target) as bytes.
    private let keyPrefix: [UInt8]
    /// `directory` and a slash, as the bytes of a path.
    private let directoryPrefix: [UInt8]
    /// The user files must belong to: this process's effective user.
    private let owner: uid_t
    private struct State {
        var loaded = LoadedStubs()
        var stored: Set<String> = []
        /// The file system refused to map a stub file executable (mounted `noexec`): files
        /// are copied into pages of their own instead.
        var copiesFiles = false
    }
    private let state = Lock(State())
    /// The stubs this process mapped, by key as text. The first few are kept in two arrays
    /// searched in order, the rest in a dictionary: most processes use a few shapes, and a
    /// dictionary's first insert instantiates its generic storage type at run time (~20,000
    /// instructions, a third of a new process's first cached stub), while `[String]` and
    /// `[UInt]` exist before. Keyed by `String`, not by `LoweredShape` or `[UInt8]`: those
    /// cost a search of every protocol conformance in the process the first time (~700,000
    /// instructions); `String`'s `Hashable` conformance is known already.
    private struct LoadedStubs {
        private static let listed = 16
        private var keys: [String] = []
        private var addresses: [UInt] = []
        private var others: [String: UInt] = [:]

        subscript(key: String) -> UInt? {
            if let index = keys.firstIndex(of: key) { return addresses[index] }
            return keys.count < Self.listed ? nil : others[key]
        }

        mutating func insert(_ key: String, _ address: UInt) {
            if keys.count < Self.listed {
                keys.append(key)
                addresses.append(address)
            } else {
                others[key] = address
            }
        }
    }

    private static let largestFile = 64 * 1024
    /// "CSSTUB02", the file's first eight bytes, as a little-endian word (compared as one).
    /// Format 2 keys the shape by `keyBytes` (format 1 by its description).
    private static let magic: UInt64 = 0x3230_4255_5453_5343

    /// The cache as the environment configures it, or why there is none (turned off, no
    /// home directory, a directory that is not safe to use). `versionTag` names the
    /// CallStub version; stubs of another version are never used.
    public static func configured(versionTag: String) -> Result<PersistentStubCache, JITError> {
        let setting = getenv("CALLSTUB_STUB_CACHE").map { String(cString: $0) }
        if setting == "off" || setting == "0" { return .failure(.llvm("the stub cache is off (CALLSTUB_STUB_CACHE=off)")) }
        let directory: String
        if let setting, !setting.isEmpty {
            directory = setting
        } else if let base = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), base.utf8.first == UInt8(ascii: "/") {
            directory = base + "/callstub"
        } else if let home = getenv("HOME").map({ String(cString: $0) }), home.utf8.first == UInt8(ascii: "/") {
            directory = home + "/.cache/callstub"
        } else {
            return .failure(.llvm("no directory for the stub cache: set HOME, XDG_CACHE_HOME or CALLSTUB_STUB_CACHE"))
        }
        let owner = geteuid()
        if let problem = prepare(directory, owner: owner) { return .failure(.llvm("stub cache \(directory): \(problem)")) }
        // Stubs are compiled for the x86-64 baseline (JITSession), whatever the CPU.
        let prefix = "\(versionTag) LLVM \(String(cString: CLLVM_HeaderVersion())) x86-64 baseline "
        return .success(PersistentStubCache(directory: directory, keyPrefix: prefix, owner: owner))
    }

    private init(directory: String, keyPrefix: String, owner: uid_t) {
        self.directory = directory
        self.owner = owner
        self.keyPrefix = Array(keyPrefix.utf8)
        directoryPrefix = Array((directory + "/").utf8)
    }

    /// The stub of `plan`'s shape (without errno capture) from this process's loaded stubs
    /// or the directory, or nil. Uses no LLVM.
    /// Where memory may not be made executable (`ExecutableMemory`), stubs are still
    /// served: mapping a file read+execute is what those policies allow (as for shared
    /// libraries); only the copy a `noexec` file system needs is refused.
    public func stub(for plan: CallPlan) -> StubEntry? {
        let key = plan.shapeKeyBytes(after: keyPrefix)
        let text = String(decoding: key, as: UTF8.self)  // ASCII: the same bytes
        let address: UInt? = state.withLock { state in
            if let known = state.loaded[text] { return known }
            guard let address = load(key: key, copying: &state.copiesFiles) else { return nil }
            state.loaded.insert(text, address)
            return address
        }
        return address.map { unsafeBitCast(UnsafeRawPointer(bitPattern: $0)!, to: StubEntry.self) }
    }

    /// Writes `code` (a stub just compiled for `shape`) unless this process wrote or read
    /// it already. Failures are ignored: the cache only saves work.
    func store(_ code: [UInt8], for shape: LoweredShape) {
        let key = shape.keyBytes(after: keyPrefix)
        let text = String(decoding: key, as: UTF8.self)
        let isNew = state.withLock { state in state.loaded[text] == nil && state.stored.insert(text).inserted }
        guard isNew, code.count <= Self.largestFile - 512 else { return }
        write(key: key, code: code)
    }

    // MARK: - Keys and files

    /// Calls `body` with the file's path, NUL-terminated: the directory, the key's FNV-1a
    /// in 16 hex digits, `.stub`. Formatted by hand on the stack (`String(_:radix:)` cost
    /// some 6,000 instructions on a new process's first call).
    private func withPath<Result>(for key: [UInt8], _ body: (UnsafePointer<CChar>) -> Result) -> Result {
        let hash = Self.fnv1a(key)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: directoryPrefix.count + 22) { path in
            var end = path.initialize(fromContentsOf: directoryPrefix)
            for shift in stride(from: 60, through: 0, by: -4) {
                let digit = UInt8(truncatingIfNeeded: hash >> UInt64(shift)) & 0xF
                path[end] = digit < 10 ? 0x30 + digit : 0x61 + digit - 10
                end += 1
            }
            for byte: UInt8 in [0x2E, 0x73, 0x74, 0x75, 0x62, 0] {  // ".stub\0"
                path[end] = byte
                end += 1
            }
            return body(UnsafeRawPointer(path.baseAddress!).assumingMemoryBound(to: CChar.self))
        }
    }

    /// FNV-1a, 64 bits: names files and checks their contents against corruption (a file
    /// someone else could have written is never read, so this need not resist forgery).
    static func fnv1a<Bytes: Sequence>(_ bytes: Bytes, _ start: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where Bytes.Element == UInt8 {
        var hash = start
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The file: magic, key length and code length (u32 each), checksum of key and code
    /// (u64), the key, the code. Little-endian.
    private func contents(key: [UInt8], code: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        func append(_ value: UInt64, _ count: Int) { for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) } }
        append(Self.magic, 8)
        append(UInt64(key.count), 4)
        append(UInt64(code.count), 4)
        append(Self.fnv1a(code, Self.fnv1a(key)), 8)
        return bytes + key + code
    }

    /// The entry of the stub in the file for `key`, checked, or nil. The file is mapped
    /// read+execute as it is: one system call, no copy, never writable in this process
    /// (a first use costs ~7 µs less than reading, mapping and protecting a copy). Where
    /// the file system forbids that (`noexec`), from then on the file's bytes are copied
    /// into pages of their own made read+execute.
    private func load(key: [UInt8], copying: inout Bool) -> UInt? {
        let descriptor = withPath(for: key) { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_uid == owner,
            status.st_mode & (S_IWGRP | S_IWOTH) == 0, status.st_size > 24, status.st_size <= Self.largestFile
        else { return nil }
        let size = Int(status.st_size)
        if !copying {
            // Our files are replaced by rename, never rewritten: the mapped bytes stay as checked.
            if let mapping = mmap(nil, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED {
                guard let offset = codeOffset(UnsafeRawBufferPointer(start: mapping, count: size), key: key) else {
                    munmap(mapping, size)
                    return nil
                }
                return UInt(bitPattern: mapping) + UInt(offset)
            }
            guard errno == EPERM || errno == EACCES else { return nil }
            copying = true
        }
        if ExecutableMemory.denial != nil { return nil }  // a copy could not be made executable
        var bytes = [UInt8](repeating: 0, count: size)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        guard count == size, let offset = bytes.withUnsafeBytes({ codeOffset($0, key: key) }) else { return nil }
        return place(Array(bytes[offset...]))
    }

    /// Where the code starts in a stub file's bytes, if its magic, lengths, key and
    /// checksum all hold.
    private func codeOffset(_ bytes: UnsafeRawBufferPointer, key: [UInt8]) -> Int? {
        guard bytes.count > 24, UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)) == Self.magic else { return nil }
        let keyLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let codeLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        let checksum = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        guard 24 + keyLength + codeLength == bytes.count, codeLength > 0, key.count == keyLength else { return nil }
        // Compared as memory: a generic comparison of slices cost some 13,000 instructions
        // for a first call's key.
        guard key.withUnsafeBytes({ memcmp(bytes.baseAddress! + 24, $0.baseAddress!, keyLength) == 0 }),
            checksum == Self.fnv1a(bytes[(24 + keyLength)...], Self.fnv1a(bytes[24..<(24 + keyLength)]))
        else { return nil }
        return 24 + keyLength
    }

    private func write(key: [UInt8], code: [UInt8]) {
        let final = withPath(for: key) { String(cString: $0) }
        let temporary = "\(final).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let bytes = contents(key: key, code: code)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if written != bytes.count || rename(temporary, final) != 0 { unlink(temporary) }
    }

    /// Creates the directory (0700, parents too) if missing; nil if it is safe to use,
    /// else why not.
    private static func prepare(_ directory: String, owner: uid_t) -> String? {
        // Bytes compared, not `hasPrefix`: its grapheme-breaking code is cold in a new process.
        guard directory.utf8.first == UInt8(ascii: "/") else { return "not an absolute path" }
        var status = stat()
        if lstat(directory, &status) != 0 {
            var partial = ""
            for component in directory.split(separator: "/") {
                partial += "/" + component
                if mkdir(partial, 0o700) != 0 && errno != EEXIST { return "cannot create \(partial) (errno \(errno))" }
            }
            guard lstat(directory, &status) == 0 else { return "cannot create it (errno \(errno))" }
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { return "not a directory" }
        guard status.st_uid == owner else { return "owned by another user" }
        guard status.st_mode & (S_IWGRP | S_IWOTH) == 0 else { return "writable by other users" }
        return nil
    }

    // MARK: - Executable memory

    /// Copies `code` into pages of its own, made read+execute once written (never writable
    /// and executable at once, never changed after), and returns their address; nil when
    /// executable memory cannot be had. A page per stub, as the JIT's own modules take.
    private func place(_ code: [UInt8]) -> UInt? {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (code.count + pageSize - 1) / pageSize * pageSize
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED
        else { return nil }
        code.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        guard ExecutableMemory.makeExecutable(memory, byteCount: size, what: "a persisted stub") == nil else {
            munmap(memory, size)
            return nil
        }
        return UInt(bitPattern: memory)
    }
}

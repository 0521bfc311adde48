// Downcall stubs kept on disk across processes (issue 19): a shape-keyed stub takes the
// function's address as an argument, and when LLVM's object for it has no relocation
// inside the stub (RelocatableObject) its bytes run anywhere. After its first compile such
// a stub is written to the cache directory; a later process that needs the same lowered
// shape maps those bytes executable and calls them, without loading libLLVM.
//
// Safe by construction:
// - the directory is the user's (`$CALLSTUB_STUB_CACHE`, else `$XDG_CACHE_HOME/callstub`,
//   else `~/.cache/callstub`; `CALLSTUB_STUB_CACHE=off` turns the cache off), created
//   0700, and used only if it is a directory (not a link) owned by this user that nobody
//   else can write;
// - a file is read only if it is a regular file (not a link) owned by this user that
//   nobody else can write, of a sane size, whose magic, lengths, key (the whole key text,
//   not only its hash: CallStub version, LLVM version, target — the x86-64 baseline every
//   stub is compiled for, so a directory shared between machines is safe — and shape)
//   and checksum all match; anything else is ignored and replaced after the next compile;
// - files are written whole to a temporary file (O_EXCL, 0600) and renamed over the
//   name, so concurrent writers never leave a torn file: each rename installs a whole one.

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
    private let keyPrefix: String
    /// The user files must belong to: this process's effective user.
    private let owner = geteuid()
    private struct State {
        /// By key text: a dictionary keyed by `LoweredShape` costs a search of every
        /// protocol conformance in the process the first time, one keyed by `String` does
        /// not (the process has made one already).
        var loaded: [String: UInt] = [:]
        var stored: Set<String> = []
    }
    private let state = Lock(State())
    private static let largestFile = 64 * 1024
    private static let magic: [UInt8] = Array("CSSTUB01".utf8)

    /// The cache as the environment configures it, or why there is none (turned off, no
    /// home directory, a directory that is not safe to use). `versionTag` names the
    /// CallStub version; stubs of another version are never used.
    public static func configured(versionTag: String) -> Result<PersistentStubCache, JITError> {
        let setting = getenv("CALLSTUB_STUB_CACHE").map { String(cString: $0) }
        if setting == "off" || setting == "0" { return .failure(.llvm("the stub cache is off (CALLSTUB_STUB_CACHE=off)")) }
        let directory: String
        if let setting, !setting.isEmpty {
            directory = setting
        } else if let base = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), base.hasPrefix("/") {
            directory = base + "/callstub"
        } else if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") {
            directory = home + "/.cache/callstub"
        } else {
            return .failure(.llvm("no directory for the stub cache: set HOME, XDG_CACHE_HOME or CALLSTUB_STUB_CACHE"))
        }
        if let problem = prepare(directory) { return .failure(.llvm("stub cache \(directory): \(problem)")) }
        // Stubs are compiled for the x86-64 baseline (JITSession), whatever the CPU.
        let prefix = "\(versionTag) LLVM \(String(cString: CLLVM_HeaderVersion())) x86-64 baseline "
        return .success(PersistentStubCache(directory: directory, keyPrefix: prefix))
    }

    private init(directory: String, keyPrefix: String) {
        self.directory = directory
        self.keyPrefix = keyPrefix
    }

    /// The stub of `shape` (without errno capture) from this process's loaded stubs or the
    /// directory, or nil. Uses no LLVM.
    public func stub(for shape: LoweredShape) -> StubEntry? {
        if ExecutableMemory.denial != nil { return nil }
        let key = key(for: shape)
        let address: UInt? = state.withLock { state in
            if let known = state.loaded[key] { return known }
            guard let code = read(key: key), let address = place(code) else { return nil }
            state.loaded[key] = address
            return address
        }
        return address.map { unsafeBitCast(UnsafeRawPointer(bitPattern: $0)!, to: StubEntry.self) }
    }

    /// Writes `code` (a stub just compiled for `shape`) unless this process wrote or read
    /// it already. Failures are ignored: the cache only saves work.
    func store(_ code: [UInt8], for shape: LoweredShape) {
        let key = key(for: shape)
        let isNew = state.withLock { state in state.loaded[key] == nil && state.stored.insert(key).inserted }
        guard isNew, code.count <= Self.largestFile - 512 else { return }
        write(key: key, code: code)
    }

    // MARK: - Keys and files

    private func key(for shape: LoweredShape) -> String { keyPrefix + shape.description }

    private func path(for key: String) -> String {
        directory + "/" + String(Self.fnv1a(Array(key.utf8)), radix: 16) + ".stub"
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
        var bytes = Self.magic
        func append(_ value: UInt64, _ count: Int) { for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) } }
        append(UInt64(key.count), 4)
        append(UInt64(code.count), 4)
        append(Self.fnv1a(code, Self.fnv1a(key)), 8)
        return bytes + key + code
    }

    private func read(key: String) -> [UInt8]? {
        let descriptor = open(path(for: key), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_uid == owner,
            status.st_mode & (S_IWGRP | S_IWOTH) == 0, status.st_size > 24, status.st_size <= Self.largestFile
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        guard count == bytes.count, bytes[0..<8].elementsEqual(Self.magic) else { return nil }
        func field(_ offset: Int, _ size: Int) -> UInt64 {
            (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
        }
        let keyLength = Int(field(8, 4)), codeLength = Int(field(12, 4))
        guard 24 + keyLength + codeLength == bytes.count, codeLength > 0 else { return nil }
        let storedKey = bytes[24..<(24 + keyLength)], code = bytes[(24 + keyLength)...]
        // Compared as memory: a generic comparison of the slice with the string's UTF-8
        // view cost some 13,000 instructions for a first call's key.
        var expected = key
        let sameKey = expected.withUTF8 { expectedBytes in
            guard expectedBytes.count == keyLength, let expectedStart = expectedBytes.baseAddress else { return expectedBytes.count == keyLength }
            return bytes.withUnsafeBytes { memcmp($0.baseAddress! + 24, expectedStart, keyLength) == 0 }
        }
        guard sameKey, field(16, 8) == Self.fnv1a(code, Self.fnv1a(storedKey)) else { return nil }
        return Array(code)
    }

    private func write(key: String, code: [UInt8]) {
        let final = path(for: key)
        let temporary = "\(final).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let bytes = contents(key: Array(key.utf8), code: code)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if written != bytes.count || rename(temporary, final) != 0 { unlink(temporary) }
    }

    /// Creates the directory (0700, parents too) if missing; nil if it is safe to use,
    /// else why not.
    private static func prepare(_ directory: String) -> String? {
        guard directory.hasPrefix("/") else { return "not an absolute path" }
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
        guard status.st_uid == geteuid() else { return "owned by another user" }
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

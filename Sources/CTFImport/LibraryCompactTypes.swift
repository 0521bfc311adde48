// A library's compact type info (CTF): the `.ctf` section GNU ld writes from objects built
// with `gcc -gctf` (one dictionary, or an archive of a parent and the dictionaries of
// conflicting types), or a sidecar file, read through libctf. Functions are found by
// symbol, their types imported into the C type model as the DWARF importer does.

internal import CLibCTF
import CTypeModel
import Locks

#if canImport(Glibc)
    import Glibc
#endif

/// Why CTF could not be read or does not describe a function.
public enum CTFImportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The library or its CTF could not be opened.
    case cannotOpen(path: String, reason: String)
    /// No function of that symbol in the CTF.
    case symbolNotFound(String)
    /// The CTF describes the function with a type CallStub cannot represent.
    case noCType(symbol: String, reason: String)
    /// The CTF is inconsistent (a corrupt or truncated section).
    case malformed(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot read the CTF of \(path): \(reason)"
        case .symbolNotFound(let symbol): return "\(symbol): no function of that symbol in the CTF"
        case .noCType(let symbol, let reason): return "\(symbol): cannot be checked against CTF: \(reason)"
        case .malformed(let reason): return "malformed CTF: \(reason)"
        }
    }
}

/// The CTF of one library.
public final class LibraryCompactTypes: @unchecked Sendable {
    /// Where it came from.
    public enum Source: Hashable, Sendable, CustomStringConvertible {
        /// The library's own `.ctf` section.
        case embedded(library: String)
        /// A file beside the library or in a cache directory.
        case sidecar(path: String)

        public var description: String {
            switch self {
            case .embedded(let library): return "CTF in the .ctf section of \(library)"
            case .sidecar(let path): return "CTF in \(path)"
            }
        }
    }

    public let libraryPath: String
    public let source: Source
    /// The size of the CTF read, in bytes.
    public let size: Int
    // Immutable after init; every libctf access happens under `importers`' lock (a
    // dictionary is not safe to use from two threads at once).
    private let types: OpaquePointer
    /// One importer per dictionary of the archive, each holding its dictionary open.
    private let importers = Lock<[UInt: CTFTypeImporter]>([:])

    /// Opens the CTF of the library at `path`: its `.ctf` section, or the file at
    /// `sidecar` (read with the library's dynamic symbols, which key its function table).
    public init(libraryPath path: String, sidecar: String? = nil) throws(CTFImportError) {
        var reason: UnsafePointer<CChar>?
        guard let opened = CLibCTF_open(path, sidecar, &reason) else {
            throw .cannotOpen(path: sidecar ?? path, reason: reason.map { String(cString: $0) } ?? "unknown")
        }
        // CTF linked against one build of a library names that build's strings and symbols
        // by position: with another build it would describe the wrong functions.
        if let label = CLibCTF_cuname(opened) {
            let name = String(cString: label)
            free(label)
            if name.hasPrefix(CTFTypeWriter.buildIDLabel) {
                let written = String(name.dropFirst(CTFTypeWriter.buildIDLabel.count))
                let actual = Self.buildID(ofFile: path)
                guard written == actual else {
                    CLibCTF_close(opened)
                    throw .cannotOpen(
                        path: sidecar ?? path,
                        reason: "written for another build of the library (build-id \(written); \(path) has \(actual ?? "none"))")
                }
            }
        }
        types = opened
        libraryPath = path
        source = sidecar.map { .sidecar(path: $0) } ?? .embedded(library: path)
        size = Int(CLibCTF_size(opened))
    }

    deinit {
        importers.withLock { importers in
            for importer in importers.values { ctf_dict_close(importer.dictionary) }
        }
        CLibCTF_close(types)
    }

    /// The type of the function `symbol`, with the typedefs, records and enums it uses.
    public func function(symbol: String) throws(CTFImportError) -> CFunctionType {
        try importers.withLock { importers throws(CTFImportError) -> CFunctionType in
            var error: Int32 = 0
            var id: ctf_id_t = 0
            guard let dictionary = ctf_arc_lookup_symbol_name(CLibCTF_archive(types), symbol, &id, &error) else {
                throw .symbolNotFound(symbol)
            }
            return try Self.importer(for: dictionary, in: &importers).functionType(id, symbol: symbol)
        }
    }

    /// The importer of one dictionary of the archive (records keep one identity per
    /// dictionary), which keeps the reference the lookup opened.
    private static func importer(for dictionary: OpaquePointer, in importers: inout [UInt: CTFTypeImporter]) -> CTFTypeImporter {
        let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(dictionary)))
        if let known = importers[key] {
            ctf_dict_close(dictionary)  // the importer holds it open already
            return known
        }
        let importer = CTFTypeImporter(dictionary: dictionary)
        importers[key] = importer
        return importer
    }
}

// MARK: - Finding a library's CTF

extension LibraryCompactTypes {
    /// The directory of CTF files named by build-id: `$CALLSTUB_TYPES_DIR`, else
    /// `$XDG_CACHE_HOME/callstub/types`, else `~/.cache/callstub/types`.
    public static var cacheDirectory: String? {
        func variable(_ name: String) -> String? {
            guard let value = getenv(name), value.pointee != 0 else { return nil }
            return String(cString: value)
        }
        if let explicit = variable("CALLSTUB_TYPES_DIR") { return explicit }
        // (A relative XDG_CACHE_HOME is invalid and ignored, as the XDG spec asks.)
        if let cache = variable("XDG_CACHE_HOME"), cache.hasPrefix("/") { return cache + "/callstub/types" }
        if let home = variable("HOME") { return home + "/.cache/callstub/types" }
        return nil
    }

    /// The GNU build-id of the ELF file at `path`, in hex, or `nil` when it has none.
    public static func buildID(ofFile path: String) -> String? {
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = CLibCTF_build_id(path, &bytes, bytes.count)
        guard count > 0 else { return nil }
        return bytes[..<Int(count)].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The sidecar files looked at for the library at `path`, in order: `LIB.ctf` beside
    /// it, then `BUILD-ID.ctf` in the cache directory.
    public static func sidecarPaths(forLibrary path: String) -> [String] {
        var paths = [path + ".ctf"]
        if let directory = cacheDirectory, let id = buildID(ofFile: path) { paths.append("\(directory)/\(id).ctf") }
        return paths
    }

    /// Opens the library's CTF: its `.ctf` section, else the first sidecar file found
    /// (`sidecarPaths`). A sidecar must be a regular file that neither another user nor
    /// a group can write (it decides what is checked). Throws `cannotOpen` saying where
    /// it looked and why each place gave nothing.
    public static func open(libraryPath path: String) throws(CTFImportError) -> LibraryCompactTypes {
        var looked: [String] = []
        do {
            return try LibraryCompactTypes(libraryPath: path)
        } catch {
            guard case .cannotOpen(_, let reason) = error else { throw error }
            // A file that is no ELF has no sidecar either.
            if reason == "not an ELF file" || reason == "cannot open the library" { throw error }
            looked.append(reason == "no .ctf section" ? "no .ctf section" : ".ctf section: \(reason)")
        }
        for sidecar in sidecarPaths(forLibrary: path) {
            var status = stat()
            guard stat(sidecar, &status) == 0 else {
                looked.append("no \(sidecar)")
                continue
            }
            if let distrust = distrust(status) {
                looked.append("\(sidecar) ignored: \(distrust)")
                continue
            }
            do {
                return try LibraryCompactTypes(libraryPath: path, sidecar: sidecar)
            } catch {
                guard case .cannotOpen(_, let reason) = error else { throw error }
                looked.append("\(sidecar): \(reason)")
            }
        }
        throw .cannotOpen(path: path, reason: looked.joined(separator: "; "))
    }

    /// Why a sidecar file is not to be trusted, if it is not.
    private static func distrust(_ status: stat) -> String? {
        if status.st_mode & S_IFMT != S_IFREG { return "not a regular file" }
        if status.st_uid != getuid() && status.st_uid != 0 { return "owned by another user (uid \(status.st_uid))" }
        if status.st_mode & (S_IWGRP | S_IWOTH) != 0 { return "writable by its group or by others" }
        return nil
    }
}

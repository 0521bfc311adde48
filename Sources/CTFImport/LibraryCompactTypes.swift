// A library's compact type info (CTF): the `.ctf` section GNU ld writes from objects built
// with `gcc -gctf` (one dictionary, or an archive of a parent and the dictionaries of
// conflicting types), or a sidecar file, read through libctf. Functions are found by
// symbol, their types imported into the C type model as the DWARF importer does.

internal import CLibCTF
import CTypeModel
import Locks

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

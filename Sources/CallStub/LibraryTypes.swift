// A library's types written as compact type info (CTF): the types reachable from its
// exported functions and data objects, read from its DWARF, deduplicated, in one CTF
// dictionary (`export`); and a copy of the library with that CTF as its `.ctf` section
// (`embed`, by objcopy), which CallStub then checks declarations against when no debug
// package is installed.

import CTFImport
import CTypeModel
import DWARFImport

#if canImport(Glibc)
    import Glibc
#endif

/// Writing a library's types as CTF.
public enum LibraryTypes {
    /// A symbol left out of an export, and why.
    public struct Omission: Hashable, Sendable, CustomStringConvertible {
        public var symbol: String
        public var reason: String
        public var description: String { "\(symbol): \(reason)" }

        /// An omission whose reason is an error's text (which may name the symbol first).
        init(symbol: String, error: any Error) {
            self.symbol = symbol
            let text = "\(error)"
            reason = text.hasPrefix(symbol + ": ") ? String(text.dropFirst(symbol.count + 2)) : text
        }
    }

    /// What `export` wrote.
    public struct Export: Sendable {
        /// The CTF (uncompressed, as a `.ctf` section or a sidecar file holds it), linked
        /// against the library: it names the library's symbols and strings by position, and
        /// records its build-id, so it describes that build only.
        public var ctf: [UInt8]
        /// Where the DWARF came from ("DWARF in …").
        public var source: String
        /// The file the DWARF was read from (the library, or its separate debug file).
        public var debugFile: String
        /// The number of function and data-object symbols written.
        public var functions: Int
        public var objects: Int
        /// Exported symbols without a type in the CTF: no DWARF describes them, or their
        /// type has no CTF form.
        public var omitted: [Omission]
    }

    /// The CTF of the library at `path`: the types of its exported functions (an IFUNC by
    /// the implementation its resolver picks here, for which the library is loaded) and
    /// data objects, read from its DWARF (CALLSTUB_DEBUG_INFO does not apply: exporting
    /// needs DWARF). Throws `debugInfo` when the library has none.
    public static func export(libraryPath path: String) throws(CallStubError) -> Export {
        let info: LibraryDebugInfo
        do { info = try LibraryDebugInfo(libraryPath: path) } catch { throw .debugInfo(error.description) }
        let writer: CTFTypeWriter
        do { writer = try CTFTypeWriter() } catch { throw .debugInfo("cannot write CTF: \(error.description)") }
        var omitted: [Omission] = []
        let (functions, objects) = info.exportedSymbols
        // An IFUNC's DWARF is that of the implementation its resolver picks (glibc's `cos`
        // is `__cos_fma`'s code, with no declaration named `cos`): the library is loaded to
        // ask, as a call would, only when the first IFUNC needs it.
        var loaded: SharedLibrary??
        func implementation(of symbol: String) -> () -> UInt64? {
            {
                if loaded == nil { loaded = .some(try? SharedLibrary(path)) }
                return loaded??.implementationAddress(symbol)()
            }
        }
        for symbol in functions {
            do {
                let function = try info.function(symbol: symbol, implementation: implementation(of: symbol))
                try writer.addFunction(symbol: symbol, type: function.type)
            } catch {
                omitted.append(Omission(symbol: symbol, error: error))
            }
        }
        for symbol in objects {
            do {
                try writer.addObject(symbol: symbol, type: try info.variableType(symbol: symbol))
            } catch {
                omitted.append(Omission(symbol: symbol, error: error))
            }
        }
        let ctf: [UInt8]
        do { ctf = try writer.serialized(linkedTo: path) } catch { throw .debugInfo("cannot write CTF: \(error.description)") }
        return Export(
            ctf: ctf, source: info.source.description, debugFile: info.source.path, functions: writer.functionCount,
            objects: writer.objectCount, omitted: omitted)
    }

    /// Writes `ctf` (an export of the library at `path`) to `output`, or without one to
    /// the types cache as `BUILD-ID.ctf`, where CallStub looks for that build's types (the
    /// directory created 0700; the file 0600, written whole or not at all). Returns the
    /// path written.
    @discardableResult
    public static func store(_ ctf: [UInt8], forLibrary path: String, to output: String? = nil) throws(CallStubError) -> String {
        func failure(_ message: String) -> CallStubError { .debugInfo("cannot store the CTF of \(path): \(message)") }
        let destination: String
        if let output {
            destination = output
        } else {
            guard let directory = LibraryCompactTypes.cacheDirectory else { throw failure("no cache directory (set HOME or CALLSTUB_TYPES_DIR)") }
            guard let id = LibraryCompactTypes.buildID(ofFile: path) else { throw failure("the library has no build-id: give a file to write") }
            try makeDirectories(directory, failure: failure)
            destination = "\(directory)/\(id).ctf"
        }
        let staged = try temporaryFile(near: destination, contents: ctf, failure: failure)
        guard rename(staged, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(staged)
            throw failure("cannot write \(destination): \(reason)")
        }
        return destination
    }

    /// Creates `directory` and its missing parents, each 0700.
    private static func makeDirectories(_ directory: String, failure: (String) -> CallStubError) throws(CallStubError) {
        var status = stat()
        if stat(directory, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { throw failure("\(directory) is not a directory") }
            return
        }
        if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
            try makeDirectories(String(directory[..<slash]), failure: failure)
        }
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw failure("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes a copy of the library at `path` to `output` with `ctf` as its `.ctf` section
    /// (replacing one it has), by running binutils' `objcopy`. `output` is written whole or
    /// not at all (a temporary file renamed into place).
    public static func embed(_ ctf: [UInt8], inLibrary path: String, output: String) throws(CallStubError) {
        func failure(_ message: String) -> CallStubError { .debugInfo("cannot embed CTF in \(path): \(message)") }
        guard access(path, R_OK) == 0 else { throw failure(String(cString: strerror(errno))) }
        let temporary = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        let section = try temporaryFile(near: temporary + "/callstub-ctf", contents: ctf, failure: failure)
        defer { unlink(section) }
        let staged = try temporaryFile(near: output, contents: [], failure: failure)
        var renamed = false
        defer { if !renamed { unlink(staged) } }
        let arguments = [
            "objcopy", "--remove-section=.ctf", "--add-section", ".ctf=\(section)",
            "--set-section-flags", ".ctf=readonly,contents", "--set-section-alignment", ".ctf=8", path, staged,
        ]
        switch ChildProcess.run(arguments) {
        case .failure(let spawn):
            throw failure(spawn.code == ENOENT ? "objcopy not found on PATH (install binutils)" : "objcopy: \(spawn)")
        case .success(let outcome) where outcome.status != 0:
            throw failure("objcopy failed (status \(outcome.status)): \(outcome.messages)")
        case .success:
            break
        }
        var status = stat()
        if stat(path, &status) == 0 { chmod(staged, status.st_mode & 0o777) }
        guard rename(staged, output) == 0 else { throw failure("cannot write \(output): \(String(cString: strerror(errno)))") }
        renamed = true
    }

    /// Writes `contents` to a new file beside `path` (same directory, unique name).
    static func temporaryFile(
        near path: String, contents: [UInt8], failure: (String) -> CallStubError
    ) throws(CallStubError) -> String {
        var template = Array((path + ".XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw failure("cannot create a file beside \(path): \(String(cString: strerror(errno)))") }
        let name = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(name)
                throw failure("cannot write \(name): \(reason)")
            }
            written += count
        }
        close(descriptor)
        return name
    }
}

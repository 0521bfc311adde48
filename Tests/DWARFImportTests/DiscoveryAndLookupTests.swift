// Finding debug info (in the file, by build-id, by .gnu_debuglink with its CRC, through a
// dwz alternate file, or nowhere) and finding functions in it (by symbol address, aliases,
// IFUNCs), against files the tests build and glibc's own (libc6-dbg).

import CTestSupport
import CTypeModel
import DWARFImport
import Foundation
import Testing

@Suite struct DiscoveryAndLookupTests {
    static let source = """
        struct point { double x, y; };
        typedef struct point point_t;
        double norm2(point_t p) { return p.x * p.x + p.y * p.y; }
        int counter(const char *label, ...) { return label[0]; }
        """

    func gcc() throws -> CCompiler { try #require(CCompiler.installed.first { $0.name == "gcc" }) }

    func tool(_ name: String, _ arguments: [String]) throws {
        let result = try run("/usr/bin/\(name)", arguments)
        #expect(result.status == 0, "\(name) \(arguments): \(result.output)")
    }

    @Test func debugInfoInTheFile() throws {
        let (directory, path) = try buildLibrary(Self.source, compiler: gcc(), flags: ["-g"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let info = try LibraryDebugInfo(libraryPath: path)
        #expect(info.source == .embedded(path: path))
        let norm = try info.function(symbol: "norm2")
        #expect(CPrinter().print(.function(name: "norm2", type: norm.type)) == "double norm2(point_t p);")
        #expect(norm.header(declaring: "norm2").contains("typedef struct point point_t;"))
        let counter = try info.function(symbol: "counter")
        #expect(counter.type.isVariadic)
    }

    @Test func separateFileByDebugLinkWithItsCRC() throws {
        // No build-id, so libdwfl must follow .gnu_debuglink and check its CRC.
        let (directory, path) = try buildLibrary(Self.source, compiler: gcc(), flags: ["-g", "-Wl,--build-id=none"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let debug = directory.appendingPathComponent("lib.so.debug").path
        try tool("objcopy", ["--only-keep-debug", path, debug])
        try tool("objcopy", ["--strip-debug", "--add-gnu-debuglink=\(debug)", path])
        let info = try LibraryDebugInfo(libraryPath: path)
        #expect(info.source == .separate(path: debug))
        #expect(try info.function(symbol: "norm2").type.parameters.count == 1)

        // A debug file that does not match its CRC is not used.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: debug))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: debug))
        #expect(throws: DWARFImportError.self) { try LibraryDebugInfo(libraryPath: path) }
    }

    @Test func noDebugInfoSaysWhereItLooked() throws {
        let (directory, path) = try buildLibrary(Self.source, compiler: gcc(), flags: [])
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try LibraryDebugInfo(libraryPath: path)
            Issue.record("found debug info in a library built without -g")
        } catch {
            #expect(error.description.contains("no debug info"))
            #expect(error.description.contains("/usr/lib/debug/.build-id"))
        }
        #expect(throws: DWARFImportError.self) { try LibraryDebugInfo(libraryPath: "/nonexistent/lib.so") }
        #expect(throws: DWARFImportError.self) { try LibraryDebugInfo(libraryPath: "/etc/hostname") }
    }

    @Test func dwzAlternateFile() throws {
        // Two libraries sharing types; dwz moves the common DIEs into an alternate file.
        let (directory, first) = try buildLibrary(Self.source, compiler: gcc(), flags: ["-g"], name: "liba.so")
        defer { try? FileManager.default.removeItem(at: directory) }
        let second = directory.appendingPathComponent("libb.so").path
        try FileManager.default.copyItem(atPath: first, toPath: second)
        let common = directory.appendingPathComponent("common.debug").path
        let result = try run("/usr/bin/dwz", ["-m", common, "-M", common, first, second])
        try #require(result.status == 0, "dwz: \(result.output)")
        let info = try LibraryDebugInfo(libraryPath: first)
        #expect(info.alternateFile == common)
        let norm = try info.function(symbol: "norm2")
        guard case .typedef(let alias) = norm.type.parameters[0].type.type, case .record(let record) = alias.underlying.type.resolved
        else {
            Issue.record("point_t did not import")
            return
        }
        #expect(record.definition?.layout.size == 16)
    }

    /// Abstract origins (a function inlined and also emitted), K&R definitions (callers
    /// pass promoted arguments), zero-length and flexible arrays.
    @Test func originsUnprototypedAndArrays() throws {
        let source = """
            int helper(int x, double y) { return x + (int)y; }
            int user(int x) { return helper(x, 2.0) * 3; }
            double kr(f, c) float f; char c; { return f + c; }
            struct tail { int count; char zero[0]; double items[]; };
            int tail_count(struct tail *t) { return t->count; }
            """
        let (directory, path) = try buildLibrary(source, compiler: gcc(), flags: ["-g", "-O2"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let info = try LibraryDebugInfo(libraryPath: path)
        let helper = try info.function(symbol: "helper")
        #expect(CPrinter().print(.function(name: "helper", type: helper.type)) == "int helper(int x, double y);")
        let kr = try info.function(symbol: "kr")
        #expect(CPrinter().print(.function(name: "kr", type: kr.type)) == "double kr(double f, int c);")
        let tail = try info.function(symbol: "tail_count")
        #expect(tail.header(declaring: "tail_count").contains("char zero[0];\n    double items[];"))
    }

    @Test func glibcFromItsBuildIDDebugFile() throws {
        let path = "/lib/x86_64-linux-gnu/libc.so.6"
        let info = try LibraryDebugInfo(libraryPath: path)
        guard case .separate(let debug) = info.source else {
            Issue.record("glibc's DWARF should come from libc6-dbg's separate file: \(info.source)")
            return
        }
        #expect(debug.hasPrefix("/usr/lib/debug/.build-id/"))
        // strtol is defined as __strtol; the symbol's address finds it.
        let strtol = try info.function(symbol: "strtol")
        #expect(strtol.entry.definitionName == "__strtol")
        #expect(strtol.entry.foundBy.hasPrefix("symbol address"))
        #expect(CPrinter().print(.function(name: "strtol", type: strtol.type)) == "long strtol(const char *nptr, char **endptr, int base);")
        // snprintf is variadic, defined as __snprintf.
        let snprintf = try info.function(symbol: "snprintf")
        #expect(snprintf.type.isVariadic)
        #expect(snprintf.type.parameters.count == 3)
        // div returns a struct by value, with its typedef.
        let div = try info.function(symbol: "div")
        #expect(div.header(declaring: "div").hasPrefix("typedef struct {\n    int quot;\n    int rem;\n} div_t;"))
        // memcpy is an IFUNC: no DIE at its address; a declaration by name, or unverifiable.
        do {
            let memcpy = try info.function(symbol: "memcpy")
            #expect(memcpy.entry.foundBy.contains("IFUNC"))
        } catch {
            #expect(error.description.contains("IFUNC"))
        }
        #expect(throws: DWARFImportError.symbolNotFound("no_such_function_xyz")) {
            try info.function(symbol: "no_such_function_xyz")
        }
    }
}

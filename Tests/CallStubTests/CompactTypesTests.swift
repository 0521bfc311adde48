// Compact type info (CTF) as the source declarations are checked against: the fixture
// built with `gcc -gctf` and the fixture's types exported from its DWARF (embedded in a
// copy stripped of DWARF, or as a sidecar file), each through the DWARF mutation test;
// the export of glibc and GSL read back and compared with their DWARF, function by
// function; a sidecar written for another build refused.

import CTFImport
import CTestSupport
import CallStub
import DWARFImport
import Foundation
import Testing

@Suite struct CompactTypesTests {
    /// A temporary directory, removed by the caller.
    static func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-ctf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func fixture(_ flags: [String], in directory: URL, name: String) throws -> String {
        try FixtureLibrary.build(gccFlags: flags, in: directory, name: name)
    }

    /// A copy of `library` without DWARF (`objcopy --strip-debug`).
    static func stripped(_ library: String, to output: String) throws -> String {
        let result = try run("/usr/bin/objcopy", ["--strip-debug", library, output])
        try #require(result.status == 0, "\(result.output)")
        return output
    }

    /// The mutation test of `MutationTests`, against `library`'s types from `expectedSource`.
    static func mutationTest(_ path: String, expectedSource: String) throws {
        let library = try SharedLibrary(path)
        let source = try library.debugInfoSource.get()
        #expect(source.hasPrefix(expectedSource), "\(source)")
        try Mutations.expectAllRefused(by: library, label: source, requireVerified: true)
    }

    @Test func mutationsAreRefusedAgainstCTFFromGCC() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let library = try Self.fixture(["-gctf"], in: directory, name: "libfixture-ctf.so")
        try Self.mutationTest(library, expectedSource: "CTF in the .ctf section of \(library)")
    }

    @Test func mutationsAreRefusedAgainstExportedCTFEmbeddedOrBeside() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let withDWARF = try Self.fixture(["-g"], in: directory, name: "libfixture-g.so")
        let export = try LibraryTypes.export(libraryPath: withDWARF)
        #expect(export.source == "DWARF in \(withDWARF)")
        #expect(export.functions > 140, "\(export.functions) functions")
        // Embedded in a copy without DWARF.
        let bare = try Self.stripped(withDWARF, to: directory.appendingPathComponent("libfixture-bare.so").path)
        let embedded = directory.appendingPathComponent("libfixture-embedded.so").path
        try LibraryTypes.embed(export.ctf, inLibrary: bare, output: embedded)
        try Self.mutationTest(embedded, expectedSource: "CTF in the .ctf section of \(embedded)")
        // As a sidecar file beside the bare copy.
        try Data(export.ctf).write(to: URL(fileURLWithPath: bare + ".ctf"))
        try Self.mutationTest(bare, expectedSource: "CTF in \(bare).ctf")
    }

    @Test func aSidecarOfAnotherBuildIsRefused() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try Self.fixture(["-g"], in: directory, name: "libfirst.so")
        let second = try Self.stripped(
            try Self.fixture(["-g", "-O2"], in: directory, name: "libsecond-g.so"),
            to: directory.appendingPathComponent("libsecond.so").path)
        try Data(try LibraryTypes.export(libraryPath: first).ctf).write(to: URL(fileURLWithPath: second + ".ctf"))
        let library = try SharedLibrary(second)
        guard case .failure(let error) = library.debugInfoSource else {
            Issue.record("the sidecar of another build was read")
            return
        }
        #expect(error.description.contains("written for another build of the library"), "\(error)")
        // A group-writable sidecar is not trusted either.
        let third = try Self.stripped(first, to: directory.appendingPathComponent("libthird.so").path)
        try Data(try LibraryTypes.export(libraryPath: first).ctf).write(to: URL(fileURLWithPath: third + ".ctf"))
        chmod(third + ".ctf", 0o664)
        guard case .failure(let distrusted) = (try SharedLibrary(third)).debugInfoSource else {
            Issue.record("a group-writable sidecar was read")
            return
        }
        #expect(distrusted.description.contains("writable by its group or by others"), "\(distrusted)")
    }

    /// Every exported function's type read back from the CTF equals its DWARF type.
    @Test(arguments: ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libgsl.so.27"])
    func exportsReadBackAsTheirDWARF(_ path: String) throws {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let export = try LibraryTypes.export(libraryPath: real)
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sidecar = directory.appendingPathComponent("types.ctf").path
        try Data(export.ctf).write(to: URL(fileURLWithPath: sidecar))
        let types = try LibraryCompactTypes(libraryPath: real, sidecar: sidecar)
        let dwarf = try LibraryDebugInfo(libraryPath: real)
        let omitted = Set(export.omitted.map(\.symbol))
        var compared = 0
        var differences: [String] = []
        // What CTF cannot carry, where it changes nothing of the layout: a trailing GNU
        // `[0]` (CTF writes it as `[]`), an `aligned` attribute that moves nothing.
        var blindSpots: [String] = []
        for symbol in dwarf.exportedSymbols.functions where !omitted.contains(symbol) {
            let fromDWARF = try dwarf.function(symbol: symbol).type
            let fromCTF = try types.function(symbol: symbol)
            compared += 1
            for difference in SignatureComparison.compare(declared: fromDWARF, actual: fromCTF) {
                if difference.severity == .nonABI, "\(difference)".hasSuffix("pointee types differ") {
                    blindSpots.append("\(symbol): \(difference)")
                } else {
                    differences.append("\(symbol): \(difference)")
                }
            }
        }
        #expect(export.debugFile == dwarf.source.path)
        let debugSize = (try? FileManager.default.attributesOfItem(atPath: export.debugFile)[.size] as? Int) ?? 0
        print(
            "CTF export of \(real): \(export.functions) functions, \(export.objects) data objects, \(export.omitted.count) left out, "
                + "\(export.ctf.count) bytes (\(String(format: "%.1f", 100 * Double(export.ctf.count) / Double(max(debugSize, 1))))% of the "
                + "\(debugSize)-byte debug file); \(compared) read back, \(differences.count) differences, "
                + "\(blindSpots.count) pointee records that differ only in what CTF does not carry")
        #expect(compared == export.functions)
        #expect(compared > 2000)
        #expect(differences.isEmpty, "\(differences.count) differences: \(differences.prefix(10))")
        #expect(blindSpots.count <= 20, "\(blindSpots.prefix(30))")
        #expect(export.ctf.count * 20 <= debugSize, "\(export.ctf.count) bytes of CTF, over 5% of \(debugSize)")
    }
}

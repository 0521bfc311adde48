// `callstub types export` and `callstub types embed`, and calls checked against the CTF
// they write with debug packages ignored (CALLSTUB_DEBUG_INFO=off): the done-when
// on GSL, the sidecar in the types cache found by build-id, and the errors.

import CTestSupport
import Foundation
import Testing

@Suite struct TypesCommandTests {
    func callstub(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try run(ParseCommandTests.binary, arguments, environment: environment)
    }

    static func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-types-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func gslEmbeddedAndCheckedWithoutDebugPackages() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("libgsl.so.27").path
        let embed = try callstub(["types", "embed", "/usr/lib/x86_64-linux-gnu/libgsl.so.27", "-o", copy])
        #expect(embed.status == 0, "\(embed.output)")
        #expect(embed.output.contains("5254 functions, 214 data objects"), "\(embed.output)")
        let off = ["CALLSTUB_DEBUG_INFO": "off"]
        #expect(try callstub(["call", copy, "gsl_complex_abs", "{{3,4}}"], environment: off) == (0, "5\n"))
        let wrong = try callstub(["call", copy, "gsl_complex_abs", "--decl", "double gsl_complex_abs(double, double)", "3", "4"], environment: off)
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("disagrees with the library's CTF (CTF in the .ctf section of \(copy))"), "\(wrong.output)")
        #expect(wrong.output.contains("[abi] argument 1: declared double, actual gsl_complex: a floating type against a struct"))
        let signature = try callstub(["signature", copy, "gsl_complex_abs"], environment: off)
        #expect(signature.output.contains("typedef struct {\n    double dat[2];\n} gsl_complex;\ndouble gsl_complex_abs(gsl_complex);\n"))
        #expect(signature.output.contains("from CTF in the .ctf section of \(copy), the CTF function table"))
        // With debug info on, DWARF comes first.
        let dwarf = try callstub(["signature", copy, "gsl_complex_abs"])
        #expect(dwarf.output.contains("from DWARF in /usr/lib/debug/.build-id/"), "\(dwarf.output)")
    }

    @Test func exportGoesToTheTypesCacheByBuildID() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = directory.appendingPathComponent("types").path
        let environment = ["CALLSTUB_TYPES_DIR": cache, "CALLSTUB_DEBUG_INFO": "off"]
        // No CTF anywhere yet: the error says where it looked.
        let before = try callstub(["signature", "libgsl.so.27", "gsl_complex_abs"], environment: environment)
        #expect(before.status == 1)
        #expect(before.output.contains("DWARF not read (CALLSTUB_DEBUG_INFO=off); no CTF: no .ctf section; no "), "\(before.output)")
        let export = try callstub(["types", "export", "libgsl.so.27"], environment: environment)
        #expect(export.status == 0, "\(export.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: cache)
        // Named by the library's build-id, as readelf reads it.
        let notes = try run("/usr/bin/readelf", ["-n", "/usr/lib/x86_64-linux-gnu/libgsl.so.27"]).output
        let buildID = try #require(notes.split(separator: "\n").first { $0.contains("Build ID:") }?.split(separator: " ").last)
        #expect(files == ["\(buildID).ctf"], "\(files)")
        let attributes = try FileManager.default.attributesOfItem(atPath: cache + "/" + files[0])
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try callstub(["call", "libgsl.so.27", "gsl_complex_abs", "{{3,4}}"], environment: environment) == (0, "5\n"))
        let signature = try callstub(["signature", "libgsl.so.27", "gsl_complex_abs"], environment: environment)
        #expect(signature.output.contains("from CTF in \(cache)/\(files[0])"), "\(signature.output)")
    }

    @Test func errorsNameTheProblem() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A library without DWARF cannot be exported.
        let bare = directory.appendingPathComponent("libbare.so").path
        let build = try run("/usr/bin/gcc", ["-shared", "-fPIC", "-o", bare, "-x", "c", "-"], input: "int f(int x) { return x; }\n")
        try #require(build.status == 0, "\(build.output)")
        let noDWARF = try callstub(["types", "export", bare, "-o", directory.appendingPathComponent("x.ctf").path])
        #expect(noDWARF.status == 1)
        #expect(noDWARF.output.hasPrefix("error: \(bare): no debug info"), "\(noDWARF.output)")
        let missing = try callstub(["types", "embed", directory.appendingPathComponent("nope.so").path, "-o", bare + ".out"])
        #expect(missing.status == 1)
        #expect(missing.output.hasPrefix("error: "), "\(missing.output)")
        // An unwritable output leaves nothing behind.
        let unwritable = try callstub(["types", "embed", "/usr/lib/x86_64-linux-gnu/libgsl.so.27", "-o", "/proc/no/such/dir/libgsl.so"])
        #expect(unwritable.status == 1)
        #expect(unwritable.output.contains("error: cannot embed CTF in /usr/lib/x86_64-linux-gnu/libgsl.so.27: cannot create a file beside /proc/no/such/dir/libgsl.so"), "\(unwritable.output)")
    }
}

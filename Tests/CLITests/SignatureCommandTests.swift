// `callstub signature`, `callstub check` and `callstub call` without a declaration, on
// glibc and its debug info (libc6-dbg).

import CTestSupport
import Foundation
import Testing

@Suite struct SignatureCommandTests {
    func callstub(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(ParseCommandTests.binary, arguments)
    }

    @Test func signaturesComeFromDWARF() throws {
        let div = try callstub(["signature", "libc.so.6", "div"])
        #expect(div.status == 0)
        // Standard error (where the DWARF came from) shares the pipe: its line may come first.
        #expect(div.output.contains("typedef struct {\n    int quot;\n    int rem;\n} div_t;\ndiv_t div(int numer, int denom);\n"))
        #expect(div.output.contains("from DWARF in /usr/lib/debug/.build-id/"))
        #expect(try callstub(["call", "libc.so.6", "div", "7", "2"]) == (0, "{3, 1}\n"))
        #expect(try callstub(["call", "libm.so.6", "pow", "2", "10"]) == (0, "1024\n"))
        let wrong = try callstub(["call", "libc.so.6", "strtol", "--decl", "int strtol(const char *, char **, int)", "\"5\"", "null", "10"])
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("[abi] result: declared int, actual long: 4 bytes against 8"))
        let missing = try callstub(["signature", "libc.so.6", "no_such_function_xyz"])
        #expect(missing.status != 0)
        #expect(missing.output.hasPrefix("error: no_such_function_xyz: no such function symbol"))
    }

    /// A pipe given as the file (`--file <(…)`, `/dev/stdin`) is read to its end: its
    /// size is unknown beforehand.
    @Test func checkReadsAPipe() throws {
        let piped = try run(
            ParseCommandTests.binary, ["check", "libc.so.6", "--file", "/dev/stdin"],
            input: "long strtol(const char *, char **, int);\n")
        #expect(piped.status == 0, "\(piped.output)")
        #expect(piped.output.contains("ok       strtol"))
        let directory = try callstub(["check", "libc.so.6", "--file", "/tmp"])
        #expect(directory.status == 1)
        #expect(directory.output.contains("error: cannot read /tmp"))
    }

    @Test func checkAFileOfDeclarations() throws {
        let file = FixtureLibrary.sourceDirectory.appendingPathComponent("glibc-declarations.h").path
        let good = try callstub(["check", "libc.so.6", "--file", file])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.hasSuffix("20 declarations, 0 failed\n"), "\(good.output)")
        #expect(!good.output.contains("skipped"))
        let text = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "char *strchr(const char *s, int c);", with: "char *strchr(const char *s, long c);")
        let wrongFile = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-wrong-\(UUID().uuidString).h")
        try text.write(to: wrongFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: wrongFile) }
        let bad = try callstub(["check", "libc.so.6", "--file", wrongFile.path])
        #expect(bad.status != 0)
        #expect(bad.output.contains("FAILED   strchr"))
        #expect(bad.output.contains("[abi] argument 2: declared long, actual int: 8 bytes against 4"))
        #expect(bad.output.hasSuffix("20 declarations, 1 failed\n"))
    }

    /// A check that could compare nothing fails, rather than passing for one that found no
    /// difference: a library without debug info (the fixture built without -g), and
    /// declarations of no function.
    @Test func checkingNothingFails() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-nodebug-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let library = directory.appendingPathComponent("libnodebug.so").path
        let source = FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.c").path
        let compiler = try #require(CCompiler.installed.first { $0.name == "gcc" })
        let build = try run(compiler.path, ["-O1", "-g0", "-shared", "-fPIC", "-o", library, source])
        try #require(build.status == 0, "\(build.output)")
        let header = FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.h").path
        let none = try callstub(["check", library, "--header", header])
        #expect(none.status == 1, "\(none.output)")
        #expect(none.output.contains("failed, ") && none.output.contains(" not checked"), "\(none.output)")
        #expect(none.output.contains("error: nothing could be checked: no declaration has debug info"), "\(none.output)")
        let empty = directory.appendingPathComponent("types.h").path
        try "struct only_a_type { int x; };".write(toFile: empty, atomically: true, encoding: .utf8)
        let noFunction = try callstub(["check", "libc.so.6", "--file", empty])
        #expect(noFunction.status == 1 && noFunction.output.contains("error: nothing could be checked: the declarations declare no function"))
    }
}

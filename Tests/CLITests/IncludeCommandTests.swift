// Real headers on the command line: --include runs the C preprocessor, so a library
// without debug info is called in one command; globals are arguments; check and parse
// take the same sources. A C program built against the same header is the oracle.

import CTestSupport
import Foundation
import Testing

@Suite struct IncludeCommandTests {
    func callstub(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(ParseCommandTests.binary, arguments)
    }

    /// What C prints for `expression` with `header` included.
    func cPrints(_ header: String, _ format: String, _ expression: String, libraries: [String]) throws -> String {
        let gcc = try #require(CCompiler.installed.first { $0.name == "gcc" })
        return try gcc.compileAndRun(
            "#include <stdio.h>\n#include <\(header)>\nint main(void) { printf(\"\(format)\", \(expression)); return 0; }\n",
            flags: libraries)
    }

    @Test func librariesWithoutDebugInfoAreCalledFromTheirHeaders() throws {
        let zlib = try cPrints("zlib.h", "\\\"%s\\\"\\n", "zlibVersion()", libraries: ["-Wl,--no-as-needed", "-lz"])
        #expect(try callstub(["call", "libz.so.1", "zlibVersion", "--include", "zlib.h", "--string"]) == (0, zlib))
        let sqlite = try cPrints("sqlite3.h", "\\\"%s\\\"\\n", "sqlite3_libversion()", libraries: ["-Wl,--no-as-needed", "-lsqlite3"])
        #expect(try callstub(["call", "libsqlite3.so.0", "sqlite3_libversion", "--include", "sqlite3.h", "--string"]) == (0, sqlite))
        let crc = try cPrints("zlib.h", "%lu\\n", "crc32(0, (const unsigned char *)\"abc\", 3)", libraries: ["-Wl,--no-as-needed", "-lz"])
        #expect(try callstub(["call", "libz.so.1", "crc32", "--include", "zlib.h", "0", "\"abc\"", "3"]) == (0, crc))
    }

    @Test func definesAndIncludePathsReachThePreprocessor() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-include-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
            #ifdef WANT_LABS
            long labs(long);
            #else
            #error WANT_LABS is not defined
            #endif
            """.write(to: directory.appendingPathComponent("mine.h"), atomically: true, encoding: .utf8)
        #expect(try callstub(["call", "libc.so.6", "labs", "--include", "mine.h", "-I", directory.path, "-DWANT_LABS", "-5"]) == (0, "5\n"))
        let failed = try callstub(["call", "libc.so.6", "labs", "--include", "mine.h", "-I", directory.path, "-5"])
        #expect(failed.status == 1)
        #expect(failed.output.contains("WANT_LABS is not defined"), "\(failed.output)")
        let missing = try callstub(["call", "libc.so.6", "labs", "--include", "mine.h", "--preprocessor", "no-such-cc", "-5"])
        #expect(missing.output.hasPrefix("error: preprocessing failed"), "\(missing.output)")
        // --cpp: a --header file with preprocessor lines.
        let withCpp = try callstub(["call", "libc.so.6", "labs", "--header", directory.appendingPathComponent("mine.h").path, "--cpp", "-DWANT_LABS", "-7"])
        #expect(withCpp == (0, "7\n"))
    }

    @Test func globalsAreArguments() throws {
        let fputs = try callstub(["call", "libc.so.6", "fputs", "\"hi\\n\"", "stdout", "--include", "stdio.h"])
        #expect(fputs.status == 0)
        #expect(fputs.output.hasPrefix("hi\n"), "\(fputs.output)")
        #expect(try callstub(["call", "libc.so.6", "fileno", "stderr", "--include", "stdio.h"]) == (0, "2\n"))
        let errno = try callstub(["call", "libc.so.6", "abs", "errno", "--include", "stdlib.h", "--include", "errno.h"])
        #expect(errno.status == 1)
        #expect(errno.output.contains("errno is not a variable"), "\(errno.output)")
        let address = try callstub(["call", "libc.so.6", "printf", "\"%d\\n\"", "&undeclared", "--include", "stdio.h"])
        #expect(address.output.contains("no declared variable or function undeclared"), "\(address.output)")
    }

    @Test func checkAndParseTakeHeaders() throws {
        let check = try callstub(["check", "libc.so.6", "--include", "string.h"])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("ok       strlen"), "\(check.output)")
        // Some of string.h's functions have no DWARF in libc6-dbg (assembly): not checked.
        #expect(check.output.contains(" declarations, 0 failed"), "\(check.output)")
        // glibc's string.h (without _GNU_SOURCE) redirects the XPG strerror_r to
        // __xpg_strerror_r; the same prototype without the label names the GNU function,
        // whose result is a char *: check compares the right symbol and catches the other.
        let labelled = try callstub(["check", "libc.so.6", "--include", "string.h"])
        #expect(labelled.output.contains("ok       strerror_r (symbol __xpg_strerror_r)"), "\(labelled.output)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-xpg-\(UUID().uuidString).h")
        defer { try? FileManager.default.removeItem(at: directory) }
        try "int strerror_r(int, char *, size_t);\n".write(to: directory, atomically: true, encoding: .utf8)
        let wrong = try callstub(["check", "libc.so.6", "--include", "stddef.h", "--header", directory.path])
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("[abi] result: declared int, actual char *"), "\(wrong.output)")
        // parse prints the linkage it read.
        let printed = try callstub(["parse", "int f(int) __asm__(\"g\"); static inline int h(void) { return 1; }"])
        #expect(printed.output.hasPrefix("int f(int) __asm__(\"g\");\nstatic int h(void);\n"), "\(printed.output)")
        let parse = try callstub(["parse", "--include", "zlib.h"])
        #expect(parse.status == 0)
        #expect(parse.output.contains("const char *zlibVersion(void);"), "\(parse.output.prefix(400))")
    }
}

// `callstub` never dies by a signal, whatever it is given: 2,000 seeded runs of every
// subcommand with hostile libraries, names, declarations and argument values. Each run
// exits 0, or 1–127 with an error message (issue 20). Foundation reports a death by
// signal as the signal's number, with no message: that fails the test too.

import CTestSupport
import Foundation
import Testing

@Suite struct HostileCommandLineTests {
    static let libraries = [
        "libc.so.6", "libm.so.6", "libz.so.1", "/nonexistent.so", "/dev/null", "/etc/passwd", "", "-", "/",
        "libc.so.6\u{1}", "/proc/self/exe",
    ]
    static let functions = ["abs", "strlen", "pow", "div", "printf", "qsort", "nope", "", "environ", "stdout", "__bswap_32"]
    static let declarations = [
        "int abs(int)", "double pow(double, double)", "int f(", "struct S { int x : 99; } f(void)",
        "int printf(const char *, ...)", "typedef int T; T abs(T)", "void *(*f(int))[3]", "int abs(int) __asm__(\"labs\")",
        "union U { double d; } f(union U)", "_Float128 f(_Float128)", "int (*)(int)", "long double f(long double _Complex)",
        "struct { char c[1ULL<<40]; } f(void)", "static inline int f(void) { return 0; }", "int f(int) __attribute__((mode(XF)))",
        "typedef int A[]; A f(void)", "int f(void x)", "#define X 1", "__typeof__(y) f(void)", "struct S f(struct S)",
    ]
    /// Hostile values, but no valid pointer a C function would follow (`null`, `0x10`,
    /// `stdout` are documented pointers: `strlen null` crashes in C as it would in C).
    static let values = [
        "-1", "12", "\"s\"", "'a'", "{1,2}", "{.x=1}", "1e308", "nan", "(long)5", "(struct S){1}", "errno",
        "99999999999999999999999", "\"\\x\"", "{", "}", "((((", "-", "--", "&", "&&x", "(int)", "&undeclared",
        "{[9999999999]=1}", "0b102", "1.5.5", "'", "\"", "(double)\"x\"", "-9223372036854775809", "017",
    ]
    static let headers = ["/dev/null", "/etc/passwd", "/nonexistent", "/proc/self/maps"]

    /// One random command line.
    static func commandLine(_ random: inout SeededGenerator) -> [String] {
        func pick(_ list: [String]) -> String { list.randomElement(using: &random)! }
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            var arguments = ["call", pick(libraries), pick(functions)]
            if Double.random(in: 0..<1, using: &random) < 0.7 { arguments += ["--decl", pick(declarations)] }
            if Double.random(in: 0..<1, using: &random) < 0.2 { arguments += ["--backend", pick(["ffi", "jit", "auto"])] }
            if Double.random(in: 0..<1, using: &random) < 0.1 { arguments += ["--include", pick(["stdio.h", "nope.h", "/etc/passwd"])] }
            for _ in 0..<Int.random(in: 0...4, using: &random) { arguments.append(pick(values)) }
            return arguments
        case 1, 2, 3:
            var text = pick(declarations)
            if Bool.random(using: &random) {
                text = String(text.map { character in
                    Double.random(in: 0..<1, using: &random) < 0.1 ? Array("(){}[];,*:0123456789xyz_ \"'").randomElement(using: &random)! : character
                })
            }
            return [["parse", "plan", "ir"][Int.random(in: 0..<3, using: &random)], text]
        case 4:
            return ["signature", pick(libraries), pick(functions)]
        default:
            return ["check", pick(libraries), "--file", pick(headers)]
        }
    }

    @Test("2,000 hostile command lines: no signal, an error message on failure")
    func neverDiesByASignal() throws {
        var random = SeededGenerator(seed: 0xC11_F022)
        let commandLines = (0..<2_000).map { _ in Self.commandLine(&random) }
        let failures = concurrentMap(commandLines) { arguments -> String? in
            guard let result = try? run(ParseCommandTests.binary, arguments) else { return "could not run \(arguments)" }
            if result.status >= 128 || result.status < 0 { return "status \(result.status): callstub \(arguments)" }
            if result.status != 0 && !result.output.lowercased().contains("error:") {
                return "status \(result.status) (a signal?) without an error message: callstub \(arguments)"
            }
            return nil
        }.compactMap { $0 }
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
    }
}

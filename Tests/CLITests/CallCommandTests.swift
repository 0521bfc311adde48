// `callstub call` run as scripts run it: the built binary, the argument and output syntax
// (a contract), JSON, and clear failures with a non-zero exit code.

import CTestSupport
import Foundation
import Testing

@Suite struct CallCommandTests {
    static let divDeclaration = "typedef struct { int quot; int rem; } div_t; div_t div(int, int);"

    func call(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(ParseCommandTests.binary, ["call"] + arguments)
    }

    /// The same call through `--backend ffi` and `--backend jit` prints the same.
    @Test func backendsAgree() throws {
        for backend in ["ffi", "jit", "auto"] {
            #expect(try call(["libm.so.6", "pow", "--decl", "double pow(double, double)", "--backend", backend, "2", "10"]) == (0, "1024\n"))
            #expect(try call(["libc.so.6", "div", "--decl", Self.divDeclaration, "--backend", backend, "7", "2"]) == (0, "{3, 1}\n"))
            let json = try call(["libm.so.6", "fabs", "--decl", "double fabs(double)", "--backend", backend, "--json", "-2"])
            #expect(json.output.contains("\"backend\" : \"\(backend == "jit" ? "jit" : "libffi")\""))
        }
    }

    /// Without a JIT (as on a machine that forbids executable memory) `auto` falls back
    /// to libffi and says why; `jit` fails with the reason.
    @Test func fallsBackWithoutAJIT() throws {
        let arguments = ["call", "libm.so.6", "pow", "--decl", "double pow(double, double)", "2", "10"]
        let environment = ["CALLSTUB_DISABLE_JIT": "1"]
        #expect(try run(ParseCommandTests.binary, arguments, environment: environment) == (0, "1024\n"))
        let jit = try run(ParseCommandTests.binary, arguments + ["--backend", "jit"], environment: environment)
        #expect(jit.status != 0)
        #expect(jit.output.hasPrefix("error: the jit backend is not available: LLVM: disabled by CALLSTUB_DISABLE_JIT"))
        let plan = try run(ParseCommandTests.binary, ["plan", "double pow(double, double);", "--explain"], environment: environment)
        #expect(plan.output.contains("JIT: unavailable (LLVM: disabled by CALLSTUB_DISABLE_JIT)"), "\(plan.output)")
    }

    @Test func documentedExamples() throws {
        #expect(try call(["libm.so.6", "pow", "--decl", "double pow(double, double)", "2", "10"]) == (0, "1024\n"))
        #expect(try call(["libc.so.6", "div", "--decl", Self.divDeclaration, "7", "2"]) == (0, "{3, 1}\n"))
        #expect(try call(["libc.so.6", "div", "--decl", Self.divDeclaration, "-7", "2"]) == (0, "{-3, -1}\n"))
        #expect(try call(["libc.so.6", "abs", "--decl", "int abs(int)", "--", "-5"]) == (0, "5\n"))
        #expect(try call(["libm.so.6", "ldexp", "--decl", "double ldexp(double, int)", "-1.5", "-3"]) == (0, "-0.1875\n"))
        let printf = try call([
            "libc.so.6", "snprintf", "--decl", "int snprintf(char *, size_t, const char *, ...)", "null", "0",
            "\"%d %s %.1f %lld\"", "42", "\"abc\"", "2.5", "(long long)-1",
        ])
        #expect(printf == (0, "13\n"))
        #expect(try call(["libc.so.6", "getenv", "--decl", "char *getenv(const char *)", "\"CALLSTUB_NO_SUCH_VARIABLE\""]) == (0, "0x0\n"))
    }

    /// Usage errors exit 1 like every other error (ArgumentParser's own status is 64) and
    /// start `error:`; help and the version exit 0.
    @Test func usageErrorsExitOne() throws {
        for arguments in [["call", "libm.so.6", "cos", "--backend", "nope", "0"], ["nosuch"], ["call"], ["plan", "--no-such-flag"]] {
            let outcome = try run(ParseCommandTests.binary, arguments)
            #expect(outcome.status == 1 && outcome.output.hasPrefix("error: "), "\(arguments): \(outcome.status) \(outcome.output)")
        }
        #expect(try run(ParseCommandTests.binary, ["--help"]).status == 0)
        #expect(try run(ParseCommandTests.binary, ["call", "--help"]).status == 0)
        #expect(try run(ParseCommandTests.binary, ["--version"]).status == 0)
    }

    /// A function that crashes makes the tool say so and exit 2, instead of dying by the
    /// signal: a NULL out-parameter, a bad pointer, a division by zero, abort().
    @Test func aCrashInTheFunctionIsReported() throws {
        for (arguments, message) in [
            (["libm.so.6", "frexp", "--decl", "double frexp(double, int *)", "8", "null"], "error: frexp crashed with SIGSEGV at address 0x0\n"),
            (["libc.so.6", "strlen", "--decl", "unsigned long strlen(const char *)", "0x10"], "error: strlen crashed with SIGSEGV at address 0x10\n"),
            (["libc.so.6", "div", "--decl", Self.divDeclaration, "1", "0"], "error: div crashed with SIGFPE at address 0x"),
            (["libc.so.6", "abort", "--decl", "void abort(void)"], "error: abort crashed with SIGABRT\n"),
        ] {
            let outcome = try call(arguments)
            #expect(outcome.status == 2 && outcome.output.hasPrefix(message), "\(arguments): \(outcome.status) \(outcome.output)")
        }
    }

    /// `out` and `out[N]`: fresh objects for pointer parameters, printed after the result;
    /// the C library's own results are the oracle (frexp(8) = 0.5 × 2⁴, strtol stops at
    /// 'a', snprintf writes "5-x", memset fills the bytes, the fixture's divmod).
    @Test(arguments: FixtureLibrary.built)
    func outArguments(_ fixture: FixtureLibrary) throws {
        #expect(try call(["libm.so.6", "frexp", "--decl", "double frexp(double, int *exp)", "8", "out"]) == (0, "0.5\n*exp = 4\n"))
        let strtol = try call(["libc.so.6", "strtol", "--decl", "long strtol(const char *, char **end, int)", "\"12abc\"", "out", "10"])
        #expect(strtol.status == 0 && strtol.output.hasPrefix("12\n*end = 0x"), "\(strtol.output)")
        let snprintf = try call([
            "libc.so.6", "snprintf", "--decl", "int snprintf(char *buffer, size_t, const char *, ...)", "out[32]", "32",
            "\"%d-%s\"", "5", "\"x\"",
        ])
        #expect(snprintf == (0, "3\nbuffer[32] = \"5-x\"\n"))
        let memset = try call(["libc.so.6", "memset", "--decl", "void *memset(void *s, int, size_t)", "out[4]", "65", "4"])
        #expect(memset.status == 0 && memset.output.hasSuffix("\ns[4] = \"AAAA\"\n"), "\(memset.output)")
        let header = FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.h").path
        #expect(try call([fixture.path, "divmod", "--header", header, "17", "5", "out", "out"]) == (0, "*quotient = 3\n*remainder = 2\n"))
        let json = try call(["libm.so.6", "frexp", "--decl", "double frexp(double, int *exp)", "8", "out", "--json"])
        #expect(json.output.contains("\"out\" : [") && json.output.contains("\"name\" : \"exp\""), "\(json.output)")
        // Misused: each a clear error, exit 1.
        for (arguments, message) in [
            (["libm.so.6", "cos", "--decl", "double cos(double)", "out"], "error: argument 1 (double): `out` needs a pointer parameter"),
            (["libc.so.6", "memset", "--decl", "void *memset(void *, int, size_t)", "out", "0", "1"],
             "error: argument 1 (void *): `out` needs a pointee type: write out[N] for N bytes"),
            (["libc.so.6", "printf", "--decl", "int printf(const char *, ...)", "\"%p\"", "out"],
             "error: argument 2 (...): `out` needs a declared pointer parameter"),
        ] {
            let failure = try call(arguments)
            #expect(failure.status == 1 && failure.output.hasPrefix(message), "\(failure.output)")
        }
    }

    @Test(arguments: FixtureLibrary.built)
    func fixtureValues(_ fixture: FixtureLibrary) throws {
        let header = FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.h").path
        func fixtureCall(_ function: String, _ arguments: String...) throws -> String {
            let result = try call([fixture.path, function, "--header", header] + arguments)
            #expect(result.status == 0, "\(function): \(result.output)")
            return result.output
        }
        #expect(try fixtureCall("echo_char", "'A'") == "65\n")
        #expect(try fixtureCall("echo_schar", "-128") == "-128\n")
        #expect(try fixtureCall("echo_bool", "true") == "1\n")
        #expect(try fixtureCall("echo_uchar", "0xff") == "255\n")
        #expect(try fixtureCall("echo_color", "BLUE") == "1000\n")
        #expect(try fixtureCall("echo_float", "0.1") == "0.1\n")
        #expect(try fixtureCall("echo_double", "1e300") == "1e+300\n")
        #expect(try fixtureCall("echo_ldouble", "0.1") == "0.1\n")
        #expect(try fixtureCall("echo_ullong", "18446744073709551615") == "18446744073709551615\n")
        #expect(try fixtureCall("echo_pointer", "0x7f001234") == "0x7f001234\n")
        #expect(try fixtureCall("echo_pointer", "null") == "0x0\n")
        #expect(try fixtureCall("echo_cdouble", "{1, -2.5}") == "{1, -2.5}\n")
        #expect(try fixtureCall("do_nothing") == "")
        #expect(try fixtureCall("string_length", "\"tab\\there\"") == "8\n")
        #expect(try fixtureCall("greeting", "--string") == "\"hello, world\"\n")
        #expect(try fixtureCall("make_BIG", "1") == "{{1, 2, 3, 4}, {5, 6, 7, 8}}\n")
        #expect(try fixtureCall("weigh_NEST", "{ {1, 2}, {.b = 4, .a = 3} }") == "30\n")
        #expect(try fixtureCall("weigh_BIG", "{.i = {[3] = 100}, .d = {1, 2}}") == "805\n")
        #expect(try fixtureCall("echo_NS", "{{1.5}, 2}") == "{{1.5}, 2}\n")
        #expect(try fixtureCall("echo_S3", "{\"ab\"}") == "{{97, 98, 0}}\n")
        #expect(try fixtureCall("vsum_int", "3", "1", "2", "3") == "14\n")
        // Unions and bit-field records by value: the JIT takes them, libffi cannot.
        #expect(try fixtureCall("echo_U", "{7}", "--backend", "jit") == "{7}\n")
        #expect(try fixtureCall("echo_BITS", "{1, -2, 3}") == "{1, -2, 3}\n")
        #expect(try fixtureCall("vmixed", "\"ldD\"", "(long)1", "0.5", "(struct DD){1, 2}") == "11\n")
        // stdout and stderr share the pipe here, so only their lines are checked, not their order.
        let errno = try fixtureCall("fail_with_errno", "34", "--errno").split(separator: "\n").sorted()
        #expect(errno == ["-1", "errno: 34 (Numerical result out of range)"])
        let json = try fixtureCall("make_NEST", "1", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let result = try #require(object["result"] as? [String: Any])
        #expect((result["p"] as? [String: Any])?["b"] as? Int == 2)
        #expect((result["q"] as? [String: Any])?["a"] as? Double == 3)
        #expect(object["backend"] as? String == "libffi", "one call under the default adaptive tiering stays on libffi")
    }

    /// Daily-use details checked against the libraries themselves: C's brace elision
    /// (`gsl_complex` is `struct { double dat[2]; }`), an IFUNC bound from DWARF through the
    /// implementation its resolver picks, the verification's warnings on stderr and in
    /// JSON, and types named on one line in errors.
    @Test func dailyUse() throws {
        #expect(try call(["libgsl.so.27", "gsl_complex_abs", "{3, 4}"]) == (0, "5\n"))
        #expect(try call(["libgsl.so.27", "gsl_complex_abs", "{.dat = 3, 4}"]) == (0, "5\n"))
        #expect(try call(["libgsl.so.27", "gsl_complex_abs", "{{3, 4}}"]) == (0, "5\n"))
        let tooMany = try call(["libgsl.so.27", "gsl_complex_abs", "{3, 4, 5}"])
        #expect(tooMany.status == 1 && tooMany.output.hasPrefix("error: argument 1 (gsl_complex): column 8: too many initializers for gsl_complex"), "\(tooMany.output)")

        #expect(try call(["libm.so.6", "cos", "0"]) == (0, "1\n"))
        #expect(try call(["libc.so.6", "strlen", "\"hello\""]) == (0, "5\n"))
        let cos = try run(ParseCommandTests.binary, ["signature", "libm.so.6", "cos"])
        #expect(cos.output.contains("double cos(double x);") && cos.output.contains("(the resolver's pick)"), "\(cos.output)")
        let wrongCos = try call(["libm.so.6", "cos", "--decl", "float cos(float)", "1"])
        #expect(wrongCos.status == 1 && wrongCos.output.contains("[abi] result: declared float, actual double"), "\(wrongCos.output)")

        let swapped = ["libc.so.6", "ldiv", "--decl", "typedef struct { long rem; long quot; } ldiv_t; ldiv_t ldiv(long, long);", "7", "2"]
        let warned = try call(swapped)
        #expect(warned.status == 0)
        #expect(Set(warned.output.split(separator: "\n")) == [
            "{3, 1}",
            "warning: ldiv: result, member rem: declared long, actual long: member named rem against quot",
            "warning: ldiv: result, member quot: declared long, actual long: member named quot against rem",
        ], "\(warned.output)")
        let json = try call(swapped + ["--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any] ?? [:]
        let warnings = object["warnings"] as? [[String: Any]] ?? []
        #expect(warnings.map { $0["position"] as? String } == ["result, member rem", "result, member quot"])
        #expect(warnings.first?["detail"] as? String == "member named rem against quot")

        let anonymous = try call(["libm.so.6", "cos", "--verify", "off", "--decl", "double cos(struct { double a; int b[3]; struct { char c; } in; } x);", "1"])
        #expect(anonymous.output == "error: argument 1 (struct { double a; int b[3]; struct { char c; } in; }): column 1: expected an initializer list {…} for struct { double a; int b[3]; struct { char c; } in; }\n")
    }

    @Test func failuresAreClearAndExitNonZero() throws {
        let cases: [([String], String)] = [
            (["libnothing.so.7", "f", "--decl", "int f(void)"], "error: cannot load library libnothing.so.7"),
            (["libm.so.6", "nope", "--decl", "int nope(void)"], "error: symbol nope not found in libm.so.6"),
            (["libm.so.6", "pow", "--decl", "double pow(double,, double)"], "error: line 1, column 19"),
            (["libm.so.6", "pow", "--decl", "double pow(double, double)", "2"], "error: pow takes 2 arguments, got 1"),
            (["libm.so.6", "pow", "--decl", "double pow(double, double)", "2", "\"x\""],
                "error: argument 2 (double): column 1: expected a number for double"),
            (["libm.so.6", "pow", "--decl", "double pow(double, double)", "2", "{1"],
                "error: argument 2 (double): column 3: expected '}' to close the initializer list"),
            (["libc.so.6", "div", "--decl", Self.divDeclaration, "7", "2.5"],
                "error: argument 2 (int): column 1: a floating value for an integer type int"),
            (["libc.so.6", "div", "--decl", Self.divDeclaration, "4294967296", "1"],
                "error: argument 1 (int): 4294967296 does not fit in int"),
            (["libm.so.6", "fabs", "--decl", "union U { double d; long l; }; double fabs(union U)", "--backend", "ffi",
                "--verify", "off", "{1.5}"],
                "error: the libffi backend cannot call this: argument 1 (union U): libffi cannot pass unions"),
            (["libm.so.6", "fabs", "--decl", "union U { double d; long l; }; double fabs(union U)", "{1.5}"],
                "error: the declaration of fabs disagrees with the library's DWARF"),
            (["libc.so.6", "printf", "--decl", "int printf(const char *, ...)", "\"%d\"", "{1}"],
                "error: variadic argument 2 (...): column 1: an initializer list needs a type"),
            // A decimal integer is never taken as an address (it crashed atoi and free).
            (["libc.so.6", "atoi", "--decl", "int atoi(const char *)", "12"],
                "error: argument 1 (const char *): column 1: 12 is not a pointer: write an address in hex (0x…), null, or a string in quotes ('\"12\"')"),
            (["libc.so.6", "free", "--decl", "void free(void *)", "-8"], "error: argument 1 (void *): column 1: -8 is not a pointer"),
            (["libc.so.6", "free", "--decl", "void free(void *)", "017"], "error: argument 1 (void *): column 1: 15 is not a pointer"),
            (["libc.so.6", "atoi", "--decl", "int atoi(const char *)", "'1'"],
                "error: argument 1 (const char *): column 1: a character constant is not a pointer"),
        ]
        for (arguments, expected) in cases {
            let result = try call(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.output.hasPrefix(expected), "\(arguments): \(result.output)")
        }
    }
}

// Binding what real headers declare: `__asm__` labels redirect the symbol on both
// backends, `static inline` functions are refused by name, headers come through the
// C preprocessor, and global variables are read, written and passed as arguments.
// A small library compiled here is the oracle: C decides what each symbol does.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct HeaderBindingTests {
    static let header = """
        int answer(int x) __asm__("answer_v2");
        static inline int twice(int x) { return 2 * x; }
        extern int counter;
        extern const char *greeting;
        struct point { int x, y; };
        extern struct point origin;
        extern double table[3];
        int read_counter(void);
        """

    /// The library: `answer` (the old symbol) and `answer_v2` (the one the header binds)
    /// answer differently, so a call tells which symbol was bound.
    static let library: String? = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-headers-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("labels.c")
        let output = directory.appendingPathComponent("liblabels.so")
        try? """
            int answer(int x) { return -1; }
            int answer_v2(int x) { return x + 100; }
            int counter = 5;
            const char *greeting = "hello";
            struct point { int x, y; } origin = { 3, -4 };
            double table[3] = { 0.5, 1.5, 2.5 };
            int read_counter(void) { return counter; }
            """.write(to: source, atomically: true, encoding: .utf8)
        try? header.write(to: directory.appendingPathComponent("labels.h"), atomically: true, encoding: .utf8)
        guard let result = try? run("/usr/bin/gcc", ["-shared", "-fPIC", "-g", "-o", output.path, source.path]), result.status == 0 else {
            return nil
        }
        return output.path
    }()

    @Test(arguments: backends) func asmLabelsBindTheRedirectedSymbol(_ backend: BindingOptions.Backend) throws {
        let path = try #require(Self.library)
        let library = try SharedLibrary(path, options: BindingOptions(backend: backend))
        try library.declare(Self.header)
        let answer = try library.function("answer")
        #expect(try answer.call([.int(1)]) == .int(101))
        // The same through a declaration given at binding time, and batched.
        let other = try SharedLibrary(path, options: BindingOptions(backend: backend))
        #expect(try other.function("answer", declaration: "int answer(int) __asm__(\"answer_v2\")").call([.int(2)]) == .int(102))
        // A declaration repeated at binding time (here unprototyped) merges with the set's:
        // the prototype and the label stand.
        let repeated = try library.function("answer", declaration: "int answer()")
        #expect(repeated.type.isPrototyped && repeated.type.parameters.count == 1)
        #expect(try repeated.call([.int(4)]) == .int(104))
        let batch = try other.functions(["answer"], declarations: "int answer(int) __asm__(\"answer_v2\");")
        #expect(try batch[0].call([.int(3)]) == .int(103))
        // check compares the redirected symbol's DWARF.
        let scope = library.declarations
        let verification = try library.check("answer", type: try #require(scope.function(named: "answer")))
        guard case .verified = verification.verification else { Issue.record("not verified: \(verification)"); return }
    }

    @Test func staticFunctionsHaveNoSymbol() throws {
        let library = try SharedLibrary(try #require(Self.library))
        try library.declare(Self.header)
        #expect {
            try library.function("twice")
        } throws: { error in
            "\(error)".contains("twice has no symbol to bind: it is declared static")
        }
    }

    @Test func headersComeThroughThePreprocessor() throws {
        let path = try #require(Self.library)
        let library = try SharedLibrary(path)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try library.declare(including: ["labels.h"], options: CPreprocessorOptions(includePaths: [directory]))
        #expect(try library.function("answer").call([.int(0)]) == .int(100))
        #expect {
            try library.declare(including: ["no-such-header.h"])
        } throws: { error in
            "\(error)".contains("preprocessing failed") && "\(error)".contains("no-such-header.h")
        }
        #expect {
            try library.declare(including: ["labels.h"], options: CPreprocessorOptions(command: "no-such-cc"))
        } throws: { error in
            "\(error)".contains("'no-such-cc' was not found on PATH")
        }
    }

    @Test func globalsAreReadWrittenAndPassed() throws {
        let library = try SharedLibrary(try #require(Self.library))
        try library.declare(Self.header)
        let counter = try library.variable("counter")
        #expect(try counter.load() == .int(5))
        try counter.store(.int(42))
        #expect(try library.function("read_counter").call([]) == .int(42))  // C sees the write
        #expect(try counter.load(as: Int32.self) == 42)
        try counter.store(Int32(7))
        #expect(try library.function("read_counter").call([]) == .int(7))
        #expect(throws: CallStubError.self) { try counter.load(as: Double.self) }

        let greeting = try library.variable("greeting")
        guard case .pointer(let pointer)? = try? greeting.load(), let raw = pointer.raw else { Issue.record("no pointer"); return }
        #expect(String(cString: raw.assumingMemoryBound(to: CChar.self)) == "hello")

        guard case .record(let origin) = try library.variable("origin").load() else { Issue.record("not a record"); return }
        #expect(try origin.field("y") == .int(-4))
        #expect(try library.variable("table").load() == .array([.double(0.5), .double(1.5), .double(2.5)]))

        #expect(throws: CallStubError.self) { try library.variable("read_counter") }
        #expect(throws: CallStubError.self) { try library.variable("undeclared") }
        #expect { try library.variable("errno") } throws: { "\($0)".contains("errno is not a variable") }
    }

    /// libc's own globals through a real header: `stdout` is a `FILE *` whose value is
    /// the same one C's `fileno` reads.
    @Test func libcGlobalsFromItsHeaders() throws {
        let libc = try SharedLibrary("libc.so.6")
        try libc.declare(including: ["stdio.h"])
        let fileno = try libc.function("fileno")
        #expect(try fileno.call(parsing: ["stdout"]) == .int(1))
        #expect(try fileno.call(parsing: ["stderr"]) == .int(2))
        guard case .pointer(let stdout) = try libc.variable("stdout").load() else { Issue.record("stdout"); return }
        #expect(try fileno.call([.pointer(stdout)]) == .int(1))
    }
}

/// `_Float16` and `_Float128` members: no backend passes them by value, but record values
/// read and write them. gcc lays out and encodes the same initializer, byte for byte.
@Suite struct ExtendedFloatFieldTests {
    @Test func recordFieldsMatchGCCsBytes() throws {
        let header = "struct F { _Float16 h; _Float128 q; _Float16 n; _Float128 tiny; _Float128 inf; };"
        let scope = try CDeclParser.parse(header).scope
        let record = try #require(scope.record(tagged: "F"))
        var value = try CRecordValue(record)
        // Exactly representable in each format, so the conversions must be exact.
        let tiny = Float80(sign: .plus, exponent: -16400, significand: 1)  // subnormal in binary128 and x87
        try value.setField("h", to: .double(1.5))
        try value.setField("q", to: .double(-3.25))
        try value.setField("n", to: .double(-65504))
        try value.setField("tiny", to: .longDouble(tiny))
        try value.setField("inf", to: .double(.infinity))
        let gcc = try #require(CCompiler.installed.first { $0.name == "gcc" })
        let printed = try gcc.compileAndRun("""
            #include <stdio.h>
            \(header)
            int main(void) {
                static struct F f = { 1.5f16, -3.25f128, -65504.0f16, 0x1p-16400f128, __builtin_inff128() };
                const unsigned char *b = (const unsigned char *)&f;
                for (size_t i = 0; i < sizeof f; i++) printf("%02x", b[i]);
                printf("\\n");
                return 0;
            }
            """)
        // Padding is zero in both: CallStub starts from zeroes, and a static object is zero-filled.
        #expect(value.bytes.map { String(format: "%02x", $0) }.joined() + "\n" == printed)
        #expect(try value.field("h") == .float(1.5))
        #expect(try value.field("q") == .longDouble(-3.25))
        #expect(try value.field("n") == .float(-65504))
        #expect(try value.field("tiny") == .longDouble(tiny))
        #expect(try value.field("inf") == .longDouble(.infinity))
    }
}

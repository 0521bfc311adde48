// The C compiler is the oracle for layout: seeded random records are compiled by gcc and
// every clang installed, and each compiler's sizeof, _Alignof and member offsets must
// equal the layout engine's, with 0 mismatches.

import CDeclParser
import CTestSupport
import CTypeModel
import Foundation
import Testing

@Suite struct LayoutOracleTests {
    static let recordCount = 1200
    static let seed: UInt64 = 0xCA11_57AB

    static func parsedCorpus() throws -> (header: String, records: [CRecord]) {
        let header = RandomRecords.header(count: recordCount, seed: seed)
        let result = try CDeclParser.parse(header)
        let records = result.declarations.compactMap { declaration -> CRecord? in
            if case .record(let record) = declaration, record.tag?.hasPrefix("R") == true { return record }
            return nil
        }
        return (header, records)
    }

    @Test("random records: the layout engine agrees with the C compiler", arguments: CCompiler.installed)
    func randomRecordsMatchCompiler(compiler: CCompiler) throws {
        let (header, records) = try Self.parsedCorpus()
        #expect(records.count == Self.recordCount)
        let probe = LayoutProbe.make(for: records)
        let output = try compiler.compileAndRun(LayoutProbe.includes + header + probe.program)
        let actual = output.split(separator: "\n").map(String.init)
        let mismatches = zip(probe.expected, actual).filter { $0 != $1 }
        #expect(actual.count == probe.expected.count)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches with \(compiler), first: \(mismatches.prefix(5).map { "engine \($0.0) vs \(compiler) \($0.1)" })")
    }

    /// Regressions found by later oracles (the DWARF import compares with gcc's DWARF).
    static let directed = """
        #pragma pack(push, 8)
        struct T1 { int f0; unsigned long long f1 : 8; } __attribute__((packed));
        struct T2 { char f0; long f1 : 8 __attribute__((packed)); };
        struct T3 { char f0; long f1 : 8; } __attribute__((packed));
        struct T4 { char f0; int x; } __attribute__((packed));
        #pragma pack(pop)
        #pragma pack(push, 2)
        struct T5 { char f0; long f1 : 8; } __attribute__((packed));
        #pragma pack(pop)
        struct T6 { char f0; long f1 : 8; } __attribute__((packed));
        """

    @Test("directed cases: #pragma pack with packed bit-fields", arguments: CCompiler.installed)
    func directedCasesMatchCompiler(compiler: CCompiler) throws {
        let parsed = try CDeclParser.parse(Self.directed)
        let records = parsed.declarations.compactMap { declaration -> CRecord? in
            if case .record(let record) = declaration { return record }
            return nil
        }
        let probe = LayoutProbe.make(for: records)
        let output = try compiler.compileAndRun(LayoutProbe.includes + Self.directed + probe.program)
        #expect(output.split(separator: "\n").map(String.init) == probe.expected)
    }

    @Test("the canonical printing of the corpus compiles to the same layouts")
    func printedCorpusMatchesCompiler() throws {
        let compiler = try #require(CCompiler.installed.first)
        let (_, records) = try Self.parsedCorpus()
        let result = try CDeclParser.parse(RandomRecords.header(count: Self.recordCount, seed: Self.seed))
        let printed = CPrinter().print(result.declarations)
        let probe = LayoutProbe.make(for: records)
        let actual = try compiler.compileAndRun(LayoutProbe.includes + printed + probe.program).split(separator: "\n").map(String.init)
        #expect(actual == probe.expected)
    }

    @Test("hand-picked corner cases agree with the C compiler", arguments: CCompiler.installed)
    func cornerCases(compiler: CCompiler) throws {
        let header = """
            #pragma pack(push, 2)
            struct A1 { char a[3]; int x : 16; };
            struct A5 { char c; int x __attribute__((aligned(8))); };
            struct __attribute__((aligned(8))) A6 { char c; };
            #pragma pack(pop)
            #pragma pack(1)
            struct A2 { char c; int x : 31; };
            struct A4 { char c; int : 0; char d; };
            #pragma pack()
            struct __attribute__((packed)) A3 { char c; int : 0; char d; };
            struct A7 { char c; int : 4; };
            struct __attribute__((packed)) A8 { char c; int x __attribute__((aligned(4))); };
            struct A10 { char c; int x : 4 __attribute__((packed)); };
            struct A11 { char c; long long : 0; char d; };
            union U1 { char c; int : 0; };
            union U2 { char c; int x : 9; };
            struct A13 { int a : 3; long b : 40; char c; };
            struct A14 { char c; _Alignas(16) char d; };
            struct A15 { char c; long double x; __int128 y; };
            struct A16 { int n; double tail[]; };
            struct A17 { char c; struct { char d; int e : 4; }; union { short f; long g; }; };
            typedef int aligned_int __attribute__((aligned(8)));
            struct A18 { char c; aligned_int x; };
            struct A19 { _Bool b : 1; unsigned long long v : 63; unsigned long long w : 2; };
            struct A20 { char c[sizeof(struct A19) + _Alignof(long double)]; };
            """
        let result = try CDeclParser.parse(header)
        let records = result.declarations.compactMap { declaration -> CRecord? in
            if case .record(let record) = declaration { return record }
            return nil
        }
        let probe = LayoutProbe.make(for: records)
        let actual = try compiler.compileAndRun(LayoutProbe.includes + header + probe.program).split(separator: "\n").map(String.init)
        #expect(actual == probe.expected)
    }
}

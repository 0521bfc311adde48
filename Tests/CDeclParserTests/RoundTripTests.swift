// Parse → print → parse gives the identical model, for the generated corpus and for a
// hand-written set of tricky declarations.

import CDeclParser
import CTestSupport
import CTypeModel
import Testing

@Suite struct RoundTripTests {
    static let tricky: [String] = [
        "int (*(*fp)(int))[4];",
        "void (*signal(int sig, void (*handler)(int)))(int);",
        "char *const *volatile p;",
        "const int *restrict q;",
        "int f(void); int g(); int h(int, ...);",
        "typedef struct { int quot; int rem; } div_t; div_t div(int, int);",
        "typedef struct node node_t; struct node { node_t *next; int value; };",
        "struct list; struct list { struct list *next, *prev; };",
        "struct S { char c; int x : 3; double d; } __attribute__((packed));",
        "struct T { int a : 5, : 0, b : 7; unsigned long long c : 63; _Bool d : 1; };",
        "union U { int i; float f; struct { short lo, hi; } parts; };",
        "struct A { struct B { int x; } b; enum C { C0, C1 = 7 } c; };",
        "enum big { HUGE = 0xFFFFFFFFFFFFFFFF, SMALL = -1 }; enum __attribute__((packed)) tiny { T0, T1 = 200 };",
        "enum flags { F_A = 1 << 0, F_B = 1 << 1, F_C = (F_A | F_B) << 2, F_D = sizeof(long) * 8 - 1 };",
        "struct V { int n; double values[]; };",
        "struct W { char buffer[sizeof(int) * 4 + _Alignof(double)]; int m[2][3]; };",
        "#pragma pack(push, 1)\nstruct P { char c; long l; };\n#pragma pack(pop)",
        "struct Q { char c; int x __attribute__((aligned(16))); } __attribute__((aligned(32)));",
        "struct BE { uint32_t length; uint16_t kind; } __attribute__((scalar_storage_order(\"big-endian\")));",
        "struct Mixed { uint32_t a __attribute__((scalar_storage_order(\"big-endian\"))); uint16_t b[2] __attribute__((scalar_storage_order(\"little-endian\"))); };",
        "typedef int aligned_int __attribute__((aligned(8))); struct R { char c; aligned_int x; };",
        "__extension__ typedef __int128 i128; unsigned __int128 mul(i128 a, unsigned __int128 b);",
        "double _Complex cexp(double _Complex z); float _Complex cf(float _Complex);",
        "_Atomic int counter; _Atomic(long) total;",
        "extern int printf(const char *__restrict __format, ...) __attribute__((__format__(__printf__, 1, 2)));",
        "int qsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg);",
        "long double ld(long double x); void *memcpy(void *__restrict dst, const void *__restrict src, size_t n);",
        "struct Anon { union { int i; struct { char a, b; }; }; int tail; };",
        "int vprintf(const char *format, va_list ap);",
        "typedef void (*handler_t)(int, void *); handler_t handlers[8];",
        "static inline int ignored_storage(int);",
        "struct F { int (*ops[4])(struct F *self, int arg); };",
    ]

    static func assertRoundTrip(_ source: String) throws {
        let first = try CDeclParser.parse(source)
        let printed = CPrinter().print(first.declarations)
        let second: CParseResult
        do {
            second = try CDeclParser.parse(printed)
        } catch {
            Issue.record("reparse failed: \(error.rendered)\n--- printed ---\n\(printed)")
            return
        }
        #expect(first.declarations.count == second.declarations.count, "\(printed)")
        for (a, b) in zip(first.declarations, second.declarations) {
            #expect(a.isStructurallyEqual(to: b), "differs after round trip: \(CPrinter().print(a)) vs \(CPrinter().print(b))")
        }
        // Printing is canonical: a second print is byte-identical.
        #expect(CPrinter().print(second.declarations) == printed)
    }

    @Test("hand-written tricky declarations round-trip", arguments: tricky)
    func trickyDeclarations(source: String) throws {
        try Self.assertRoundTrip(source)
    }

    @Test("the generated record corpus round-trips")
    func generatedCorpus() throws {
        try Self.assertRoundTrip(RandomRecords.header(count: 1200, seed: 0xCA11_57AB))
        try Self.assertRoundTrip(RandomRecords.header(count: 300, seed: 7))
    }

    @Test("structural equality notices a changed member")
    func structuralEqualityCanFail() throws {
        let a = try CDeclParser.parse("struct P { int x; double y; };").declarations[0]
        let b = try CDeclParser.parse("struct P { int x; float y; };").declarations[0]
        let c = try CDeclParser.parse("struct P { int x; double y; };").declarations[0]
        #expect(!a.isStructurallyEqual(to: b))
        #expect(a.isStructurallyEqual(to: c))
        #expect(a != c)  // nominal: two declarations of struct P are distinct records
    }
}

// What preprocessed system headers contain beyond plain C11 declarations: redefined
// typedefs, GNU attributes that change types, inline bodies, asm labels, TS 18661
// floating types, typeof, VLA parameters. Sizes and signedness are checked against gcc.

import CDeclParser
import CTestSupport
import CTypeModel
import Testing

@Suite struct RealHeaderConstructTests {
    @Test func typedefsMayBeRedefinedAsTheSameType() throws {
        // glibc: `typedef __int8_t int8_t;` where CScope.standard predeclares int8_t, and
        // `typedef __gnuc_va_list va_list;` through two other typedefs (C11 6.7p3).
        let result = try CDeclParser.parse("""
            typedef signed char __int8_t;
            typedef __int8_t int8_t;
            typedef __builtin_va_list __gnuc_va_list;
            typedef __gnuc_va_list va_list;
            typedef struct S { int x; } S;
            typedef struct S S;
            typedef int A[3];
            typedef int A[3];
            """)
        #expect(result.declarations.compactMap(\.name) == ["__int8_t", "S", "S", "A"])  // the others were predeclared
        #expect(throws: CParseError.self) { try CDeclParser.parse("typedef int A[3]; typedef int A[4];") }
        #expect(throws: CParseError.self) { try CDeclParser.parse("typedef unsigned char int8_t;") }
        #expect(throws: CParseError.self) { try CDeclParser.parse("typedef const int C; typedef int C;") }
    }

    @Test func redeclarationsKeepTheOneThatSaysMore() throws {
        let result = try CDeclParser.parse("""
            int f();
            int f(int a) __attribute__((__nonnull__));
            int f(const int b);
            extern int table[];
            extern int table[8];
            enum E { A = 1 };
            unsigned g(void);
            enum E g(void);
            """)
        let f = try #require(result.scope.function(named: "f"))
        #expect(f.isPrototyped && f.parameters.count == 1)
        guard case .variable(_, let table)? = result.scope.ordinaryDeclarations["table"] else { Issue.record("no table"); return }
        #expect(try table.layout().size == 32)
    }

    @Test func machineModesChangeTheType() throws {
        let text = """
            typedef int q_t __attribute__((__mode__(__QI__)));
            typedef unsigned int uh_t __attribute__((mode(HI)));
            typedef int __attribute__((mode(DI))) d_t;
            typedef unsigned u_t __attribute__((mode(TI)));
            typedef int w_t __attribute__((mode(word)));
            typedef unsigned long p_t __attribute__((mode(pointer)));
            typedef float x_t __attribute__((mode(XF)));
            typedef _Complex float c_t __attribute__((mode(DC)));
            struct M { int small __attribute__((mode(QI))); short wide __attribute__((mode(DI))); };
            """
        let result = try CDeclParser.parse(text)
        let names = ["q_t", "uh_t", "d_t", "u_t", "w_t", "p_t", "x_t", "c_t"]
        let types = try names.map { try #require(result.scope.typedef(named: $0)).underlying.type }
        #expect(types == [
            .integer(.signedChar), .integer(.unsignedShort), .integer(.long), .integer(.unsignedInt128),
            .integer(.long), .integer(.unsignedLong), .floating(.longDouble), .complex(.double),
        ])
        // gcc: the same sizes, signedness and record layout.
        var probe = "#include <stdio.h>\n" + text + "\nint main(void) {\n"
        for name in names where name != "c_t" && name != "x_t" {
            probe += "  printf(\"%zu %d\\n\", sizeof(\(name)), (\(name))-1 < 0);\n"
        }
        probe += "  printf(\"%zu %zu %zu\\n\", sizeof(x_t), sizeof(c_t), sizeof(struct M));\n}\n"
        let gcc = try #require(CCompiler.installed.first { $0.name == "gcc" })
        var expected = ""
        for name in names where name != "c_t" && name != "x_t" {
            let kind = try #require(result.scope.typedef(named: name)?.underlying.type.integerKind)
            expected += "\(kind.size) \(kind.isSigned ? 1 : 0)\n"
        }
        let record = try #require(result.scope.record(tagged: "M"))
        expected += "16 16 \(record.size ?? 0)\n"
        #expect(try gcc.compileAndRun(probe) == expected)
    }

    @Test func functionBodiesAreSkippedAndStaticFunctionsHaveNoSymbol() throws {
        let result = try CDeclParser.parse("""
            static __inline unsigned int __bswap_32(unsigned int __bsx) { return __builtin_bswap32(__bsx); }
            extern __inline __attribute__((__gnu_inline__)) int atoi(const char *__nptr) {
                { __auto_type x = 1; (void)x; }
                return (int) strtol(__nptr, (char **) ((void*)0), 10);
            }
            static const int table[] = { 1, 2, [3] = (4) }, after = 5;
            int plain(void);
            """)
        #expect(result.declarations.compactMap(\.name) == ["__bswap_32", "atoi", "table", "after", "plain"])
        #expect(result.scope.linkage(of: "__bswap_32") == .internal)
        #expect(result.scope.linkage(of: "table") == .internal)
        #expect(result.scope.linkage(of: "atoi") == .external(symbol: "atoi"))
        #expect(result.scope.linkage(of: "missing") == nil)
    }

    @Test func asmLabelsRedirectTheSymbol() throws {
        let result = try CDeclParser.parse("""
            extern int fscanf(void *__restrict __stream, const char *__restrict __format, ...) __asm__ ("" "__isoc99_fscanf") __attribute__((__warn_unused_result__));
            extern int strerror_r(int __errnum, char *__buf, unsigned long __buflen) __asm__ ("__xpg_strerror_r") __attribute__ ((__nothrow__ , __leaf__)) __attribute__ ((__nonnull__ (2)));
            """)
        #expect(result.scope.linkage(of: "fscanf") == .external(symbol: "__isoc99_fscanf"))
        #expect(result.scope.linkage(of: "strerror_r") == .external(symbol: "__xpg_strerror_r"))
        // Printed with its linkage, the text reads back to the same symbols.
        let printed = CPrinter().print(result.declarations, in: result.scope)
        #expect(printed.contains("__asm__(\"__isoc99_fscanf\");"), "\(printed)")
        let reread = try CDeclParser.parse(printed)
        #expect(reread.scope.linkage(of: "fscanf") == .external(symbol: "__isoc99_fscanf"))
        #expect(reread.scope.linkage(of: "strerror_r") == .external(symbol: "__xpg_strerror_r"))
        let statics = try CDeclParser.parse("static int counter; static inline int f(void) { return 1; }")
        let staticsReread = try CDeclParser.parse(CPrinter().print(statics.declarations, in: statics.scope))
        #expect(staticsReread.scope.linkage(of: "counter") == .internal && staticsReread.scope.linkage(of: "f") == .internal)
    }

    @Test func floatingTypesOfTS18661() throws {
        // gcc spells them as keywords; glibc typedefs them for clang (`typedef float _Float32;`).
        let result = try CDeclParser.parse("""
            typedef float _Float32;
            typedef __float128 _Float128;
            _Float32 f32(_Float64 a, _Float32x b, _Float64x c);
            _Float128 f128(__float128 a, _Complex _Float128 b, _Float16 h);
            """)
        let f32 = try #require(result.scope.function(named: "f32"))
        #expect(f32.result.type.resolved == .float)
        #expect(f32.parameters.map(\.type.type.resolved) == [.double, .double, .longDouble])
        let f128 = try #require(result.scope.function(named: "f128"))
        #expect(f128.result.type.resolved == .floating(.float128))
        #expect(f128.parameters.map(\.type.type.resolved) == [.floating(.float128), .complex(.float128), .floating(.float16)])
        #expect(try CType.floating(.float128).layout() == CTypeLayout(size: 16, alignment: 16))
        #expect(try CType.floating(.float16).layout() == CTypeLayout(size: 2, alignment: 2))
    }

    @Test func typeofThreadLocalAndExtensions() throws {
        let result = try CDeclParser.parse("""
            extern int counter;
            extern __typeof__(counter) other;
            extern typeof(const char *) name;
            __extension__ typedef long long ll_t;
            extern __thread int tls_value;
            static _Thread_local int local_value;
            __extension__ _Static_assert(__extension__ sizeof(ll_t) == 8, "ll_t");
            int vla(int n, double m[n][n], char s[*], int k[__extension__ 4]);
            """)
        guard case .variable(_, let other)? = result.scope.ordinaryDeclarations["other"] else { Issue.record("no other"); return }
        #expect(other.type == .int)
        guard case .variable(_, let name)? = result.scope.ordinaryDeclarations["name"] else { Issue.record("no name"); return }
        #expect(name.description == "const char *")
        let vla = try #require(result.scope.function(named: "vla"))
        #expect(vla.parameters.map(\.type.description) == ["int", "double (*)[]", "char *", "int *"])
        #expect(throws: CParseError.self) { try CDeclParser.parse("extern int x; typeof(x + 1) y;") }
        #expect(throws: CParseError.self) { try CDeclParser.parse("int bad[n];") }
    }
}

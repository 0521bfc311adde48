// What the parser builds from declarations: types, values of constant expressions,
// scopes carried between parses, and precise diagnostics for bad input.

import CDeclParser
import CTypeModel
import Testing

@Suite struct ParserTests {
    @Test func nestedDeclaratorsReadInsideOut() throws {
        let result = try CDeclParser.parse("int (*(*fp)(int))[4];")
        guard case .variable("fp", let type) = result.declarations[0] else { Issue.record("not a variable"); return }
        // fp: pointer to function(int) returning pointer to array[4] of int
        guard case .pointer(let function) = type.type, case .function(let signature) = function.type,
            case .pointer(let array) = signature.result.type, case .array(let element, 4) = array.type
        else { Issue.record("wrong shape: \(type)"); return }
        #expect(element.type == .int)
        #expect(signature.parameters.map(\.type.type) == [.int])
        #expect(type.declaration(named: "fp") == "int (*(*fp)(int))[4]")
    }

    @Test func constantExpressionsFollowCTypes() throws {
        let result = try CDeclParser.parse("""
            enum E { A = -1U > 0, B = (unsigned char)300, C = 1 << 31 >> 31, D = 7 / 2 % 3, E = sizeof(long double), F = 'A', G = 0x7fffffff + 0 == 2147483647, H = ~0UL >> 63 };
            """)
        guard case .enumeration(let enumeration) = result.declarations[0], let definition = enumeration.definition else {
            Issue.record("no enum"); return
        }
        #expect(definition.enumerators.map(\.value) == [1, 44, -1, 0, 16, 65, 1, 1])
        #expect(definition.underlying == .int)
    }

    @Test func scopeCarriesDeclarationsBetweenParses() throws {
        let first = try CDeclParser.parse("typedef struct { int quot; int rem; } div_t;")
        let second = try CDeclParser.parse("div_t div(int, int);", scope: first.scope)
        guard case .function("div", let type) = second.declarations[0], case .typedef(let alias) = type.result.type else {
            Issue.record("div not parsed"); return
        }
        #expect(alias.name == "div_t")
        #expect(try type.result.layout() == CTypeLayout(size: 8, alignment: 4))
        #expect(second.scope.function(named: "div") != nil)
        #expect(throws: CParseError.self) { try CDeclParser.parse("div_t div(int, int);") }
    }

    @Test func typeNames() throws {
        #expect(try CDeclParser.parseTypeName("const char *").description == "const char *")
        #expect(try CDeclParser.parseTypeName("int (*)(int, ...)").description == "int (*)(int, ...)")
        #expect(try CDeclParser.parseTypeName("unsigned long long int").type == .integer(.unsignedLongLong))
        #expect(try CDeclParser.parseTypeName("long double _Complex").type == .complex(.longDouble))
        #expect(try CDeclParser.parseTypeName("size_t").type.resolved == .unsignedLong)
    }

    @Test func parameterAdjustment() throws {
        let result = try CDeclParser.parse("void f(int a[3], void g(int), const char s[static 4]);")
        guard case .function(_, let type) = result.declarations[0] else { Issue.record("no function"); return }
        #expect(type.parameters.map { $0.type.description } == ["int *", "void (*)(int)", "const char *"])
    }

    // MARK: - Diagnostics name the exact place

    static let diagnostics: [(source: String, line: Int, column: Int, message: String)] = [
        ("int f(int x) int", 1, 14, "expected ';' after declaration"),
        ("struct S {\n  int a;\n  int b : 40;\n};", 3, 7, "width 40 exceeds the 32 bits of its type"),
        ("int x[-1];", 1, 6, "array size is negative"),
        ("enum E { A = 1 / 0 };", 1, 16, "division by zero"),
        ("foo bar;", 1, 1, "expected a type specifier"),
        ("struct S { int a; };\nstruct S { int b; };", 2, 8, "redefinition of 'struct S'"),
        ("union U; struct U *p;", 1, 17, "'U' defined as a union, used as a struct"),
        ("int f(a, b);", 1, 7, "K&R identifier lists are not supported"),
        ("long long long x;", 1, 1, "invalid combination of type specifiers"),
        ("int x, f(void) { return 0; }", 1, 16, "expected ';' after declaration, found '{'"),
        ("typedef int T = 3;", 1, 15, "a typedef cannot have an initializer"),
        ("typedef int T;\ntypedef long T;", 2, 14, "conflicting types for typedef 'T': long here, int at line 1, column 13"),
        ("int f(int);\nlong f(int);", 2, 6, "conflicting types for 'f': long (int) here, int (int) at line 1, column 5"),
        ("typedef int T __attribute__((mode(XF)));", 1, 30, "mode(XF) cannot apply to the integer type int"),
        ("static inline int f(void) { return 0;", 1, 27, "expected '}' to match this '{'"),
        ("#define X 1\nint x;", 1, 1, "'#define' is not supported"),
        ("struct V { double d[]; int n; };", 1, 19, "flexible array member is not the last member"),
        ("int a[3](void);", 1, 6, "array of functions is not allowed"),
        ("/* never closed", 1, 1, "unterminated comment"),
        ("int x __attribute__((vector_size(16)));", 1, 22, "attribute 'vector_size' is not supported"),
        ("_Static_assert(sizeof(int) == 8, \"int is 8 bytes\");", 1, 1, "static assertion failed"),
        ("int f(int, void);", 1, 12, "parameter 2 has type void"),
        ("struct S { int x; int x; };", 1, 23, "duplicate member name"),
        ("int \u{00e9}t\u{00e9} = 1;", 1, 5, "unexpected character"),
    ]

    @Test("diagnostics carry line, column and a caret", arguments: diagnostics)
    func diagnosticsAreExact(case: (source: String, line: Int, column: Int, message: String)) {
        do {
            _ = try CDeclParser.parse(`case`.source)
            Issue.record("no error for: \(`case`.source)")
        } catch {
            #expect(error.error.location.line == `case`.line, "\(error.rendered)")
            #expect(error.error.location.column == `case`.column, "\(error.rendered)")
            #expect(error.error.message.contains(`case`.message), "\(error.rendered)")
            let rendered = error.rendered
            #expect(rendered.hasPrefix("line \(`case`.line), column \(`case`.column): "))
            let caretLine = rendered.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
            #expect(caretLine == String(repeating: " ", count: 4 + `case`.column - 1) + "^", "\(rendered)")
        }
    }

    @Test func unknownAttributesWarnAndAsmLabelsNameTheSymbol() throws {
        let result = try CDeclParser.parse("int f(int) __attribute__((frobnicate)) __asm__(\"\" \"f64\");")
        #expect(result.warnings.map(\.message) == ["attribute 'frobnicate' ignored"])
        #expect(result.scope.linkage(of: "f") == .external(symbol: "f64"))
    }

    /// Type names read in the standard scope are kept, unless they reach a record or enum
    /// (each parse makes its own, which its holder may complete); other scopes read afresh.
    @Test func typeNamesOfTheStandardScopeAreKept() throws {
        let comparator = "int (*)(const void *, const void *)"
        #expect(try CDeclParser.parseTypeName(comparator) == (try CDeclParser.parseTypeName(comparator)))
        guard case .pointer(let first) = try CDeclParser.parseTypeName("struct Kept *").type,
            case .pointer(let second) = try CDeclParser.parseTypeName("struct Kept *").type,
            case .record(let one) = first.type, case .record(let other) = second.type
        else {
            Issue.record("struct Kept * is not a pointer to a record")
            return
        }
        #expect(one !== other)
        // A scope with more names is not the standard one: its own typedef is seen.
        let scope = try CDeclParser.parse("typedef double size_t_like;").scope
        #expect(throws: CParseError.self) { try CDeclParser.parseTypeName("size_t_like") }
        #expect(try CDeclParser.parseTypeName("size_t_like", scope: scope).type.resolved == .floating(.double))
        #expect(throws: CParseError.self) { try CDeclParser.parseTypeName("size_t_like") }
    }
}

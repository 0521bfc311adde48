// Record values against the C compiler: the same initializer written in C and parsed by
// CValueSyntax gives the same bytes (bit-fields, explicit byte order, nested and
// anonymous members, arrays), and member reads give back what was written.

import CTestSupport
import CallStub
import Testing

@Suite struct RecordValueTests {
    static let declarations = """
        struct Inner { short s; unsigned char bytes[3]; };
        struct Wire {
            unsigned version : 3;
            int delta : 7;
            unsigned long long big : 40;
            struct Inner inner[2];
            union { float f; unsigned u; };
            struct { double x, y; } point;
            char name[6];
            enum { A, B = 7 } kind;
            void *p;
            _Bool flag;
        };
        struct __attribute__((scalar_storage_order("big-endian"))) Net {
            unsigned short port;
            unsigned int address;
            long long stamp;
            double value;
        };
        """

    static let initializers: [(tag: String, text: String)] = [
        ("Wire", "{ 5, -33, 0x12345678ab, { {-2, {1, 2, 3}}, {.bytes = {[2] = 9}} }, { .u = 0xdeadbeef }, "
            + "{ 1.5, -0.25 }, \"hi\", B, (void *)0x1000, 1 }"),
        ("Net", "{ 8080, 0x7f000001, -2, 0.1 }"),
        // Brace elision (C11 6.7.9p20): brace-less sub-aggregates take as many elements
        // as they have members, also after a designator; a scalar may stand in braces.
        ("Wire", "{ 5, -33, 0x12345678ab, -2, 1, 2, 3, 4, 5, 6, 7, { .u = 1 }, 1.5, -0.25, \"hi\", B, (void *)0x1000, 1 }"),
        ("Wire", "{ .inner = 1, 2, 3, 4, 5, .point = 7, 8, \"abcdef\" }"),
        ("Wire", "{ .inner[1] = 9, 8, .delta = { -1 } }"),
        ("Net", "{ {8080}, 1, 2 }"),
    ]

    @Test(arguments: CCompiler.installed.filter { $0.name == "gcc" })
    func initializersGiveTheCompilersBytes(_ compiler: CCompiler) throws {
        var program = "#include <stdio.h>\n" + Self.declarations
        program += "\nint main(void) {\n"
        for (index, initializer) in Self.initializers.enumerated() {
            let text = initializer.text.replacingOccurrences(of: "(void *)0x1000", with: "(void *)0x1000")
            program += "    static struct \(initializer.tag) v\(index) = \(text);\n"
            program += "    for (size_t k = 0; k < sizeof v\(index); k++) printf(\"%02x\", ((unsigned char *)&v\(index))[k]);\n"
            program += "    printf(\"\\n\");\n"
        }
        program += "    return 0;\n}\n"
        let lines = try compiler.compileAndRun(program).split(separator: "\n").map(String.init)
        let scope = try CDeclParser.parse(Self.declarations).scope
        for (index, initializer) in Self.initializers.enumerated() {
            let type = try CDeclParser.parseTypeName("struct \(initializer.tag)", scope: scope)
            let value = try CValueSyntax.parse(initializer.text, as: type, scope: scope)
            guard case .record(let record) = value else {
                Issue.record("not a record")
                continue
            }
            let hex = record.bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            #expect(hex == lines[index], "struct \(initializer.tag)")
        }
    }

    @Test func membersReadBackWhatWasWritten() throws {
        let scope = try CDeclParser.parse(Self.declarations).scope
        let wire = try CValueSyntax.parse(Self.initializers[0].text, as: CDeclParser.parseTypeName("struct Wire", scope: scope), scope: scope)
        guard case .record(var record) = wire else { throw CallStubError.declarationMismatch("no record") }
        #expect(try record.field("version") == .uint(5))
        #expect(try record.field("delta") == .int(-33))
        #expect(try record.field("big") == .uint(0x12345678ab))
        #expect(try record.field("inner[0].s") == .int(-2))
        #expect(try record.field("inner[0].bytes") == .array([.uint(1), .uint(2), .uint(3)]))
        #expect(try record.field("inner[1].bytes[2]") == .uint(9))
        #expect(try record.field("u") == .uint(0xdeadbeef))
        #expect(try record.field("point.y") == .double(-0.25))
        #expect(try record.field("name") == .array([.int(104), .int(105), .int(0), .int(0), .int(0), .int(0)]))
        #expect(try record.field("kind") == .uint(7))
        #expect(try record.field("p") == .pointer(CPointer(address: 0x1000)))
        #expect(try record.field("flag") == .bool(true))
        try record.setField("f", to: .float(1))
        #expect(try record.field("u") == .uint(0x3f80_0000))
        try record.setField("delta", to: .int(63))
        #expect(try record.field("delta") == .int(63))
        #expect(try record.field("version") == .uint(5), "neighbouring bit-fields untouched")
        #expect(throws: CallStubError.self) { try record.setField("delta", to: .int(64)) }
        #expect(throws: CallStubError.self) { try record.field("inner[2]") }
        #expect(throws: CallStubError.self) { try record.field("point..x") }
        #expect(throws: CallStubError.self) { try record.setField("name", to: .string("toolong")) }

        let net = try CValueSyntax.parse(Self.initializers[1].text, as: CDeclParser.parseTypeName("struct Net", scope: scope), scope: scope)
        guard case .record(let packet) = net else { throw CallStubError.declarationMismatch("no record") }
        #expect(Array(packet.bytes[0..<2]) == [0x1f, 0x90], "port stored big-endian")
        #expect(try packet.field("port") == .uint(8080))
        #expect(try packet.field("stamp") == .int(-2))
        #expect(try packet.field("value") == .double(0.1))
        #expect(packet.description == "{8080, 2130706433, -2, 0.1}")
    }

    @Test func valueSyntaxErrorsNameTheColumn() throws {
        let scope = try CDeclParser.parse(Self.declarations).scope
        let wire = try CDeclParser.parseTypeName("struct Wire", scope: scope)
        let cases: [(String, CQualType, String)] = [
            ("{1, 2", wire, "column 6: expected '}' to close the initializer list"),
            ("{.nope = 1}", wire, "column 10: struct Wire, field nope: struct Wire has no member named nope"),
            ("12abc", CQualType(.int), "column 1: '12abc' is not a number"),
            ("\"open", CQualType(.pointer(to: .char)), "column 1: missing closing \""),
            ("(struct Missing)1", CQualType(.int), "column 2: cast to 'struct Missing'"),
            ("1.5", CQualType(.int), "column 1: a floating value for an integer type int"),
            ("{1, 2} x", wire, "column 8: unexpected 'x' after the value"),
        ]
        for (text, type, expected) in cases {
            do {
                _ = try CValueSyntax.parse(text, as: type, scope: scope)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(text): \(error)")
            }
        }
        #expect(try CValueSyntax.parse("-0x10", as: CQualType(.int)) == .int(-16))
        #expect(try CValueSyntax.parse("017", as: CQualType(.int)) == .int(15))
        #expect(try CValueSyntax.parse("0b101", as: CQualType(.int)) == .int(5))
        #expect(try CValueSyntax.parse("10ul", as: CQualType(.unsignedLong)) == .uint(10))
        #expect(try CValueSyntax.parse("0x1p-2", as: CQualType(.double)) == .double(0.25))
        #expect(try CValueSyntax.parse("-inf", as: CQualType(.double)) == .double(-.infinity))
        #expect(try CValueSyntax.parse("'\\n'", as: CQualType(.char)) == .int(10))
        #expect(try CValueSyntax.parseVariadic("5000000000").1 == nil)
        #expect(try CValueSyntax.parseVariadic("(short)3").1 == CQualType(.integer(.short)))
        // Control characters print as octal escapes, three digits before a digit, and read back.
        let controls = CValue.string("\u{1b}1\u{1}x\u{0}")
        #expect(controls.description == #""\0331\1x\0""#)
        #expect(try CValueSyntax.parse(controls.description, as: CQualType(.pointer(to: .char))) == controls)
    }
}

// `callstub parse`: C declarations in, canonical C and pahole-style layouts out.

import ArgumentParser
import CallStub
import Foundation

struct Parse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse C declarations; print them in canonical C with the layout of every record.",
        discussion: """
            DECLS holds one or more C declarations, like a small preprocessed header:
            prototypes, typedefs, struct/union/enum definitions, #pragma pack.
            Member offsets are in bytes; a bit-field's offset is byte:bit and its size
            is its width in bits.
            """
    )

    @Argument(help: "C declarations to parse.")
    var declarations: String?

    @Option(name: .long, help: "Read the declarations from a file ('-' for standard input).")
    var file: String?

    @Flag(name: .long, help: "Parse the built-in example header.")
    var example = false

    @OptionGroup(title: "Declarations")
    var sources: DeclarationSources

    @Flag(name: .long, help: "Print JSON instead of C and layout tables.")
    var json = false

    func validate() throws {
        let given = [declarations != nil, file != nil, example, !sources.isEmpty].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of DECLS, --file, --example or --header/--include") }
    }

    func run() throws {
        let source = try readSource()
        let result: CParseResult
        do {
            result = try CDeclParser.parse(source)
        } catch {
            printError("error: " + error.rendered)
            throw ExitCode.failure
        }
        for warning in result.warnings { printError(warning.rendered(in: source)) }
        if json {
            print(try ParseReport(result).jsonText())
        } else {
            print(ParseReport.text(result), terminator: "")
        }
    }

    private func readSource() throws -> String {
        if example { return Self.exampleHeader }
        if !sources.isEmpty {
            do { return try sources.texts().joined(separator: "\n") } catch let error as CallStubError {
                printError("error: \(error.description)")
                throw ExitCode.failure
            }
        }
        if let declarations { return declarations }
        let path = file ?? "-"
        if path == "-" {
            return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard let data = readInputFile(path) else {
            printError("error: cannot read \(path)")
            throw ExitCode.failure
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A small header that shows what the parser and layout engine do.
    static let exampleHeader = """
        typedef struct { int quot; int rem; } div_t;
        div_t div(int numerator, int denominator);

        struct packet_header {
            uint8_t  version : 4;
            uint8_t  ihl : 4;
            uint16_t total_length __attribute__((scalar_storage_order("big-endian")));
            uint32_t flags : 3, fragment_offset : 13;
            double   timestamp;
        };

        struct S { char c; int x : 3; double d; } __attribute__((packed));

        #pragma pack(push, 2)
        struct wire { char tag; long value; };
        #pragma pack(pop)

        union number { long i; double f; unsigned char bytes[8]; };
        enum color { RED, GREEN = 1 << 4, BLUE };
        int (*(*lookup)(const char *name))[4];
        int printf(const char *restrict format, ...);
        """
}

// MARK: - Output

struct ParseReport: Encodable {
    struct Member: Encodable {
        var name: String?
        var type: String
        var offsetBits: Int
        var sizeBits: Int
        var bitField: Bool
        var byteOrder: String?
    }

    struct Layout: Encodable {
        var size: Int
        var alignment: Int
        var members: [Member]
    }

    struct Declaration: Encodable {
        var kind: String
        var name: String?
        /// The symbol a function or object is linked under; absent for `static` ones.
        var symbol: String?
        var c: String
        var layout: Layout?
    }

    var declarations: [Declaration]
    var warnings: [String]

    init(_ result: CParseResult) {
        declarations = result.declarations.map { declaration in
            var symbol: String?
            if let name = declaration.name, case .external(let linked)? = result.scope.linkage(of: name) { symbol = linked }
            return Declaration(
                kind: Self.kind(of: declaration), name: declaration.name, symbol: symbol,
                c: CPrinter().print(declaration, linkage: declaration.name.flatMap(result.scope.linkage(of:))), layout: Self.layoutRecord(of: declaration).flatMap(Self.layout))
        }
        warnings = result.warnings.map(\.description)
    }

    func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Canonical C for every declaration, then a layout table for every record.
    static func text(_ result: CParseResult) -> String {
        var text = CPrinter().print(result.declarations, in: result.scope)
        let report = CLayoutReport()
        for declaration in result.declarations {
            guard let record = layoutRecord(of: declaration), record.isComplete else { continue }
            var title: String?
            if case .typedef(let alias) = declaration { title = "typedef \(alias.name) = \(record.kind.rawValue)" }
            text += "\n" + report.render(record, title: title)
        }
        return text
    }

    /// The record a declaration defines: a struct or union definition, or a typedef of an
    /// anonymous one (`typedef struct { ... } div_t;`).
    static func layoutRecord(of declaration: CDeclaration) -> CRecord? {
        switch declaration {
        case .record(let record): return record
        case .typedef(let alias):
            if case .record(let record) = alias.underlying.type, record.tag == nil { return record }
            return nil
        default: return nil
        }
    }

    static func layout(of record: CRecord) -> Layout? {
        guard let definition = record.definition else { return nil }
        let members = zip(definition.fields, definition.layout.members).map { field, member in
            Member(
                name: field.name, type: field.type.description, offsetBits: member.offsetInBits,
                sizeBits: member.sizeInBits, bitField: field.isBitField,
                byteOrder: CPrinter.scalarByteOrder(of: field.type)?.rawValue)
        }
        return Layout(size: definition.layout.size, alignment: definition.layout.alignment, members: members)
    }

    static func kind(of declaration: CDeclaration) -> String {
        switch declaration {
        case .function: return "function"
        case .variable: return "variable"
        case .typedef: return "typedef"
        case .record(let record): return record.kind.rawValue
        case .recordDeclaration(let record): return "\(record.kind.rawValue) declaration"
        case .enumeration: return "enum"
        case .enumerationDeclaration: return "enum declaration"
        }
    }
}

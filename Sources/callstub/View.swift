// `callstub view`: bytes shown as a C type, for people: an annotated hex dump coloured by
// member, with a legend of offsets, sizes, bit ranges, byte orders, alignments and
// decoded values (text with ANSI colour, a self-contained HTML page, or JSON).
// `callstub encode`: an initializer in, the bytes C would hold for it out.

import ArgumentParser
import CallStub
import Foundation

/// The declarations and the type both commands work on.
struct ViewedType: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The type of the object: struct T, union U, a typedef name, struct T[4]…", valueName: "type"))
    var type: String

    @OptionGroup(title: "Declarations")
    var sources: DeclarationSources

    /// The two positional arguments, DECLS and the command's own (`second`): with
    /// --header/--include, DECLS may be left out, and a single argument is the command's
    /// own unless `secondGiven` elsewhere (as `view --hex` gives its bytes).
    func positional(_ first: String?, _ second: String?, secondGiven: Bool = false) -> (declarations: String?, own: String?) {
        if !sources.isEmpty, second == nil, !secondGiven { return (nil, first) }
        return (first, second)
    }

    /// The type named by --type, in the declarations `text` and any --header/--include,
    /// and the scope they define.
    func resolve(declarations text: String?) throws -> (CQualType, CScope) {
        guard text != nil || !sources.isEmpty else { throw ViewError("give the declarations (DECLS or --header/--include)") }
        let source = (try sources.texts() + (text.map { [$0] } ?? [])).joined(separator: "\n")
        let scope: CScope
        do { scope = try CDeclParser.parse(source).scope } catch {
            throw ViewError("in the declarations: " + error.rendered)
        }
        let parsed: CQualType
        do { parsed = try CDeclParser.parseTypeName(type, scope: scope) } catch {
            throw ViewError("--type '\(type)': \(error.diagnostics.first?.message ?? "not a type name")")
        }
        do { _ = try parsed.layout() } catch { throw ViewError("--type '\(type)': \(error.description)") }
        return (parsed, scope)
    }
}

/// A command-line error with its message.
struct ViewError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// Runs a command's body; its errors print `error: …` and exit with status 1.
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ViewError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        } catch let error as CallStubError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}

struct View: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Show bytes as a C struct or union: a hex dump coloured by member, with a legend.",
        discussion: """
            The bytes come from FILE, from standard input (-), or from --hex. Each member's
            bytes get a colour and a key letter; the legend gives its offset and size in
            bytes, a bit-field's bits (bit 0 is the least significant bit of the byte at
            its offset), the byte order, the alignment it is placed with and the decoded
            value; padding and holes are shown as such, and each member of a union is
            shown as its own view of the same bytes. The last line is the object as a
            C initializer, which `callstub encode` turns back into the same bytes.

              callstub view 'struct hdr { unsigned int len
                  __attribute__((scalar_storage_order("big-endian"))); char tag[4]; };' \\
                --type 'struct hdr' --hex '00 00 00 6C 33 33 74 00'
              callstub view --include netinet/ip.h --type 'struct iphdr' packet.bin --offset 14
            """
    )

    @Argument(help: "C declarations defining the type (optional with --header/--include).")
    var declarations: String?

    @Argument(help: "The file holding the bytes, or - for standard input.")
    var input: String?

    @OptionGroup var viewed: ViewedType

    @Option(name: .long, help: ArgumentHelp("The bytes in hex: '00 00 00 6C', '0000006c', '0x00, 0x6c'; 'ADDR:' labels are skipped.", valueName: "bytes"))
    var hex: String?

    @Option(name: .long, help: "Where the first object starts in the input, in bytes (0x… allowed).")
    var offset: String = "0"

    @Option(name: .long, help: "How many objects follow each other (an array of them).")
    var count: Int = 1

    @Option(name: .long, help: "Colour: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    @Option(name: .long, help: ArgumentHelp("Also write the view as a self-contained HTML page to this file.", valueName: "file"))
    var html: String?

    @Flag(name: .long, help: "Print JSON instead of the text view.")
    var json = false

    enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, always, never
    }

    func run() throws {
        try ViewError.reporting {
            let (text, inputPath) = viewed.positional(declarations, input, secondGiven: hex != nil)
            let (type, _) = try viewed.resolve(declarations: text)
            let bytes = try readBytes(path: inputPath)
            guard let start = Self.integer(offset), start >= 0 else { throw ViewError("--offset '\(offset)' is not a byte offset") }
            guard count >= 1 else { throw ViewError("--count must be at least 1") }
            let objects = try ViewedObjects(type: type, bytes: bytes, offset: start, count: count)
            if let html {
                let page = ViewRendering.html(objects)
                guard FileManager.default.createFile(atPath: html, contents: Data(page.utf8)) else {
                    throw ViewError("cannot write \(html)")
                }
            }
            if json {
                print(try ViewRendering.json(objects))
            } else {
                let colored: Bool
                switch color {
                case .always: colored = true
                case .never: colored = false
                case .auto: colored = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
                }
                print(ViewRendering.text(objects, colored: colored), terminator: "")
            }
        }
    }

    private func readBytes(path: String?) throws -> [UInt8] {
        if let hex {
            if path != nil { throw ViewError("give either FILE or --hex, not both") }
            return try Self.parseHex(hex)
        }
        guard let path else { throw ViewError("give the bytes: FILE, - for standard input, or --hex") }
        if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = readInputFile(path) else { throw ViewError("cannot read \(path)") }
        return Array(data)
    }

    /// A decimal or 0x… integer.
    static func integer(_ text: String) -> Int? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return Int(text.dropFirst(2), radix: 16) }
        return Int(text)
    }

    /// Bytes written in hex: tokens separated by spaces or commas, each `6c`, `0x6c` or a
    /// run of pairs (`0000006c`); a token ending in `:` (an address) is skipped.
    static func parseHex(_ text: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for token in text.split(whereSeparator: { $0.isWhitespace || $0 == "," }) {
            if token.hasSuffix(":") { continue }
            var digits = Substring(token)
            if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
            guard !digits.isEmpty, digits.count % 2 == 0, digits.allSatisfy(\.isHexDigit) else {
                throw ViewError("--hex: '\(token)' (after byte \(bytes.count)) is not a byte in hex, or a run of them")
            }
            var index = digits.startIndex
            while index < digits.endIndex {
                let next = digits.index(index, offsetBy: 2)
                bytes.append(UInt8(digits[index..<next], radix: 16)!)
                index = next
            }
        }
        return bytes
    }
}

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Write the bytes C holds for an initializer of a struct, union or other type.",
        discussion: """
            INITIALIZER is written as for `callstub call`: {1, 2.5}, {.len = 108,
            .tag = "33t"}, nested braces or C's brace elision. Members in big-endian
            storage order (scalar_storage_order) are written big-endian; padding is zero.
            The bytes print in hex, 16 to a line (what `callstub view --hex` reads), or go
            to a file with -o.

              callstub encode 'struct hdr { unsigned int len
                  __attribute__((scalar_storage_order("big-endian"))); char tag[4]; };' \\
                --type 'struct hdr' '{108, "33t"}'
            """
    )

    @Argument(help: "C declarations defining the type (optional with --header/--include).")
    var declarations: String?

    @Argument(help: "The value, in C initializer syntax ('-': read it from standard input).")
    var initializer: String?

    @OptionGroup var viewed: ViewedType

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the raw bytes to this file instead of printing hex.", valueName: "file"))
    var output: String?

    func run() throws {
        try ViewError.reporting {
            let (text, given) = viewed.positional(declarations, initializer)
            guard var value = given else { throw ViewError("give the initializer") }
            if value == "-" { value = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
            let (type, scope) = try viewed.resolve(declarations: text)
            let parsed: CValue
            do throws(CValueSyntaxError) { parsed = try CValueSyntax.parse(value, as: type, scope: scope) } catch {
                throw ViewError("the initializer, \(error.description)")
            }
            let bytes = try parsed.bytes(as: type)
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                    throw ViewError("cannot write \(output)")
                }
            } else {
                print(ViewRendering.hexLines(bytes))
            }
        }
    }
}

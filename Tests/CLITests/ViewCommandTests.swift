// `callstub view` and `callstub encode` run as people run them: whole outputs pinned for a
// few records (no colour), colour on request, errors, the HTML page in headless Chromium,
// and 500 generated records against gcc: encode writes gcc's bytes, and view --json
// decodes every member of gcc's bytes to the value of the initializer gcc compiled.

import CTestSupport
import CDeclParser
import CTypeModel
import Foundation
import Testing

@Suite struct ViewCommandTests {
    func callstub(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        try run(ParseCommandTests.binary, arguments, input: input)
    }

    static let header = #"struct hdr { unsigned int len __attribute__((scalar_storage_order("big-endian"))); char tag[4]; };"#

    /// The issue's example: a big-endian length and a tag.
    @Test func aBigEndianHeader() throws {
        let shown = try callstub(["view", Self.header, "--type", "struct hdr", "--hex", "0024: 00 00 00 6C 33 33 74 00"])
        #expect(shown == (0, """
            struct hdr: 8 bytes, alignment 4
                      +0 +1 +2 +3 +4 +5 +6 +7 +8 +9 +a +b +c +d +e +f
            00000000  00 00 00 6c 33 33 74 00                          ...l33t.
                      A  A  A  A  B  B  B  B

               offset  size  bits  order  align  member  type          value
            A  0       4           big    4      len     unsigned int  108
            B  4       4           -      1      tag     char [4]      "33t\\0"

            initializer: {.len = 108, .tag = "33t\\0"}

            """))
        #expect(try callstub(["encode", Self.header, "--type", "struct hdr", "{108, \"33t\"}"]) == (0, "00 00 00 6c 33 33 74 00\n"))
        let colored = try callstub(["view", Self.header, "--type", "struct hdr", "--hex", "0000006c33337400", "--color", "always"])
        #expect(colored.output.contains("\u{1B}[31m00\u{1B}[0m") && colored.output.contains("\u{1B}[32m33\u{1B}[0m"), "\(colored.output)")
        let auto = try callstub(["view", Self.header, "--type", "struct hdr", "--hex", "0000006c33337400"])
        #expect(!auto.output.contains("\u{1B}["), "not a terminal: no colour")
    }

    static let flags = """
        struct flags { unsigned a : 3; signed b : 7; unsigned : 2; unsigned c : 4; char name[5];
            union { float f; unsigned u; }; double d; short s[2]; } __attribute__((aligned(8)));
        """

    /// Bit-fields with the bits an unnamed one skips, a hole, an anonymous union's two
    /// views, trailing padding; encode (with a designator into the union) and view agree.
    @Test func bitFieldsUnionsAndPadding() throws {
        let encoded = try callstub(["encode", Self.flags, "--type", "struct flags", "{5, -33, 9, \"abc\", .u = 0x3f800000, 2.5, {1, -2}}"])
        #expect(encoded == (0, """
            fd 92 61 62 63 00 00 00 00 00 80 3f 00 00 00 00
            00 00 00 00 00 00 04 40 01 00 fe ff 00 00 00 00

            """))
        let shown = try callstub(["view", Self.flags, "--type", "struct flags", "--hex", encoded.output])
        #expect(shown == (0, """
            struct flags: 32 bytes, alignment 8
                      +0 +1 +2 +3 +4 +5 +6 +7 +8 +9 +a +b +c +d +e +f
            00000000  fd 92 61 62 63 00 00 00 00 00 80 3f 00 00 00 00  ..abc......?....
                      A  B  D  D  D  D  D  .  E  E  E  E  .  .  .  .
            00000010  00 00 00 00 00 00 04 40 01 00 fe ff 00 00 00 00  .......@........
                      G  G  G  G  G  G  G  G  H  H  H  H  .  .  .  .

               offset  size    bits  order   align  member                     type          value
            A  0       3 bits  0–2   little  4      a                          unsigned int  5
            B  0       7 bits  3–9   little  4      b                          int           -33
            .  1       2 bits  2–3                  (padding)
            C  1       4 bits  4–7   little  4      c                          unsigned int  9
            D  2       5             -       1      name                       char [5]      "abc\\0"
            .  7       1                            (padding)
            E  8       4             little  4      f                          float         1
            F  8       4             little  4      u (union: the bytes of f)  unsigned int  1065353216
            .  12      4                            (padding)
            G  16      8             little  8      d                          double        2.5
            H  24      4             little  2      s                          short [2]     {1, -2}
            .  28      4                            (padding)

            initializer: {.a = 5, .b = -33, .c = 9, .name = "abc\\0", .f = 1, .d = 2.5, .s = {1, -2}}

            """))
    }

    static let frames = """
        enum color { RED, GREEN = 7 };
        struct be { unsigned short port; unsigned int addr; } __attribute__((scalar_storage_order("big-endian")));
        struct __attribute__((packed)) frame { unsigned char kind; struct be dst; enum color c; };
        """

    /// An array of packed records from a file at an offset, each holding a big-endian
    /// record: the file written by encode -o, and read from standard input too.
    @Test func packedRecordsInAFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-view-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("first.bin").path
        let second = directory.appendingPathComponent("second.bin").path
        #expect(try callstub(["encode", Self.frames, "--type", "struct frame", "{1, {8080, 0x7f000001}, GREEN}", "-o", first]) == (0, ""))
        #expect(try callstub(["encode", Self.frames, "--type", "struct frame", "-"], input: "{.c = RED, .dst.port = 53}") == (0, "00 00 35 00 00 00 00 00 00 00 00 00 00\n"))
        #expect(try callstub(["encode", Self.frames, "--type", "struct frame", "{.c = RED, .dst.port = 53}", "-o", second]) == (0, ""))
        let file = directory.appendingPathComponent("frames.bin").path
        var bytes = Data([0xAA, 0xBB])
        bytes.append(try Data(contentsOf: URL(fileURLWithPath: first)))
        bytes.append(try Data(contentsOf: URL(fileURLWithPath: second)))
        try bytes.write(to: URL(fileURLWithPath: file))
        let shown = try callstub(["view", Self.frames, "--type", "struct frame", file, "--offset", "2", "--count", "2"])
        #expect(shown == (0, """
            [0] at offset 2: struct frame: 13 bytes, alignment 1
                      +0 +1 +2 +3 +4 +5 +6 +7 +8 +9 +a +b +c +d +e +f
            00000002  01 1f 90 00 00 7f 00 00 01 07 00 00 00           .............
                      A  B  B  .  .  C  C  C  C  D  D  D  D

               offset  size  bits  order   align  member     type            value
            A  0       1           -       1      kind       unsigned char   1
            B  1       2           big     1      dst.port   unsigned short  8080
            .  3       2                          (padding)
            C  5       4           big     1      dst.addr   unsigned int    2130706433
            D  9       4           little  1      c          enum color      GREEN

            initializer: {.kind = 1, .dst.port = 8080, .dst.addr = 2130706433, .c = GREEN}

            [1] at offset 15: struct frame: 13 bytes, alignment 1
                      +0 +1 +2 +3 +4 +5 +6 +7 +8 +9 +a +b +c +d +e +f
            0000000f  00 00 35 00 00 00 00 00 00 00 00 00 00           ..5..........
                      A  B  B  .  .  C  C  C  C  D  D  D  D

               offset  size  bits  order   align  member     type            value
            A  0       1           -       1      kind       unsigned char   0
            B  1       2           big     1      dst.port   unsigned short  53
            .  3       2                          (padding)
            C  5       4           big     1      dst.addr   unsigned int    0
            D  9       4           little  1      c          enum color      RED

            initializer: {.kind = 0, .dst.port = 53, .dst.addr = 0, .c = RED}

            """))
        // Raw bytes on standard input (the first record's file), decoded as JSON.
        let piped = try run(
            "/bin/sh", ["-c", "exec \"$0\" view \"$1\" --type 'struct frame' - --json < \"$2\"", ParseCommandTests.binary, Self.frames, first])
        #expect(piped.status == 0, "\(piped.output)")
        let report = try JSONSerialization.jsonObject(with: Data(piped.output.utf8)) as? [String: Any]
        let regions = ((report?["objects"] as? [[String: Any]])?.first?["regions"] as? [[String: Any]]) ?? []
        let byPath = Dictionary(regions.compactMap { region in (region["path"] as? String).map { ($0, region) } }) { kept, _ in kept }
        #expect(byPath["dst.port"]?["value"] as? Int == 8080 && byPath["dst.port"]?["byteOrder"] as? String == "big")
        #expect(byPath["c"]?["text"] as? String == "GREEN" && byPath["kind"]?["bytes"] as? String == "01")
    }

    @Test func badInputIsAClearError() throws {
        let cases: [([String], String)] = [
            (["view", Self.frames, "--type", "struct frame", "--hex", "01 02", "--count", "1"], "error: struct frame needs bytes 0..<13, the input has 2\n"),
            (["view", Self.frames, "--type", "struct frame", "--hex", "00 zz"], "error: --hex: 'zz' (after byte 1) is not a byte in hex, or a run of them\n"),
            (["view", Self.frames, "--type", "struct nope", "--hex", "00"], "error: --type 'struct nope': incomplete type struct nope has no size\n"),
            (["view", "struct {", "--type", "int", "--hex", "00"], "error: in the declarations: line 1, column 9: expected '}'"),
            (["view", Self.frames, "--type", "struct frame", "--hex", "00", "--count", "0"], "error: --count must be at least 1\n"),
            (["view", Self.frames, "--type", "struct frame", "/no/such/file"], "error: cannot read /no/such/file\n"),
            (["view", Self.frames, "--type", "struct frame", "--hex", "00", "--color", "sometimes"], "error: "),
            (["encode", Self.frames, "--type", "struct frame", "{1, 2, 3, 4, 5}"], "error: the initializer, column 14: too many initializers for struct frame\n"),
            (["encode", Self.frames, "--type", "struct frame", "{.nope = 1}"], "error: the initializer, column 10: struct frame, field nope: struct frame has no member named nope\n"),
        ]
        for (arguments, expected) in cases {
            let outcome = try callstub(arguments)
            #expect(outcome.status == 1 && outcome.output.hasPrefix(expected), "\(arguments): \(outcome.output)")
        }
    }

    /// The --html page is self-contained and renders in headless Chromium: its DOM has the
    /// table and the coloured bytes, and a screenshot is written.
    @Test func theHTMLPageRendersInChromium() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("flags.html").path
        let hex = "fd 92 61 62 63 00 00 00 00 00 80 3f 00 00 00 00 00 00 00 00 00 00 04 40 01 00 fe ff 00 00 00 00"
        #expect(try callstub(["view", Self.flags, "--type", "struct flags", "--hex", hex, "--html", page]).status == 0)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!html.contains("<script") && !html.contains("http"), "self-contained")
        let chromium = ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(directory.path)/profile"]
        let dom = try run(chromium[0], Array(chromium.dropFirst()) + ["--dump-dom", "file://\(page)"])
        #expect(dom.status == 0)
        #expect(dom.output.contains("<td>u (union: the bytes of f)</td>") && dom.output.contains("<td>\"abc\\0\"</td>"), "\(dom.output.suffix(2000))")
        #expect(dom.output.components(separatedBy: "class=\"byte\"").count - 1 == 32)
        let screenshot = directory.appendingPathComponent("flags.png").path
        let shot = try run(chromium[0], Array(chromium.dropFirst()) + ["--screenshot=\(screenshot)", "--window-size=1000,700", "file://\(page)"])
        #expect(shot.status == 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.count > 10_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
    }

    /// 500 generated records (bit-fields, packed and aligned members, #pragma pack,
    /// unions, big-endian records inside little-endian ones) as members of one struct,
    /// initialized by gcc: `encode` writes gcc's bytes, `view --json` decodes every member
    /// to the initializer's value, and the initializer view prints encodes back to them.
    @Test(arguments: CCompiler.installed.filter { $0.name == "gcc" })
    func generatedRecordsAgainstGcc(_ compiler: CCompiler) throws {
        var header = RandomRecords.header(count: 1000, seed: 0xc0ffee, bigEndianPercent: 30)
        let records = try RandomInitializers.initializableRecords(CDeclParser.parse(header).declarations, count: 500, asMembers: true)
        let members = records.enumerated().map { "\($1.name) m\($0);" }
        header += "\nstruct All {\n    " + members.joined(separator: "\n    ") + "\n};\n"
        let all = try CDeclParser.parseTypeName("struct All", scope: try CDeclParser.parse(header).scope)
        var random = SeededGenerator(seed: 5)
        let initialized = try RandomInitializers.members(of: all, random: &random)
        let initializer = RandomInitializers.text(initialized)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-all-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let headerPath = directory.appendingPathComponent("records.h").path
        try header.write(toFile: headerPath, atomically: true, encoding: .utf8)
        let gccPath = directory.appendingPathComponent("gcc.bin").path
        let program = "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" + header
            + "static struct All all = \(initializer);\n"
            + "int main(void) {\n    FILE *f = fopen(\"\(gccPath)\", \"wb\");\n"
            + "    fwrite(&all, sizeof all, 1, f);\n    fclose(f);\n    printf(\"%zu\\n\", sizeof all);\n    return 0;\n}\n"
        let size = try compiler.compileAndRun(program).trimmingCharacters(in: .whitespacesAndNewlines)
        let gccBytes = try Data(contentsOf: URL(fileURLWithPath: gccPath))
        #expect("\(gccBytes.count)" == size)

        let oursPath = directory.appendingPathComponent("ours.bin").path
        #expect(try callstub(["encode", "--header", headerPath, "--type", "struct All", "-", "-o", oursPath], input: initializer) == (0, ""))
        #expect(try Data(contentsOf: URL(fileURLWithPath: oursPath)) == gccBytes, "encode writes gcc's bytes")

        let viewed = try callstub(["view", "--header", headerPath, "--type", "struct All", gccPath, "--json"])
        try #require(viewed.status == 0, "\(viewed.output.prefix(500))")
        let report = try JSONSerialization.jsonObject(with: Data(viewed.output.utf8)) as? [String: Any]
        let object = (report?["objects"] as? [[String: Any]])?.first
        let regions = object?["regions"] as? [[String: Any]] ?? []
        var byPath: [String: Any] = [:]
        for region in regions { if let path = region["path"] as? String { byPath[path] = region["value"] } }
        var decoded = 0
        for member in initialized {
            guard let value = byPath[member.path] else {
                Issue.record("no region \(member.path)")
                continue
            }
            #expect(Self.jsonMatches(value, member.expected), "\(member.path): \(value) against \(member.text)")
            decoded += 1
        }
        print("view: \(members.count) records in struct All (\(gccBytes.count) bytes), \(decoded) members decoded to the initializer's values")
        #expect(members.count == 500 && decoded == initialized.count && decoded > 1500)

        // The initializer the view prints (enumerators, strings, shortest floats) encodes to the same bytes.
        let printed = try #require(object?["initializer"] as? String)
        let again = directory.appendingPathComponent("again.bin").path
        #expect(try callstub(["encode", "--header", headerPath, "--type", "struct All", "-", "-o", again], input: printed) == (0, ""))
        #expect(try Data(contentsOf: URL(fileURLWithPath: again)) == gccBytes, "view's initializer encodes back")
    }

    /// A decoded JSON value against `RandomInitializers.Member.expected`.
    static func jsonMatches(_ actual: Any, _ expected: Any) -> Bool {
        switch expected {
        case let number as Int:
            // 128-bit integers are strings in the JSON, to keep every digit.
            if let text = actual as? String { return text == String(number) }
            guard let value = actual as? NSNumber else { return false }
            return value.stringValue == String(number)
        case let number as Double:
            return (actual as? NSNumber)?.doubleValue == number
        case let text as String:
            return (actual as? String) == text
        case let list as [Any]:
            guard let values = actual as? [Any], values.count == list.count else { return false }
            return zip(values, list).allSatisfy { jsonMatches($0, $1) }
        case let parts as [String: Double]:
            guard let values = actual as? [String: Any] else { return false }
            return parts.allSatisfy { key, number in (values[key] as? NSNumber)?.doubleValue == number }
        default:
            return false
        }
    }
}

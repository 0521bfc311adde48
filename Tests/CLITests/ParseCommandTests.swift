// `callstub parse` run as a user runs it: the built binary, its whole output and exit code.

import CTestSupport
import Foundation
import Testing

@Suite struct ParseCommandTests {
    /// The `callstub` binary built beside the test bundle.
    static let binary: String = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("callstub").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return bundle.appendingPathComponent("callstub").path
    }()

    @Test func packedStructMatchesGcc() throws {
        let result = try run(Self.binary, ["parse", "struct S { char c; int x : 3; double d; } __attribute__((packed));"])
        #expect(result.status == 0)
        #expect(result.output == """
            struct S {
                char c;
                int x : 3;
                double d;
            } __attribute__((packed));

            struct S {
                char c;                             /*       0     1 */
                int x : 3;                          /*     1:0    3b */
                /* XXX 5 bits hole */
                double d;                           /*       2     8 */

                /* size: 10, alignment: 1, members: 3 */
                /* sum members: 9 bytes 3 bits, holes: 0, bit holes: 1 (5 bits), padding: 0 bytes */
            } __attribute__((packed));

            """)
    }

    @Test func malformedDeclarationShowsCaretAndFails() throws {
        let result = try run(Self.binary, ["parse", "struct P {\n  int x;\n  doble y;\n};"])
        #expect(result.status == 1)
        #expect(result.output == """
            error: line 3, column 3: expected a type specifier, found 'doble'
                  doble y;
                  ^

            """)
    }

    @Test func jsonAndFileInput() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-\(UUID().uuidString).h")
        try "typedef struct { int quot; int rem; } div_t;\ndiv_t div(int, int);\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try run(Self.binary, ["parse", "--json", "--file", file.path])
        #expect(result.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let declarations = try #require(json?["declarations"] as? [[String: Any]])
        #expect(declarations.map { $0["kind"] as? String } == ["typedef", "function"])
        let layout = try #require(declarations[0]["layout"] as? [String: Any])
        #expect(layout["size"] as? Int == 8)
        #expect(declarations[1]["c"] as? String == "div_t div(int, int);")
    }

    @Test func exampleAndUsageErrors() throws {
        let example = try run(Self.binary, ["parse", "--example"])
        #expect(example.status == 0)
        #expect(example.output.contains("struct packet_header {"))
        let none = try run(Self.binary, ["parse"])
        #expect(none.status != 0)
        #expect(none.output.contains("give exactly one of DECLS, --file, --example or --header/--include"))
        let missing = try run(Self.binary, ["parse", "--file", "/nonexistent.h"])
        #expect(missing.status == 1)
    }
}

// The README's examples, run as written (here in a debug build; Examples/ holds them for
// the release build scripts/test runs, and this checks that they are the README's own).

import CallStub
import Foundation
import Testing
@testable import callstub_examples

@Suite struct ReadmeExampleTests {
    /// The README's blocks as Examples/README.swift holds them (checked below), each with
    /// what the README says it gives.
    @Test func theReadmeBlocksGiveWhatTheReadmeSays() throws {
        try callingStyles()
        try qsortWithASwiftClosure()
        try parserOnItsOwn()
    }

    /// Every Swift block of the README appears in Examples/README.swift, line for line
    /// (indentation aside, `import` lines at the file's top): the release-mode examples
    /// cannot drift from what the README shows.
    @Test func theReleaseExamplesAreTheReadmesBlocks() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let examples = try String(contentsOf: root.appendingPathComponent("Examples/README.swift"), encoding: .utf8)
        let exampleLines = examples.split(separator: "\n", omittingEmptySubsequences: false).map(Self.trimmed)
        var blocks: [[String]] = []
        var current: [String]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "```swift" {
                current = []
            } else if line == "```", let block = current {
                blocks.append(block)
                current = nil
            } else if current != nil {
                current!.append(String(line))
            }
        }
        #expect(blocks.count >= 3, "\(blocks.count) Swift blocks in the README")
        for (index, block) in blocks.enumerated() {
            var lines = block.map(Self.trimmed)
            for line in lines where line.hasPrefix("import ") {
                #expect(exampleLines.contains(line), "README block \(index + 1): \(line) is not in Examples/README.swift")
            }
            lines = Array(lines.drop { $0.hasPrefix("import ") || $0.isEmpty })
            let found = exampleLines.indices.contains { start in
                start + lines.count <= exampleLines.count && Array(exampleLines[start..<(start + lines.count)]) == lines
            }
            #expect(found, "README block \(index + 1) (\(lines.first ?? "")) is not in Examples/README.swift as written")
        }
    }

    static func trimmed(_ line: Substring) -> String {
        String(line.drop { $0 == " " })
    }

    static func trimmed(_ line: String) -> String { trimmed(Substring(line)) }
}

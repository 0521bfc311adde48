// The README's examples, run as written (here in a debug build; Examples/ holds them for
// the release build scripts/test runs, and this checks that they are the README's own).

import CallStub
import Foundation
import Testing

@Suite struct ReadmeExampleTests {
    @Test func qsortWithASwiftClosure() throws {
        let libc = try SharedLibrary("libc.so.6")
        let qsort = try libc.function("qsort")  // signature from glibc's debug info
        let compare = try Callback.typed(
            "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self
        ) { a, b in
            let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
            return x < y ? -1 : x > y ? 1 : 0
        }
        var numbers: [Int32] = [5, 3, 9, 1]
        try numbers.withUnsafeMutableBytes { buffer in
            _ = try qsort.call([.pointer(CPointer(buffer.baseAddress)), .uint(4), .uint(4), .callback(compare)])
        }
        #expect(numbers == [1, 3, 5, 9])
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

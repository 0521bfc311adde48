// `callstub bench` as its users read it: the JSON report (every path of a signature
// measured, ratios computable), the chart (well-formed SVG, one bar per path), the peers
// (measured where installed, a note where not) and the instruction counts under
// callgrind (exact, so their order is checked: a JIT stub runs fewer instructions than
// `ffi_call`). No timing is asserted.

import CTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite struct BenchCommandTests {
    static let columns = [
        "direct", "jit raw", "jit typed", "jit dynamic", "ffi_call", "ffi raw", "ffi typed", "jit dyn buffer", "C API", "C drop-in",
    ]

    /// The JSON object in the command's output (standard error is merged into it).
    func report(_ output: String) throws -> [String: Any] {
        let start = try #require(output.firstIndex(of: "{"), "no JSON in: \(output.prefix(2000))")
        let object = try JSONSerialization.jsonObject(with: Data(output[start...].utf8))
        return try #require(object as? [String: Any])
    }

    @Test func jsonChartAndPeers() throws {
        let chart = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-bench-test-\(getpid()).svg")
        defer { try? FileManager.default.removeItem(at: chart) }
        let outcome = try run(ParseCommandTests.binary, [
            "bench", "--quick", "--filter", "add2", "--no-compile", "--no-dwarf", "--no-callbacks", "--peers", "--json",
            "--chart", chart.path, "--processes", "2",
        ])
        #expect(outcome.status == 0, "\(outcome.output.suffix(3000))")
        let json = try report(outcome.output)
        let rows = try #require(json["rows"] as? [[String: Any]])
        #expect(rows.count == 1)
        // Two processes measured the matrix, each taking turns with the peers: every cell
        // pools both processes' five repetitions.
        #expect(json["processes"] as? Int == 2 && json["repetitions"] as? Int == 5, "\(json["processes"] ?? "-") \(json["repetitions"] ?? "-")")
        #expect(rows.first?["samples"] as? Int == 10, "samples behind each cell: \(rows.first?["samples"] ?? "-")")
        #expect(outcome.output.contains("[2/2] the matrix in a process of its own") == false, "progress went into --json's output")
        let median = try #require(rows.first?["median"] as? [String: Double])
        for column in Self.columns {
            #expect((median[column] ?? 0) > 0, "column \(column) was not measured: \(median)")
        }
        // Peers (ctypes, cffi, the callstub package, LuaJIT, libffi 3.8's plans): measured
        // when installed (libffi 3.8 built from the peers directory's tarball), otherwise a
        // note says which are missing; each peer checked its results against C before
        // timing, so a figure means it ran right. LuaJIT's process also times the C driver
        // loop, a column of its own beside LuaJIT's.
        let peers = json["peers"] as? [[String: Any]] ?? []
        let notes = json["peerNotes"] as? [String] ?? []
        let peerColumns = peers.compactMap { $0["column"] as? String }
        #expect(peerColumns.contains("peer: LuaJIT") == peerColumns.contains("peer: direct in LuaJIT"), "\(peerColumns)")
        #expect(peerColumns.filter { $0 != "peer: direct in LuaJIT" }.count + notes.count == 5, "\(peers) \(notes)")
        for peer in peers {
            let figures = try #require(peer["median"] as? [String: Double])
            #expect((figures["add2"] ?? 0) > 0, "\(peer)")
        }
        for note in notes {
            let libffiSkipped = note.hasPrefix("peer libffi 3.8.0 plans: ") && (note.contains(".tar.gz") || note.contains("missing to build it"))
            #expect(note.contains("not installed") || libffiSkipped, "\(note)")
        }

        // The chart: well-formed SVG with one bar per measured path, titled by both names.
        let svg = try String(contentsOf: chart, encoding: .utf8)
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "the chart is not well-formed XML: \(String(describing: parser.parserError))")
        for column in Self.columns + peers.compactMap({ $0["column"] as? String }) {
            #expect(svg.contains("<title>add2, \(column): "), "no bar for \(column)")
        }
        // Each legend entry (column) has a colour of its own.
        let legend = svg.components(separatedBy: #"width="12" height="12" fill=""#).dropFirst().map { $0.prefix(7) }
        #expect(legend.count >= Self.columns.count && Set(legend).count == legend.count, "legend colours: \(legend)")
    }

    /// The process count is checked before anything is measured.
    @Test func processCountOutOfRange() throws {
        for count in ["0", "21"] {
            let outcome = try run(ParseCommandTests.binary, ["bench", "--quick", "--processes", count, "--no-compile"])
            #expect(outcome.status != 0 && outcome.output.contains("--processes: from 1 to 20, not \(count)"), "\(outcome.output.suffix(2000))")
        }
    }

    /// valgrind cannot run a sanitizer-instrumented binary: skipped under `--sanitize`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind") && !Sanitizers.active))
    func instructionCounts() throws {
        let outcome = try run(ParseCommandTests.binary, ["bench", "--instructions", "--filter", "add2", "--json"])
        #expect(outcome.status == 0, "\(outcome.output.suffix(3000))")
        let counts = try #require(try report(outcome.output)["add2"] as? [String: Double])
        for column in Self.columns {
            #expect((counts[column] ?? 0) > 0, "column \(column) was not counted: \(counts)")
        }
        // Exact counts: the C loop is the floor, and a stub call is cheaper than ffi_call.
        let direct = try #require(counts["direct"])
        let jit = try #require(counts["jit raw"])
        let ffi = try #require(counts["ffi_call"])
        #expect(direct < jit && jit < ffi, "\(counts)")
    }
}

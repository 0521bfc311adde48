// `callstub bench`: the matrix measured in several processes of its own, which take turns
// with the peers, and every process's samples pooled. At the ~1.1 ns floor one process
// can run a loop a third slower than the next process runs the same loop, for its whole
// life: each draws its own code, library and stack addresses (ASLR) and physical pages
// (with ASLR off the draws are rarer, not gone; docs/benchmarks.md, "One process is one
// draw"). The median over processes is what a user's process can expect, and taking
// turns gives the matrix and the peers the same phases of the machine.

import ArgumentParser
import Foundation

/// Per column and case, every sample (ns per call) of every process so far.
struct SamplePool {
    private(set) var columns: [String] = []
    private var versions: [String: String] = [:]
    private var samples: [String: [String: [Double]]] = [:]

    mutating func add(_ column: BenchPeers.Column) {
        if samples[column.name] == nil {
            columns.append(column.name)
            versions[column.name] = column.version
        }
        for (name, values) in column.samples { samples[column.name, default: [:]][name, default: []] += values }
    }

    /// The median, interquartile range and count of a column's samples for one case.
    func figures(_ column: String, _ name: String) -> (median: Double, spread: Double, count: Int)? {
        guard let sorted = samples[column]?[name]?.sorted(), !sorted.isEmpty else { return nil }
        return (sorted[sorted.count / 2], sorted[sorted.count * 3 / 4] - sorted[sorted.count / 4], sorted.count)
    }

    /// Each column as a peer's figures, in the order the columns first came.
    var peerFigures: [PeerFigures] {
        columns.map { column in
            var median: [String: Double] = [:]
            var spread: [String: Double] = [:]
            for name in samples[column, default: [:]].keys {
                guard let figures = figures(column, name) else { continue }
                (median[name], spread[name]) = (figures.median, figures.spread)
            }
            return PeerFigures(column: "peer: \(column)", version: versions[column] ?? "", median: median, spread: spread)
        }
    }
}

enum BenchRounds {
    /// The child: the matrix in this process, every sample printed as the peers' JSON
    /// (a column per path).
    static func matrixChild(cases: [BenchCase], calls: Int, repetitions: Int) throws {
        let context = try BenchContext(path: try BenchFixtures.build())
        var perColumn = Array(repeating: [String: [Double]](), count: BenchCase.columns.count)
        for benchCase in cases {
            let samples = BenchRow.samples(paths: try benchCase.make(context), calls: calls, repetitions: repetitions)
            for index in perColumn.indices { perColumn[index][benchCase.name] = samples[index] }
        }
        let columns = zip(BenchCase.columns, perColumn).map { BenchPeers.Column(name: $0, version: "", samples: $1) }
        print(String(decoding: try JSONEncoder().encode(BenchPeers.Report(columns: columns, missing: nil)), as: UTF8.self))
    }

    /// The matrix in `processes` children taking turns with the peers' runners; the rows
    /// and the peers' columns from the pooled samples.
    static func measure(
        cases: [BenchCase], fixture: String, processes: Int, quick: Bool, filter: String?, repetitions: Int,
        peers: (runners: [BenchPeers.Runner], notes: [String])?, progress: (String) -> Void
    ) throws -> (rows: [BenchRow], peers: [PeerFigures], peerNotes: [String]) {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var arguments = [executable, "bench", "--matrix-samples", String(repetitions)]
        if quick { arguments.append("--quick") }
        if let filter { arguments += ["--filter", filter] }
        var matrix = SamplePool()
        var peerPool = SamplePool()
        var runners = peers?.runners ?? []
        var notes = peers?.notes ?? []
        for round in 1...processes {
            progress("[\(round)/\(processes)] the matrix in a process of its own (\(cases.count) signatures, \(repetitions) repetitions)")
            let outcome = BenchPeers.run(arguments, environment: [BenchFixtures.builtVariable: fixture])
            guard outcome.status == 0, let report = try? JSONDecoder().decode(BenchPeers.Report.self, from: Data(outcome.output.utf8)) else {
                let reason = outcome.errors.trimmingCharacters(in: .whitespacesAndNewlines)
                throw ValidationError("the matrix's process \(round) failed: \(reason.isEmpty ? "status \(outcome.status)" : String(reason.suffix(3000)))")
            }
            report.columns.forEach { matrix.add($0) }
            if peers != nil { BenchPeers.round(&runners, into: &peerPool, notes: &notes, progress: progress) }
        }
        let rows = cases.map { benchCase in
            var row = BenchRow(name: benchCase.name, declaration: benchCase.declaration, median: [:], spread: [:])
            var counts: [Int] = []
            for column in BenchCase.columns {
                guard let figures = matrix.figures(column, benchCase.name) else { continue }
                (row.median[column], row.spread[column]) = (figures.median, figures.spread)
                counts.append(figures.count)
            }
            row.samples = counts.min() ?? 0
            return row
        }
        return (rows, peerPool.peerFigures, notes)
    }
}

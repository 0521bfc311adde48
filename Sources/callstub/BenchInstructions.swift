// `callstub bench --instructions`: the matrix under valgrind's callgrind, as instructions
// per call per path, repeatable on machines where time is noisy and perf counters are
// missing. The command runs itself under callgrind (a debug-stripped copy: valgrind 3.19
// cannot read the Swift toolchain's DWARF 5); the child measures each (signature, path)
// inside `callstub_measure_loop`, the only function callgrind collects in, and calls
// `callstub_measure_boundary` after each, before which callgrind dumps and resets its
// counters: one dump file per measurement, read back in order.

import Foundation

enum BenchInstructions {
    /// Calls per measurement: enough to make the loop's fixed cost negligible.
    static let calls = 20_000
    static let childVariable = "CALLSTUB_BENCH_UNDER_CALLGRIND"

    static var isChild: Bool { ProcessInfo.processInfo.environment[childVariable] != nil }

    /// The parent: runs the child under callgrind and prints the table.
    static func run(filter: String?, json: Bool) throws {
        guard let valgrind = ["/usr/bin/valgrind", "/usr/local/bin/valgrind"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchInstructionsError("valgrind is not installed (apt-get install valgrind)")
        }
        // CALLSTUB_BENCH_CALLGRIND_DIR keeps the dumps (cg.out.K, measurement K of
        // order.txt) for callgrind_annotate; by default they go with the run.
        let kept = ProcessInfo.processInfo.environment["CALLSTUB_BENCH_CALLGRIND_DIR"]
        let directory = kept.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("callstub-callgrind-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if kept == nil { try? FileManager.default.removeItem(at: directory) } }
        // A copy of this program without debug info.
        let binary = directory.appendingPathComponent("callstub")
        try FileManager.default.copyItem(atPath: CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0] : Bundle.main.executablePath!, toPath: binary.path)
        _ = try runProcess("/usr/bin/strip", ["--strip-debug", binary.path])
        var arguments = [
            "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=callstub_measure_loop",
            "--dump-before=callstub_measure_boundary", "--callgrind-out-file=\(directory.path)/cg.out",
            binary.path, "bench", "--instructions",
        ]
        if let filter { arguments += ["--filter", filter] }
        if !json { printError("running the matrix under callgrind…") }
        let fixture = try BenchFixtures.build()
        let (status, output) = try runProcess(
            valgrind, arguments, environment: [childVariable: directory.path, BenchFixtures.builtVariable: fixture])
        guard status == 0 else { throw BenchInstructionsError("the run under callgrind failed:\n\(output.suffix(3000))") }
        let order = try String(contentsOf: directory.appendingPathComponent("order.txt"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        var perCall: [String: [String: Double]] = [:]
        var names: [String] = []
        for (index, entry) in order.enumerated() where entry.count == 2 {
            // Dump k (1-based) holds what was collected since dump k-1: measurement k.
            let file = directory.appendingPathComponent("cg.out.\(index + 1)")
            guard let text = try? String(contentsOf: file, encoding: .utf8), let total = totalInstructions(text) else { continue }
            if perCall[entry[0]] == nil { names.append(entry[0]) }
            perCall[entry[0], default: [:]][entry[1]] = Double(total) / Double(calls)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(perCall), as: UTF8.self))
            return
        }
        print("instructions per call (callgrind, \(calls) calls per path, loop included)\n")
        let columns = BenchCase.columns
        print((["signature".padding(toLength: 10, withPad: " ", startingAt: 0)] + columns.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }).joined(separator: " "))
        for name in names {
            let row = columns.map { column in
                (perCall[name]?[column].map { String(format: "%.1f", $0) } ?? "-").padding(toLength: 14, withPad: " ", startingAt: 0)
            }
            print(([name.padding(toLength: 10, withPad: " ", startingAt: 0)] + row).joined(separator: " "))
        }
    }

    /// The child: measures each (signature, path) in order, writing the order down.
    static func measure(context: BenchContext, cases: [BenchCase]) throws {
        let directory = URL(fileURLWithPath: ProcessInfo.processInfo.environment[childVariable]!)
        var order = ""
        for benchCase in cases {
            let paths = try benchCase.make(context)
            for (path, column) in zip(paths, BenchCase.columns) {
                _ = path(100)  // warm: first-call work (lazy binding, caches) is not per-call cost
                measuredPath = path
                measureLoop(calls)
                measureBoundary()
                order += "\(benchCase.name)\t\(column)\n"
            }
        }
        try order.write(to: directory.appendingPathComponent("order.txt"), atomically: true, encoding: .utf8)
    }

    /// The `totals:` (or `summary:`) line of a callgrind dump: instructions executed.
    static func totalInstructions(_ text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("totals:") || line.hasPrefix("summary:") {
            if let value = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { return value }
        }
        return nil
    }
}

/// The path `measureLoop` runs. A global rather than an argument: given a closure, the
/// optimiser calls a closure-specialised clone under another name, and callgrind would
/// never collect.
nonisolated(unsafe) var measuredPath: TimedLoop?

/// The only function callgrind collects in (`--toggle-collect`).
@_silgen_name("callstub_measure_loop") @inline(never)
func measureLoop(_ calls: Int) {
    _ = measuredPath?(calls)
}

/// Callgrind dumps its counters before each call (`--dump-before`).
@_silgen_name("callstub_measure_boundary") @inline(never)
func measureBoundary() {
    _ = getpid()
}

struct BenchInstructionsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

// `callstub bench`'s start-up figures (issue 19): this executable started afresh for a few
// commands by a small C probe, each timed from fork to wait4 with its peak resident memory
// from wait4's rusage; medians of interleaved rounds. The first row is the floor any
// process pays (`/bin/true`).

import ArgumentParser
import Foundation

struct StartupFigures: Encodable {
    struct Row: Encodable {
        let command: String
        let milliseconds: Double
        let megabytes: Double
    }
    let rows: [Row]

    /// The commands: the floor, `--help`, and a libffi call without and with the DWARF
    /// check; then a call through a JIT stub (libLLVM loaded and a stub compiled).
    static func commands(executable: String) -> [(label: String, arguments: [String])] {
        let cosine = ["call", "libm.so.6", "cos", "--decl", "double cos(double)", "0"]
        return [
            ("/bin/true", ["/bin/true"]),
            ("callstub --help", [executable, "--help"]),
            ("callstub call libm cos --backend ffi --verify off", [executable] + cosine + ["--backend", "ffi", "--verify", "off"]),
            ("callstub call libm cos --backend ffi", [executable] + cosine + ["--backend", "ffi"]),
            ("callstub call libm cos --backend jit --verify off", [executable] + cosine + ["--backend", "jit", "--verify", "off"]),
        ]
    }

    static func measure(rounds: Int) throws -> StartupFigures {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let probe = try BenchFixtures.compile(probeSource, named: "startup-probe", flags: ["-O2"])
        let commands = commands(executable: executable)
        var times = Array(repeating: [Double](), count: commands.count)
        var memory = Array(repeating: [Double](), count: commands.count)
        for _ in 0..<rounds {
            for (index, command) in commands.enumerated() {
                let (milliseconds, megabytes) = try run(probe: probe, command.arguments)
                times[index].append(milliseconds)
                memory[index].append(megabytes)
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return StartupFigures(rows: commands.indices.map {
            Row(command: commands[$0].label, milliseconds: median(times[$0]), megabytes: median(memory[$0]))
        })
    }

    /// The probe: forks, runs its arguments with output to /dev/null, waits, and prints the
    /// wait status, the milliseconds from fork to wait4 and the child's peak RSS in KB. A
    /// small process of its own, because a child's peak RSS counts the memory of the
    /// process it was forked from: from this one, every figure would be this one's size.
    static let probeSource = """
        #include <fcntl.h>
        #include <stdio.h>
        #include <sys/resource.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>

        int main(int argc, char **argv) {
            if (argc < 2) return 2;
            struct timespec start, end;
            clock_gettime(CLOCK_MONOTONIC, &start);
            pid_t child = fork();
            if (child == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                dup2(null, 2);
                execv(argv[1], argv + 1);
                _exit(127);
            }
            int status = 0;
            struct rusage usage;
            if (child < 0 || wait4(child, &status, 0, &usage) < 0) return 1;
            clock_gettime(CLOCK_MONOTONIC, &end);
            double ms = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
            printf("%d %.3f %ld\\n", status, ms, usage.ru_maxrss);
            return 0;
        }
        """

    /// One run of `arguments` through the probe: milliseconds and peak RSS in MB. A command
    /// that fails is an error: its figures would mean nothing.
    private static func run(probe: String, _ arguments: [String]) throws -> (Double, Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: probe)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let fields = output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard process.terminationStatus == 0, fields.count == 3, fields[0] == "0",
            let milliseconds = Double(fields[1]), let kilobytes = Double(fields[2])
        else {
            throw ValidationError("start-up: \(arguments.joined(separator: " ")) failed (\(output))")
        }
        return (milliseconds, kilobytes / 1024)
    }

    func lines() -> [String] {
        let width = rows.map(\.command.count).max() ?? 0
        return ["start-up (this executable started afresh by a small probe, fork to wait4; median ms, peak RSS):"]
            + rows.map {
                "  " + $0.command.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: " %6.1f ms %6.1f MB", $0.milliseconds, $0.megabytes)
            }
    }
}

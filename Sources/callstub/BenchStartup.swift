// `callstub bench`'s start-up figures (issue 19): this executable started afresh for a few
// commands by a small C probe, each timed from fork to wait4 with its peak resident memory
// from wait4's rusage; medians of interleaved rounds. The first row is the floor any
// process pays (`/bin/true`).

import ArgumentParser
import ABILowering
import CDeclParser
import CallStub
import Foundation

struct StartupFigures: Encodable {
    struct Row: Encodable {
        let command: String
        let milliseconds: Double
        let megabytes: Double
    }
    let rows: [Row]
    let firstCall: FirstFastCall?

    /// The commands: the floor, `--help`, and a libffi call without and with the DWARF
    /// check; then a call through a JIT stub (libLLVM loaded and a stub compiled).
    static func commands(executable: String) -> [(label: String, arguments: [String])] {
        let cosine = ["call", "libm.so.6", "cos", "--decl", "double cos(double)", "0"]
        return [
            ("/bin/true", ["/bin/true"]),
            ("callstub --help", [executable, "--help"]),
            ("callstub call libm cos --backend ffi --verify off", [executable] + cosine + ["--backend", "ffi", "--verify", "off"]),
            ("callstub call libm cos --backend ffi", [executable] + cosine + ["--backend", "ffi"]),
            ("callstub call libm cos --backend jit --verify off (stub cached)", [executable] + cosine + ["--backend", "jit", "--verify", "off"]),
        ]
    }

    static func measure(rounds: Int, fixture: String) throws -> StartupFigures {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let probe = try BenchFixtures.compile(probeSource, named: "startup-probe", flags: ["-O2"])
        let commands = commands(executable: executable)
        // The children get a stub cache of their own (this process runs with it off): the
        // JIT row's first round compiles, the others read the stub back.
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-bench-startup-\(getpid())").path
        setenv("CALLSTUB_STUB_CACHE", cache + "/stubs", 1)
        defer {
            setenv("CALLSTUB_STUB_CACHE", "off", 1)
            try? FileManager.default.removeItem(atPath: cache)
        }
        var times = Array(repeating: [Double](), count: commands.count)
        var memory = Array(repeating: [Double](), count: commands.count)
        for _ in 0..<rounds {
            for (index, command) in commands.enumerated() {
                let (milliseconds, megabytes) = try run(probe: probe, command.arguments)
                times[index].append(milliseconds)
                memory[index].append(megabytes)
            }
        }
        return StartupFigures(
            rows: commands.indices.map {
                Row(command: commands[$0].label, milliseconds: median(times[$0]), megabytes: median(memory[$0]))
            },
            firstCall: try FirstFastCall.measure(executable: executable, fixture: fixture, rounds: rounds))
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
            + (firstCall.map { [$0.line()] } ?? [])
    }
}

/// A new process's first call through a JIT stub of a shape compiled by an earlier
/// process (the persistent stub cache): this executable started with a hidden option,
/// timing opening the fixture library, binding `add2` from a declaration with the JIT
/// backend (verification off) and calling it once, and saying whether libLLVM got mapped.
/// The first run (an empty cache directory of its own) compiles; the figures are medians
/// of the runs after it. The stub alone is timed for `fma3`'s shape, the process's first
/// use of the cache: from asking for it (the directory checked, the file read and
/// checked, executable memory mapped) to the first call's return, after the declaration
/// was parsed and planned.
struct FirstFastCall: Encodable {
    let coldMicroseconds: Double
    let cachedMicroseconds: Double
    /// The stub of a known shape taken from the cache and called once.
    let stubMicroseconds: Double
    /// Then another known shape's stub from the cache (not called).
    let secondShapeMicroseconds: Double
    let cachedRunsLoadingLLVM: Int
    let runs: Int

    static func measure(executable: String, fixture: String, rounds: Int) throws -> FirstFastCall {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-bench-stubs-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        func once() throws -> (Double, Double?, Double?, Bool) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["bench", "--first-call-child", fixture]
            process.environment = ProcessInfo.processInfo.environment.merging(["CALLSTUB_STUB_CACHE": cache]) { $1 }
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let fields = output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard process.terminationStatus == 0, fields.count == 4, let microseconds = Double(fields[0]) else {
                throw ValidationError("first fast call: the child failed (\(output))")
            }
            return (microseconds, Double(fields[1]), Double(fields[2]), fields[3] == "llvm")
        }
        let (cold, _, _, _) = try once()  // compiles both shapes
        var times: [Double] = [], stubTimes: [Double] = [], secondTimes: [Double] = []
        var loading = 0
        for _ in 0..<rounds {
            let (microseconds, stub, second, loadedLLVM) = try once()
            times.append(microseconds)
            if let stub { stubTimes.append(stub) }
            if let second { secondTimes.append(second) }
            if loadedLLVM { loading += 1 }
        }
        guard !stubTimes.isEmpty, !secondTimes.isEmpty else {
            throw ValidationError("first fast call: no run found its stubs in the cache")
        }
        return FirstFastCall(
            coldMicroseconds: cold, cachedMicroseconds: median(times), stubMicroseconds: median(stubTimes),
            secondShapeMicroseconds: median(secondTimes), cachedRunsLoadingLLVM: loading, runs: rounds)
    }

    /// In the child: prints the microseconds of the whole (open, bind, call), those of the
    /// stub alone (taken from the cache and called once, after the declaration was parsed
    /// and planned), and `llvm` or `no-llvm`.
    static func child(library: String) throws {
        // First the stub alone, the process's first use of the cache: `fma3`'s shape.
        let declaration = "double fma3(double, double, double);"
        guard let handle = dlopen(library, RTLD_NOW), let address = dlsym(handle, "fma3") else {
            throw ValidationError("fma3 not found in \(library)")
        }
        let type = try CDeclParser.parse(declaration).scope.function(named: "fma3")!
        let plan = X86_64SysV.plan(try ValidatedSignature.validate(type))
        var a = 2.0, b = 3.0, c = 1.0, result = 0.0
        let stubStart = DispatchTime.now().uptimeNanoseconds
        let stub = PersistentStubs.stubAddress(for: plan)
        if let stub {
            typealias Stub = @convention(c) (UnsafeRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer) -> Void
            withUnsafeMutablePointer(to: &a) { a in
                withUnsafeMutablePointer(to: &b) { b in
                    withUnsafeMutablePointer(to: &c) { c in
                        var arguments: [UnsafeMutableRawPointer?] = [.init(a), .init(b), .init(c)]
                        unsafeBitCast(stub, to: Stub.self)(UnsafeRawPointer(address), &arguments, &result)
                    }
                }
            }
        }
        let stubOnly = Double(DispatchTime.now().uptimeNanoseconds - stubStart) / 1000
        if stub != nil, result != 7 { throw ValidationError("fma3(2, 3, 1) through the cached stub gave \(result)") }
        // A second shape (`add2`'s) once the cache is open: what each further shape costs.
        let add2Plan = X86_64SysV.plan(try ValidatedSignature.validate(
            try CDeclParser.parse("int add2(int, int);").scope.function(named: "add2")!))
        let secondStart = DispatchTime.now().uptimeNanoseconds
        let secondFound = PersistentStubs.stubAddress(for: add2Plan) != nil
        let second = Double(DispatchTime.now().uptimeNanoseconds - secondStart) / 1000

        // Then the whole: open the library, bind `add2` with the JIT backend, call it.
        let start = DispatchTime.now().uptimeNanoseconds
        let fixture = try SharedLibrary(library, options: BindingOptions(backend: .jit, verification: .off))
        let add2 = try fixture.function("add2", declaration: "int add2(int, int);")
        let sum = try add2.call([.int(2), .int(3)])
        let whole = Double(DispatchTime.now().uptimeNanoseconds - start) / 1000
        guard case .int(5) = sum else { throw ValidationError("add2(2, 3) gave \(sum)") }
        // Not in the cache yet (the first run): compile `fma3`'s stub for the next runs.
        if stub == nil { _ = try fixture.function("fma3", declaration: declaration) }
        let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
        print(
            String(format: "%.1f", whole), stub == nil ? "-" : String(format: "%.1f", stubOnly),
            secondFound ? String(format: "%.1f", second) : "-", maps.contains("libLLVM") ? "llvm" : "no-llvm")
    }

    func line() -> String {
        String(
            format: "  a known shape's stub in a new process, from the cache and called once: %.1f µs (the cache opened by it); another shape's then %.1f µs; open, bind add2 with the JIT and call %.0f µs (%.0f µs when the stub was compiled first); libLLVM loaded in %d of %d runs",
            stubMicroseconds, secondShapeMicroseconds, cachedMicroseconds, coldMicroseconds, cachedRunsLoadingLLVM, runs)
    }
}

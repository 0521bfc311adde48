// CallStub's package-benchmark suites: per-call overhead of each path, callbacks, stub
// compilation (single and batched), DWARF open, index and lookup, and allocations on the
// typed path (zero per call). The fixture library is compiled at start-up by the system
// C compiler, as `callstub bench` does.

import Benchmark
import CallStub
import Foundation

/// A small C library: the called functions and a C loop that calls a function pointer.
enum Fixture {
    static let source = """
        int add2(int a, int b) { return a + b; }
        double fma3(double a, double b, double c) { return a * b + c; }
        struct DD { double a, b; };
        __attribute__((optimize("no-tree-slp-vectorize")))  /* no store-forwarding stall: docs/benchmarks.md */
        struct DD dd2(struct DD x, struct DD y) { struct DD r = { x.a + y.a, x.b + y.b }; return r; }
        long call_n(int (*f)(int), long n) { long sum = 0; for (long i = 0; i < n; i++) sum += f((int)i); return sum; }
        """
    static let header = """
        int add2(int, int);
        double fma3(double, double, double);
        struct DD { double a, b; };
        struct DD dd2(struct DD, struct DD);
        long call_n(int (*)(int), long);
        """

    /// The library's path, built once per process.
    static let path: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-benchmarks-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("fixture.c")
        let library = directory.appendingPathComponent("libfixture.so")
        try? Self.source.write(to: source, atomically: true, encoding: .utf8)
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        compiler.arguments = ["-O2", "-shared", "-fPIC", "-o", library.path, source.path]
        try? compiler.run()
        compiler.waitUntilExit()
        return library.path
    }()

    static func open(_ backend: BindingOptions.Backend) throws -> SharedLibrary {
        let library = try SharedLibrary(path, options: BindingOptions(backend: backend, tiering: .eager))
        try library.declare(header)
        return library
    }
}

let benchmarks: @Sendable () -> Void = {
    // Stubs are compiled, not read back from the persistent stub cache (which would turn
    // the compile figures into file reads); set before CallStub first looks at it.
    setenv("CALLSTUB_STUB_CACHE", "off", 1)
    // Per-call figures: each sample makes 1,000 calls and results are per call (`*`).
    // Results are summed and handed to `blackHole` once per sample: `blackHole` is built
    // unoptimised and costs ~32 ns a call, ten times the call being measured.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .instructions, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    // MARK: Per-call overhead

    for backend in [BindingOptions.Backend.jit, .libffi] {
        Benchmark("typed add2 (\(backend))") { benchmark in
            let add2 = try Fixture.open(backend).function("add2").typed((Int32, Int32).self, returning: Int32.self)
            var sum: Int32 = 0
            benchmark.startMeasurement()
            for iteration in benchmark.scaledIterations { sum &+= add2(Int32(truncatingIfNeeded: iteration), 2) }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
        Benchmark("typed fma3 (\(backend))") { benchmark in
            let fma3 = try Fixture.open(backend).function("fma3").typed((Double, Double, Double).self, returning: Double.self)
            var sum = 0.0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { sum += fma3(1.5, 2.5, 3.5) }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
        Benchmark("typed dd2 struct by value (\(backend))") { benchmark in
            let library = try Fixture.open(backend)
            let function = try library.function("dd2")
            let dd2 = try function.typed((CRecordValue, CRecordValue).self, returning: CRecordValue.self)
            var value = try library.makeRecord("struct DD")
            try value.setField("a", to: .double(1))
            try value.setField("b", to: .double(2))
            var sum: UInt8 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { sum &+= dd2(value, value).bytes[0] }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
        Benchmark("typed dd2 Swift struct by value (\(backend))") { benchmark in
            // A Swift struct checked once against struct DD (CRecordConvertible): its bytes
            // go in and come back as they are, no allocation per call.
            let dd2 = try Fixture.open(backend).function("dd2").typed((DD, DD).self, returning: DD.self)
            var sum = 0.0
            let value = DD(a: 1, b: 2)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { sum += dd2(value, value).b }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
        Benchmark("raw add2 (\(backend))") { benchmark in
            let add2 = try Fixture.open(backend).function("add2")
            let a = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
            let b = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
            (a.pointee, b.pointee) = (40, 2)
            let argv = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 2)
            (argv[0], argv[1]) = (UnsafeMutableRawPointer(a), UnsafeMutableRawPointer(b))
            let result = UnsafeMutableRawPointer.allocate(byteCount: add2.resultBufferSize, alignment: 16)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { add2.invoke(arguments: argv, result: result) }
            benchmark.stopMeasurement()
            blackHole(result.load(as: Int32.self))
        }
        Benchmark("dynamic add2 (\(backend))") { benchmark in
            let add2 = try Fixture.open(backend).function("add2")
            var sum: Int64 = 0
            benchmark.startMeasurement()
            for iteration in benchmark.scaledIterations {
                // A new array per call, as a dynamic caller builds one.
                if case .int(let value) = try add2.call([.int(Int64(iteration & 0xffff)), .int(2)]) { sum &+= value }
            }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
        Benchmark("dynamic add2, caller-owned values (\(backend))") { benchmark in
            let add2 = try Fixture.open(backend).function("add2")
            let values = UnsafeMutableBufferPointer<CValue>.allocate(capacity: 2)
            _ = values.initialize(from: [.int(40), .int(2)])
            let arguments = UnsafeBufferPointer(values)
            var sum: Int64 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                if case .int(let value) = try add2.call(arguments) { sum &+= value }
            }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
    }

    // MARK: Callbacks: C calling a Swift closure in a loop (per call)

    for backend in [BindingOptions.Backend.jit, .libffi] {
        Benchmark("callback int(int) called from C (\(backend))") { benchmark in
            let library = try Fixture.open(.jit)
            let callN = try library.function("call_n").typed((Callback, Int).self, returning: Int.self)
            let callback = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: backend) { $0 &+ 1 }
            benchmark.startMeasurement()
            blackHole(callN(callback, benchmark.scaledIterations.count))
            benchmark.stopMeasurement()
            withExtendedLifetime(callback) {}
        }
        Benchmark("dynamic callback int(int) called from C (\(backend))") { benchmark in
            let library = try Fixture.open(.jit)
            let callN = try library.function("call_n").typed((Callback, Int).self, returning: Int.self)
            let callback = try Callback("int (*)(int)", backend: backend) { values in
                if case .int(let value) = values[0] { return .int(value &+ 1) }
                return .int(0)
            }
            benchmark.startMeasurement()
            blackHole(callN(callback, benchmark.scaledIterations.count))
            benchmark.stopMeasurement()
            withExtendedLifetime(callback) {}
        }
    }

    // MARK: Making callbacks (each one's thunk is compiled when it is made)

    for backend in [BindingOptions.Backend.jit, .libffi] {
        Benchmark(
            "make and drop a typed callback (\(backend))",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                let callback = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: backend) { $0 &+ 1 }
                blackHole(callback.unsafePointer)
            }
        }
    }

    // MARK: Stub compilation

    Benchmark("compile one stub (bind and drop a new shape)", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], scalingFactor: .one)) { benchmark in
        // Without the fixture header: each declaration below gives `add2` a new type.
        let library = try SharedLibrary(Fixture.path, options: BindingOptions(backend: .jit, tiering: .eager))
        let types = ["int", "long", "double", "float", "void *", "short", "char", "unsigned"]
        var shape = 0
        for _ in benchmark.scaledIterations {
            // Dropped at once, so the stub's code is freed and the next bind compiles again.
            shape += 1
            let parameters = (0..<6).map { types[(shape >> (3 * $0)) % types.count] }
            blackHole(try library.function("add2", declaration: "char add2(\(parameters.joined(separator: ", ")))"))
        }
    }
    Benchmark("compile 100 stubs batched", configuration: .init(metrics: [.wallClock, .peakMemoryResident], scalingFactor: .one)) { benchmark in
        let library = try Fixture.open(.jit)
        let types = ["int", "long", "double", "float", "void *", "short", "char", "unsigned"]
        var round = 0
        for _ in benchmark.scaledIterations {
            round += 1
            var text = ""
            var names: [String] = []
            for index in 0..<100 {
                let shape = round * 100 + index
                let parameters = (0..<6).map { types[(shape >> (3 * $0)) % types.count] }
                text += "char s\(index)(\(parameters.joined(separator: ", ")));\n"
                names.append("s\(index)")
            }
            // Declared under their own names, bound to one symbol: 100 new shapes per round.
            try library.declare(text)
            let requests = names.map { (name: "add2", type: library.declarations.function(named: $0)!) }
            blackHole(try library.functions(requests))
        }
    }

    // MARK: DWARF (glibc's debug info, package libc6-dbg)

    Benchmark("DWARF: open libc, index, first signature", configuration: .init(metrics: [.wallClock, .peakMemoryResident], scalingFactor: .one, maxIterations: 20)) { benchmark in
        for _ in benchmark.scaledIterations {
            let libc = try SharedLibrary("libc.so.6")
            blackHole(try libc.function("div"))
        }
    }
    Benchmark("DWARF: signature lookup in an open index", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one)) { benchmark in
        let libc = try SharedLibrary("libc.so.6")
        _ = try libc.function("div")
        let names = ["strtol", "qsort", "memcpy", "strlen", "pow", "atoi", "getenv", "fopen"]
        var index = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            index += 1
            blackHole(try? libc.function(names[index % names.count]))
        }
    }
}

/// `struct DD { double a, b; }` as a Swift struct for typed calls.
struct DD: CRecordConvertible {
    var a, b: Double
    static var cRecordFields: [CRecordField] { [.init(\DD.a), .init(\DD.b)] }
}

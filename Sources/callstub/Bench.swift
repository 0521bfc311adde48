// `callstub bench`: the signature matrix measured side by side in one run, with
// interleaved repetitions: a direct call from C (the floor), CallStub's raw, typed and
// dynamic calls through the JIT stub, and the same through libffi (the slow path).

import ABILowering
import ArgumentParser
import CallStub
import CallStubC
import FFIBackend
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure direct, JIT and libffi calls on built-in fixtures, side by side.",
        discussion: """
            Each cell is the median over interleaved repetitions of ns per call; the spread
            is the interquartile range. The fixtures are compiled at run time with -O2 by
            the system C compiler. Stub compile time and memory are measured on 1,000
            distinct call shapes, one module each and in batches of 100.
            """
    )

    @Flag(name: .long, help: "Fewer calls and repetitions (a few seconds).")
    var quick = false

    @Option(name: .long, help: "Only signatures whose name contains this text.")
    var filter: String?

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    @Flag(name: .long, help: "Skip the stub compile-time and memory measurement.")
    var noCompile = false

    @Flag(name: .long, help: "Skip the DWARF and CTF measurements (glibc's and GSL's debug info).")
    var noDWARF = false

    @Flag(name: .long, help: "Skip the callback measurement.")
    var noCallbacks = false

    @Flag(name: .long, help: "Skip the memory measurement over many bind/call/free and callback cycles.")
    var noCycles = false

    @Flag(name: .long, help: "Skip the start-up measurement (this executable started afresh for a few commands).")
    var noStartup = false

    @Option(name: .long, help: "Also write the matrix as a grouped bar chart (SVG) to this file.")
    var chart: String?

    @Flag(name: .long, help: "Count instructions per call per path under valgrind's callgrind instead of timing.")
    var instructions = false

    @Flag(name: .long, help: "Also call the fixtures through the peer FFIs installed (Python's ctypes, cffi and callstub package in one interpreter, taking turns; LuaJIT).")
    var peers = false

    @Option(name: .long, help: "Processes the matrix is measured in, one after another, each followed by the peers; their samples are pooled (default 3, 1 with --quick). One process can run a loop a third slower than the next for its whole life.")
    var processes: Int?

    @Option(name: .long, help: .hidden)
    var firstCallChild: String?

    /// A matrix process's repetitions (the parent runs it with this).
    @Option(name: .long, help: .hidden)
    var matrixSamples: Int?

    func run() throws {
        if let firstCallChild { return try FirstFastCall.child(library: firstCallChild) }
        // This process compiles its stubs rather than reading them back from the persistent
        // stub cache, or the compile figures would be file reads. (Read once, on first use;
        // the start-up rows give their children a cache of their own.)
        setenv("CALLSTUB_STUB_CACHE", "off", 1)
        if instructions && !BenchInstructions.isChild {
            return try BenchInstructions.run(filter: filter, json: json)
        }
        let cases = BenchCase.matrix.filter { filter == nil || $0.name.contains(filter!) }
        let calls = quick ? 200_000 : 2_000_000
        if let matrixSamples {
            return try BenchRounds.matrixChild(cases: cases, calls: calls, repetitions: matrixSamples)
        }
        let path = try BenchFixtures.build()
        if instructions {
            return try BenchInstructions.measure(context: try BenchContext(path: path), cases: cases)
        }
        let processCount = processes ?? (quick ? 1 : 3)
        guard (1...20).contains(processCount) else { throw ValidationError("--processes: from 1 to 20, not \(processCount)") }
        // About fifteen samples a cell however many processes give them.
        let repetitions = quick ? 5 : max(3, 15 / processCount)
        let progress: (String) -> Void = { if !json { printError($0) } }
        let peerRunners = peers
            ? BenchPeers.prepare(library: path, cases: cases.map(\.name), calls: calls, repetitions: repetitions, progress: progress) : nil
        let (rows, peerFigures, peerNotes) = try BenchRounds.measure(
            cases: cases, fixture: path, processes: processCount, quick: quick, filter: filter, repetitions: repetitions,
            peers: peerRunners, progress: progress)
        var dwarf: DWARFFigures?
        var compactTypes: CompactTypeFigures?
        var callbacks: CallbackFigures?
        // First in this process (the matrix ran in processes of its own): before the
        // callback and DWARF measurements allocate and free memory that later stubs would
        // reuse, hiding their resident cost.
        var compile: CompileFigures?
        if !noCompile {
            if !json { printError("stub compilation: 1,000 shapes") }
            compile = try CompileFigures.measure(library: path, shapes: quick ? 200 : 1000)
        }
        if !noCallbacks {
            if !json { printError("callbacks: int(int) and qsort of 1,000,000 ints") }
            callbacks = try CallbackFigures.measure(library: path, quick: quick)
        }
        var memoryCycles: MemoryCycleFigures?
        if !noCycles {
            let cycles = quick ? 100_000 : 1_000_000
            if !json { printError("memory: \(cycles) bind/call/free and callback cycles") }
            memoryCycles = try MemoryCycleFigures.measure(library: path, cycles: cycles)
        }
        if !noDWARF {
            if !json { printError("DWARF: glibc's debug info") }
            dwarf = DWARFFigures.measure()
            if !json { printError("CTF: glibc's and GSL's types exported and read back") }
            compactTypes = CompactTypeFigures.measure()
        }
        var startup: StartupFigures?
        if !noStartup {
            if !json { printError("start-up: callstub started afresh") }
            startup = try StartupFigures.measure(rounds: quick ? 11 : 31, fixture: path)
        }
        if let chart {
            let machine = ProcessInfo.processInfo.hostName
            // Peers join the chart as columns of their own.
            var charted = rows
            for peer in peerFigures {
                for index in charted.indices {
                    charted[index].median[peer.column] = peer.median[charted[index].name]
                    charted[index].spread[peer.column] = peer.spread[charted[index].name]
                }
            }
            let svg = BenchChart(
                rows: charted, columns: BenchCase.columns + peerFigures.map(\.column),
                title: "CallStub: ns per call by path (median of \(processCount) × \(repetitions) interleaved runs of \(calls) calls; \(machine))"
            ).svg()
            do {
                try svg.write(toFile: chart, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write the chart to \(chart): \(error.localizedDescription)")
            }
            if !json { printError("chart written to \(chart)") }
        }
        let report = BenchReport(
            processes: processCount, repetitions: repetitions, rows: rows, peers: peerFigures, peerNotes: peerNotes, compile: compile, dwarf: dwarf, compactTypes: compactTypes,
            callbacks: callbacks, memoryCycles: memoryCycles, startup: startup)
        print(json ? report.jsonText() : report.table())
    }
}

// MARK: - Paths and measurement

/// One measured path: a closure that performs `n` calls and returns the elapsed nanoseconds.
typealias TimedLoop = (Int) -> Double

/// Times `n` calls of `body`; typed and raw calls pass the same constant arguments each
/// time (the calls go through opaque pointers, so nothing is hoisted). Results are discarded, as the C driver discards them into a
/// volatile: summing them would put a floating-point add (4 cycles) on every iteration's
/// critical path. The calls cannot be optimised away: they go through opaque pointers.
@inline(__always)
func timed(_ n: Int, _ body: (Int) -> Double) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    for index in 0..<n { _ = body(index) }
    return Double(DispatchTime.now().uptimeNanoseconds - start)
}

/// The median of `values` (the upper middle one of an even count).
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// The fixture library bound through each backend, and the C drivers.
struct BenchContext {
    let jit: SharedLibrary
    let ffi: SharedLibrary
    let handle: UnsafeMutableRawPointer
    let path: String

    init(path: String) throws {
        jit = try SharedLibrary(path, options: BindingOptions(backend: .jit))
        ffi = try SharedLibrary(path, options: BindingOptions(backend: .libffi))
        try jit.declare(BenchFixtures.header)
        try ffi.declare(BenchFixtures.header)
        guard let handle = dlopen(path, RTLD_NOW) else { throw ValidationError("cannot open the fixture library") }
        self.handle = handle
        self.path = path
    }

    /// The C driver `direct_<name>`: n calls through a volatile function pointer.
    func direct(_ name: String) -> TimedLoop {
        let driver = unsafeBitCast(dlsym(handle, "direct_\(name)")!, to: (@convention(c) (Int) -> Double).self)
        return { driver($0) }
    }

    /// Dynamic calls with the values in caller-owned storage (as an interpreter's stack).
    func buffered(_ function: BoundFunction, _ values: [CValue]) -> TimedLoop {
        let storage = UnsafeMutableBufferPointer<CValue>.allocate(capacity: max(1, values.count))
        _ = storage.initialize(from: values)
        let buffer = UnsafeBufferPointer(rebasing: storage[0..<values.count])
        return { n in timed(n) { _ in if case .double(let v) = try! function.call(buffer) { return v }; return 0 } }
    }

    /// A libffi call interface prepared for `function` (with its variadic tail), and a frame
    /// for it: what the `ffi_call` and `C drop-in` columns call with.
    private func ffiFrame(
        _ function: BoundFunction, _ arguments: [[UInt8]], variadicTypes: [CQualType]?
    ) throws -> (interface: FFICallInterface, arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, result: UnsafeMutableRawPointer) {
        let signature = try ValidatedSignature.validate(function.type, variadicTail: variadicTypes ?? [])
        let interface = try FFICallInterface(signature)
        let (argv, result) = Self.frame(arguments, resultBufferSize: interface.resultBufferSize)
        return (interface, argv, result)
    }

    /// Bare `ffi_call` with a cif prepared once: libffi itself, without CallStub's dispatch
    /// (the floor of the slow path; `ffi raw` is CallStub's raw call on its libffi backend).
    func ffiCall(_ function: BoundFunction, _ arguments: [[UInt8]], variadicTypes: [CQualType]? = nil) throws -> TimedLoop {
        let (interface, argv, result) = try ffiFrame(function, arguments, variadicTypes: variadicTypes)
        let address = UnsafeRawPointer(function.address.raw!)
        // Kept out of the loop where libffi does not write into the argument array.
        guard interface.writesArgumentArray else {
            return { n in
                timed(n) { _ in
                    interface.call(address, arguments: argv, result: result)
                    return result.load(as: Double.self)
                }
            }
        }
        let buffers = (0..<arguments.count).map { argv[$0] }
        return { n in
            timed(n) { _ in
                // libffi writes into the argument array (structs over 16 bytes): refill it.
                for (index, buffer) in buffers.enumerated() { argv[index] = buffer }
                interface.call(address, arguments: argv, result: result)
                return result.load(as: Double.self)
            }
        }
    }

    /// C calling the C API: the fixture's `capi_loop` calls `callstub_call` (or, for a
    /// variadic tail, `callstub_call_variadic`) n times on a handle bound with the JIT, as a
    /// C program linked with libcallstub.so does.
    func capi(_ function: BoundFunction, _ arguments: [[UInt8]], variadicTypes: [CQualType]? = nil) throws -> TimedLoop {
        var library: UnsafeMutableRawPointer?
        var bound: UnsafeMutableRawPointer?
        guard callstub_library_open(path, &library) == 0, callstub_library_declare(library, BenchFixtures.header) == 0,
            callstub_bind(library, function.name, nil, 1 << 2 /* CALLSTUB_BACKEND_JIT */, &bound) == 0
        else { throw ValidationError("C API: \(String(cString: callstub_last_error()))") }
        callstub_library_close(library)
        let (argv, result) = Self.frame(arguments, resultBufferSize: function.resultBufferSize)
        typealias Loop = @convention(c) (Int, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<CChar>?) -> Double
        let loop = unsafeBitCast(dlsym(handle, "capi_loop")!, to: Loop.self)
        if let variadicTypes {
            let types = strdup(variadicTypes.map(\.description).joined(separator: ", "))
            return { n in loop(n, UnsafeMutableRawPointer(mutating: CEntryPoints.callVariadic), bound, result, argv, types) }
        }
        return { n in loop(n, UnsafeMutableRawPointer(mutating: CEntryPoints.call), bound, result, argv, nil) }
    }

    /// C calling libffi's drop-in: the fixture's `dropin_loop` calls `callstub_ffi_call` n
    /// times on a cif prepared as the `ffi_call` column's (refilling the argument array each
    /// time where that column does: ffi_call writes into it for structs over 16 bytes).
    func dropIn(_ function: BoundFunction, _ arguments: [[UInt8]], variadicTypes: [CQualType]? = nil) throws -> TimedLoop {
        let (interface, argv, result) = try ffiFrame(function, arguments, variadicTypes: variadicTypes)
        typealias Loop = @convention(c) (Int, UnsafeRawPointer, UnsafeRawPointer, UnsafeMutableRawPointer?, UnsafeMutableRawPointer,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32) -> Double
        let loop = unsafeBitCast(dlsym(handle, "dropin_loop")!, to: Loop.self)
        let refilled = UInt32(interface.writesArgumentArray ? arguments.count : 0)
        return { n in
            withExtendedLifetime(interface) {
                loop(n, CEntryPoints.ffiCall, interface.preparedCIF, function.address.raw, result, argv, refilled)
            }
        }
    }

    /// An avalue array over buffers holding `arguments` (bytes of each) and a result
    /// buffer, allocated for the whole run (the benchmark never frees them).
    static func frame(
        _ arguments: [[UInt8]], resultBufferSize: Int
    ) -> (arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, result: UnsafeMutableRawPointer) {
        let argv = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, arguments.count))
        for (index, bytes) in arguments.enumerated() {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 16), alignment: 16)
            buffer.copyMemory(from: bytes, byteCount: bytes.count)
            argv[index] = buffer
        }
        return (argv, UnsafeMutableRawPointer.allocate(byteCount: max(64, resultBufferSize), alignment: 16))
    }

    /// Raw calls with caller-owned buffers holding `arguments` (bytes of each).
    func raw(_ function: BoundFunction, _ arguments: [[UInt8]], variadicTypes: [CQualType]? = nil) throws -> TimedLoop {
        let (argv, result) = Self.frame(arguments, resultBufferSize: function.resultBufferSize)
        if let variadicTypes {
            let shape = try function.variadicShape(variadicTypes)
            return { n in
                timed(n) { _ in
                    shape.invoke(arguments: argv, result: result)
                    return result.load(as: Double.self)
                }
            }
        }
        return { n in
            timed(n) { _ in
                function.invoke(arguments: argv, result: result)
                return result.load(as: Double.self)
            }
        }
    }
}

func bytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

/// One signature of the matrix and how to call it each way.
struct BenchCase: Sendable {
    let name: String
    let declaration: String
    /// The paths, in column order: direct, jit raw, typed, dynamic, ffi raw, ffi typed, and
    /// dynamic with the values in caller-owned storage, C calling `callstub_call`, and C
    /// calling `callstub_ffi_call` on the `ffi_call` column's cif.
    let make: @Sendable (BenchContext) throws -> [TimedLoop]

    static let columns = [
        "direct", "jit raw", "jit typed", "jit dynamic", "ffi_call", "ffi raw", "ffi typed", "jit dyn buffer", "C API", "C drop-in",
    ]

    static let matrix: [BenchCase] = [
        BenchCase(name: "f0", declaration: "int f0(void)") { c in
            let (j, f) = (try c.jit.function("f0"), try c.ffi.function("f0"))
            let (jt, ft) = (try j.typed(returning: Int32.self), try f.typed(returning: Int32.self))
            return [c.direct("f0"), try c.raw(j, []), { n in timed(n) { _ in Double(jt()) } },
                { n in timed(n) { _ in if case .int(let v) = try! j.call([]) { return Double(v) }; return 0 } },
                try c.ffiCall(f, []), try c.raw(f, []), { n in timed(n) { _ in Double(ft()) } }, c.buffered(j, []), try c.capi(j, []), try c.dropIn(f, [])]
        },
        BenchCase(name: "add2", declaration: "int add2(int, int)") { c in
            let (j, f) = (try c.jit.function("add2"), try c.ffi.function("add2"))
            let (jt, ft) = (try j.typed((Int32, Int32).self, returning: Int32.self), try f.typed((Int32, Int32).self, returning: Int32.self))
            return [c.direct("add2"), try c.raw(j, [bytes(Int32(1)), bytes(Int32(2))]),
                { n in timed(n) { _ in Double(jt(1, 2)) } },
                { n in timed(n) { i in if case .int(let v) = try! j.call([.int(Int64(i & 0xffff)), .int(2)]) { return Double(v) }; return 0 } },
                try c.ffiCall(f, [bytes(Int32(1)), bytes(Int32(2))]), try c.raw(f, [bytes(Int32(1)), bytes(Int32(2))]), { n in timed(n) { _ in Double(ft(1, 2)) } }, c.buffered(j, [.int(1), .int(2)]), try c.capi(j, [bytes(Int32(1)), bytes(Int32(2))]), try c.dropIn(f, [bytes(Int32(1)), bytes(Int32(2))])]
        },
        BenchCase(name: "sum6", declaration: "long sum6(long × 6)") { c in
            let (j, f) = (try c.jit.function("sum6"), try c.ffi.function("sum6"))
            typealias Six = (Int, Int, Int, Int, Int, Int)
            let (jt, ft) = (try j.typed(Six.self, returning: Int.self), try f.typed(Six.self, returning: Int.self))
            let args = (0..<6).map { bytes(Int($0)) }
            return [c.direct("sum6"), try c.raw(j, args), { n in timed(n) { _ in Double(jt(0, 1, 2, 3, 4, 5)) } },
                { n in timed(n) { i in if case .int(let v) = try! j.call([.int(Int64(i)), .int(1), .int(2), .int(3), .int(4), .int(5)]) { return Double(v) }; return 0 } },
                try c.ffiCall(f, args), try c.raw(f, args), { n in timed(n) { _ in Double(ft(0, 1, 2, 3, 4, 5)) } }, c.buffered(j, [.int(0), .int(1), .int(2), .int(3), .int(4), .int(5)]), try c.capi(j, args), try c.dropIn(f, args)]
        },
        BenchCase(name: "fma3", declaration: "double fma3(double × 3)") { c in
            let (j, f) = (try c.jit.function("fma3"), try c.ffi.function("fma3"))
            typealias Three = (Double, Double, Double)
            let (jt, ft) = (try j.typed(Three.self, returning: Double.self), try f.typed(Three.self, returning: Double.self))
            let args = [bytes(1.0), bytes(1.5), bytes(2.5)]
            return [c.direct("fma3"), try c.raw(j, args), { n in timed(n) { _ in jt(1, 1.5, 2.5) } },
                { n in timed(n) { i in if case .double(let v) = try! j.call([.double(Double(i)), .double(1.5), .double(2.5)]) { return v }; return 0 } },
                try c.ffiCall(f, args), try c.raw(f, args), { n in timed(n) { _ in ft(1, 1.5, 2.5) } }, c.buffered(j, [.double(1), .double(1.5), .double(2.5)]), try c.capi(j, args), try c.dropIn(f, args)]
        },
        BenchCase(name: "mixed8", declaration: "double mixed8(int, double, long, float, int, double, short, double)") { c in
            let (j, f) = (try c.jit.function("mixed8"), try c.ffi.function("mixed8"))
            typealias Eight = (Int32, Double, Int, Float, Int32, Double, Int16, Double)
            let (jt, ft) = (try j.typed(Eight.self, returning: Double.self), try f.typed(Eight.self, returning: Double.self))
            let args = [bytes(Int32(1)), bytes(1.5), bytes(2), bytes(Float(2.5)), bytes(Int32(3)), bytes(3.5), bytes(Int16(4)), bytes(4.5)]
            return [c.direct("mixed8"), try c.raw(j, args), { n in timed(n) { _ in jt(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5) } },
                { n in timed(n) { i in
                    let values: [CValue] = [.int(Int64(i & 0xffff)), .double(1.5), .int(2), .float(2.5), .int(3), .double(3.5), .int(4), .double(4.5)]
                    if case .double(let v) = try! j.call(values) { return v }; return 0 } },
                try c.ffiCall(f, args), try c.raw(f, args), { n in timed(n) { _ in ft(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5) } }, c.buffered(j, [.int(1), .double(1.5), .int(2), .float(2.5), .int(3), .double(3.5), .int(4), .double(4.5)]), try c.capi(j, args), try c.dropIn(f, args)]
        },
        BenchCase(name: "ptr3", declaration: "void *ptr3(void *, void *, void *)") { c in
            let (j, f) = (try c.jit.function("ptr3"), try c.ffi.function("ptr3"))
            typealias P = UnsafeRawPointer?
            let (jt, ft) = (try j.typed((P, P, P).self, returning: P.self), try f.typed((P, P, P).self, returning: P.self))
            let args = [bytes(UInt(8)), bytes(UInt(8)), bytes(UInt(16))]
            let (p8, p16) = (UnsafeRawPointer(bitPattern: 8), UnsafeRawPointer(bitPattern: 16))
            return [c.direct("ptr3"), try c.raw(j, args), { n in timed(n) { _ in Double(UInt(bitPattern: jt(p8, p8, p16))) } },
                { n in timed(n) { i in if case .pointer(let p) = try! j.call([.pointer(CPointer(address: UInt(i | 8))), .pointer(CPointer(address: 8)), .pointer(CPointer(address: 16))]) { return Double(p.address) }; return 0 } },
                try c.ffiCall(f, args), try c.raw(f, args), { n in timed(n) { _ in Double(UInt(bitPattern: ft(p8, p8, p16))) } }, c.buffered(j, [.pointer(CPointer(address: 8)), .pointer(CPointer(address: 8)), .pointer(CPointer(address: 16))]), try c.capi(j, args), try c.dropIn(f, args)]
        },
        BenchCase(name: "ii", declaration: "int ii(struct { int a, b; })") { c in
            let (j, f) = (try c.jit.function("ii"), try c.ffi.function("ii"))
            let value = try CRecordValue(j.makeRecord("struct II").record, elements: [.int(1), .int(2)])
            // Typed: a Swift struct checked against the C record once (no allocation per call).
            let (jt, ft) = (try j.typed(BenchII.self, returning: Int32.self), try f.typed(BenchII.self, returning: Int32.self))
            let typedValue = BenchII(a: 1, b: 2)
            return [c.direct("ii"), try c.raw(j, [value.bytes]), { n in timed(n) { _ in Double(jt(typedValue)) } },
                { n in timed(n) { _ in if case .int(let v) = try! j.call([.record(value)]) { return Double(v) }; return 0 } },
                try c.ffiCall(f, [value.bytes]), try c.raw(f, [value.bytes]), { n in timed(n) { _ in Double(ft(typedValue)) } }, c.buffered(j, [.record(value)]), try c.capi(j, [value.bytes]), try c.dropIn(f, [value.bytes])]
        },
        BenchCase(name: "dd2", declaration: "struct DD dd2(struct DD, struct DD), DD = { double a, b; }") { c in
            let (j, f) = (try c.jit.function("dd2"), try c.ffi.function("dd2"))
            let x = try CRecordValue(j.makeRecord("struct DD").record, elements: [.double(1), .double(2)])
            let (jt, ft) = (try j.typed((BenchDD, BenchDD).self, returning: BenchDD.self), try f.typed((BenchDD, BenchDD).self, returning: BenchDD.self))
            let typedX = BenchDD(a: 1, b: 2)
            return [c.direct("dd2"), try c.raw(j, [x.bytes, x.bytes]), { n in timed(n) { _ in jt(typedX, typedX).a } },
                { n in timed(n) { _ in if case .record(let r) = try! j.call([.record(x), .record(x)]) { return r.withUnsafeBytes { $0.load(as: Double.self) } }; return 0 } },
                try c.ffiCall(f, [x.bytes, x.bytes]), try c.raw(f, [x.bytes, x.bytes]), { n in timed(n) { _ in ft(typedX, typedX).a } }, c.buffered(j, [.record(x), .record(x)]), try c.capi(j, [x.bytes, x.bytes]), try c.dropIn(f, [x.bytes, x.bytes])]
        },
        BenchCase(name: "l4", declaration: "struct L4 l4(struct L4), L4 = { long a, b, c, d; } (32 bytes, memory)") { c in
            let (j, f) = (try c.jit.function("l4"), try c.ffi.function("l4"))
            let x = try CRecordValue(j.makeRecord("struct L4").record, elements: [.int(1), .int(2), .int(3), .int(4)])
            let (jt, ft) = (try j.typed(BenchL4.self, returning: BenchL4.self), try f.typed(BenchL4.self, returning: BenchL4.self))
            let typedX = BenchL4(a: 1, b: 2, c: 3, d: 4)
            return [c.direct("l4"), try c.raw(j, [x.bytes]), { n in timed(n) { _ in Double(jt(typedX).a) } },
                { n in timed(n) { _ in if case .record(let r) = try! j.call([.record(x)]) { return r.withUnsafeBytes { Double($0.load(as: Int.self)) } }; return 0 } },
                try c.ffiCall(f, [x.bytes]), try c.raw(f, [x.bytes]), { n in timed(n) { _ in Double(ft(typedX).a) } }, c.buffered(j, [.record(x)]), try c.capi(j, [x.bytes]), try c.dropIn(f, [x.bytes])]
        },
        BenchCase(name: "fid", declaration: "double fid(struct { float a; int b; double c; })") { c in
            let (j, f) = (try c.jit.function("fid"), try c.ffi.function("fid"))
            let x = try CRecordValue(j.makeRecord("struct FID").record, elements: [.float(1.5), .int(2), .double(2.5)])
            // Typed: the CRecordValue, whose bytes are in memory already (a Swift struct with a
            // float and an int in one eightbyte is reassembled through memory, a stall).
            let fx = try CRecordValue(f.makeRecord("struct FID").record, bytes: x.bytes)
            let (jt, ft) = (try j.typed(CRecordValue.self, returning: Double.self), try f.typed(CRecordValue.self, returning: Double.self))
            return [c.direct("fid"), try c.raw(j, [x.bytes]), { n in timed(n) { _ in jt(x) } },
                { n in timed(n) { _ in if case .double(let v) = try! j.call([.record(x)]) { return v }; return 0 } },
                try c.ffiCall(f, [x.bytes]), try c.raw(f, [x.bytes]), { n in timed(n) { _ in ft(fx) } }, c.buffered(j, [.record(x)]), try c.capi(j, [x.bytes]), try c.dropIn(f, [x.bytes])]
        },
        BenchCase(name: "vsum", declaration: "int vsum(int, ...) with 3 ints") { c in
            let (j, f) = (try c.jit.function("vsum"), try c.ffi.function("vsum"))
            let int = try c.jit.type("int")
            let (jt, ft) = (try j.typed((Int32, Int32, Int32, Int32).self, returning: Int32.self), try f.typed((Int32, Int32, Int32, Int32).self, returning: Int32.self))
            let args = [bytes(Int32(3)), bytes(Int32(1)), bytes(Int32(2)), bytes(Int32(3))]
            return [c.direct("vsum"), try c.raw(j, args, variadicTypes: [int, int, int]), { n in timed(n) { _ in Double(jt(3, 1, 2, 3)) } },
                { n in timed(n) { i in if case .int(let v) = try! j.call([.int(3), .int(Int64(i & 0xffff)), .int(2), .int(3)]) { return Double(v) }; return 0 } },
                try c.ffiCall(f, args, variadicTypes: [int, int, int]), try c.raw(f, args, variadicTypes: [int, int, int]), { n in timed(n) { _ in Double(ft(3, 1, 2, 3)) } }, c.buffered(j, [.int(3), .int(1), .int(2), .int(3)]), try c.capi(j, args, variadicTypes: [int, int, int]), try c.dropIn(f, args, variadicTypes: [int, int, int])]
        },
    ]
}

/// The figures of one signature: per column, the median and interquartile range of ns per call.
struct BenchRow: Encodable {
    let name: String
    let declaration: String
    var median: [String: Double]
    var spread: [String: Double]
    /// The fewest samples behind one of the row's cells: processes × repetitions when every
    /// process measured every path.
    var samples = 0

    /// Every repetition's ns per call of each path (warmed up first), the paths taking
    /// turns within each repetition so that a slow phase of the machine slows all alike.
    static func samples(paths: [TimedLoop], calls: Int, repetitions: Int) -> [[Double]] {
        var samples = Array(repeating: [Double](), count: paths.count)
        for path in paths { _ = path(calls / 10) }  // warm up
        for _ in 0..<repetitions {
            for (index, path) in paths.enumerated() { samples[index].append(path(calls) / Double(calls)) }
        }
        return samples
    }
}

/// Stub compile time and memory over many distinct shapes.
struct CompileFigures: Encodable {
    let shapes: Int
    let singleMilliseconds: Double
    let batchedMilliseconds: Double
    let singleBytesPerStub: Int
    let batchedBytesPerStub: Int

    static func measure(library path: String, shapes: Int) throws -> CompileFigures {
        let library = try SharedLibrary(path, options: BindingOptions(backend: .jit))
        // Distinct lowered shapes: five parameters from five C types (3,125 combinations).
        let types = ["int", "long", "double", "float", "void *"]
        var functionTypes: [CFunctionType] = []
        for index in 0..<(2 * shapes) {
            var digits = index + 7  // skip shapes the matrix already compiled
            var parameters: [String] = []
            for _ in 0..<5 { parameters.append(types[digits % 5]); digits /= 5 }
            let parsed = try CDeclParser.parse("char shape(\(parameters.joined(separator: ", ")), short);")
            functionTypes.append(parsed.scope.function(named: "shape")!)
        }
        // The JIT's own start-up (once per process) is not a per-stub cost.
        var kept: [BoundFunction] = [try library.function("f0", declaration: "int f0(void)")]
        let before = residentBytes()
        var start = DispatchTime.now().uptimeNanoseconds
        for type in functionTypes[0..<shapes] { kept.append(try library.function("f0", type: type)) }
        let single = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(shapes) / 1e6
        let afterSingle = residentBytes()
        start = DispatchTime.now().uptimeNanoseconds
        for batch in stride(from: shapes, to: 2 * shapes, by: 100) {
            let requests = functionTypes[batch..<min(batch + 100, 2 * shapes)].map { (name: "f0", type: $0) }
            kept += try library.functions(Array(requests))
        }
        let batched = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(shapes) / 1e6
        let afterBatched = residentBytes()
        withExtendedLifetime(kept) {}
        return CompileFigures(
            shapes: shapes, singleMilliseconds: single, batchedMilliseconds: batched,
            singleBytesPerStub: (afterSingle - before) / shapes, batchedBytesPerStub: (afterBatched - afterSingle) / shapes)
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}

/// Opening and indexing glibc's debug info (libc6-dbg), and signature lookups after that.
struct DWARFFigures: Encodable {
    let source: String
    let openAndIndexMilliseconds: Double
    let firstLookupMilliseconds: Double
    /// The first lookups of the 20 functions, including the one-time name index some need.
    let firstRoundMilliseconds: Double
    /// A lookup and import of a function type after the first round.
    let lookupMilliseconds: Double
    /// `signature`: lookup, import, printing the header and parsing it back.
    let signatureMilliseconds: Double
    let indexBytes: Int
    let error: String?

    static let functions = [
        "strtol", "div", "snprintf", "strlen", "memchr", "qsort", "fopen", "fclose", "getenv", "atoi", "labs", "strchr",
        "strcmp", "malloc", "free", "realloc", "printf", "puts", "abs", "ldiv",
    ]

    static func measure() -> DWARFFigures {
        do {
            // A process that has not opened glibc's debug info yet: this one, first time.
            let library = try SharedLibrary("libc.so.6")
            let before = CompileFigures.residentBytes()
            var start = DispatchTime.now().uptimeNanoseconds
            let source = try library.loadDebugInfo()
            let open = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let indexBytes = CompileFigures.residentBytes() - before
            start = DispatchTime.now().uptimeNanoseconds
            _ = try library.debugFunctionType("strtol")
            let first = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            start = DispatchTime.now().uptimeNanoseconds
            for name in functions { _ = try library.debugFunctionType(name) }
            let firstRound = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let rounds = 50
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<rounds { for name in functions { _ = try library.debugFunctionType(name) } }
            let each = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(rounds * functions.count)
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<5 { for name in functions { _ = try library.signature(name) } }
            let signature = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(5 * functions.count)
            return DWARFFigures(
                source: source, openAndIndexMilliseconds: open, firstLookupMilliseconds: first,
                firstRoundMilliseconds: firstRound, lookupMilliseconds: each, signatureMilliseconds: signature,
                indexBytes: indexBytes, error: nil)
        } catch {
            return DWARFFigures(
                source: "", openAndIndexMilliseconds: 0, firstLookupMilliseconds: 0, firstRoundMilliseconds: 0,
                lookupMilliseconds: 0, signatureMilliseconds: 0, indexBytes: 0, error: "\(error)")
        }
    }
}

/// C calling Swift: a native `@convention(c)` function, a typed JIT callback (a register
/// callback: the slot jumps to the closure) and a libffi closure, a dynamic one (through
/// an LLVM thunk); and qsort with each comparator.
struct CallbackFigures: Encodable {
    let nativeNanoseconds: Double
    let thunkNanoseconds: Double
    let closureNanoseconds: Double
    let dynamicNanoseconds: Double
    let qsortNativeMilliseconds: Double
    let qsortThunkMilliseconds: Double
    let qsortClosureMilliseconds: Double
    /// Making and freeing a typed int(int) callback, µs: a JIT one (a trampoline slot into
    /// the shape's thunk, compiled at the first) and a libffi closure; medians of rounds.
    let makeAndFreeThunkMicroseconds: Double
    let makeAndFreeClosureMicroseconds: Double

    static func measure(library path: String, quick: Bool) throws -> CallbackFigures {
        guard let handle = dlopen(path, RTLD_NOW), let symbol = dlsym(handle, "callback_loop") else {
            throw ValidationError("callback_loop not found")
        }
        typealias IntCallback = @convention(c) (Int32) -> Int32
        let loop = unsafeBitCast(symbol, to: (@convention(c) (IntCallback, Int) -> Double).self)
        let native: IntCallback = { $0 &+ 1 }
        let thunk = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: .jit) { $0 &+ 1 }
        let closure = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: .libffi) { $0 &+ 1 }
        let dynamic = try Callback("int (*)(int)", backend: .jit) { values in
            if case .int(let v) = values[0] { return .int(v + 1) }
            return .int(0)
        }
        let calls = quick ? 200_000 : 2_000_000
        func pointer(_ callback: Callback) -> IntCallback { unsafeBitCast(callback.unsafePointer.raw!, to: IntCallback.self) }
        // The four loops interleaved, round after round, each figure its median.
        let loops = [native, pointer(thunk), pointer(closure), pointer(dynamic)]
        var loopTimes = Array(repeating: [Double](), count: loops.count)
        for _ in 0..<(quick ? 5 : 11) {
            for (index, function) in loops.enumerated() { loopTimes[index].append(loop(function, calls) / Double(calls)) }
        }
        let loopMedians = loopTimes.map(median)

        // qsort of 1M random ints with each comparator.
        typealias Comparator = @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?) -> Int32
        let qsort = unsafeBitCast(
            dlsym(UnsafeMutableRawPointer(bitPattern: 0), "qsort")!,
            to: (@convention(c) (UnsafeMutableRawPointer?, Int, Int, Comparator) -> Void).self)
        let nativeComparator: Comparator = { a, b in
            let (x, y) = (a!.load(as: Int32.self), b!.load(as: Int32.self))
            return x < y ? -1 : x > y ? 1 : 0
        }
        let declaration = "int (*)(const void *, const void *)"
        let body: @Sendable (UnsafeRawPointer, UnsafeRawPointer) -> Int32 = { a, b in
            let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
            return x < y ? -1 : x > y ? 1 : 0
        }
        let thunkComparator = try Callback.typed(declaration, (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self, backend: .jit, body)
        let closureComparator = try Callback.typed(declaration, (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self, backend: .libffi, body)
        var random = SystemRandomNumberGenerator()
        let count = quick ? 200_000 : 1_000_000
        let original = (0..<count).map { _ in Int32.random(in: .min ... .max, using: &random) }
        // The three sorts interleaved, round after round (as the matrix is), each figure
        // the median of its rounds: noise from the rest of the machine hits all alike.
        let comparators: [Comparator] = [
            nativeComparator, unsafeBitCast(thunkComparator.unsafePointer.raw!, to: Comparator.self),
            unsafeBitCast(closureComparator.unsafePointer.raw!, to: Comparator.self),
        ]
        var sortTimes = Array(repeating: [Double](), count: comparators.count)
        for _ in 0..<(quick ? 3 : 7) {
            for (index, comparator) in comparators.enumerated() {
                var numbers = original
                let start = DispatchTime.now().uptimeNanoseconds
                numbers.withUnsafeMutableBytes { qsort($0.baseAddress, count, 4, comparator) }
                sortTimes[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        let sortMedians = sortTimes.map(median)

        // Making and freeing callbacks, the two backends interleaved round after round.
        let made = quick ? 2_000 : 20_000
        var makeTimes: [[Double]] = [[], []]
        for _ in 0..<(quick ? 5 : 11) {
            for (index, backend) in [BindingOptions.Backend.jit, .libffi].enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<made {
                    let callback = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: backend) { $0 &+ 1 }
                    withExtendedLifetime(callback) {}
                }
                makeTimes[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(made))
            }
        }
        let makeMedians = makeTimes.map(median)
        // The raw pointers above were called until here: the callbacks live as long.
        withExtendedLifetime((thunk, closure, dynamic, thunkComparator, closureComparator)) {}
        return CallbackFigures(
            nativeNanoseconds: loopMedians[0], thunkNanoseconds: loopMedians[1], closureNanoseconds: loopMedians[2],
            dynamicNanoseconds: loopMedians[3],
            qsortNativeMilliseconds: sortMedians[0], qsortThunkMilliseconds: sortMedians[1],
            qsortClosureMilliseconds: sortMedians[2], makeAndFreeThunkMicroseconds: makeMedians[0],
            makeAndFreeClosureMicroseconds: makeMedians[1])
    }
}

struct BenchReport: Encodable {
    /// The matrix's processes, and each one's repetitions of every path.
    let processes: Int
    let repetitions: Int
    let rows: [BenchRow]
    let peers: [PeerFigures]
    let peerNotes: [String]
    let compile: CompileFigures?
    let dwarf: DWARFFigures?
    let compactTypes: CompactTypeFigures?
    let callbacks: CallbackFigures?
    let memoryCycles: MemoryCycleFigures?
    let startup: StartupFigures?

    func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// The geometric mean over the matrix of `numerator` / `denominator` (column medians).
    func geometricMean(_ numerator: String, over denominator: String) -> Double {
        let ratios = rows.compactMap { row -> Double? in
            guard let top = row.median[numerator], let bottom = row.median[denominator], top > 0, bottom > 0 else { return nil }
            return top / bottom
        }
        guard !ratios.isEmpty else { return 0 }
        return exp(ratios.map { log($0) }.reduce(0, +) / Double(ratios.count))
    }

    func table() -> String {
        func cell(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        func ratio(_ top: Double?, _ bottom: Double?) -> String {
            guard let top, let bottom, bottom > 0 else { return "-" }
            return String(format: "%.1f×", top / bottom)
        }
        func padded(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        var lines = [
            "ns per call (median of \(processes) process\(processes == 1 ? "" : "es") × \(repetitions) interleaved repetitions; ± interquartile range of jit raw)", "",
        ]
        let header = [padded("signature", 10)] + BenchCase.columns.map { padded($0, 11) }
            + [padded("jit−direct", 10), padded("jit/direct", 10), padded("ffi_call/jit", 12), "ffi raw/jit"]
        lines.append(header.joined(separator: " "))
        for row in rows {
            var cells = [padded(row.name, 10)]
            for column in BenchCase.columns {
                var text = cell(row.median[column])
                if column == "jit raw", let spread = row.spread[column] { text += " ±" + String(format: "%.2f", spread) }
                cells.append(padded(text, 11))
            }
            let jit = row.median["jit raw"]
            cells.append(padded(String(format: "%+.2f", (jit ?? 0) - (row.median["direct"] ?? 0)), 10))
            cells.append(padded(ratio(jit, row.median["direct"]), 10))
            cells.append(padded(ratio(row.median["ffi_call"], jit), 12))
            cells.append(ratio(row.median["ffi raw"], jit))
            lines.append(cells.joined(separator: " "))
        }
        lines.append("")
        lines.append(String(
            format: "geometric means over the matrix: ffi_call / jit raw %.1f×, ffi raw / jit raw %.1f×, jit raw / direct %.2f×, ffi_call / C drop-in %.1f×",
            geometricMean("ffi_call", over: "jit raw"), geometricMean("ffi raw", over: "jit raw"),
            geometricMean("jit raw", over: "direct"), geometricMean("ffi_call", over: "C drop-in")))
        if !peers.isEmpty {
            lines.append("")
            lines.append("peers (other FFIs, each after each of the matrix's processes, the Python ones in one interpreter taking turns; ns per call from their language, median ± IQR, and × direct):")
            for peer in peers { lines.append("  \(peer.column): \(peer.version)") }
            lines.append(([padded("signature", 10), padded("direct", 8), padded("jit typed", 10)]
                + peers.map { padded($0.column, 24) }).joined(separator: " "))
            for row in rows {
                var cells = [padded(row.name, 10), padded(cell(row.median["direct"]), 8), padded(cell(row.median["jit typed"]), 10)]
                for peer in peers {
                    guard let value = peer.median[row.name] else {
                        cells.append(padded("-", 24))
                        continue
                    }
                    let spread = peer.spread[row.name].map { String(format: " ±%.1f", $0) } ?? ""
                    cells.append(padded(String(format: "%.2f", value) + spread + " (" + ratio(value, row.median["direct"]) + ")", 24))
                }
                lines.append(cells.joined(separator: " "))
            }
        }
        lines += peerNotes
        if let compile {
            lines.append(String(
                format: "stub compile (%d shapes): %.3f ms per stub alone, %.3f ms per stub in batches of 100",
                compile.shapes, compile.singleMilliseconds, compile.batchedMilliseconds))
            lines.append("memory: \(compile.singleBytesPerStub) bytes RSS per stub alone, \(compile.batchedBytesPerStub) batched")
        }
        if let callbacks {
            lines.append(String(
                format: "callbacks, C calling int(int): native @convention(c) %.2f ns, JIT callback %.2f ns, libffi closure %.2f ns, dynamic (thunk) %.2f ns",
                callbacks.nativeNanoseconds, callbacks.thunkNanoseconds, callbacks.closureNanoseconds, callbacks.dynamicNanoseconds))
            lines.append(String(
                format: "qsort of 1,000,000 ints: native comparator %.0f ms, thunk %.0f ms (%.2f×), libffi closure %.0f ms (thunk %.1f× faster)",
                callbacks.qsortNativeMilliseconds, callbacks.qsortThunkMilliseconds,
                callbacks.qsortThunkMilliseconds / callbacks.qsortNativeMilliseconds, callbacks.qsortClosureMilliseconds,
                callbacks.qsortClosureMilliseconds / callbacks.qsortThunkMilliseconds))
            lines.append(String(
                format: "callbacks made and freed: JIT (a trampoline slot) %.2f µs, libffi closure %.2f µs",
                callbacks.makeAndFreeThunkMicroseconds, callbacks.makeAndFreeClosureMicroseconds))
        }
        if let memoryCycles { lines += memoryCycles.lines() }
        if let dwarf {
            if let error = dwarf.error {
                lines.append("DWARF: not measured: \(error)")
            } else {
                lines.append("DWARF (glibc, \(dwarf.source)):")
                lines.append(String(
                    format: "  open and index %.1f ms, %.1f MB RSS; first lookup %.3f ms; first lookups of 20 functions %.1f ms (with the name index some need)",
                    dwarf.openAndIndexMilliseconds, Double(dwarf.indexBytes) / 1e6, dwarf.firstLookupMilliseconds,
                    dwarf.firstRoundMilliseconds))
                lines.append(String(
                    format: "  then %.4f ms per lookup (type import), %.3f ms per signature (with the C header round trip)",
                    dwarf.lookupMilliseconds, dwarf.signatureMilliseconds))
            }
        }
        if let compactTypes { lines += compactTypes.lines() }
        if let startup { lines += startup.lines() }
        return lines.joined(separator: "\n")
    }
}

// The matrix's records as Swift structs for the typed columns (`CRecordConvertible`:
// checked against the C records when the typed handles are made).
struct BenchII: CRecordConvertible { var a, b: Int32
    static var cRecordFields: [CRecordField] { [.init(\BenchII.a), .init(\BenchII.b)] } }
struct BenchDD: CRecordConvertible { var a, b: Double
    static var cRecordFields: [CRecordField] { [.init(\BenchDD.a), .init(\BenchDD.b)] } }
struct BenchL4: CRecordConvertible { var a, b, c, d: Int
    static var cRecordFields: [CRecordField] { [.init(\BenchL4.a), .init(\BenchL4.b), .init(\BenchL4.c), .init(\BenchL4.d)] } }

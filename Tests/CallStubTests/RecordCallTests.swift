// Structs by value of every eightbyte class mix, 1 to 64 bytes, as arguments and results,
// through the dynamic, typed and raw styles; the values come from C (`make_*`, `weigh_*`).

import CTestSupport
import CallStub
import Locks
import Testing

/// A fixture record: its name and the fields `make_<name>(10)` yields, flattened.
struct RecordShape: CustomStringConvertible, Sendable {
    var name: String
    /// `make_<name>(10)` printed as `callstub call` prints records.
    var made: String
    var fieldCount: Int
    var description: String { name }

    /// `weigh_<name>` of `make_<name>(10)`: field k is 10 + k, weighted by k + 1.
    var weight: Double { (0..<fieldCount).reduce(0.0) { $0 + Double((10 + $1) * ($1 + 1)) } }

    static let all: [RecordShape] = [
        RecordShape(name: "S1", made: "{10}", fieldCount: 1),
        RecordShape(name: "S3", made: "{{10, 11, 12}}", fieldCount: 3),
        RecordShape(name: "S4", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "I2", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "F2", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "IF", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "D1", made: "{10}", fieldCount: 1),
        RecordShape(name: "I3", made: "{10, 11, 12}", fieldCount: 3),
        RecordShape(name: "F3", made: "{10, 11, 12}", fieldCount: 3),
        RecordShape(name: "DD", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "LD", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "DL", made: "{10, 11}", fieldCount: 2),
        RecordShape(name: "FID", made: "{10, 11, 12}", fieldCount: 3),
        RecordShape(name: "NS", made: "{{10}, 11}", fieldCount: 2),
        RecordShape(name: "L3", made: "{10, 11, 12}", fieldCount: 3),
        RecordShape(name: "NEST", made: "{{10, 11}, {12, 13}}", fieldCount: 4),
        RecordShape(name: "BIG", made: "{{10, 11, 12, 13}, {14, 15, 16, 17}}", fieldCount: 8),
        RecordShape(name: "B64", made: "{{10, 11, 12, 13, 14, 15, 16, 17}}", fieldCount: 8),
        RecordShape(name: "LDS", made: "{10}", fieldCount: 1),
    ]

    static var cases: [(FixtureLibrary, RecordShape, BindingOptions.Backend)] {
        FixtureLibrary.built.flatMap { fixture in all.flatMap { shape in backends.map { (fixture, shape, $0) } } }
    }
}

@Suite struct RecordCallTests {
    /// Record values are values: a call's record result reuses the storage of the last
    /// one only once the caller has dropped it (CallTarget.recordResult), copies share
    /// storage until one is written, and bytes taken out of a value stay as they were.
    @Test(arguments: FixtureLibrary.built, backends)
    func recordResultsAreValues(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        let make = try library.function("make_DD")
        func made(_ seed: Int64) throws -> CRecordValue {
            guard case .record(let value) = try make.call([.int(seed)]) else { throw CallStubError.declarationMismatch("no record") }
            return value
        }
        let first = try made(1)
        let firstText = first.description
        let second = try made(2)  // while `first` is held
        #expect(first.description == firstText && second.description != firstText)
        var copy = second
        try copy.setField("a", to: .double(-1))
        let copiedA = try copy.field("a")
        #expect(second.description != copy.description && copiedA == .double(-1))
        // Calls read a record argument at its storage's address: the written copy's bytes.
        let weigh = try library.function("weigh_DD")
        let fresh = try CRecordValue(copy.record, bytes: copy.bytes)
        let typedWeigh = try weigh.typed(CRecordValue.self, returning: Double.self)
        #expect(try weigh.call([.record(copy)]) == weigh.call([.record(fresh)]))
        #expect(typedWeigh(copy) == typedWeigh(fresh) && typedWeigh(copy) != typedWeigh(second))
        var keptBytes = second.bytes
        let secondText = second.description
        for seed in 3..<20 {
            // Each result dropped at once: its storage is reused for the next.
            _ = try made(Int64(seed))
        }
        #expect(second.description == secondText && keptBytes == second.bytes)
        keptBytes = try made(40).bytes  // the value dropped, its bytes kept
        let keptText = keptBytes
        _ = try made(41)
        #expect(keptBytes == keptText)
        let again = try made(40)
        #expect(again == (try CRecordValue(first.record, bytes: keptText)))
    }

    /// A record aligned beyond 16 bytes passes by value, on both styles, whether its
    /// value's storage (array storage, 16-byte aligned) sits on a 32-byte boundary or 16
    /// bytes past one. Such records go from an aligned copy (the stub may copy them with
    /// the record's alignment); this CPU's stub does not fault on the unaligned address, so
    /// the test catches a wrong or short copy, not a dropped alignment rule.
    @Test(.disabled(if: DeniedExecutableMemory.active, "needs the JIT"), arguments: FixtureLibrary.built)
    func overAlignedRecordsPassAtEitherStorageAlignment(_ fixture: FixtureLibrary) throws {
        let library = try openFixture(fixture, .jit)
        let weigh = try library.function("weigh_A32")
        let typedWeigh = try weigh.typed(CRecordValue.self, returning: Double.self)
        let record = try library.makeRecord("struct A32").record
        // Values at both alignments of their storage modulo 32.
        var values: [(seed: Int, value: CRecordValue)] = []
        var seen = Set<Int>()
        var held: [CRecordValue] = []  // all kept, so that each comes from another chunk
        for seed in 1..<256 where seen.count < 2 {
            let value = try CRecordValue(record, elements: [.double(Double(seed)), .int(Int64(seed))])
            held.append(value)
            let remainder = value.withUnsafeBytes { Int(bitPattern: $0.baseAddress) % 32 }
            if seen.insert(remainder).inserted { values.append((seed, value)) }
        }
        #expect(seen.contains(16), "array storage 16 bytes past a 32-byte boundary (what the copy is for)")
        for (seed, value) in values {
            #expect(try weigh.call([.record(value)]) == .double(Double(3 * seed)))
            #expect(typedWeigh(value) == Double(3 * seed))
        }
    }

    /// A shape's recycled result storage belongs to one thread (CallTarget.recordResult):
    /// threads calling the same function at once each get values of their own, held
    /// results keep their bytes while every thread calls on.
    @Test(arguments: backends)
    func recordResultsOnManyThreadsStayApart(_ backend: BindingOptions.Backend) throws {
        let library = try openFixture(try #require(FixtureLibrary.built.first), backend)
        let make = try library.function("make_DD")
        let typedMake = try make.typed(Int32.self, returning: CRecordValue.self)
        let failures = onThreadsAtOnce(4) { (thread: Int) -> Int in
            var failures = 0
            var held: [(seed: Int32, value: CRecordValue)] = []
            for call in 0..<5_000 {
                let seed = Int32(thread * 100_000 + call)
                let value: CRecordValue
                if call % 2 == 0, case .record(let dynamic)? = try? make.call([CValue.int(Int64(seed))]) {
                    value = dynamic
                } else {
                    value = typedMake(seed)
                }
                if call % 50 == 0 { held.append((seed, value)) }  // the others are dropped at once
                for (heldSeed, heldValue) in held.suffix(3) {
                    let fields = heldValue.withUnsafeBytes { ($0.load(as: Double.self), $0.load(fromByteOffset: 8, as: Double.self)) }
                    if fields != (Double(heldSeed), Double(heldSeed) + 1) { failures += 1 }
                }
                let fields = value.withUnsafeBytes { ($0.load(as: Double.self), $0.load(fromByteOffset: 8, as: Double.self)) }
                if fields != (Double(seed), Double(seed) + 1) { failures += 1 }
            }
            return failures
        }
        #expect(failures == [0, 0, 0, 0])
    }

    /// Results handed out by the owning thread (with a non-atomic retain, CallTarget.
    /// recordResult) and dropped on other threads while it calls on: each keeps its bytes
    /// until dropped, and the storage is reused only once every other thread let go.
    @Test(arguments: backends)
    func recordResultsDroppedOnOtherThreadsKeepTheirBytes(_ backend: BindingOptions.Backend) throws {
        let library = try openFixture(try #require(FixtureLibrary.built.first), backend)
        let make = try library.function("make_DD")
        let typedMake = try make.typed(Int32.self, returning: CRecordValue.self)
        let queue = Lock<(values: [(seed: Int32, value: CRecordValue)], finished: Bool)>(([], false))
        let calls: Int32 = 20_000
        let failures = onThreadsAtOnce(3) { (thread: Int) -> Int in
            var failures = 0
            if thread == 0 {
                // The owner: every result goes to the other threads, some after a check.
                for seed in 0..<calls {
                    let value: CRecordValue
                    if seed % 2 == 0, case .record(let dynamic)? = try? make.call([CValue.int(Int64(seed))]) {
                        value = dynamic
                    } else {
                        value = typedMake(seed)
                    }
                    let fields = value.withUnsafeBytes { ($0.load(as: Double.self), $0.load(fromByteOffset: 8, as: Double.self)) }
                    if fields != (Double(seed), Double(seed) + 1) { failures += 1 }
                    if seed % 3 != 0 { queue.withLock { $0.values.append((seed, value)) } }
                }
                queue.withLock { $0.finished = true }
                return failures
            }
            while true {
                let (taken, finished) = queue.withLock { state in
                    defer { state.values.removeAll(keepingCapacity: true) }
                    return (state.values, state.finished)
                }
                for (seed, value) in taken {
                    let fields = value.withUnsafeBytes { ($0.load(as: Double.self), $0.load(fromByteOffset: 8, as: Double.self)) }
                    if fields != (Double(seed), Double(seed) + 1) { failures += 1 }
                }
                if finished && taken.isEmpty { return failures }
            }
        }
        #expect(failures == [0, 0, 0])
    }

    @Test(arguments: RecordShape.cases)
    func passesAndReturnsRecords(_ fixture: FixtureLibrary, _ shape: RecordShape, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        if shape.name == "LDS" && goesThroughLibffi(backend) { return }  // refused by libffi: see refusesWhatLibffiCannotPass
        let make = try library.function("make_\(shape.name)")
        let echo = try library.function("echo_\(shape.name)")
        let weigh = try library.function("weigh_\(shape.name)")

        // Dynamic: a record made in C comes back with C's field values and round-trips.
        guard case .record(let made) = try make.call([.int(10)]) else {
            Issue.record("make_\(shape.name) returned no record")
            return
        }
        #expect(made.description == shape.made)
        #expect(try echo.call([.record(made)]).description == shape.made)
        #expect(try weigh.call([.record(made)]) == .double(shape.weight))

        // Typed.
        let typedMake = try make.typed(Int32.self, returning: CRecordValue.self)
        let typedEcho = try echo.typed(CRecordValue.self, returning: CRecordValue.self)
        let typedWeigh = try weigh.typed(CRecordValue.self, returning: Double.self)
        #expect(typedMake(10).description == shape.made)
        #expect(typedEcho(made).description == shape.made)
        #expect(typedWeigh(made) == shape.weight)

        // Raw: the record's bytes in, the result buffer out; nothing past the result written.
        let raw = try rawCall(weigh, [made.bytes])
        #expect(load(Double.self, from: raw) == shape.weight)
        let echoed = try rawCall(echo, [made.bytes])
        let size = made.bytes.count
        let record = try CRecordValue(made.record, bytes: Array(echoed[0..<size]))
        #expect(record.description == shape.made)
        #expect(echoed[max(size, echo.resultBufferSize)...].allSatisfy { $0 == 0xA5 }, "result buffer overrun")
    }

    @Test(arguments: FixtureLibrary.built, backends)
    func recordsBuiltInSwift(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        let nest = try library.makeRecord("struct NEST")
        var value = try CRecordValue(nest.record, elements: [.array([.int(1), .int(2)]), .array([.double(3), .double(4)])])
        #expect(try library.function("weigh_NEST").call([.record(value)]) == .double(30))
        try value.setField("q.b", to: .double(-1))
        #expect(try value.field("q.b") == .double(-1))
        #expect(try library.function("weigh_NEST").call([.record(value)]) == .double(10))
        // An initializer list passes where a record is expected.
        #expect(try library.function("weigh_DD").call([.array([.double(1), .double(2)])]) == .double(5))
        var big = try library.makeRecord("struct BIG")
        try big.setField("d", to: .array([.double(1), .double(2)]))
        try big.setField("i[3]", to: .int(100))
        #expect(try library.function("weigh_BIG").call([.record(big)]) == .double(1 + 4 + 800))
        // A record of class X87 passes as an argument (in memory) even if libffi cannot return one.
        var lds = try library.makeRecord("struct LDS")
        try lds.setField("x", to: .longDouble(10.25))
        #expect(try library.function("weigh_LDS").call([.record(lds)]) == .double(10.25))
        let pointerRecord = try library.makeRecord("struct NP")
        #expect(throws: CallStubError.self) { var copy = pointerRecord; try copy.setField("name", to: .string("x")) }
    }

    /// Registers run out before a record: it goes to the stack whole, later scalars still
    /// use the registers left (psABI §3.2.3).
    @Test(arguments: FixtureLibrary.built, backends)
    func recordsAfterRegistersRunOut(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        let dd = CValue.array([.double(8), .double(9)])
        var arguments: [CValue] = (1...7).map { .double(Double($0)) }
        arguments += [dd, .double(10)]
        let squares: Double = 1 + 4 + 9 + 16 + 25 + 36 + 49
        let expected: Double = squares + 64 + 81 + 100
        #expect(try library.function("dd_after_seven_doubles").call(arguments) == .double(expected))

        let i3 = CValue.array([.int(6), .int(7), .int(8)])
        let longs: [CValue] = (1...5).map { .int(Int64($0)) } + [i3, .int(9)]
        #expect(try library.function("i3_after_five_longs").call(longs) == .int(285))

        let two = try library.function("two_records").call([
            .array([.int(1), .double(2)]), .array([.double(3), .int(4)]), .array([.float(5), .float(6), .float(7)]),
        ])
        #expect(two == .double(140))
    }

    /// libffi cannot pass unions, bit-field records or packed records by value: binding
    /// fails with an error naming the argument instead of passing them wrongly.
    @Test(arguments: FixtureLibrary.built)
    func refusesWhatLibffiCannotPass(_ fixture: FixtureLibrary) throws {
        let library = try openFixture(fixture, .libffi)
        for (name, fragment) in [
            ("echo_U", "union U): libffi cannot pass unions"),
            ("echo_BITS", "member a is a bit-field"),
            ("echo_PACKED", "packed or over-aligned"),
            ("echo_LDS", "result (struct LDS): libffi returns a record holding one long double in memory"),
        ] {
            do {
                _ = try library.function(name)
                Issue.record("\(name) was bound")
            } catch {
                #expect(error.description.contains(fragment), "\(error)")
                #expect(error.description.contains("result") || error.description.contains("argument 1"), "\(error)")
            }
        }
    }

    /// The JIT passes what libffi cannot: unions, bit-field and packed records by value, and
    /// a record of class X87 as a result.
    @Test(.disabled(if: DeniedExecutableMemory.active, "needs the JIT"), arguments: FixtureLibrary.built)
    func jitPassesWhatLibffiCannot(_ fixture: FixtureLibrary) throws {
        let library = try openFixture(fixture, .jit)
        var union = try library.makeRecord("union U")
        try union.setField("f", to: .float(1.5))
        #expect(try library.function("echo_U").call([.record(union)]).description == "{1069547520}")
        #expect(try library.function("echo_BITS").call(parsing: ["{5, -7, 123456}"]).description == "{5, -7, 123456}")
        #expect(try library.function("echo_PACKED").call(parsing: ["{'x', -123456}"]).description == "{120, -123456}")
        #expect(try library.function("make_LDS").call([.int(7)]).description == "{7}")
        let typed = try library.function("echo_U").typed(CRecordValue.self, returning: CRecordValue.self)
        #expect(typed(union).bytes == union.bytes)
    }

    /// Bit-field access in record values agrees with the C compiler's layout.
    @Test(arguments: FixtureLibrary.built, backends)
    func bitFieldsMatchTheCompiler(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        var bits = try library.makeRecord("struct BITS")
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bits.bytes.count, alignment: 8)
        defer { memory.deallocate() }
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: bits.bytes.count)
        _ = try library.function("bits_set").call([.pointer(CPointer(memory)), .uint(5), .int(-7), .uint(123_456)])
        let written = try CRecordValue(bits.record, bytes: Array(UnsafeRawBufferPointer(start: memory, count: bits.bytes.count)))
        #expect(try written.field("a") == .uint(5))
        #expect(try written.field("b") == .int(-7))
        #expect(try written.field("c") == .uint(123_456))

        try bits.setField("a", to: .uint(7))
        try bits.setField("b", to: .int(-16))
        try bits.setField("c", to: .uint(1 << 19))
        #expect(throws: CallStubError.self) { try bits.setField("a", to: .uint(8)) }
        #expect(throws: CallStubError.self) { try bits.setField("b", to: .int(16)) }
        bits.bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        #expect(try library.function("bits_sum").call([.pointer(CPointer(memory))]) == .int(7 - 16 + (1 << 19)))
    }
}

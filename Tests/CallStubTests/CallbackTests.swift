// Callbacks: C calling Swift closures through LLVM thunks and libffi closures.

import CTestSupport
import CallStub
import Foundation
import Locks
import Testing

@Suite struct CallbackTests {
    @Test(arguments: backends)
    func qsortWithADynamicComparator(_ backend: BindingOptions.Backend) throws {
        let libc = try SharedLibrary("libc.so.6")
        let qsort = try libc.function("qsort", declaration: "void qsort(void *, size_t, size_t, int (*)(const void *, const void *))")
        let compare = try Callback("int (*)(const void *, const void *)", backend: backend) { values in
            guard case .pointer(let a) = values[0], case .pointer(let b) = values[1] else { return .int(0) }
            let (x, y) = (a.raw!.load(as: Int32.self), b.raw!.load(as: Int32.self))
            return .int(x < y ? -1 : x > y ? 1 : 0)
        }
        #expect(compare.backend == (goesThroughLibffi(backend) ? .libffi : .jit))
        var numbers: [Int32] = (0..<1000).map { Int32(($0 * 7919) % 1000) - 500 }
        try numbers.withUnsafeMutableBufferPointer { buffer in
            _ = try qsort.call([.pointer(CPointer(buffer.baseAddress)), .uint(UInt64(buffer.count)), .uint(4), .callback(compare)])
        }
        #expect(numbers == numbers.sorted())
    }

    /// qsort of an array of C structs (`struct P { double x; int id; }`, 16 bytes), by x
    /// then id, with a typed comparator reading the records through their pointers.
    @Test(arguments: backends)
    func qsortOfStructs(_ backend: BindingOptions.Backend) throws {
        let libc = try SharedLibrary("libc.so.6")
        try libc.declare("struct P { double x; int id; };")
        let record = try libc.type("struct P")
        let layout = try record.layout()
        #expect(layout.size == 16)
        let qsort = try libc.function("qsort", declaration: "void qsort(void *, size_t, size_t, int (*)(const void *, const void *))")
            .typed((UnsafeMutableRawPointer, UInt, UInt, Callback).self, returning: Void.self)
        let compare = try Callback.typed(
            "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self,
            backend: backend
        ) { a, b in
            let (ax, bx) = (a.load(as: Double.self), b.load(as: Double.self))
            if ax != bx { return ax < bx ? -1 : 1 }
            let (ai, bi) = (a.load(fromByteOffset: 8, as: Int32.self), b.load(fromByteOffset: 8, as: Int32.self))
            return ai < bi ? -1 : ai > bi ? 1 : 0
        }
        let count = 10_000
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count * 16, alignment: 16)
        defer { buffer.deallocate() }
        var expected: [(Double, Int32)] = []
        for index in 0..<count {
            let x = Double((index * 7919) % 257) / 4  // many equal keys: the id decides
            buffer.storeBytes(of: x, toByteOffset: index * 16, as: Double.self)
            buffer.storeBytes(of: Int32(count - index), toByteOffset: index * 16 + 8, as: Int32.self)
            expected.append((x, Int32(count - index)))
        }
        qsort(buffer, UInt(count), 16, compare)
        expected.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let sorted = (0..<count).map {
            (buffer.load(fromByteOffset: $0 * 16, as: Double.self), buffer.load(fromByteOffset: $0 * 16 + 8, as: Int32.self))
        }
        #expect(sorted.elementsEqual(expected) { $0.0 == $1.0 && $0.1 == $1.1 })
    }
}

/// Every callback shape of the fixture's drivers, through LLVM thunks and libffi closures,
/// dynamic and typed: C calls the Swift closure with known arguments and checks its result.
@Suite struct CallbackMatrixTests {
    @Test(arguments: FixtureLibrary.built, backends)
    func scalarsAndArgumentCounts(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture)
        func drive(_ name: String, _ callback: Callback, _ extra: [CValue] = []) throws -> CValue {
            try library.function(name).call([.callback(callback)] + extra)
        }
        // Typed: narrow integers come back extended as C expects.
        let triple = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: backend) { $0 * 3 }
        #expect(try drive("drive_int", triple, [.int(-14)]) == .int(-42))
        let negate = try Callback.typed("signed char (*)(signed char)", Int8.self, returning: Int8.self, backend: backend) { -$0 }
        #expect(try drive("drive_schar", negate, [.int(100)]) == .int(-100))
        let flip = try Callback.typed("unsigned short (*)(unsigned short)", UInt16.self, returning: UInt16.self, backend: backend) { ~$0 }
        #expect(try drive("drive_ushort", flip, [.uint(1)]) == .uint(65534))
        let not = try Callback.typed("_Bool (*)(_Bool)", Bool.self, returning: Bool.self, backend: backend) { !$0 }
        #expect(try drive("drive_bool", not, [.bool(false)]) == .bool(true))
        let half = try Callback.typed("float (*)(float)", Float.self, returning: Float.self, backend: backend) { $0 / 2 }
        #expect(try drive("drive_float", half, [.float(3)]) == .float(1.5))
        let third = try Callback.typed("long double (*)(long double)", Float80.self, returning: Float80.self, backend: backend) { $0 / 3 }
        #expect(try drive("drive_ldouble", third, [.longDouble(1)]) == .longDouble(Float80(1) / 3))
        let answer = try Callback.typed("long (*)(void)", returning: Int.self, backend: backend) { 42 }
        #expect(try drive("drive_none", answer) == .int(42))
        // Twelve arguments (six on the stack), ten doubles (two on the stack), sixteen mixed.
        let weighted12 = try Callback("long (*)(long, long, long, long, long, long, long, long, long, long, long, long)", backend: backend) { values in
            var sum: Int64 = 0
            for (index, value) in values.enumerated() { if case .int(let v) = value { sum += Int64(index + 1) * v } }
            return .int(sum)
        }
        #expect(try drive("drive_long12", weighted12) == .int(650))
        let weighted10 = try Callback("double (*)(double, double, double, double, double, double, double, double, double, double)", backend: backend) { values in
            var sum = 0.0
            for (index, value) in values.enumerated() { if case .double(let v) = value { sum += Double(index + 1) * v } }
            return .double(sum)
        }
        #expect(try drive("drive_double10", weighted10) == .double(357.5))
        let mixed = try Callback(
            "double (*)(int, double, long, float, char, double, unsigned short, double, int, float, long, double, short, double, long, float)",
            backend: backend
        ) { values in
            var sum = 0.0
            for (index, value) in values.enumerated() {
                let number: Double
                switch value {
                case .int(let v): number = Double(v)
                case .uint(let v): number = Double(v)
                case .double(let v): number = v
                case .float(let v): number = Double(v)
                default: number = .nan
                }
                sum += Double(index + 1) * number
            }
            return .double(sum)
        }
        var expected = 0.0
        for index in 1...16 { expected += Double(index * index) }
        expected -= 2 * 13 * 13
        #expect(try drive("drive_mixed16", mixed) == .double(expected))
        // A record after the vector registers run out, and a double after it.
        let afterSeven = try Callback(
            "double (*)(double, double, double, double, double, double, double, struct DD, double)", scope: library.declarations,
            backend: backend
        ) { values in
            guard case .record(let dd) = values[7], case .double(let a) = try! dd.field("a"), case .double(let b) = try! dd.field("b"),
                case .double(let last) = values[8]
            else { return .double(.nan) }
            var sum = 0.0
            for index in 0..<7 { if case .double(let v) = values[index] { sum += Double(index + 1) * v } }
            return .double(sum + 8 * a + 9 * b + 10 * last)
        }
        #expect(try drive("drive_after_seven", afterSeven) == .double(140 + 64 + 81 + 100))
        // void result, out-parameter.
        let store = try Callback.typed("void (*)(int *)", UnsafeMutablePointer<Int32>.self, returning: CVoid.self, backend: backend) { pointer in
            pointer.pointee = 7
            return CVoid()
        }
        var out: Int32 = 0
        _ = try withUnsafeMutablePointer(to: &out) { try drive("drive_void", store, [.pointer(CPointer($0))]) }
        #expect(out == 7)
    }

    @Test(arguments: RecordShape.cases)
    func recordsByValue(_ fixture: FixtureLibrary, _ shape: RecordShape, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture)
        if shape.name == "LDS" && goesThroughLibffi(backend) { return }  // libffi cannot return X87-class records
        // The callback checks what C passed (make_<S>(10)) and returns it; C weighs it.
        let seen = Lock<String?>(nil)
        let echo = try Callback("struct \(shape.name) (*)(struct \(shape.name), int)", scope: library.declarations, backend: backend) { values in
            seen.withLock { $0 = values[0].description }
            return values[0]
        }
        #expect(try library.function("drive_\(shape.name)").call([.callback(echo), .int(10)]) == .double(shape.weight))
        #expect(seen.withLock { $0 } == shape.made)
        // Typed: the record as a CRecordValue.
        let typed = try Callback.typed(
            "struct \(shape.name) (*)(struct \(shape.name), int)", (CRecordValue, Int32).self, returning: CRecordValue.self,
            scope: library.declarations, backend: backend
        ) { record, _ in record }
        #expect(try library.function("drive_\(shape.name)").call([.callback(typed), .int(10)]) == .double(shape.weight))
    }

    @Test(arguments: backends)
    func fromAThreadCCreated(_ backend: BindingOptions.Backend) throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try openFixture(fixture)
        let square = try Callback.typed("long (*)(long)", Int.self, returning: Int.self, backend: backend) { $0 * $0 }
        let drive = try library.function("drive_from_thread").typed((Callback, Int).self, returning: Int.self)
        #expect(drive(square, 12) == 144)
    }

    /// A dynamic handler's argument array is reused from call to call on a thread: from a
    /// thread C created (whose array is released when it exits), an array the handler keeps
    /// stays as it was, and a nested call on the same thread does not disturb the outer one.
    @Test(arguments: backends)
    func dynamicArgumentArrays(_ backend: BindingOptions.Backend) throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try openFixture(fixture)
        let square = try Callback("long (*)(long)", backend: backend) { values in
            guard case .int(let n) = values[0] else { return .int(-1) }
            return .int(n * n)
        }
        let drive = try library.function("drive_from_thread").typed((Callback, Int).self, returning: Int.self)
        #expect(drive(square, 12) == 144)
        #expect(drive(square, -3) == 9)

        let kept = Lock<[[CValue]]>([])
        let keep = try Callback("long (*)(long, long)", backend: backend) { values in
            kept.withLock { $0.append(values) }
            return .int(0)
        }
        typealias TwoLongs = @convention(c) (Int, Int) -> Int
        let callKeep = unsafeBitCast(keep.unsafePointer.raw, to: TwoLongs.self)
        _ = callKeep(1, 2)
        _ = callKeep(3, 4)
        #expect(kept.withLock { $0 } == [[.int(1), .int(2)], [.int(3), .int(4)]])

        // sum(n) = n + sum(n - 1), each level reading its argument after the nested call.
        typealias OneLong = @convention(c) (Int) -> Int
        let recursive = Lock<OneLong?>(nil)
        let sum = try Callback("long (*)(long)", backend: backend) { values in
            guard case .int(let n) = values[0], n > 0, let call = recursive.withLock({ $0 }) else { return .int(0) }
            let inner = call(Int(n - 1))
            guard case .int(let again) = values[0], again == n else { return .int(-1_000_000) }
            return .int(n + Int64(inner))
        }
        recursive.withLock { $0 = unsafeBitCast(sum.unsafePointer.raw, to: OneLong.self) }
        #expect(unsafeBitCast(sum.unsafePointer.raw, to: OneLong.self)(10) == 55)
        withExtendedLifetime((keep, sum)) {}  // their raw pointers were called until here
    }

    /// The scoped forms: `withCallback` for a dynamic handler, `withPointer` for any
    /// callback; the callback is gone once the scope ends.
    @Test(arguments: backends)
    func scopedCallbacks(_ backend: BindingOptions.Backend) throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try openFixture(fixture)
        let driveInt = try library.function("drive_int")
        let dynamic = try withCallback("int (*)(int)", handler: { values in
            guard case .int(let n) = values[0] else { return .int(0) }
            return .int(n * 3)
        }) { pointer in try driveInt.call([.pointer(pointer), .int(-14)]) }
        #expect(dynamic == .int(-42))

        weak var released: Callback?
        let typed = try { () throws -> CValue in
            let callback = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: backend) { $0 * 3 }
            released = callback
            return try callback.withPointer { pointer throws(CallStubError) in try driveInt.call([.pointer(pointer), .int(7)]) }
        }()
        #expect(typed == .int(21))
        #expect(released == nil)
    }

    @Test func refusals() throws {
        #expect(throws: CallStubError.self) { try Callback("int (*)(int, ...)") { _ in .int(0) } }
        #expect(throws: CallStubError.self) { try Callback("int") { _ in .int(0) } }
        #expect(throws: CallStubError.self) {
            try Callback.typed("int (*)(int)", Double.self, returning: Int32.self) { _ in 0 }
        }
    }

    @Test func qsortOfAMillionInts() throws {
        let libc = try SharedLibrary("libc.so.6")
        let qsort = try libc.function("qsort").typed(
            (UnsafeMutableRawPointer, UInt, UInt, Callback).self, returning: CVoid.self)
        let compare = try Callback.typed(
            "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self
        ) { a, b in
            let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
            return x < y ? -1 : x > y ? 1 : 0
        }
        var random = SeededGenerator(seed: 42)
        var numbers = (0..<1_000_000).map { _ in Int32.random(in: .min ... .max, using: &random) }
        _ = numbers.withUnsafeMutableBytes { qsort($0.baseAddress!, 1_000_000, 4, compare) }
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 <= $1 })
    }
}

/// What stops the program, with a message naming the callback: a dynamic handler's result
/// that does not fit the C result type (never garbage returned to C), and in debug builds,
/// which keep the code of released callbacks, a late call (release builds free the code:
/// the call is undefined).
@Suite struct CallbackTrapTests {
    @Test func aDynamicResultThatDoesNotFitStopsWithTheCallbacksName() async {
        let thunk = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let callback = try Callback("int (*)(int)", name: "too wide", backend: .jit) { _ in .int(1 << 40) }
            _ = unsafeBitCast(callback.unsafePointer.raw, to: (@convention(c) (Int32) -> Int32).self)(1)
            withExtendedLifetime(callback) {}
        }
        let thunkErrors = String(decoding: thunk?.standardErrorContent ?? [], as: UTF8.self)
        #expect(thunkErrors.contains("callback too wide: its result 1099511627776 does not fit int"), "\(thunkErrors)")
        let closure = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let callback = try Callback("double (*)(void)", name: "not a number", backend: .libffi) { _ in .pointer(CPointer(nil)) }
            _ = unsafeBitCast(callback.unsafePointer.raw, to: (@convention(c) () -> Double).self)()
            withExtendedLifetime(callback) {}
        }
        let closureErrors = String(decoding: closure?.standardErrorContent ?? [], as: UTF8.self)
        #expect(closureErrors.contains("callback not a number: its result"), "\(closureErrors)")
        #expect(closureErrors.contains("does not fit double"), "\(closureErrors)")
    }

    #if DEBUG
        /// A callback of each kind, named `late <kind>`, released at once: its C pointer.
        static func releasedCallback(_ kind: String) throws -> UnsafeMutableRawPointer? {
            let name = "late \(kind)"
            switch kind {
            case "typed": return try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, name: name, backend: .jit) { $0 + 1 }.unsafePointer.raw
            case "dynamic": return try Callback("int (*)(int)", name: name, backend: .jit) { $0[0] }.unsafePointer.raw
            default: return try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, name: name, backend: .libffi) { $0 + 1 }.unsafePointer.raw
            }
        }

        /// A typed thunk, a dynamic thunk and a libffi closure, each called after its
        /// `Callback` is gone.
        @Test(arguments: ["typed", "dynamic", "closure"])
        func aCallAfterTheCallbackIsGoneStopsWithItsName(_ kind: String) async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [kind] in
                let pointer = try Self.releasedCallback(kind)
                _ = unsafeBitCast(pointer, to: (@convention(c) (Int32) -> Int32).self)(1)
            }
            let errors = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
            #expect(errors.contains("callback late \(kind) was called"), "\(errors)")
        }
    #endif
}

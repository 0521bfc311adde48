// Every C scalar type as argument and result, 0 to 16 arguments, through the dynamic,
// typed and raw calling styles, on the fixture library built by each installed compiler.

import CTestSupport
import CallStub
import Testing

@Suite struct ScalarCallTests {
    /// `CValue`'s 16-byte payloads are boxed so that the value is 8-byte aligned: an array
    /// of them (every dynamic call's) then comes from `malloc`, not the aligned allocator.
    /// The boxed cases still compare, hash and convert as values.
    @Test func valuesAreEightByteAligned() {
        #expect(MemoryLayout<CValue>.alignment == 8)
        #expect(MemoryLayout<CValue>.stride == 24)
        let wide: [CValue] = [.int128(-1 << 100), .uint128(1 << 127), .longDouble(Float80(1) / 3)]
        #expect(wide == [.int128(-1 << 100), .uint128(1 << 127), .longDouble(Float80(1) / 3)])
        #expect(Set(wide + wide).count == 3)
    }

    /// Echo through all three styles and check each returns the value unchanged.
    func echo<T: CScalarConvertible & Equatable>(
        _ library: SharedLibrary, _ name: String, _ value: T, dynamic: CValue, expected: CValue? = nil
    ) throws {
        let function = try library.function(name)
        #expect(try function.call([dynamic]) == (expected ?? dynamic), "\(name) dynamic")
        let typed = try function.typed(T.self, returning: T.self)
        #expect(typed(value) == value, "\(name) typed")
        #expect(load(T.self, from: try rawCall(function, [bytes(of: value)])) == value, "\(name) raw")
    }

    @Test(arguments: FixtureLibrary.built, backends)
    func echoesEveryScalar(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        try echo(library, "echo_bool", true, dynamic: .bool(true))
        try echo(library, "echo_char", Int8(-100), dynamic: .int(-100))
        try echo(library, "echo_schar", Int8(-128), dynamic: .int(-128))
        try echo(library, "echo_uchar", UInt8(255), dynamic: .uint(255))
        try echo(library, "echo_short", Int16(-32768), dynamic: .int(-32768))
        try echo(library, "echo_ushort", UInt16(65535), dynamic: .uint(65535))
        try echo(library, "echo_int", Int32.min, dynamic: .int(Int64(Int32.min)))
        try echo(library, "echo_uint", UInt32.max, dynamic: .uint(UInt64(UInt32.max)))
        try echo(library, "echo_long", Int.min, dynamic: .int(Int64.min))
        try echo(library, "echo_ulong", UInt.max, dynamic: .uint(UInt64.max))
        try echo(library, "echo_llong", Int64(-1) << 40, dynamic: .int(-1 << 40))
        try echo(library, "echo_ullong", UInt64(1) << 63, dynamic: .uint(1 << 63))
        try echo(library, "echo_float", Float(1.5e-3), dynamic: .float(1.5e-3))
        try echo(library, "echo_double", Double.pi, dynamic: .double(.pi))
        try echo(library, "echo_ldouble", Float80(1) / 3, dynamic: .longDouble(Float80(1) / 3))
        try echo(library, "echo_color", UInt32(1000), dynamic: .uint(1000))
        let address = UnsafeMutableRawPointer(bitPattern: 0x1234_5678)
        try echo(library, "echo_pointer", address, dynamic: .pointer(CPointer(address)))
        // Integers convert to a wider dynamic kind: .int for an unsigned enum, etc.
        #expect(try library.function("echo_color").call([.int(5)]) == .uint(5))
        #expect(try library.function("echo_double").call([.int(3)]) == .double(3))
        #expect(
            try library.function("echo_cdouble").call([.complexDouble(real: 1.5, imaginary: -2)])
                == .complexDouble(real: 1.5, imaginary: -2))
        #expect(
            try library.function("echo_cfloat").call([.complexFloat(real: 0.25, imaginary: 8)])
                == .complexFloat(real: 0.25, imaginary: 8))
        #expect(try library.function("ldouble_to_double").call([.longDouble(2.5)]) == .double(2.5))
        try echo(library, "echo_cdouble", CComplex<Double>(real: -1, imaginary: 0.5), dynamic: .complexDouble(real: -1, imaginary: 0.5))
        try echo(library, "echo_cfloat", CComplex<Float>(real: 3, imaginary: -4), dynamic: .complexFloat(real: 3, imaginary: -4))
        #expect(throws: CallStubError.self) {
            try library.function("echo_cdouble").typed(CComplex<Float>.self, returning: CComplex<Double>.self)
        }
    }

    /// Complex values in and out of dynamic calls (stored and read as their two parts,
    /// without the general path's conversions) against C's own calls of libm's complex
    /// functions, at run time. `cpow`'s arguments do not commute and its parts do not
    /// swap, so a part or an argument out of place shows.
    @Test(arguments: backends)
    func complexValuesAgreeWithC(_ backend: BindingOptions.Backend) throws {
        let compiler = try #require(CCompiler.installed.first)
        let printed = try compiler.compileAndRun("""
            #include <complex.h>
            #include <stdio.h>
            int main(void) {
                volatile double a = 1.5, b = -2.0, c = 0.25, d = 0.5;
                volatile float e = 2.0f, f = 0.5f, g = -1.0f, h = 0.25f;
                double complex z = cpow(CMPLX(a, b), CMPLX(c, d));
                float complex w = cpowf(CMPLXF(e, f), CMPLXF(g, h));
                double complex x = cpow(CMPLX(a, b), CMPLX((double)g, (double)h));
                printf("%a %a %a %a %a %a\\n", creal(z), cimag(z), crealf(w), cimagf(w), creal(x), cimag(x));
                return 0;
            }
            """, flags: ["-Wl,--no-as-needed", "-lm"])
        let parts = printed.split(separator: " ").map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(parts.count == 6 && parts.allSatisfy { $0 != nil })
        let expected = parts.map { $0! }
        let libm = try SharedLibrary("libm.so.6", options: BindingOptions(backend: backend))
        try libm.declare("double _Complex cpow(double _Complex, double _Complex); float _Complex cpowf(float _Complex, float _Complex);")
        let cpow = try libm.function("cpow"), cpowf = try libm.function("cpowf")
        #expect(
            try cpow.call([.complexDouble(real: 1.5, imaginary: -2), .complexDouble(real: 0.25, imaginary: 0.5)])
                == .complexDouble(real: expected[0], imaginary: expected[1]))
        #expect(
            try cpowf.call([.complexFloat(real: 2, imaginary: 0.5), .complexFloat(real: -1, imaginary: 0.25)])
                == .complexFloat(real: Float(expected[2]), imaginary: Float(expected[3])))
        // A float complex value for a double complex argument converts (the general path).
        #expect(
            try cpow.call([.complexDouble(real: 1.5, imaginary: -2), .complexFloat(real: -1, imaginary: 0.25)])
                == .complexDouble(real: expected[4], imaginary: expected[5]))
        // The typed path agrees.
        let typed = try cpow.typed((CComplex<Double>, CComplex<Double>).self, returning: CComplex<Double>.self)
        #expect(typed(CComplex(real: 1.5, imaginary: -2), CComplex(real: 0.25, imaginary: 0.5)) == CComplex(real: expected[0], imaginary: expected[1]))
    }

    /// Narrow arguments must arrive sign- or zero-extended: clang-built callees read the
    /// whole register.
    @Test(arguments: FixtureLibrary.built, backends)
    func extendsNarrowArguments(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        #expect(try library.function("widen_schar").call([.int(-5)]) == .int(-5))
        #expect(try library.function("widen_short").call([.int(-5)]) == .int(-5))
        #expect(try library.function("widen_uchar").call([.uint(250)]) == .int(250))
        #expect(try library.function("widen_ushort").call([.uint(65000)]) == .int(65000))
        #expect(try library.function("widen_bool").call([.bool(true)]) == .int(1))
        let short = try library.function("widen_short").typed(Int16.self, returning: Int64.self)
        #expect(short(-32768) == -32768)
        let uchar = try library.function("widen_uchar").typed(UInt8.self, returning: Int64.self)
        #expect(uchar(200) == 200)
    }

    @Test(arguments: FixtureLibrary.built, backends)
    func passesZeroToSixteenArguments(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        func weighted(_ values: [Int64]) -> Int64 { values.enumerated().reduce(0) { $0 + Int64($1.offset + 1) * $1.element } }
        for count in [0, 1, 2, 3, 6, 7, 8, 12] {
            let values: [Int64] = (0..<count).map { (index: Int) -> Int64 in
                let magnitude = Int64(index * 1000 + 7)
                return index % 2 == 0 ? magnitude : -magnitude
            }
            let function = try library.function("isum\(count)")
            let dynamic: [CValue] = values.map { CValue.int($0) }
            #expect(try function.call(dynamic) == .int(weighted(values)), "isum\(count)")
            let raw = try rawCall(function, values.map { bytes(of: $0) })
            #expect(load(Int64.self, from: raw) == weighted(values), "isum\(count) raw")
        }
        #expect(try library.function("isum0").typed(returning: Int.self)() == 0)
        let isum7 = try library.function("isum7").typed((Int, Int, Int, Int, Int, Int, Int).self, returning: Int.self)
        #expect(isum7(1, 2, 3, 4, 5, 6, 7) == 140)
        let isum12 = try library.function("isum12").typed(
            (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int).self, returning: Int.self)
        #expect(isum12(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1) == 54)

        for count in [8, 9, 12] {
            let values = (0..<count).map { Double($0) + 0.5 }
            let expected = values.enumerated().reduce(0.0) { $0 + Double($1.offset + 1) * $1.element }
            let dynamic: [CValue] = values.map { CValue.double($0) }
            #expect(try library.function("dsum\(count)").call(dynamic) == .double(expected))
        }
        let dsum9 = try library.function("dsum9").typed(
            (Double, Double, Double, Double, Double, Double, Double, Double, Double).self, returning: Double.self)
        #expect(dsum9(1, 1, 1, 1, 1, 1, 1, 1, 2) == 54)

        // 16 mixed arguments: 8 integer-class, 8 SSE-class, some narrow; the last ones on the stack.
        let mixed = try library.function("mixed16")
        let arguments: [CValue] = [
            .int(1), .double(2), .int(3), .float(4), .int(5), .double(6), .uint(7), .double(8),
            .int(9), .float(10), .int(11), .double(12), .int(-13), .double(14), .int(15), .float(16),
        ]
        var expected = 0.0
        for index in 1...16 { expected += Double(index * index) }
        expected -= 2 * 13 * 13
        #expect(try mixed.call(arguments) == .double(expected))
        let typed = try mixed.typed(
            (Int32, Double, Int, Float, Int8, Double, UInt16, Double, Int32, Float, Int, Double, Int16, Double, Int, Float).self,
            returning: Double.self)
        #expect(typed(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -13, 14, 15, 16) == expected)
        #expect(try library.function("do_nothing").call() == .void)
        // Values in the caller's own storage.
        let storage: [CValue] = [.int(5), .int(-7), .int(9)]
        let isum3 = try library.function("isum3")
        #expect(try storage.withUnsafeBufferPointer { try isum3.call($0) } == .int(5 - 14 + 27))
        try library.function("do_nothing").typed(returning: Void.self)()
    }
}

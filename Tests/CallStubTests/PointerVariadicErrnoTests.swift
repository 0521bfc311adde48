// Strings and pointers in and out, out-parameters, variadic tails (inferred and explicit,
// with the default promotions, one prepared shape per distinct tail), and errno capture.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct PointerVariadicErrnoTests {
    @Test(arguments: FixtureLibrary.built, backends)
    func stringsAndOutParameters(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        #expect(try library.function("string_length").call([.string("héllo")]) == .uint(6))
        let checksum = try library.function("string_checksum").typed(String.self, returning: Int32.self)
        #expect(checksum("ab") == 97 + 2 * 98)
        // A char * result is a pointer; its string is read from it.
        let greeting = try library.function("greeting").typed(returning: UnsafePointer<CChar>?.self)
        #expect(greeting().map { String(cString: $0) } == "hello, world")
        guard case .pointer(let pointer) = try library.function("greeting").call() else {
            Issue.record("greeting returned no pointer")
            return
        }
        #expect(String(cString: pointer.raw!.assumingMemoryBound(to: CChar.self)) == "hello, world")

        // Caller-owned buffers as out-parameters.
        let upper = try library.function("upper_copy")
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 32)
        defer { buffer.deallocate() }
        #expect(try upper.call([.pointer(CPointer(buffer)), .string("abc-xyz")]) == .pointer(CPointer(buffer)))
        #expect(String(cString: buffer) == "ABC-XYZ")
        var quotient: Int32 = 0
        var remainder: Int32 = 0
        let divmod = try library.function("divmod").typed(
            (Int32, Int32, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>).self, returning: Void.self)
        divmod(17, 5, &quotient, &remainder)
        #expect((quotient, remainder) == (3, 2))
        let values: [Int] = [1, 2, 3, 4]
        let sum = try library.function("sum_array").typed((UnsafePointer<Int>, Int32).self, returning: Int.self)
        #expect(values.withUnsafeBufferPointer { sum($0.baseAddress!, 4) } == 10)
    }

    @Test(arguments: FixtureLibrary.built, backends)
    func variadicTails(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        let vsumInt = try library.function("vsum_int")
        #expect(vsumInt.isVariadic)
        #expect(try vsumInt.call([.int(3), .int(1), .int(2), .int(3)]) == .int(14))
        #expect(try vsumInt.call([.int(0)]) == .int(0))
        // Explicit types: char and short are promoted to int.
        let char = try library.type("char")
        let short = try library.type("short")
        #expect(try vsumInt.call([.int(2), .int(-1), .int(-2)], variadicTypes: [char, short]) == .int(-5))
        let vsumDouble = try library.function("vsum_double")
        // A float is promoted to double.
        #expect(try vsumDouble.call([.int(9)] + (1...9).map { .float(Float($0)) }) == .double(285))
        let vmixed = try library.function("vmixed")
        let mixed: [CValue] = [
            .string("ildspD"), .int(1), .int(1 << 40), .double(0.5), .string("four"), .null,
            .array([.double(1), .double(2)]),
        ]
        let dd = try library.type("struct DD")
        let types = [try library.type("int"), try library.type("long"), try library.type("double"),
            try library.type("char *"), try library.type("void *"), dd]
        let expected = 1 + 2.0 * Double(1 << 40) + 3 * 0.5 + 4 * 4 + 5 * 0 + 6 * 3
        #expect(try vmixed.call(mixed, variadicTypes: types) == .double(expected))
        // Typed variadic calls take their tail from the Swift types.
        let typed = try vsumInt.typed((Int32, Int32, Int32).self, returning: Int.self)
        #expect(typed(2, 10, 20) == 50)
        #expect(throws: CallStubError.self) { try vsumInt.typed((Int32, Float).self, returning: Int.self) }
        // Raw variadic calls: the fixed arguments, then the tail of the given types.
        let raw = try rawCall(vsumInt, [bytes(of: Int32(2)), bytes(of: Int32(-4)), bytes(of: Int32(5))],
            variadicTypes: [try library.type("int"), try library.type("short")])
        #expect(load(Int.self, from: raw) == 6)
        // One prepared shape per distinct tail.
        let before = vsumInt.preparedVariadicShapeCount
        for _ in 0..<10 { _ = try vsumInt.call([.int(1), .int(5)]) }
        #expect(vsumInt.preparedVariadicShapeCount <= before + 1)
    }

    @Test(arguments: FixtureLibrary.built, backends)
    func capturesErrno(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend) throws {
        let library = try openFixture(fixture, backend)
        let failing = try library.function("fail_with_errno", options: BindingOptions(capturesErrno: true))
        #expect(try failing.call([.int(Int64(ERANGE))]) == .int(-1))
        #expect(CErrno.captured == ERANGE)
        let typed = try failing.typed(Int32.self, returning: Int32.self)
        _ = typed(EDOM)
        #expect(CErrno.captured == EDOM)
        _ = try library.function("echo_int", options: BindingOptions(capturesErrno: true)).call([.int(1)])
        #expect(CErrno.captured == 0, "errno is cleared before each capturing call")
    }

    /// Many threads calling one bound function at once, in every style.
    @Test(arguments: backends)
    func concurrentCalls(_ backend: BindingOptions.Backend) async throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try openFixture(fixture, backend)
        let weigh = try library.function("weigh_BIG")
        let isum3 = try library.function("isum3").typed((Int, Int, Int).self, returning: Int.self)
        let vsum = try library.function("vsum_int")
        let big = try library.function("make_BIG").call([.int(10)])
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<2000 {
                        guard try weigh.call([big]) == .double(528), isum3(index, task, 1) == index + 2 * task + 3,
                            try vsum.call([.int(2), .int(Int64(index)), .int(Int64(task))]) == .int(Int64(index + 2 * task))
                        else { return false }
                    }
                    return true
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}

// Tiering: adaptive bindings move from libffi to a stub compiled in the background and
// swapped in atomically; results stay the same across the switch, on many threads.

import CTestSupport
import CallStub
import Testing

@Suite struct TieringTests {
    @Test func adaptiveBindingTiersUpAfterItsThreshold() throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try SharedLibrary(fixture.path, options: BindingOptions(tiering: .adaptive(afterCalls: 10)))
        try library.declare(FixtureLibrary.header)
        let weigh = try library.function("weigh_FID")
        let record = try weigh.makeRecord("struct FID")
        #expect(weigh.backend == .libffi)
        for _ in 0..<9 { #expect(try weigh.call([.record(record)]) == .double(0)) }
        weigh.awaitTierUp()
        #expect(weigh.backend == .libffi, "nine calls stay below the threshold")
        let made = try library.function("make_FID").call([.int(10)])
        #expect(try weigh.call([made]) == .double(68))  // the tenth call queues the stub
        weigh.awaitTierUp()
        #expect(weigh.backend == .jit)
        #expect(try weigh.call([made]) == .double(68))
        // Eager tiering compiles at binding; libffi never compiles.
        let eager = try library.function("weigh_FID", options: BindingOptions(tiering: .eager))
        #expect(eager.backend == .jit)
        let interpreted = try library.function("weigh_FID", options: BindingOptions(backend: .libffi))
        for _ in 0..<20 { _ = try interpreted.call([made]) }
        interpreted.awaitTierUp()
        #expect(interpreted.backend == .libffi)
        // A signature libffi cannot take is compiled at once, whatever the tiering.
        #expect(try library.function("echo_U").backend == .jit)
    }

    /// Eight threads bind the same and different signatures and call them while adaptive
    /// tier-ups happen underneath; every result is checked against C's.
    @Test func concurrentBindingAndTierUp() async throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try SharedLibrary(fixture.path, options: BindingOptions(tiering: .adaptive(afterCalls: 50)))
        try library.declare(FixtureLibrary.header)
        let shared = try library.function("isum3")
        try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var failures = 0
                    // Each task binds its own functions too (same and different shapes).
                    let own = try library.function(task % 2 == 0 ? "isum6" : "isum3")
                    let dd = try library.function("weigh_DD")
                    let typed = try shared.typed((Int, Int, Int).self, returning: Int.self)
                    for index in 0..<3000 {
                        let a = Int64(index), b = Int64(task)
                        if try shared.call([.int(a), .int(b), .int(1)]) != .int(a + 2 * b + 3) { failures += 1 }
                        if typed(index, task, 2) != index + 2 * task + 6 { failures += 1 }
                        let expected: Int64 = task % 2 == 0 ? a + 2 * b + 3 + 4 + 5 + 6 : a + 2 * b + 3
                        let arguments: [CValue] = task % 2 == 0 ? [.int(a), .int(b), .int(1), .int(1), .int(1), .int(1)] : [.int(a), .int(b), .int(1)]
                        if try own.call(arguments) != .int(expected) { failures += 1 }
                        if try dd.call([.array([.double(Double(index)), .double(0.5)])]) != .double(Double(index) + 1) { failures += 1 }
                    }
                    return failures
                }
            }
            for try await failures in group { #expect(failures == 0) }
        }
        shared.awaitTierUp()
        #expect(shared.backend == .jit)
    }
}

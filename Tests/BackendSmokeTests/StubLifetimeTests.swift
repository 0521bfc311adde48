// Stubs are shared while used and freed when not: a process that binds ever new
// signatures must not run out of memory mappings (found by the differential campaign:
// "JIT session error: Cannot allocate memory" after some 15,000 bindings).

import ABILowering
import CTypeModel
import Foundation
import LLVMBackend
import Testing

@Suite struct StubLifetimeTests {
    /// `long f(long, …)` with `count` arguments: one distinct shape per count.
    static func plan(arguments count: Int) throws -> CallPlan {
        let long = CQualType(.integer(.long))
        let type = CFunctionType(result: long, parameters: Array(repeating: CParameter(type: long), count: count))
        return X86_64SysV.plan(try ValidatedSignature.validate(type))
    }

    static func mappings() -> Int {
        ((try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func sharedStubsLiveUntilTheirLastUseIsGivenBack() throws {
        let compiler = StubCompiler(session: try JITSession(), idleModuleLimit: 0)
        let two = try Self.plan(arguments: 2)
        let first = try compiler.stub(for: two)
        let second = try compiler.stub(for: two)
        #expect(unsafeBitCast(first, to: UInt.self) == unsafeBitCast(second, to: UInt.self))
        #expect(compiler.liveModuleCount == 1)
        compiler.release(stubFor: two)
        #expect(compiler.liveModuleCount == 1, "one use remains")
        var a = 40, b = 2, result = 0
        withUnsafeMutablePointer(to: &a) { pa in
            withUnsafeMutablePointer(to: &b) { pb in
                var arguments: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(pa), UnsafeMutableRawPointer(pb)]
                let add: @convention(c) (Int, Int) -> Int = { $0 + $1 }
                second(unsafeBitCast(add, to: UnsafeRawPointer.self), &arguments, &result)
            }
        }
        #expect(result == 42)
        compiler.release(stubFor: two)
        #expect(compiler.liveModuleCount == 0)
        #expect(compiler.stubCount == 0)
        // Asked for again, it is compiled again.
        _ = try compiler.stub(for: two)
        #expect(compiler.liveModuleCount == 1)
    }

    @Test func batchesAreFreedWhenAllTheirStubsAreUnused() throws {
        let compiler = StubCompiler(session: try JITSession(), idleModuleLimit: 0)
        let plans = try (0...3).map { try Self.plan(arguments: $0) }
        _ = try compiler.stubs(for: plans)
        #expect(compiler.liveModuleCount == 1)
        for plan in plans.dropLast() { compiler.release(stubFor: plan) }
        #expect(compiler.liveModuleCount == 1)
        compiler.release(stubFor: plans.last!)
        #expect(compiler.liveModuleCount == 0)
    }

    /// A module whose stubs are all given back waits among the last `idleModuleLimit`
    /// idle ones: binding its shape again compiles nothing; the oldest idle module beyond
    /// the limit is freed.
    @Test func releasedModulesWaitIdleForTheNextBinding() throws {
        let compiler = StubCompiler(session: try JITSession(), idleModuleLimit: 2)
        let plans = try (0...2).map { try Self.plan(arguments: $0) }
        for plan in plans {
            _ = try compiler.stub(for: plan)
            compiler.release(stubFor: plan)
        }
        #expect(compiler.moduleCount == 3)
        #expect(compiler.liveModuleCount == 2, "the first released is freed, the last two wait")
        for _ in 0..<100 {
            _ = try compiler.stub(for: plans[2])
            compiler.release(stubFor: plans[2])
        }
        #expect(compiler.moduleCount == 3, "an idle module's shape bound again is not compiled again")
        // In use again, a module leaves the idle list: releasing others does not free it.
        _ = try compiler.stub(for: plans[1])
        _ = try compiler.stub(for: plans[0])
        compiler.release(stubFor: plans[0])
        #expect(compiler.moduleCount == 4 && compiler.liveModuleCount == 3)
        compiler.release(stubFor: plans[1])
        #expect(compiler.liveModuleCount == 2)
        #expect(compiler.hasStub(for: plans[1]) && compiler.hasStub(for: plans[0]) && !compiler.hasStub(for: plans[2]))
    }

    @Test func bindingAndDroppingManyShapesKeepsMappingsBounded() throws {
        let compiler = StubCompiler(session: try JITSession(), idleModuleLimit: 0)
        let plans = try (0...16).map { try Self.plan(arguments: $0) }
        // Warm up, then 3,000 compile-and-free rounds: each would add mappings if leaked.
        for plan in plans {
            _ = try compiler.stub(for: plan)
            compiler.release(stubFor: plan)
        }
        let before = Self.mappings()
        for round in 0..<3000 {
            let plan = plans[round % plans.count]
            _ = try compiler.stub(for: plan)
            compiler.release(stubFor: plan)
        }
        #expect(compiler.moduleCount >= 3000)
        #expect(compiler.liveModuleCount == 0)
        #expect(Self.mappings() < before + 200, "mappings grew from \(before) to \(Self.mappings())")
    }
}

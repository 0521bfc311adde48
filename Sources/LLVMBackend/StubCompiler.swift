// Compiles downcall stubs and keeps them: one JIT session, a cache keyed by the stub's IR
// (so every function of the same lowered shape shares one stub: `int(int,int)` and
// `unsigned(unsigned,int)` lower identically), batching of many stubs per module, and
// compilation serialised behind one lock (LLVM contexts are not thread-safe).

import ABILowering
import Synchronization

/// A stub's entry: `void stub(void *fn, void **args, void *result)`.
public typealias StubEntry = @convention(c) (
    UnsafeRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer
) -> Void

/// What identifies a compiled stub: the lowered shape and the errno hooks it calls.
struct StubKey: Hashable {
    var shape: LoweredShape
    var errno: ErrnoHooks?
}

/// A stub compiler over one JIT session.
public final class StubCompiler: Sendable {
    private let session: JITSession
    private struct State {
        var cache: [StubKey: UInt] = [:]
        var nextName = 0
        var compiledModules = 0
    }
    private let state = Mutex(State())

    public init(session: JITSession) {
        self.session = session
    }

    /// The number of distinct stubs compiled so far.
    public var stubCount: Int { state.withLock { $0.cache.count } }
    /// The number of LLVM modules added so far (one per batch).
    public var moduleCount: Int { state.withLock { $0.compiledModules } }

    /// A thunk with `plan`'s C signature calling `handler(context, args, result)`, in a
    /// module of its own that `release(_:)` frees.
    public func thunk(for plan: CallPlan, handler: UInt, context: UInt) throws(JITError) -> (UnsafeRawPointer, RemovableModule) {
        let name = state.withLock { state -> String in
            state.nextName += 1
            return "callstub_thunk_\(state.nextName)"
        }
        return try session.addRemovableModule(name: name, symbol: name) { builder in
            UpcallThunk.build(plan, name: name, handler: handler, context: context, into: builder)
        }
    }

    /// Frees a thunk's code.
    public func release(_ module: RemovableModule) {
        session.remove(module)
    }

    /// The stub for one plan, from the cache or compiled now.
    public func stub(for plan: CallPlan, errno: ErrnoHooks? = nil) throws(JITError) -> StubEntry {
        try stubs(for: [plan], errno: errno)[0]
    }

    /// Stubs for many plans; those not cached are compiled together in one module.
    public func stubs(for plans: [CallPlan], errno: ErrnoHooks? = nil) throws(JITError) -> [StubEntry] {
        let keys = plans.map { StubKey(shape: $0.shape, errno: errno) }
        let result: Result<[UInt], JITError> = state.withLock { state in
            var missing: [StubKey: String] = [:]  // key → unique name
            var toBuild: [(CallPlan, String)] = []
            for (key, plan) in zip(keys, plans) where state.cache[key] == nil && missing[key] == nil {
                state.nextName += 1
                let name = "callstub_stub_\(state.nextName)"
                missing[key] = name
                toBuild.append((plan, name))
            }
            if !missing.isEmpty {
                do throws(JITError) {
                    try session.addModule(name: "stubs\(state.nextName)") { builder in
                        for (plan, name) in toBuild { DowncallStub.build(plan, name: name, errno: errno, into: builder) }
                    }
                    state.compiledModules += 1
                    for (key, name) in missing {
                        state.cache[key] = UInt(bitPattern: try session.address(of: name))
                    }
                } catch {
                    return .failure(error)
                }
            }
            return .success(keys.map { state.cache[$0]! })
        }
        return try result.get().map { unsafeBitCast(UnsafeRawPointer(bitPattern: $0)!, to: StubEntry.self) }
    }
}


// Compiles downcall stubs and keeps them: one JIT session, a cache keyed by the stub's IR
// (so every function of the same lowered shape shares one stub: `int(int,int)` and
// `unsigned(unsigned,int)` lower identically), batching of many stubs per module, and
// compilation serialised behind one lock (LLVM contexts are not thread-safe).

import ABILowering
import Locks

/// A stub's entry: `int stub(void *fn, void **args, void *result)`, returning 0 (callers
/// that need no status call it as returning nothing, which the C ABI allows).
public typealias StubEntry = @convention(c) (
    UnsafeRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer
) -> Void

/// What identifies a compiled stub: the lowered shape and the errno hooks it calls.
struct StubKey: Hashable {
    var shape: LoweredShape
    var errno: ErrnoHooks?
}

/// A stub compiler over one JIT session.
///
/// Stubs are shared and counted: every stub handed out by `stubs(for:errno:)` is one use,
/// which `release(stubFor:errno:)` gives back. A module whose stubs are all unused waits
/// among the last `idleModuleLimit` such modules, so that binding the same shapes again
/// (a bind/call/free loop) finds them compiled; older ones are removed from the JIT, so a
/// process that binds ever new signatures (and drops them) keeps a bounded amount of code
/// and of memory mappings.
public final class StubCompiler: Sendable {
    private let session: JITSession
    /// Where stubs without errno capture are written after their first compile.
    private let persistentCache: PersistentStubCache?
    private struct CachedStub {
        var address: UInt
        var module: Int
    }
    private struct CompiledModule {
        var handle: RemovableModule
        var keys: [StubKey]
        /// Stubs of this module handed out and not given back.
        var uses: Int
    }
    private struct PooledThunkKey: Hashable {
        var shape: LoweredShape
        var indirect: Bool
    }
    private struct State {
        var cache: [StubKey: CachedStub] = [:]
        /// Pooled callbacks' thunks, one per shape and closure kind, kept for good.
        var pooledThunks: [PooledThunkKey: UInt] = [:]
        var modules: [Int: CompiledModule] = [:]
        /// Modules whose stubs are all unused, least recently released first.
        var idle: [Int] = []
        var nextName = 0
        var compiledModules = 0
    }
    private let state = Lock(State())

    /// How many modules with no stub in use are kept compiled.
    public let idleModuleLimit: Int

    public init(session: JITSession, persistentCache: PersistentStubCache? = nil, idleModuleLimit: Int = 64) {
        self.session = session
        self.persistentCache = persistentCache
        self.idleModuleLimit = idleModuleLimit
    }

    /// Whether the stub for `plan` is compiled and in memory now.
    public func hasStub(for plan: CallPlan, errno: ErrnoHooks? = nil) -> Bool {
        state.withLock { $0.cache[StubKey(shape: plan.shape, errno: errno)] != nil }
    }

    /// The number of distinct stubs in the cache (compiled and not yet freed).
    public var stubCount: Int { state.withLock { $0.cache.count } }
    /// The number of LLVM modules added so far (one per batch), freed ones included.
    public var moduleCount: Int { state.withLock { $0.compiledModules } }
    /// The number of stub modules whose code is in memory now (idle ones included).
    public var liveModuleCount: Int { state.withLock { $0.modules.count } }

    /// The thunk every callback of `plan`'s shape enters through its trampoline slot
    /// (`UpcallTarget.frameEntry`, or `indirectClosure` when `indirect`): compiled on first
    /// use, then kept.
    public func pooledThunk(for plan: CallPlan, indirect: Bool) throws(JITError) -> UnsafeRawPointer {
        let key = PooledThunkKey(shape: plan.shape, indirect: indirect)
        let result: Result<UInt, JITError> = state.withLock { state in
            if let known = state.pooledThunks[key] { return .success(known) }
            state.nextName += 1
            let name = "callstub_pooled_thunk_\(state.nextName)"
            do throws(JITError) {
                let (address, _) = try session.addRemovableModule(name: name, symbol: name) { builder in
                    UpcallThunk.build(plan, name: name, target: indirect ? .indirectClosure : .frameEntry, into: builder)
                }
                state.pooledThunks[key] = UInt(bitPattern: address)
                return .success(UInt(bitPattern: address))
            } catch {
                return .failure(error)
            }
        }
        return UnsafeRawPointer(bitPattern: try result.get())!
    }

    /// The stub for one plan, from the cache or compiled now.
    public func stub(for plan: CallPlan, errno: ErrnoHooks? = nil) throws(JITError) -> StubEntry {
        try stubs(for: [plan], errno: errno)[0]
    }

    /// Stubs for many plans; those not cached are compiled together in one module. Each
    /// stub returned counts as one use until `release(stubFor:errno:)`.
    public func stubs(for plans: [CallPlan], errno: ErrnoHooks? = nil) throws(JITError) -> [StubEntry] {
        let keys = plans.map { StubKey(shape: $0.shape, errno: errno) }
        let result: Result<[UInt], JITError> = state.withLock { state in
            var missing: [StubKey: String] = [:]  // key → unique name
            var toBuild: [(StubKey, CallPlan, String)] = []
            for (key, plan) in zip(keys, plans) where state.cache[key] == nil && missing[key] == nil {
                state.nextName += 1
                let name = "callstub_stub_\(state.nextName)"
                missing[key] = name
                toBuild.append((key, plan, name))
            }
            if !toBuild.isEmpty {
                do throws(JITError) {
                    // Stubs without errno capture call no absolute address: they can be kept.
                    let persists = persistentCache != nil && errno == nil
                    let (addresses, handle, objects) = try session.addRemovableModule(
                        name: "stubs\(state.nextName)", symbols: toBuild.map(\.2), capturingObjects: persists
                    ) { builder in
                        for (_, plan, name) in toBuild { DowncallStub.build(plan, name: name, errno: errno, into: builder) }
                    }
                    if persists, let persistentCache {
                        var code: [String: [UInt8]] = [:]
                        for object in objects {
                            code.merge(RelocatableObject(object).relocationFreeFunctions(named: Set(toBuild.map(\.2)))) { $1 }
                        }
                        for (key, _, name) in toBuild { if let bytes = code[name] { persistentCache.store(bytes, for: key.shape) } }
                    }
                    state.compiledModules += 1
                    let module = state.compiledModules
                    state.modules[module] = CompiledModule(handle: handle, keys: toBuild.map(\.0), uses: 0)
                    for ((key, _, _), address) in zip(toBuild, addresses) {
                        state.cache[key] = CachedStub(address: UInt(bitPattern: address), module: module)
                    }
                } catch {
                    return .failure(error)
                }
            }
            return .success(keys.map { key in
                let stub = state.cache[key]!
                if state.modules[stub.module]!.uses == 0 { state.idle.removeAll { $0 == stub.module } }
                state.modules[stub.module]!.uses += 1
                return stub.address
            })
        }
        return try result.get().map { unsafeBitCast(UnsafeRawPointer(bitPattern: $0)!, to: StubEntry.self) }
    }

    /// Gives back one use of the stub for `plan`. A module none of whose stubs is used
    /// any more joins the idle ones; the least recently released idle module beyond
    /// `idleModuleLimit` is freed (and compiled again if asked for later).
    public func release(stubFor plan: CallPlan, errno: ErrnoHooks? = nil) {
        let key = StubKey(shape: plan.shape, errno: errno)
        let freed: RemovableModule? = state.withLock { state in
            guard let stub = state.cache[key], state.modules[stub.module] != nil else { return nil }
            state.modules[stub.module]!.uses -= 1
            guard state.modules[stub.module]!.uses <= 0 else { return nil }
            state.idle.append(stub.module)
            guard state.idle.count > idleModuleLimit else { return nil }
            let oldest = state.idle.removeFirst()
            let module = state.modules.removeValue(forKey: oldest)!
            for key in module.keys { state.cache[key] = nil }
            return module.handle
        }
        if let freed { session.remove(freed) }
    }
}


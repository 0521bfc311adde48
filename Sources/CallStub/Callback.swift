// Callbacks: a Swift closure callable as a C function pointer of any C signature. The fast
// path is a trampoline slot (TrampolinePool) into the LLVM thunk of the callback's shape,
// which reads the closure from the slot and calls it (no allocation and no reference
// counting per call); libffi closures are the fallback. The pointer is valid exactly as
// long as the `Callback` lives; a late call through a freed slot stops, naming it.

import ABILowering
import CDeclParser
import CTypeModel
import FFIBackend
import LLVMBackend
import Locks
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a callback does with its frame: reads the arguments from `args` (libffi's
/// `avalue` shape) and writes the result into `result`.
@usableFromInline typealias CallbackEntry = (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer) -> Void

/// A typed callback's closure as the thunk can call it itself: each argument's and the
/// result's Swift value is its C bytes. Conformers are generic structs holding the closure
/// as their only stored property, which keeps it at Swift's most general abstraction
/// (arguments and result passed by address) whatever types they are specialised with
/// (see `UpcallTarget.indirectClosure`).
@usableFromInline protocol IndirectCallbackBody: Sendable {
    /// The same body, first checking that `box`'s callback is still alive.
    func checked(by box: CallbackBox) -> any IndirectCallbackBody
}

/// The two words of the one closure `holder` (a struct) stores: its function and its
/// context, which `holder` keeps alive. Read out of a struct: a closure handed to a
/// generic function itself would first be wrapped in a reabstraction thunk.
func closureWords<Holder>(of holder: Holder) -> (function: UInt, context: UInt) {
    precondition(MemoryLayout<Holder>.size == 2 * MemoryLayout<UInt>.size, "\(Holder.self) holds one closure")
    return withUnsafeBytes(of: holder) { ($0.load(as: UInt.self), $0.load(fromByteOffset: MemoryLayout<UInt>.size, as: UInt.self)) }
}

@usableFromInline final class CallbackBox: @unchecked Sendable {
    let name: String
    let entry: CallbackEntry
    /// What an LLVM thunk calls, as Swift calls a closure: `entry` itself, and in debug
    /// builds a closure that first checks that the `Callback` is still alive.
    private(set) var thunkEntry: CallbackEntry
    /// The typed closure itself, when the thunk can call it (checked in debug builds).
    private(set) var indirectBody: (any IndirectCallbackBody)?
    /// The typed closure at register abstraction, for a register callback (checked in
    /// debug builds).
    private(set) var registerBody: RegisterCallbackBody?
    /// Set when the `Callback` is gone (debug builds keep the box to detect late calls).
    let released = Atomic<Bool>(false)

    init(name: String, entry: @escaping CallbackEntry, indirect: (any IndirectCallbackBody)?, register: RegisterCallbackBody?) {
        self.name = name
        self.entry = entry
        thunkEntry = entry
        indirectBody = indirect
        registerBody = register
        #if DEBUG
            // Unowned: the box owns these closures, and a Callback (or the debug quarantine
            // of released ones) owns the box for as long as its thunk can be called.
            thunkEntry = { [unowned(unsafe) self] arguments, result in
                if self.released.load(ordering: .relaxed) { Self.lateCall(self.name) }
                self.entry(arguments, result)
            }
            indirectBody = indirect?.checked(by: self)
            registerBody = register?.checked(by: self)
        #endif
    }

    /// Stops the program when the callback is gone (debug builds call this first).
    @usableFromInline func checkAlive() {
        if released.load(ordering: .relaxed) { Self.lateCall(name) }
    }

    static func lateCall(_ name: String) -> Never {
        fatalError("callback \(name) was called through its C pointer after the Callback was released")
    }

    /// What the thunk calls: the typed closure itself when there is one (`indirect`), else
    /// `thunkEntry`; as the two words of a Swift closure, its function and its context. The
    /// box keeps the context alive. `thunkEntry` is read out of a non-generic struct: handed
    /// to a generic function (`unsafeBitCast`), a closure would first be wrapped in a
    /// reabstraction thunk taking its arguments indirectly.
    func thunkClosure() -> (function: UInt, context: UInt, indirect: Bool) {
        if let indirectBody {
            let words = closureWords(of: indirectBody)
            return (words.function, words.context, true)
        }
        struct Holder { var entry: CallbackEntry }
        let words = closureWords(of: Holder(entry: thunkEntry))
        return (words.function, words.context, false)
    }
}

/// The argument array a dynamic callback's handler receives, reused from call to call on
/// each thread so that a call allocates nothing (for scalar and pointer arguments). A call
/// takes the thread's array out of its slot and puts it back after the handler: a nested
/// callback on the same thread finds the slot empty and makes its own; a handler that
/// keeps its array keeps it as it was (the next call's writes copy it first, as arrays do).
/// Each thread's slot is released when the thread exits.
enum ReusedArgumentValues {
    final class Slot {
        var values: [CValue] = []
    }

    /// The key of each thread's slot, released by the key's destructor at thread exit.
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { slot in
            if let slot { Unmanaged<Slot>.fromOpaque(slot).release() }
        }
        precondition(status == 0, "pthread_key_create failed (\(status))")
        return key
    }()

    /// Calls `body` with this thread's array, holding `count` values for it to overwrite.
    @inline(__always)
    static func withValues<Result>(count: Int, _ body: (inout [CValue]) -> Result) -> Result {
        guard let pointer = pthread_getspecific(key) else {
            let slot = Slot()
            pthread_setspecific(key, Unmanaged.passRetained(slot).toOpaque())
            return lend(slot, count, body)
        }
        return Unmanaged<Slot>.fromOpaque(pointer)._withUnsafeGuaranteedRef { lend($0, count, body) }
    }

    @inline(__always)
    private static func lend<Result>(_ slot: Slot, _ count: Int, _ body: (inout [CValue]) -> Result) -> Result {
        var values: [CValue] = []
        swap(&values, &slot.values)
        if values.count > count {
            values.removeLast(values.count - count)
        } else if values.count < count {
            values.append(contentsOf: repeatElement(.int(0), count: count - values.count))
        }
        let result = body(&values)
        swap(&values, &slot.values)
        return result
    }
}

/// The handler every libffi closure calls: the context is the box, unretained. (Thunks
/// call the box's closures directly.)
let callbackHandler: CallbackHandler = { context, arguments, result in
    Unmanaged<CallbackBox>.fromOpaque(context)._withUnsafeGuaranteedRef { box in
        #if DEBUG
            if box.released.load(ordering: .relaxed) { CallbackBox.lateCall(box.name) }
        #endif
        box.entry(arguments, result)
    }
}

/// What a released callback leaves behind until its code may be freed.
struct CallbackRemains: @unchecked Sendable {
    let box: CallbackBox
    let closure: FFIClosure?
}

/// Debug builds: the last `capacity` released callbacks stay callable (and report a late
/// call by name); a callback released before them is freed.
enum CallbackQuarantine {
    static let capacity = 1024
    private static let held = Lock<[CallbackRemains]>([])

    static func admit(_ remains: CallbackRemains) {
        let evicted: CallbackRemains? = held.withLock { held in
            held.append(remains)
            return held.count > capacity ? held.removeFirst() : nil
        }
        _ = evicted  // freed here, outside the lock
    }
}

/// A Swift closure as a C function pointer.
///
///     let compare = try Callback("int (*)(const void *, const void *)") { (values: [CValue]) -> CValue in … }
///     try qsort.call([.pointer(CPointer(base)), .uint(count), .uint(4), .callback(compare)])
///
/// Passed as the callback itself (`.callback(c)` in dynamic calls, `c` in typed ones), it
/// lives for the whole call, even as an inline temporary; stored in a record's field
/// (`setField("function", to: .callback(c))`), as long as that record value. C keeping
/// the pointer longer (a registered handler) needs an owner that lives as long:
/// `SharedLibrary.keep(_:)` ties it to the library, `keepUntilExit()` to the process.
/// Calling a callback after it is freed is undefined (debug builds stop the program with
/// its name). The raw pointer is `unsafePointer`, or `withPointer { … }` in a scope.
public final class Callback: @unchecked Sendable, CustomStringConvertible, Hashable {
    /// A name for messages (the declaration, unless given).
    public let name: String
    /// The callback's C function type.
    public let type: CFunctionType
    /// The C function pointer, with nothing keeping the callback alive: valid only while
    /// something else does (a variable used after the C code is done with the pointer, an
    /// owner from `SharedLibrary.keep(_:)` or `keepUntilExit()`). Swift may free an object
    /// after its last use, which reading this property can be: prefer passing the callback
    /// itself (`.callback(c)`, or `c` in typed calls) or `withPointer { … }`.
    public let unsafePointer: CPointer
    /// The code behind the pointer: a JIT thunk or a libffi closure.
    public let backend: CallBackend
    /// Why the JIT does not serve it, when it does not.
    public let fallbackReason: String?
    /// Whether C's argument registers reach the closure as they are (a register callback
    /// of integers, pointers, floats and doubles: no spill, no result buffer; see
    /// docs/callbacks.md), not through a shape's thunk or libffi.
    public var callsClosureDirectly: Bool { backend == .jit && box.registerBody != nil }
    let signature: ValidatedSignature
    private let box: CallbackBox
    /// The JIT path: a pooled trampoline into the thunk of the callback's shape.
    private let slot: TrampolineSlot?
    private let closure: FFIClosure?

    public var description: String { "Callback(\(name), \(backend))" }

    /// Makes a callback of the C function (pointer) type `declaration` (e.g.
    /// `int (*)(const void *, const void *)`, a function type, or a typedef of either,
    /// read in `scope`) from a dynamic handler. A handler result that does not fit the C
    /// return type stops the program with a message naming the callback; it never
    /// returns garbage to C.
    public convenience init(
        _ declaration: String, scope: CScope = .standard, name: String? = nil, backend: BindingOptions.Backend = .auto,
        handler: @escaping @Sendable ([CValue]) -> CValue
    ) throws(CallStubError) {
        let signature = try Self.signature(of: declaration, scope: scope)
        let label = name ?? declaration
        let argumentClasses = signature.arguments.map(\.valueClass)
        let resultClass = signature.result.valueClass
        let returnsVoid = resultClass == .void
        try self.init(signature: signature, name: label, backend: backend) { arguments, result in
            let value = ReusedArgumentValues.withValues(count: argumentClasses.count) { values in
                for (index, valueClass) in argumentClasses.enumerated() {
                    values[index] = ValueCoding.load(valueClass, from: arguments[index]!)
                }
                return handler(values)
            }
            if returnsVoid { return }
            do throws(ValueMismatch) {
                try ValueCoding.store(value, as: resultClass, at: result, strings: nil)
            } catch {
                fatalError("callback \(label): its result \(value) does not fit \(signature.result.declared): \(error.reason)")
            }
        }
    }

    /// Makes a callback of the C function (pointer) type `declaration` whose handler works
    /// on the raw frame, as a C handler does: `arguments` has libffi's `avalue` layout
    /// (`arguments[i]` points at the i-th argument's bytes; records come by value as their
    /// bytes) and the handler writes the result's bytes at `result` (nothing for `void`).
    /// The C API's callbacks are these.
    public convenience init(
        _ declaration: String, scope: CScope = .standard, name: String? = nil, backend: BindingOptions.Backend = .auto,
        rawHandler: @escaping @Sendable (_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) -> Void
    ) throws(CallStubError) {
        try self.init(signature: Self.signature(of: declaration, scope: scope), name: name ?? declaration, backend: backend) {
            rawHandler($0, $1)
        }
    }

    /// A raw-frame callback (as `init(_:rawHandler:)`) of a function type already in hand,
    /// for instance the pointee of a bound function's parameter.
    public convenience init(
        type: CFunctionType, name: String? = nil, backend: BindingOptions.Backend = .auto,
        rawHandler: @escaping @Sendable (_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) -> Void
    ) throws(CallStubError) {
        let label = name ?? CQualType(.pointer(CQualType(.function(type)))).description
        try self.init(signature: Self.signature(of: type, named: label), name: label, backend: backend) {
            rawHandler($0, $1)
        }
    }

    @usableFromInline
    init(
        signature: ValidatedSignature, name: String, backend: BindingOptions.Backend,
        indirect: (any IndirectCallbackBody)? = nil, register: RegisterCallbackBody? = nil,
        entry: @escaping CallbackEntry
    ) throws(CallStubError) {
        self.signature = signature
        self.name = name
        self.type = signature.function
        let box = CallbackBox(name: name, entry: entry, indirect: indirect, register: register)
        self.box = box
        let context = UnsafeRawPointer(Unmanaged.passUnretained(box).toOpaque())

        var jitFailure: String?
        if backend != .libffi {
            if let (pointer, slot) = Self.trampoline(for: box, signature: signature, failure: &jitFailure) {
                self.unsafePointer = pointer
                self.slot = slot
                self.closure = nil
                self.backend = .jit
                self.fallbackReason = nil
                return
            }
            if backend == .jit { throw .backendUnavailable(.jit, reason: jitFailure ?? "") }
        }
        do throws(FFIError) {
            let closure = try FFIClosure(signature, handler: callbackHandler, context: context)
            self.unsafePointer = CPointer(closure.code)
            self.closure = closure
            self.slot = nil
            self.backend = .libffi
            self.fallbackReason = jitFailure
        } catch {
            throw .unsupportedSignature(backend: .libffi, reason: "\(error)" + (jitFailure.map { "; and the JIT: \($0)" } ?? ""))
        }
    }

    /// The JIT path: a trampoline slot holding the box's closure and the C pointer into it,
    /// or `nil` with the reason in `failure`. A register callback's slot needs no LLVM: it
    /// calls the closure with C's registers as they are (jumping straight to a closure
    /// without a context, which needs no %r13). Any other goes into the one LLVM thunk of
    /// its shape, which calls the closure directly, as Swift would.
    private static func trampoline(
        for box: CallbackBox, signature: ValidatedSignature, failure: inout String?
    ) -> (pointer: CPointer, slot: TrampolineSlot)? {
        do throws(JITError) {
            if JITRuntime.disabled == nil, let register = box.registerBody {
                let words = closureWords(of: register)
                let direct = words.context == 0
                let slot = try TrampolinePool.shared.allocate(
                    function: words.function, context: words.context,
                    thunk: direct ? UnsafeRawPointer(bitPattern: words.function)! : nil)
                return (CPointer(direct ? slot.code : slot.registerCode), slot)
            }
            let compiler = try JITRuntime.shared.get()
            let plan = X86_64SysV.plan(signature)
            if let refusal = JITRuntime.refusal(plan) {
                failure = refusal.description
                return nil
            }
            let words = box.thunkClosure()
            let thunk = try compiler.pooledThunk(for: plan, indirect: words.indirect)
            let slot = try TrampolinePool.shared.allocate(function: words.function, context: words.context, thunk: thunk)
            return (CPointer(slot.code), slot)
        } catch {
            failure = error.description
            return nil
        }
    }

    deinit {
        box.released.store(true, ordering: .relaxed)
        // A trampoline's jump goes to its page's late-call stub at once: a later call stops
        // the program naming the callback, in every build, until the slot is reused.
        if let slot { TrampolinePool.shared.release(slot, name: name) }
        #if DEBUG
            // Debug builds keep the libffi closures and boxes of the most recently released
            // callbacks, so that a late call is reported (see `callbackHandler`) instead
            // of jumping into freed memory; older ones are freed, to bound memory.
            if closure != nil { CallbackQuarantine.admit(CallbackRemains(box: box, closure: closure)) }
        #endif
    }

    /// Whether a typed callback's closure can be called by the thunk itself: each argument's
    /// and the result's Swift value is its C bytes (scalars and pointers, not records).
    @usableFromInline
    static func passesIndirectly(arguments: [any CCallbackArgument.Type], result: any CCallbackResult.Type) -> Bool {
        arguments.allSatisfy { $0 is any CScalarConvertible.Type } && (result is any CScalarConvertible.Type || result is CVoid.Type)
    }

    /// Checks the Swift types of a typed callback against its C signature.
    @usableFromInline
    static func checkTyped(
        _ signature: ValidatedSignature, arguments: [any CCallbackArgument.Type], result: any CCallbackResult.Type
    ) throws(CallStubError) {
        guard arguments.count == signature.arguments.count else {
            throw .argumentCount(function: "callback", expected: signature.arguments.count, variadic: false, got: arguments.count)
        }
        for (index, (swiftType, slot)) in zip(arguments, signature.arguments).enumerated() {
            if let reason = swiftType.cArgumentMismatch(for: slot.valueClass) {
                throw .typeMismatch(position: "argument \(index + 1)", cType: slot.declared.description, swiftType: "\(swiftType)", reason: reason)
            }
        }
        if let reason = result.cResultMismatch(for: signature.result.valueClass) {
            throw .typeMismatch(position: "result", cType: signature.result.declared.description, swiftType: "\(result)", reason: reason)
        }
    }

    /// The validated signature of a C function-pointer type written in C.
    @usableFromInline
    static func signature(of declaration: String, scope: CScope) throws(CallStubError) -> ValidatedSignature {
        let type: CQualType
        do { type = try CDeclParser.parseTypeName(declaration, scope: scope) } catch { throw .malformedDeclaration(error) }
        let function: CFunctionType
        switch type.resolved.type {
        case .function(let direct): function = direct
        case .pointer(let pointee):
            guard case .function(let pointed) = pointee.resolved.type else {
                throw .declarationMismatch("\(declaration) is not a function pointer type")
            }
            function = pointed
        default:
            throw .declarationMismatch("\(declaration) is not a function pointer type")
        }
        return try signature(of: function, named: declaration)
    }

    static func signature(of function: CFunctionType, named name: String) throws(CallStubError) -> ValidatedSignature {
        if function.isVariadic || !function.isPrototyped {
            throw .declarationMismatch("\(name): variadic (or unprototyped) callbacks are not supported: C code calling one passes arguments a Swift closure cannot find")
        }
        var function = function
        function.isPrototyped = true
        do { return try ValidatedSignature.validate(function) } catch { throw .invalidSignature(error) }
    }
}

/// Runs `body` with the C function pointer of a callback that lives exactly as long as
/// the call to `body`.
public func withCallback<Result>(
    _ declaration: String, scope: CScope = .standard, handler: @escaping @Sendable ([CValue]) -> CValue,
    _ body: (CPointer) throws -> Result
) throws -> Result {
    try Callback(declaration, scope: scope, handler: handler).withPointer(body)
}

extension Callback {
    /// Runs `body` with the callback's C function pointer, keeping the callback alive
    /// until `body` returns: the scoped form for any callback, typed ones included
    /// (`try Callback.typed(…) { … }.withPointer { pointer in … }`).
    public func withPointer<Result, Failure: Error>(_ body: (CPointer) throws(Failure) -> Result) throws(Failure) -> Result {
        defer { withExtendedLifetime(self) {} }
        return try body(unsafePointer)
    }

    /// Keeps the callback (its code and closure) until the process exits, for a pointer C
    /// keeps that long: `atexit`, signal handlers, a global registration never undone.
    /// Returns the callback.
    @discardableResult
    public func keepUntilExit() -> Callback {
        Self.immortal.withLock { $0.append(self) }
        return self
    }

    private static let immortal = Lock<[Callback]>([])

    /// Callbacks are equal when they are the same object (the same code and closure).
    public static func == (left: Callback, right: Callback) -> Bool { left === right }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

// MARK: - Typed callbacks

/// A Swift type a typed callback can receive: read from the argument's C bytes.
public protocol CCallbackArgument: CArgumentConvertible {
    static func fromCArgument(_ pointer: UnsafeRawPointer, valueClass: CValueClass) -> Self
    /// The value from the 64 bits of its register, in a register callback
    /// (RegisterCallback.swift; only called when `cRegisterClass` is set).
    static func fromCRegisterWord(_ word: UInt64) -> Self
}

/// A Swift type a typed callback can return: written as the C result.
public protocol CCallbackResult: CResultConvertible {
    func toCResult(_ buffer: UnsafeMutableRawPointer)
    /// The result as %rax and %xmm0 hold it, in a register callback (only read when
    /// `cRegisterResult` is set).
    var cRegisterWords: (integer: UInt64, vector: Double) { get }
}

extension CScalarConvertible {
    @inlinable @inline(__always)
    public static func fromCArgument(_ pointer: UnsafeRawPointer, valueClass: CValueClass) -> Self {
        pointer.loadUnaligned(as: Self.self)
    }

    @inlinable @inline(__always)
    public func toCResult(_ buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: self, as: Self.self)
    }
}

extension Int8: CCallbackArgument, CCallbackResult {}
extension UInt8: CCallbackArgument, CCallbackResult {}
extension Int16: CCallbackArgument, CCallbackResult {}
extension UInt16: CCallbackArgument, CCallbackResult {}
extension Int32: CCallbackArgument, CCallbackResult {}
extension UInt32: CCallbackArgument, CCallbackResult {}
extension Int64: CCallbackArgument, CCallbackResult {}
extension UInt64: CCallbackArgument, CCallbackResult {}
extension Int: CCallbackArgument, CCallbackResult {}
extension UInt: CCallbackArgument, CCallbackResult {}
extension Int128: CCallbackArgument, CCallbackResult {}
extension UInt128: CCallbackArgument, CCallbackResult {}
extension Bool: CCallbackArgument, CCallbackResult {}
extension Float: CCallbackArgument, CCallbackResult {}
extension Double: CCallbackArgument, CCallbackResult {}
extension Float80: CCallbackArgument, CCallbackResult {}
extension UnsafeRawPointer: CCallbackArgument, CCallbackResult {}
extension UnsafeMutableRawPointer: CCallbackArgument, CCallbackResult {}
extension OpaquePointer: CCallbackArgument, CCallbackResult {}
extension UnsafePointer: CCallbackArgument, CCallbackResult {}
extension UnsafeMutablePointer: CCallbackArgument, CCallbackResult {}
extension Optional: CCallbackArgument, CCallbackResult where Wrapped: CPointerConvertible {}
extension CComplex: CCallbackArgument, CCallbackResult {}

extension CVoid: CCallbackResult {
    @inlinable @inline(__always)
    public func toCResult(_ buffer: UnsafeMutableRawPointer) {}
}

extension CRecordValue: CCallbackArgument, CCallbackResult {
    public static func fromCArgument(_ pointer: UnsafeRawPointer, valueClass: CValueClass) -> CRecordValue {
        guard case .record(let record) = valueClass else { preconditionFailure("checked when the callback was made") }
        return CRecordValue(trusted: record, bytes: Array(UnsafeRawBufferPointer(start: pointer, count: valueClass.size)))
    }

    public func toCResult(_ buffer: UnsafeMutableRawPointer) {
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}

// MARK: - Callbacks as arguments

extension Callback: CArgumentConvertible {
    /// A callback passes as any pointer parameter (its function pointer); the pointee type
    /// is the declaration's business, as with a C cast.
    public static func cArgumentMismatch(for valueClass: CValueClass) -> String? {
        if case .pointer = valueClass { return nil }
        return "passes as a function pointer; the C type is not a pointer"
    }

    public static var cVariadicType: CQualType? { CQualType(.pointer(to: .void)) }

    @inlinable
    public func withCArgument<Result>(
        for target: CallTarget, at index: Int, _ body: (UnsafeMutableRawPointer) -> Result
    ) -> Result {
        var address = unsafePointer.address
        // The callback lives until `body` (the call) returns.
        return withExtendedLifetime(self) { withUnsafeMutableBytes(of: &address) { body($0.baseAddress!) } }
    }
}

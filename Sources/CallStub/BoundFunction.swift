// A C function bound to a library symbol with a validated signature, callable in three
// styles: typed (`typed(_:returning:)`, checked once), dynamic (`call(_:)`, checked per
// call) and raw (`invoke(arguments:result:)`, libffi's `avalue` layout).

import ABILowering
import CDeclParser
import CTypeModel
import FFIBackend
import LLVMBackend
import Locks
import Synchronization

/// How a function is bound.
public struct BindingOptions: Hashable, Sendable {
    /// Which code path to call through.
    public enum Backend: String, Hashable, Sendable, CaseIterable {
        /// The fastest path available for the signature.
        case auto
        /// libffi's `ffi_call`.
        case libffi
        /// An LLVM-generated stub.
        case jit
    }

    /// When `.auto` compiles a stub.
    public enum Tiering: Hashable, Sendable {
        /// When the function is bound (the `compiled` policy).
        case eager
        /// After this many calls through libffi, on a background thread; the stub is
        /// swapped in atomically (the `adaptive` policy).
        case adaptive(afterCalls: Int)
    }

    public var backend: Backend
    /// How `.auto` tiers up; ignored by `.libffi` (never compiles) and `.jit` (compiles
    /// when bound, and fails if it cannot).
    public var tiering: Tiering
    /// Capture errno: it is set to 0 before each call and read right after it, in the same
    /// C frame, into a per-thread slot that `CErrno.captured` reads.
    public var capturesErrno: Bool
    /// How declarations are checked against the library's debug info.
    public var verification: VerificationPolicy

    /// The default tiering: stubs for functions called at least 1,000 times. Compiling a
    /// stub costs about 0.4 ms (plus about 15 ms once, to start the JIT) and saves about
    /// 18 ns per call, so it pays for itself after some 20,000 calls; functions called a
    /// few times never pay it, and hot ones switch early, off the calling thread.
    public static let defaultTiering = Tiering.adaptive(afterCalls: 1000)

    public init(
        backend: Backend = .auto, tiering: Tiering = BindingOptions.defaultTiering, capturesErrno: Bool = false,
        verification: VerificationPolicy = .abi
    ) {
        self.backend = backend
        self.tiering = tiering
        self.capturesErrno = capturesErrno
        self.verification = verification
    }
}

/// Whether a function's signature has been checked against the library's debug info.
public enum SignatureVerification: Hashable, Sendable, CustomStringConvertible {
    /// Not checked; `reason` says why.
    case unverified(reason: String)
    /// Checked against the library's type info (DWARF or CTF); `source` says where it was found.
    case verified(source: String)

    public var description: String {
        switch self {
        case .unverified(let reason): return "unverified (\(reason))"
        case .verified(let source): return "verified against \(source)"
        }
    }
}

/// The errno captured by the calling thread's last call of a function bound with
/// `capturesErrno`.
public enum CErrno {
    /// Read it on the thread that made the call, before the next such call.
    public static var captured: Int32 { FFICallInterface.capturedErrno }
}

/// A C function bound to a symbol. Thread-safe: any number of threads may call it at once.
/// It keeps its library loaded for as long as it lives.
public final class BoundFunction: Sendable, CustomStringConvertible {
    /// The symbol name.
    public let name: String
    /// The symbol's address.
    public let address: CPointer
    /// The function type as declared.
    public let type: CFunctionType
    /// The backend calls go through now (an adaptive binding moves from libffi to the JIT).
    public var backend: CallBackend { fixedTarget.currentBackend }
    /// Whether the declaration was checked against debug info.
    public let verification: SignatureVerification
    /// Differences from the debug info that do not change the call (signedness, typedef
    /// names, qualifiers, pointee types): kept as warnings under the `abi` policy.
    public let verificationWarnings: [SignatureDifference]
    /// Why calls do not use the JIT although it was allowed (`nil` when they do, or when
    /// libffi was asked for).
    public var fallbackReason: String? { fixedTarget.fallbackReason }
    /// The binding options the function was bound with.
    public let options: BindingOptions
    /// The backend the binding asked for.
    public let requestedBackend: BindingOptions.Backend
    /// The x86-64 SysV lowering of the fixed call shape.
    public var plan: CallPlan { fixedTarget.plan }
    /// Whether calls capture errno (see `BindingOptions.capturesErrno`).
    public let capturesErrno: Bool
    /// The declarations the function's declaration was read with, its own included:
    /// the place to find its record types by name.
    public let declarations: CScope

    let library: LibraryHandle
    /// The call shape with no variadic arguments.
    @usableFromInline let fixedTarget: CallTarget
    private let variadicTargets = Lock<[[CQualType]: CallTarget]>([:])
    private let inferredTargets = Lock(InferredTargets())
    /// The inferred tail used last, read without a lock: one of the `InferredTail`s the
    /// locked table holds, which live as long as this function (the table stops growing
    /// at its limit instead of dropping them), so a reader needs no reference of its own.
    private let lastInferredTail = Atomic<Unmanaged<InferredTail>?>(nil)
    /// Distinct variadic tails kept prepared: beyond this the explicit tails' cache starts
    /// over, and the inferred tails' stops growing (their entries live as long as the
    /// function; a tail past the limit is found by its C types on each call).
    static let variadicCacheLimit = 256

    init(
        name: String, library: LibraryHandle, address: UnsafeMutableRawPointer, signature: ValidatedSignature,
        declarations: CScope, options: BindingOptions, verification: SignatureVerification,
        warnings: [SignatureDifference], precompiled: Result<StubEntry, CallStubError>? = nil
    ) throws(CallStubError) {
        self.name = name
        self.library = library
        self.address = CPointer(address)
        self.type = signature.function
        self.verification = verification
        self.verificationWarnings = warnings
        self.capturesErrno = options.capturesErrno
        self.declarations = declarations
        self.requestedBackend = options.backend
        self.options = options
        self.fixedTarget = try CallTarget(
            signature: signature, function: self.address, library: library, options: options, precompiled: precompiled)
    }

    /// Blocks until every stub compilation queued in the background so far (adaptive
    /// tier-ups, of this function or any other) has finished. For tests and benchmarks
    /// that want the steady state; calls never need it.
    public func awaitTierUp() {
        JITRuntime.waitForBackgroundCompilations()
    }

    /// The canonical C declaration.
    public var declaration: String { CPrinter().print(.function(name: name, type: type)) }

    /// The name of the library the function comes from.
    public var libraryName: String { library.name }

    public var description: String { "\(declaration) [\(libraryName), \(backend), \(verification)]" }

    /// Whether the function takes variadic arguments (or has no prototype).
    public var isVariadic: Bool { fixedTarget.signature.isVariadic }

    /// The number of fixed parameters.
    public var parameterCount: Int { fixedTarget.signature.fixedArgumentCount }

    /// A struct or union type named in C (`div_t`, `struct P2d`) among the function's declarations.
    public func type(_ name: String) throws(CallStubError) -> CQualType {
        do { return try CDeclParser.parseTypeName(name, scope: declarations) } catch { throw .malformedDeclaration(error) }
    }

    /// A zeroed value of the struct or union type named `typeName` among the function's declarations.
    public func makeRecord(_ typeName: String) throws(CallStubError) -> CRecordValue {
        try CRecordValue.make(type(typeName))
    }

    // MARK: - Call shapes

    /// The prepared shape for this variadic tail (validated and promoted), made once per
    /// distinct tail and cached.
    func target(variadicTail tail: [CQualType]) throws(CallStubError) -> CallTarget {
        if tail.isEmpty { return fixedTarget }
        // Keyed by the tail as given: a hit costs a hash, not a validation.
        let key = tail
        if let cached = variadicTargets.withLock({ $0[key] }) { return cached }
        let signature: ValidatedSignature
        do { signature = try ValidatedSignature.validate(type, variadicTail: tail) } catch { throw .invalidSignature(error) }
        let made = try CallTarget(signature: signature, function: address, library: library, options: options)
        return variadicTargets.withLock { cache in
            if let raced = cache[key] { return raced }
            if cache.count >= Self.variadicCacheLimit { cache.removeAll() }
            cache[key] = made
            return made
        }
    }

    /// The number of variadic call shapes prepared so far.
    public var preparedVariadicShapeCount: Int { variadicTargets.withLock { $0.count } }

    // MARK: - Dynamic calls

    /// Calls with dynamic values, checked against the signature on every call.
    /// Variadic arguments take the type a C literal of the value would have (`.int(5)` is
    /// an `int`, `.int(1 << 40)` a `long`, `.float` is promoted to `double`, `.string` is
    /// a `char *`); pass `variadicTypes` to choose them.
    ///
    /// The array does not escape: when the call is inlined into the caller, an array
    /// literal built for it can live on the stack.
    @inlinable
    public func call(_ arguments: [CValue] = []) throws(CallStubError) -> CValue {
        try arguments.withUnsafeBufferPointer { (buffer) throws(CallStubError) -> CValue in try call(buffer) }
    }

    /// Calls with dynamic values kept in the caller's own storage (an interpreter's value
    /// stack, say): nothing is copied or allocated for them.
    public func call(_ arguments: UnsafeBufferPointer<CValue>) throws(CallStubError) -> CValue {
        // The fixed shape is converted and called in this one frame (each nested call
        // forwarding a typed error cost ~40 instructions, a quarter of a call of `f0`).
        if arguments.count == fixedTarget.signature.fixedArgumentCount { return try fixedTarget.call(arguments) }
        return try call(variadicOrMiscounted: arguments)
    }

    /// Calls with arguments beyond the fixed ones: a variadic tail, or a wrong count.
    @inline(never)
    private func call(variadicOrMiscounted arguments: UnsafeBufferPointer<CValue>) throws(CallStubError) -> CValue {
        let fixed = fixedTarget.signature.fixedArgumentCount
        try checkCount(arguments.count)
        // Most tails are scalars: find their shape by a packed code of the value kinds,
        // without building or hashing C types.
        let code = Self.inferredTailCode(arguments[fixed...])
        if let code {
            // The call is made inside the unretained reference: taking the target out of it
            // retained and released it, two atomic operations (~9 ns) a call.
            if let last = lastInferredTail.load(ordering: .acquiring),
                let result = last._withUnsafeGuaranteedRef({ entry -> Result<CValue, CallStubError>? in
                    guard entry.code == code else { return nil }
                    do throws(CallStubError) { return .success(try entry.target.callOutlined(arguments)) } catch {
                        return .failure(error)
                    }
                })
            {
                return try result.get()
            }
            if let cached = inferredTargets.withLock({ $0.tail(for: code) }) {
                lastInferredTail.store(Unmanaged.passUnretained(cached), ordering: .releasing)
                return try cached.target.callOutlined(arguments)
            }
        }
        var tail: [CQualType] = []
        for (offset, value) in arguments[fixed...].enumerated() {
            tail.append(try Self.variadicType(of: value, position: fixed + offset + 1))
        }
        let target = try target(variadicTail: tail)
        if let code, let entry = inferredTargets.withLock({ $0.insert(target, for: code, limit: Self.variadicCacheLimit) }) {
            lastInferredTail.store(Unmanaged.passUnretained(entry), ordering: .releasing)
        }
        return try target.callOutlined(arguments)
    }

    /// One inferred variadic tail's call shape, by its `inferredTailCode`.
    final class InferredTail: Sendable {
        let code: UInt64
        let target: CallTarget
        init(code: UInt64, target: CallTarget) {
            self.code = code
            self.target = target
        }
    }

    /// The call shapes of inferred variadic tails, by `inferredTailCode`: kept for the
    /// function's lifetime (`lastInferredTail` points into them), at most `limit`.
    struct InferredTargets {
        private var byCode: [UInt64: InferredTail] = [:]

        func tail(for code: UInt64) -> InferredTail? { byCode[code] }

        /// The new entry, or `nil` when the table is full (the call still goes ahead).
        mutating func insert(_ target: CallTarget, for code: UInt64, limit: Int) -> InferredTail? {
            if let existing = byCode[code] { return existing }
            guard byCode.count < limit else { return nil }
            let entry = InferredTail(code: code, target: target)
            byCode[code] = entry
            return entry
        }
    }

    /// A code for the inferred C types of a scalar variadic tail of up to 15 values
    /// (4 bits per value, the count on top), or `nil` for tails it cannot describe.
    static func inferredTailCode(_ tail: Slice<UnsafeBufferPointer<CValue>>) -> UInt64? {
        guard tail.count < 15 else { return nil }
        var code = UInt64(tail.count) << 60
        // Read in place (a value copied out of the slice went through the enum's outlined copy).
        let values = tail.base.baseAddress.unsafelyUnwrapped + tail.startIndex
        for index in 0..<tail.count {
            let kind: UInt64
            switch values[index] {
            case .bool: kind = 1
            case .int(let number): kind = Int32(exactly: number) != nil ? 1 : 2
            case .uint(let number): kind = UInt32(exactly: number) != nil ? 3 : 4
            case .float, .double: kind = 5
            case .longDouble: kind = 6
            case .pointer, .callback: kind = 7
            case .string: kind = 8
            case .int128: kind = 9
            case .uint128: kind = 10
            case .complexFloat: kind = 11
            case .complexDouble: kind = 12
            case .complexLongDouble: kind = 13
            case .void, .record, .array: return nil
            }
            code |= kind << (4 * UInt64(index))
        }
        return code
    }

    /// Calls a variadic function with the variadic arguments' C types given explicitly
    /// (the default argument promotions are applied to them).
    public func call(_ arguments: [CValue], variadicTypes: [CQualType]) throws(CallStubError) -> CValue {
        let fixed = fixedTarget.signature.fixedArgumentCount
        try checkCount(arguments.count)
        guard arguments.count - fixed == variadicTypes.count else {
            throw .argumentCount(function: name, expected: fixed + variadicTypes.count, variadic: false, got: arguments.count)
        }
        return try target(variadicTail: variadicTypes).callOutlined(arguments)
    }

    private func checkCount(_ count: Int) throws(CallStubError) {
        let fixed = fixedTarget.signature.fixedArgumentCount
        if count < fixed || (!isVariadic && count != fixed) {
            throw .argumentCount(function: name, expected: fixed, variadic: isVariadic, got: count)
        }
    }

    /// The C type a dynamic value has as a variadic argument: the type of the C literal.
    static func variadicType(of value: CValue, position: Int) throws(CallStubError) -> CQualType {
        switch value {
        case .bool: return CQualType(.int)
        case .int(let number): return CQualType(Int32(exactly: number) != nil ? .int : .long)
        case .uint(let number): return CQualType(UInt32(exactly: number) != nil ? .unsignedInt : .unsignedLong)
        case .int128: return CQualType(.integer(.int128))
        case .uint128: return CQualType(.integer(.unsignedInt128))
        case .float, .double: return CQualType(.double)
        case .longDouble: return CQualType(.longDouble)
        case .complexFloat: return CQualType(.complex(.float))
        case .complexDouble: return CQualType(.complex(.double))
        case .complexLongDouble: return CQualType(.complex(.longDouble))
        case .pointer, .callback: return CQualType(.pointer(to: .void))
        case .string: return CQualType(.pointer(to: .char))
        case .record(let record): return CQualType(.record(record.record))
        case .void, .array:
            throw .invalidArgument(
                position: "variadic argument \(position)", type: "?",
                reason: "\(ValueCoding.kindName(value)) has no C type; give variadicTypes")
        }
    }

    // MARK: - Raw calls

    /// The bytes `invoke`'s result buffer must hold (at least 16).
    public var resultBufferSize: Int { fixedTarget.resultBufferSize }

    /// Calls with libffi's `avalue` layout: `arguments[i]` points at the i-th fixed
    /// argument's value (the C type's size and alignment), `result` at `resultBufferSize`
    /// writable bytes (integer results narrower than 8 bytes are widened to 8). The array
    /// is not modified. Nothing is checked: this is the path for callers that manage
    /// their own buffers.
    @inlinable @inline(__always)
    public func invoke(arguments: UnsafePointer<UnsafeMutableRawPointer?>, result: UnsafeMutableRawPointer) {
        fixedTarget.invokePreservingArguments(arguments, result)
    }

    /// The JIT stub serving raw calls now and the function address to hand it, or `nil`
    /// while libffi serves. The stub is `int stub(void *fn, void **args, void *result)`
    /// and returns 0: a C entry point can return its status by jumping to it (the C API's
    /// `callstub_call` does). Read it for each call: adaptive tiering swaps it in later.
    @inlinable @inline(__always)
    public var currentStub: (stub: UnsafeRawPointer, function: UnsafeRawPointer)? { fixedTarget.currentStub }

    /// One variadic call shape prepared for repeated raw or dynamic calls (see `VariadicShape`).
    public func variadicShape(_ variadicTypes: [CQualType]) throws(CallStubError) -> VariadicShape {
        VariadicShape(function: self, target: try target(variadicTail: variadicTypes))
    }

    /// The variadic call shape whose tail has the C types `typeNames`, comma-separated
    /// type names read in the function's declarations (`"int, double, const char *"`).
    public func variadicShape(typeNames: String) throws(CallStubError) -> VariadicShape {
        var types: [CQualType] = []
        for text in Self.topLevelParts(typeNames) {
            do { types.append(try CDeclParser.parseTypeName(text, scope: declarations)) } catch {
                throw .malformedDeclaration(error)
            }
        }
        return try variadicShape(types)
    }

    /// `text` split at the commas outside parentheses and brackets (`int (*)(int, int)` is one).
    static func topLevelParts(_ text: String) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for character in text {
            switch character {
            case "(", "[": depth += 1
            case ")", "]": depth -= 1
            case "," where depth == 0:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        if current.contains(where: { !$0.isWhitespace }) || !parts.isEmpty { parts.append(current) }
        return parts
    }

    /// Raw calls of one variadic shape: `arguments` holds the fixed arguments and then the
    /// variadic ones, of the (promoted) `variadicTypes`. For repeated calls of one shape,
    /// `variadicShape(_:)` prepares it once.
    public func invoke(
        arguments: UnsafePointer<UnsafeMutableRawPointer?>, result: UnsafeMutableRawPointer, variadicTypes: [CQualType]
    ) throws(CallStubError) {
        try target(variadicTail: variadicTypes).invokePreservingArguments(arguments, result)
    }
}

/// A variadic function with one tail of argument types, prepared once: its calls take the
/// fixed arguments followed by the tail's, with no per-call lookup. Keeps its function
/// (and so its library) alive.
public struct VariadicShape: Sendable {
    public let function: BoundFunction
    @usableFromInline let target: CallTarget

    init(function: BoundFunction, target: CallTarget) {
        self.function = function
        self.target = target
    }

    /// Raw call: `arguments` holds the fixed and then the variadic arguments (promoted types).
    @inlinable @inline(__always)
    public func invoke(arguments: UnsafePointer<UnsafeMutableRawPointer?>, result: UnsafeMutableRawPointer) {
        target.invokePreservingArguments(arguments, result)
    }

    /// The shape's JIT stub and the function's address, when the stub is compiled (see
    /// `BoundFunction.currentStub`).
    @inlinable @inline(__always)
    public var currentStub: (stub: UnsafeRawPointer, function: UnsafeRawPointer)? { target.currentStub }

    /// Dynamic call with exactly the fixed and variadic arguments of this shape.
    public func call(_ arguments: [CValue]) throws(CallStubError) -> CValue {
        guard arguments.count == target.signature.arguments.count else {
            throw .argumentCount(
                function: function.name, expected: target.signature.arguments.count, variadic: false, got: arguments.count)
        }
        return try target.callOutlined(arguments)
    }
}

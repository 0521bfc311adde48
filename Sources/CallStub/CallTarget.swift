// The callable entry behind a bound function: one prepared call shape (a validated
// signature, for variadic functions one tail) with the backend that executes it. Every
// calling style ends here: typed calls with a frame on the stack, dynamic calls with a
// frame they fill from values, raw calls with the caller's own `avalue` array.

import ABILowering
import FFIBackend
import LLVMBackend
import CSwiftRuntime
import Locks
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One prepared call shape of a bound function: opaque to users, it appears only in the
/// `CArgumentConvertible` requirement so that record arguments can check their type.
public final class CallTarget: Sendable {
    let signature: ValidatedSignature
    @usableFromInline let function: CPointer
    /// The library the function lives in, kept loaded for as long as any handle (typed
    /// handles and variadic shapes hold only the target) can call it.
    private let library: LibraryHandle
    let capturesErrno: Bool
    /// Whether typed handles may call the function itself (RegisterCall.swift): not when
    /// the binding asked for libffi.
    let allowsRegisterCalls: Bool
    /// The x86-64 SysV lowering: what a stub implements.
    let plan: CallPlan
    /// libffi's prepared interface, or `nil` when libffi cannot take the signature.
    private let interface: FFICallInterface?
    /// The JIT stub's address, 0 while calls go through libffi. Written once (at binding,
    /// or by the background tier-up), read on every call.
    @usableFromInline let stubAddress = Atomic<UInt>(0)
    /// libffi calls so far, counted only while an adaptive binding waits to tier up.
    private let interpretedCalls = Atomic<Int>(0)
    /// The call count at which an adaptive binding compiles its stub (`Int.max`: never).
    private let tierUpThreshold: Int
    /// Why the JIT is not used although it was allowed (`nil` when it is, or not yet tried).
    private let fallback = Lock<String?>(nil)
    /// The size of a dynamic call's frame (where each argument sits: `steps`).
    let frameSize: Int
    /// Bytes a result buffer needs (at least 16: libffi stores whole registers).
    @usableFromInline let resultBufferSize: Int
    private let argumentCount: Int
    private let ffiWritesArgumentArray: Bool
    /// Where the argument-pointer array and the result buffer sit in a dynamic call's scratch space.
    private let argumentArrayOffset: Int
    private let resultOffset: Int
    private let scratchSize: Int
    private let scratchAlignment: Int
    /// Whether the scratch block fits the 512 bytes a dynamic call takes on the stack once
    /// aligned there, and the mask that aligns it (both worked out here, not on each call).
    private let scratchFitsOnStack: Bool
    private let scratchAlignmentMask: UInt
    /// One step per argument of a dynamic call (where its value goes, how it converts),
    /// read without bounds checks or reference counting; written once in `init` and only
    /// read after (so shared across threads safely), freed in `deinit`.
    nonisolated(unsafe) private let steps: UnsafeMutableBufferPointer<ArgumentStep>
    private let resultCoder: FastCoder
    /// The record type of each record argument, for the typed path's identity check.
    /// Each argument's alignment, and the result's: typed calls copy records aligned
    /// beyond 16 bytes into aligned storage.
    @usableFromInline let argumentAlignments: [Int]
    @usableFromInline let resultAlignment: Int
    @usableFromInline let recordIdentities: [ObjectIdentifier?]
    /// The result's record type and size when it is a record, for typed calls returning
    /// a `CRecordValue` (read here, not from the signature, on every call).
    let resultRecord: CRecord?
    let resultSize: Int
    /// The storage of the last record result handed out, reused for the next one when the
    /// caller has dropped it (a record result costs no allocation then). Only the thread
    /// in `recycledResultOwner` touches it; other threads allocate.
    /// (Exclusivity is what the owner guarantees: the run-time check cost ~150 instructions.)
    @exclusivity(unchecked) nonisolated(unsafe) private var recycledResult: CRecordValue.Storage?
    /// The first thread to return a record through this shape (`pthread_self`), or 0. A
    /// flag claimed on every call instead cost a `cmpxchg` and a store, ~5 ns; a thread id
    /// is unique among live threads, so one reused by a later thread is safe too.
    private let recycledResultOwner = Atomic<UInt>(0)

    /// Prepares a call shape under `options`: `.libffi` prepares only libffi; `.jit`
    /// compiles a stub now and fails without one; `.auto` prepares libffi and compiles a
    /// stub now (eager tiering) or after enough calls (adaptive), falling back to libffi
    /// with the reason recorded when the JIT cannot serve. A signature libffi cannot take
    /// is compiled at once under every `.auto` tiering.
    init(
        signature: ValidatedSignature, function: CPointer, library: LibraryHandle, options: BindingOptions,
        precompiled: Result<StubEntry, CallStubError>? = nil
    ) throws(CallStubError) {
        self.signature = signature
        self.function = function
        self.library = library
        self.capturesErrno = options.capturesErrno
        allowsRegisterCalls = options.backend != .libffi
        plan = X86_64SysV.plan(signature)

        var ffi: FFICallInterface?
        var ffiRefusal: String?
        if options.backend != .jit {
            do throws(FFIError) {
                ffi = try FFICallInterface(signature)
            } catch {
                ffiRefusal = error.description
            }
        }
        if options.backend == .libffi, ffi == nil {
            throw .unsupportedSignature(backend: .libffi, reason: ffiRefusal ?? "")
        }
        interface = ffi

        // When to compile: now, later, or never.
        var compileNow = false
        var threshold = Int.max
        switch (options.backend, options.tiering) {
        case (.libffi, _): break
        case (.jit, _), (.auto, .eager): compileNow = true
        case (.auto, .adaptive(let calls)):
            if ffi == nil || calls <= 0 { compileNow = true } else { threshold = calls }
        }
        tierUpThreshold = threshold
        if compileNow {
            switch precompiled ?? JITRuntime.stub(for: plan, capturesErrno: options.capturesErrno) {
            case .success(let entry):
                stubAddress.store(UInt(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self)), ordering: .releasing)
            case .failure(let error):
                if options.backend == .jit { throw error }
                guard ffi != nil else {
                    throw .unsupportedSignature(backend: .libffi, reason: "\(ffiRefusal ?? ""); and \(error.description)")
                }
                fallback.withLock { $0 = error.description }
            }
        }

        var offsets: [Int] = []
        var size = 0
        for slot in signature.arguments {
            size = (size + slot.valueClass.alignment - 1) / slot.valueClass.alignment * slot.valueClass.alignment
            offsets.append(size)
            size += slot.valueClass.size
        }
        frameSize = max(size, 1)
        resultBufferSize = max(16, signature.result.valueClass.size)
        argumentCount = signature.arguments.count
        // Only libffi writes into the argument array (by-value structs over 16 bytes).
        ffiWritesArgumentArray = ffi?.writesArgumentArray ?? false
        // Arguments and results are read and written with their alignment (a byval copy
        // of an aligned(32) record uses aligned vector moves), so the scratch block is
        // aligned to the largest of them.
        let alignment = max(16, signature.result.valueClass.alignment, signature.arguments.map(\.valueClass.alignment).max() ?? 1)
        scratchAlignment = alignment
        argumentAlignments = signature.arguments.map(\.valueClass.alignment)
        resultAlignment = signature.result.valueClass.alignment
        argumentArrayOffset = (frameSize + 15) / 16 * 16
        resultOffset = (argumentArrayOffset + argumentCount * 8 + alignment - 1) / alignment * alignment
        scratchSize = resultOffset + resultBufferSize
        scratchFitsOnStack = scratchSize + (alignment - 16) <= 512
        scratchAlignmentMask = UInt(alignment - 1)
        recordIdentities = signature.arguments.map { slot in
            if case .record(let record) = slot.valueClass { return ObjectIdentifier(record) }
            return nil
        }
        steps = UnsafeMutableBufferPointer.allocate(capacity: max(1, signature.arguments.count))
        for (index, slot) in signature.arguments.enumerated() {
            steps.initializeElement(
                at: index, to: ArgumentStep(offset: offsets[index], slot.valueClass, record: recordIdentities[index]))
        }
        resultCoder = FastCoder(signature.result.valueClass)
        if case .record(let record) = signature.result.valueClass { resultRecord = record } else { resultRecord = nil }
        resultSize = signature.result.valueClass.size
    }

    /// The backend serving calls now.
    var currentBackend: CallBackend { stubAddress.load(ordering: .acquiring) != 0 ? .jit : .libffi }
    /// Why the JIT does not serve calls although it may.
    var fallbackReason: String? { fallback.withLock { $0 } }

    /// Calls the function. `arguments` has libffi's `avalue` layout and may be written to
    /// by libffi (see `FFICallInterface.writesArgumentArray`); `result` holds
    /// `resultBufferSize` bytes.
    @inlinable @inline(__always)
    func invoke(_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) {
        let stub = stubAddress.load(ordering: .acquiring)
        if stub != 0 {
            unsafeBitCast(UnsafeRawPointer(bitPattern: stub), to: StubEntry.self)(functionAddress, arguments, result)
        } else {
            invokeInterpreted(arguments, result)
        }
    }

    @inlinable var functionAddress: UnsafeRawPointer { UnsafeRawPointer(bitPattern: function.address).unsafelyUnwrapped }

    /// The JIT stub serving this shape now and the function's address, or `nil` while
    /// libffi serves (see `BoundFunction.currentStub`).
    @inlinable @inline(__always)
    var currentStub: (stub: UnsafeRawPointer, function: UnsafeRawPointer)? {
        let stub = stubAddress.load(ordering: .acquiring)
        guard stub != 0 else { return nil }
        return (UnsafeRawPointer(bitPattern: stub).unsafelyUnwrapped, functionAddress)
    }

    /// A libffi call, counting towards an adaptive tier-up.
    @usableFromInline
    func invokeInterpreted(_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer) {
        if tierUpThreshold != Int.max {
            let calls = interpretedCalls.wrappingAdd(1, ordering: .relaxed).newValue
            if calls == tierUpThreshold { tierUp() }
        }
        interface!.call(functionAddress, arguments: arguments, result: result, capturingErrno: capturesErrno)
    }

    /// Compiles the stub off the calling thread and swaps it in.
    private func tierUp() {
        JITRuntime.compileInBackground(plan: plan, capturesErrno: capturesErrno) { [self] outcome in
            switch outcome {
            case .success(let entry):
                stubAddress.store(UInt(bitPattern: unsafeBitCast(entry, to: UnsafeRawPointer.self)), ordering: .releasing)
            case .failure(let error):
                fallback.withLock { $0 = error.description }
            }
        }
    }

    deinit {
        steps.deallocate()
        // The stub is shared by every target of the same shape; the compiler frees its
        // code when the last one goes.
        if stubAddress.load(ordering: .acquiring) != 0 { JITRuntime.release(plan: plan, capturesErrno: capturesErrno) }
    }

    /// Waits for a pending background compilation of this shape (tests and benchmarks).
    func waitForTierUp() {
        JITRuntime.waitForBackgroundCompilations()
    }

    /// Calls with an argument array the caller may reuse: copied first when libffi would
    /// write into it (stubs never write to it).
    @inlinable @inline(__always)
    func invokePreservingArguments(
        _ arguments: UnsafePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer
    ) {
        let stub = stubAddress.load(ordering: .acquiring)
        if stub != 0 {
            unsafeBitCast(UnsafeRawPointer(bitPattern: stub), to: StubEntry.self)(
                functionAddress, UnsafeMutablePointer(mutating: arguments), result)
        } else {
            invokeInterpretedPreservingArguments(arguments, result)
        }
    }

    @usableFromInline
    func invokeInterpretedPreservingArguments(
        _ arguments: UnsafePointer<UnsafeMutableRawPointer?>, _ result: UnsafeMutableRawPointer
    ) {
        let count = argumentCount
        if !ffiWritesArgumentArray {
            invokeInterpreted(UnsafeMutablePointer(mutating: arguments), result)
            return
        }
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: max(1, count)) { copy in
            for index in 0..<count { copy[index] = arguments[index] }
            invoke(copy.baseAddress!, result)
        }
    }

    // MARK: - Dynamic calls

    /// `callOutlined(_:)` on an array's elements.
    func callOutlined(_ values: [CValue]) throws(CallStubError) -> CValue {
        try values.withUnsafeBufferPointer { (buffer) throws(CallStubError) -> CValue in try callOutlined(buffer) }
    }

    /// `call(_:)` in a frame of its own, for the callers off the fixed shape's path.
    @inline(never)
    func callOutlined(_ values: UnsafeBufferPointer<CValue>) throws(CallStubError) -> CValue {
        try call(values)
    }

    /// Converts `values` into a frame, calls, and reads the result back as a value; inlined
    /// into `BoundFunction.call`, so that a call of the fixed shape is one frame.
    @inline(__always)
    func call(_ values: UnsafeBufferPointer<CValue>) throws(CallStubError) -> CValue {
        // One scratch block on the stack: the frame, the argument array, the result. A
        // constant size aligned to 16 keeps the allocation free (a larger alignment sends
        // it to the heap: posix_memalign, ~50 ns), so an over-aligned frame is aligned
        // inside the block; large frames take the general route.
        if scratchFitsOnStack {
            return try withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { (scratch) throws(CallStubError) -> CValue in
                let base = UInt(bitPattern: scratch.baseAddress.unsafelyUnwrapped)
                let aligned = UnsafeMutableRawPointer(bitPattern: (base &+ scratchAlignmentMask) & ~scratchAlignmentMask)
                return try call(values, scratch: aligned.unsafelyUnwrapped)
            }
        }
        return try withUnsafeTemporaryAllocation(byteCount: scratchSize, alignment: scratchAlignment) { (scratch) throws(CallStubError) -> CValue in
            try call(values, scratch: scratch.baseAddress!)
        }
    }

    /// The fast conversions only; the first value they do not take sends the whole call
    /// to `callGeneral` (conversions have no side effects), so that this path keeps no
    /// string arena to release.
    @inline(__always)
    private func call(_ values: UnsafeBufferPointer<CValue>, scratch base: UnsafeMutableRawPointer) throws(CallStubError) -> CValue {
        let argumentArray = (base + argumentArrayOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        // The count was checked against this shape by the caller.
        let stepBase = steps.baseAddress.unsafelyUnwrapped
        let valueBase = values.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<CValue>.alignment).unsafelyUnwrapped
        var index = 0
        while index < values.count {
            let step = stepBase[index]
            let destination = base + step.offset
            guard let argument = step.place(valueBase + index, at: destination) else { return try callGeneral(values, scratch: base) }
            argumentArray[index] = argument
            index += 1
        }
        return invokeAndLoad(argumentArray, scratch: base)
    }

    /// Every conversion, with copies of `.string` arguments kept until the call returns.
    @inline(never)
    private func callGeneral(_ values: UnsafeBufferPointer<CValue>, scratch base: UnsafeMutableRawPointer) throws(CallStubError) -> CValue {
        var strings: StringArena?  // made only when there are strings
        let argumentArray = (base + argumentArrayOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        for index in values.indices {
            let step = steps[index]
            let destination = base + step.offset
            let value = values.baseAddress.unsafelyUnwrapped + index
            if let argument = step.place(value, at: destination) {
                argumentArray[index] = argument
            } else {
                if !step.coder.placeComplex(value, at: destination) {
                    try storeGeneral(values[index], index: index, at: destination, strings: &strings)
                }
                argumentArray[index] = destination
            }
        }
        return withExtendedLifetime(strings) { invokeAndLoad(argumentArray, scratch: base) }
    }

    /// Calls with the frame built and reads the result back as a value.
    @inline(__always)
    private func invokeAndLoad(_ argumentArray: UnsafeMutablePointer<UnsafeMutableRawPointer?>, scratch base: UnsafeMutableRawPointer) -> CValue {
        let result = base + resultOffset
        result.storeBytes(of: (0 as UInt64, 0 as UInt64), as: (UInt64, UInt64).self)
        invoke(argumentArray, result)
        if resultRecord != nil { return .record(recordResult(from: result)) }
        return resultCoder.load(from: result) ?? ValueCoding.load(signature.result.valueClass, from: result)
    }

    /// A record result as a value, in the recycled storage when this thread owns it.
    func recordResult(from buffer: UnsafeRawPointer) -> CRecordValue {
        let thread = UInt(pthread_self())
        var owner = recycledResultOwner.load(ordering: .relaxed)
        if owner == 0 {
            owner = recycledResultOwner.compareExchange(expected: 0, desired: thread, ordering: .relaxed).original
            if owner == 0 { owner = thread }
        }
        guard owner == thread else { return CRecordValue(storage: newResultStorage(from: buffer)) }
        if isKnownUniquelyReferenced(&recycledResult) {
            // The last result was dropped: its storage is written in place (its bytes too,
            // unless someone kept them: then copy-on-write gives new ones).
            // Through an unowned reference: `recycledResult` keeps the storage, and a strong
            // one would retain and release it around the write.
            Unmanaged.passUnretained(recycledResult.unsafelyUnwrapped)._withUnsafeGuaranteedRef {
                $0.withMutableBytes { Self.copyResult(from: buffer, to: $0.baseAddress!, count: resultSize) }
            }
        } else {
            recycledResult = newResultStorage(from: buffer)
        }
        // Handed out with a non-atomic retain: this thread's `recycledResult` is the only
        // reference (checked above, or just made), so no other thread can be changing the
        // count. The locked add of `swift_retain` was a sixth of a dynamic call of `l4`.
        let storage = Unmanaged.passUnretained(recycledResult.unsafelyUnwrapped)
        _ = callstub_retain_uniquely_held(storage.toOpaque())
        return CRecordValue(storage: storage.takeRetainedValue())
    }

    /// A result's bytes, read an eightbyte at a time as the stub (or the callee, for a
    /// result in memory) wrote them: memcpy's 16-byte load over the two 8-byte stores of a
    /// `{double, double}` result waited for them to reach the cache (store forwarding
    /// fails across stores), as the Python package measured (docs/benchmarks.md).
    @inline(__always)
    private static func copyResult(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int) {
        guard count % 8 == 0 else { return destination.copyMemory(from: source, byteCount: count) }
        var offset = 0
        while offset < count {
            destination.storeBytes(of: source.load(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
            offset &+= 8
        }
    }

    /// A storage of its own for a record result. The record type is read only here:
    /// reading it on every call cost a retain and a release (two atomic operations).
    private func newResultStorage(from buffer: UnsafeRawPointer) -> CRecordValue.Storage {
        CRecordValue.Storage(record: resultRecord.unsafelyUnwrapped, bytes: Array(UnsafeRawBufferPointer(start: buffer, count: resultSize)))
    }

    private func storeGeneral(
        _ value: CValue, index: Int, at destination: UnsafeMutableRawPointer, strings: inout StringArena?
    ) throws(CallStubError) {
        if case .string = value, strings == nil { strings = StringArena() }
        let slot = signature.arguments[index]
        do throws(ValueMismatch) {
            try ValueCoding.store(value, as: slot.valueClass, at: destination, strings: strings)
        } catch {
            let position = index < signature.fixedArgumentCount ? "argument \(index + 1)" : "variadic argument \(index + 1)"
            throw .invalidArgument(position: position, type: slot.declared.description, reason: error.reason)
        }
    }
}

/// Where one argument of a dynamic call goes in the frame, and how its value converts.
struct ArgumentStep {
    let offset: Int
    let coder: FastCoder
    /// For the record kinds: the record's identity (values of the same record go fast) and,
    /// for `recordCopied`, its size. (A copy of `CallTarget.recordIdentities`' entry, next
    /// to the rest of the step the loop reads.)
    let record: ObjectIdentifier?
    let size: Int

    /// `record`: the argument's entry of `CallTarget.recordIdentities`.
    init(offset: Int, _ valueClass: CValueClass, record: ObjectIdentifier?) {
        self.offset = offset
        coder = FastCoder(valueClass)
        self.record = record
        size = record == nil ? 0 : valueClass.size
    }

    /// Where the argument array points for this value: `destination`, with the value
    /// stored there, or a record value's own bytes (calls only read a by-value argument's
    /// bytes, libffi included; the caller's array keeps the value alive for the call);
    /// `nil` sends the value to the general path (which also produces the error message).
    /// The value is read in place: the switch on the coder comes first, so each case reads
    /// one payload kind without copying the whole `CValue` (and retaining a record's
    /// storage).
    @inline(__always)
    func place(_ value: UnsafePointer<CValue>, at destination: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        coder.place(value, at: destination, record: record, size: size)
    }
}

extension FastCoder {
    /// `ArgumentStep.place`, with the step's record identity and size. (Written as the
    /// step's own method, the same switch was left out of line despite `@inline(__always)`:
    /// a call per argument, add2 +16 instructions.)
    @inline(__always)
    func place(
        _ value: UnsafePointer<CValue>, at destination: UnsafeMutableRawPointer, record: ObjectIdentifier?, size: Int
    ) -> UnsafeMutableRawPointer? {
        switch self {
        case .double:
            if case .double(let number) = value.pointee {
                destination.storeBytes(of: number, as: Double.self)
            } else if case .int(let number) = value.pointee {
                destination.storeBytes(of: Double(number), as: Double.self)
            } else {
                return nil
            }
        case .float:
            guard case .float(let number) = value.pointee else { return nil }
            destination.storeBytes(of: number, as: Float.self)
        // The integer widths spelled out: a generic helper for them cost 1 to 7 instructions
        // a call (`callstub bench --instructions`), on rows without integers too.
        case .int64:
            guard case .int(let number) = value.pointee else { return nil }
            destination.storeBytes(of: number, as: Int64.self)
        case .int32:
            guard case .int(let number) = value.pointee, let narrow = Int32(exactly: number) else { return nil }
            destination.storeBytes(of: narrow, as: Int32.self)
        case .int16:
            guard case .int(let number) = value.pointee, let narrow = Int16(exactly: number) else { return nil }
            destination.storeBytes(of: narrow, as: Int16.self)
        case .int8:
            guard case .int(let number) = value.pointee, let narrow = Int8(exactly: number) else { return nil }
            destination.storeBytes(of: narrow, as: Int8.self)
        case .uint64:
            guard case .uint(let number) = value.pointee else { return nil }
            destination.storeBytes(of: number, as: UInt64.self)
        case .uint32:
            guard case .uint(let number) = value.pointee, let narrow = UInt32(exactly: number) else { return nil }
            destination.storeBytes(of: narrow, as: UInt32.self)
        case .pointer:
            guard case .pointer(let pointer) = value.pointee else { return nil }
            destination.storeBytes(of: pointer.address, as: UInt.self)
        case .recordInPlace:
            guard case .record(let value) = value.pointee, ObjectIdentifier(value.storage.record) == record else { return nil }
            // The bytes at the storage's address (reading `bytes` would retain the array).
            // Copied into the frame, they cost more than the copy: a 32-byte record's bytes,
            // read back by the stub a word at a time, waited for the copy's stores (store
            // forwarding), as in the Python package (docs/benchmarks.md).
            return UnsafeMutableRawPointer(mutating: value.storage.address)
        case .recordCopied:
            guard case .record(let value) = value.pointee, ObjectIdentifier(value.storage.record) == record else { return nil }
            destination.copyMemory(from: value.storage.address, byteCount: size)
        case .complexFloat, .complexDouble, .general:
            return nil
        }
        return destination
    }

    /// Stores a complex value of the coder's own kind, for `callGeneral`; `false` for
    /// anything else. (Not a case of `place`: there it cost every dynamic call a jump.)
    /// C11 6.2.5p13: a complex value is laid out as an array of its real and imaginary parts.
    /// The value is read in place, as `place` reads it (a copy would retain a string's
    /// storage on its way to the general path).
    func placeComplex(_ value: UnsafePointer<CValue>, at destination: UnsafeMutableRawPointer) -> Bool {
        switch self {
        case .complexFloat:
            guard case .complexFloat(let real, let imaginary) = value.pointee else { return false }
            destination.storeBytes(of: (real, imaginary), as: (Float, Float).self)
        case .complexDouble:
            guard case .complexDouble(let real, let imaginary) = value.pointee else { return false }
            destination.storeBytes(of: (real, imaginary), as: (Double, Double).self)
        default:
            return false
        }
        return true
    }
}

/// The fast conversions of the dynamic path: the common pairs of value kind and C scalar,
/// with no allocation or reference counting. Anything else takes `ValueCoding`'s general
/// path. No payloads: a payload case (`signed(size)`, a record's identity) put the cases
/// without one behind a shared tag and a compare on the payload, and the sizes behind a
/// second switch (4 to 6 instructions an argument); the step holds what the record kinds need.
enum FastCoder: UInt8 {
    case int8, int16, int32, int64, uint32, uint64
    case float
    case double
    case pointer
    /// `float _Complex` and `double _Complex`: results read directly, arguments of the same
    /// kind stored by `callGeneral` as their two parts (without the conversions through
    /// `Float80` of the general path).
    case complexFloat, complexDouble
    /// A record aligned to at most 16 bytes, as array storage is: values of the same record
    /// (the step's identity) pass their own bytes.
    case recordInPlace
    /// A record aligned beyond 16 bytes: values of the same record are copied (the step's
    /// size) into the frame, aligned.
    case recordCopied
    case general

    init(_ valueClass: CValueClass) {
        switch valueClass {
        case .record:
            self = valueClass.alignment <= 16 ? .recordInPlace : .recordCopied
        case .integer(let kind) where kind.size <= 8 && kind != .bool:
            switch (kind.isSigned, kind.size) {
            case (true, 8): self = .int64
            case (true, 4): self = .int32
            case (true, 2): self = .int16
            case (true, _): self = .int8
            case (false, 8): self = .uint64
            case (false, 4): self = .uint32
            default: self = .general
            }
        case .floating(.float): self = .float
        case .floating(.double): self = .double
        case .complex(.float): self = .complexFloat
        case .complex(.double): self = .complexDouble
        case .pointer: self = .pointer
        default: self = .general
        }
    }

    /// Reads a fast result kind, or `nil` for the general path.
    @inline(__always)
    func load(from source: UnsafeRawPointer) -> CValue? {
        switch self {
        case .double: return .double(source.load(as: Double.self))
        case .float: return .float(source.load(as: Float.self))
        case .int64: return .int(source.load(as: Int64.self))
        case .int32: return .int(Int64(source.load(as: Int32.self)))
        case .uint64: return .uint(source.load(as: UInt64.self))
        case .uint32: return .uint(UInt64(source.load(as: UInt32.self)))
        case .pointer: return .pointer(CPointer(address: source.load(as: UInt.self)))
        case .complexFloat:
            let (real, imaginary) = source.load(as: (Float, Float).self)
            return .complexFloat(real: real, imaginary: imaginary)
        case .complexDouble:
            let (real, imaginary) = source.load(as: (Double, Double).self)
            return .complexDouble(real: real, imaginary: imaginary)
        default: return nil
        }
    }
}

// callstub.h's functions: bind by name or address, call (the fast path), variadic calls,
// errno, introspection, free.

import CallStub
import CallStubCFastPath
import Locks
#if canImport(Glibc)
    import Glibc
#endif

/// The bind flags of callstub.h.
enum BindFlags {
    static let captureErrno: UInt32 = 1 << 0
    static let libffi: UInt32 = 1 << 1
    static let jit: UInt32 = 1 << 2
    static let eager: UInt32 = 1 << 3
    static let verifyStrict: UInt32 = 1 << 4
    static let verifyOff: UInt32 = 1 << 5
    static let all: UInt32 = (1 << 6) - 1

    /// The policy of a check: CALLSTUB_VERIFY_STRICT or 0.
    static func checkPolicy(_ flags: UInt32) throws(Failure) -> VerificationPolicy {
        guard flags & ~verifyStrict == 0 else {
            throw Failure(.argument, "flags 0x\(String(flags, radix: 16)): only CALLSTUB_VERIFY_STRICT applies to a check")
        }
        return flags & verifyStrict != 0 ? .strict : .abi
    }

    /// The Swift binding options the flags ask for.
    static func options(_ flags: UInt32) throws(Failure) -> BindingOptions {
        guard flags & ~all == 0 else { throw Failure(.argument, "unknown flags 0x\(String(flags & ~all, radix: 16))") }
        guard flags & libffi == 0 || flags & jit == 0 else {
            throw Failure(.argument, "CALLSTUB_BACKEND_LIBFFI and CALLSTUB_BACKEND_JIT exclude each other")
        }
        guard flags & verifyStrict == 0 || flags & verifyOff == 0 else {
            throw Failure(.argument, "CALLSTUB_VERIFY_STRICT and CALLSTUB_VERIFY_OFF exclude each other")
        }
        return BindingOptions(
            backend: flags & libffi != 0 ? .libffi : flags & jit != 0 ? .jit : .auto,
            tiering: flags & eager != 0 ? .eager : BindingOptions.defaultTiering,
            capturesErrno: flags & captureErrno != 0,
            verification: flags & verifyStrict != 0 ? .strict : flags & verifyOff != 0 ? .off : .abi)
    }
}

/// What a function handle holds: the bound function, what the fast path reads without
/// asking it, and the variadic shapes prepared so far by their type text.
final class FunctionHandle {
    let function: BoundFunction
    let parameterCount: Int
    let resultSize: Int
    let shapes = Lock<[String: VariadicShape]>([:])
    let signature: LazySignatureTables

    init(_ function: BoundFunction) {
        self.function = function
        signature = LazySignatureTables(function.type)
        parameterCount = function.parameterCount
        resultSize = function.resultBufferSize
    }

    /// A handle for `function`. A stub compiled at binding (the JIT backend, or eager
    /// tiering) never changes: the record keeps it for `callstub_call`'s shortest path.
    static func make(_ function: BoundFunction) -> UnsafeMutableRawPointer {
        let fixed = function.options.backend == .jit || function.options.tiering == .eager ? function.currentStub : nil
        return Handles.make(FunctionHandle(function), tag: .function, callee: function, fixedStub: fixed?.stub, fixedTarget: fixed?.function)
    }
}

@_cdecl("callstub_bind")
public func callstub_bind(
    _ library: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?, _ declaration: UnsafePointer<CChar>?, _ flags: UInt32,
    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let library = try Handles.object(library, .library, as: SharedLibrary.self)
        let name = try string(name, "name")
        let declaration = declaration.map { String(cString: $0) }
        let options = try BindFlags.options(flags)
        guard let out else { throw Failure(.handle, "function (the result pointer) is NULL") }
        let function = try translating { () throws(CallStubError) in
            try library.function(name, declaration: declaration, options: options)
        }
        out.pointee = FunctionHandle.make(function)
    }
}

@_cdecl("callstub_bind_address")
public func callstub_bind_address(
    _ address: UnsafeMutableRawPointer?, _ declaration: UnsafePointer<CChar>?, _ flags: UInt32,
    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let declaration = try string(declaration, "declaration")
        let options = try BindFlags.options(flags)
        guard let out else { throw Failure(.handle, "function (the result pointer) is NULL") }
        let function = try translating { () throws(CallStubError) in
            try BoundFunction(address: CPointer(address), declaration: declaration, options: options)
        }
        out.pointee = FunctionHandle.make(function)
    }
}

/// `callstub_call` (fast_path.c) for all but a live function handle whose stub was fixed
/// at binding: a function whose stub is made later (tiering) or never (libffi), and
/// everything to report.
@_cdecl("_callstub_call_slow")
public func _callstub_call_slow(
    _ handle: UnsafeMutableRawPointer?, _ result: UnsafeMutableRawPointer?, _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    if let handle, let result, let arguments {
        let record = handle.assumingMemoryBound(to: HandleRecord.self)
        if record.pointee.tag == HandleTag.function.rawValue, let callee = record.pointee.boundFunction {
            // No retain: the handle keeps the function alive. `invoke` takes the stub once
            // tiering has made it, libffi until then.
            unsafeBitCast(callee, to: Unmanaged<BoundFunction>.self)._withUnsafeGuaranteedRef {
                $0.invoke(arguments: arguments, result: result)
            }
            return Status.ok.rawValue
        }
    }
    return callOffTheFastPath(handle, result, arguments)
}

/// `callstub_call` with a NULL result or argument array, or a handle that is not a live function.
@inline(never)
private func callOffTheFastPath(
    _ handle: UnsafeMutableRawPointer?, _ result: UnsafeMutableRawPointer?, _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let function = try Handles.object(handle, .function, as: FunctionHandle.self)
        guard let arguments = arguments ?? (function.parameterCount == 0 ? UnsafeMutablePointer(bitPattern: 8) : nil) else {
            throw Failure(.argument, "args is NULL, and \(function.function.name) takes \(function.parameterCount) arguments")
        }
        if let result {
            function.function.invoke(arguments: arguments, result: result)
        } else {
            // As ffi_call allows: a result nobody reads, in scratch memory.
            withUnsafeTemporaryAllocation(byteCount: function.resultSize, alignment: 16) { scratch in
                function.function.invoke(arguments: arguments, result: scratch.baseAddress!)
            }
        }
    }
}

/// `callstub_call_variadic` (fast_path.c) for a tail it has not seen (it remembers the
/// tail's stub here, for the next call), a tail served by libffi, and errors.
@_cdecl("_callstub_call_variadic_slow")
public func _callstub_call_variadic_slow(
    _ handle: UnsafeMutableRawPointer?, _ types: UnsafePointer<CChar>?, _ result: UnsafeMutableRawPointer?,
    _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let function = try Handles.object(handle, .function, as: FunctionHandle.self)
        let types = try string(types, "variadic_types")
        let shape: VariadicShape
        if let known = function.shapes.withLock({ $0[types] }) {
            shape = known
        } else {
            guard function.function.isVariadic else {
                throw Failure(.argument, "\(function.function.name) is not variadic")
            }
            shape = try translating { () throws(CallStubError) in try function.function.variadicShape(typeNames: types) }
            function.shapes.withLock { shapes in
                shapes[types] = shape
                // The shape stays in `shapes` (and so its stub) as long as the handle.
                if let handle, let (stub, target) = shape.currentStub {
                    _callstub_remember_variadic(handle.assumingMemoryBound(to: HandleRecord.self), types, stub, target)
                }
            }
        }
        guard let arguments else { throw Failure(.handle, "args is NULL") }
        if let result {
            shape.invoke(arguments: arguments, result: result)
        } else {
            withUnsafeTemporaryAllocation(byteCount: function.resultSize, alignment: 16) { scratch in
                shape.invoke(arguments: arguments, result: scratch.baseAddress!)
            }
        }
    }
}

@_cdecl("callstub_function_entry")
public func callstub_function_entry(
    _ handle: UnsafeRawPointer?, _ entry: UnsafeMutablePointer<UnsafeRawPointer?>?, _ target: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let record = try Handles.record(handle, .function)
        guard let entry, let target else { throw Failure(.handle, "entry or target (the result pointers) is NULL") }
        guard let stub = record.pointee.fixed_stub, let address = record.pointee.fixed_target else {
            let function = try Handles.object(handle, .function, as: FunctionHandle.self).function
            throw Failure(
                .backend,
                "\(function.name) has no stub compiled when it was bound: bind it with CALLSTUB_BACKEND_JIT or CALLSTUB_TIER_EAGER"
                    + (function.fallbackReason.map { " (the JIT: \($0))" } ?? ""))
        }
        entry.pointee = stub
        target.pointee = address
    }
}

@_cdecl("callstub_errno")
public func callstub_errno() -> Int32 { CErrno.captured }

@_cdecl("callstub_result_size")
public func callstub_result_size(_ handle: UnsafeRawPointer?) -> Int {
    (try? Handles.object(handle, .function, as: FunctionHandle.self))?.resultSize ?? 0
}

@_cdecl("callstub_parameter_count")
public func callstub_parameter_count(_ handle: UnsafeRawPointer?) -> Int32 {
    (try? Handles.object(handle, .function, as: FunctionHandle.self)).map { Int32($0.parameterCount) } ?? -1
}

@_cdecl("callstub_describe")
public func callstub_describe(
    _ handle: UnsafeRawPointer?, _ what: Int32, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let function = try Handles.object(handle, .function, as: FunctionHandle.self).function
        guard let out else { throw Failure(.handle, "text (the result pointer) is NULL") }
        let text: String
        switch what {
        case 0: text = function.declaration
        case 1: text = function.plan.description
        case 2:
            var lines = ["backend: \(function.backend)", "requested: \(function.requestedBackend.rawValue)"]
            if let reason = function.fallbackReason { lines.append("why not the JIT: \(reason)") }
            text = lines.joined(separator: "\n")
        case 3:
            text = (["\(function.verification)"] + function.verificationWarnings.map { "warning: \($0)" }).joined(separator: "\n")
        default: throw Failure(.argument, "unknown description \(what)")
        }
        give(text, to: out)
    }
}

@_cdecl("callstub_function_free")
public func callstub_function_free(_ handle: UnsafeMutableRawPointer?) {
    Handles.free(handle, .function)
}

/// The addresses of the C entry points, for Swift code that hands them to C (the
/// benchmark's C loop calls `callstub_call` through one, as a C program would).
public enum CEntryPoints {
    public static var call: UnsafeRawPointer { _callstub_call_entry }

    public static var ffiCall: UnsafeRawPointer { _callstub_ffi_call_entry }

    public static var planInvoke: UnsafeRawPointer { _callstub_plan_invoke_entry }

    public static var planAlloc: UnsafeRawPointer { _callstub_plan_alloc_entry }

    public static var planFree: UnsafeRawPointer { _callstub_plan_free_entry }

    public static var callVariadic: UnsafeRawPointer { _callstub_call_variadic_entry }
}

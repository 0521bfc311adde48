// callstub_ffi.h: CallStub beside libffi. A prepared ffi_cif checked against a library's
// DWARF, and libffi 3.7's call plans served by JIT stubs (CIFPlan).

import CallStub
import CallStubCFastPath

@_cdecl("callstub_ffi_check")
public func callstub_ffi_check(
    _ cif: UnsafeRawPointer?, _ handle: UnsafeMutableRawPointer?, _ symbol: UnsafePointer<CChar>?, _ flags: UInt32,
    _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    reporting { () throws(Failure) in
        guard let cif else { throw Failure(.handle, "cif is NULL") }
        let library = try Handles.object(handle, .library, as: SharedLibrary.self)
        let symbol = try string(symbol, "symbol")
        let policy = try BindFlags.checkPolicy(flags)
        try reportCheck(report: report) { () throws(CallStubError) in
            let (verification, warnings) = try library.check(symbol, cif: cif, policy: policy)
            return (symbol, verification, warnings)
        }
    }
}

@_cdecl("callstub_ffi_call_plan_alloc")
public func callstub_ffi_call_plan_alloc(_ cif: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    var made: UnsafeMutableRawPointer?
    _ = reporting { () throws(Failure) in
        guard let cif else { throw Failure(.handle, "cif is NULL") }
        let plan = try translating { () throws(CallStubError) in try CIFPlan(cif: cif) }
        made = Handles.make(plan, tag: .plan, fixedStub: plan.stub)
    }
    return made
}

/// `callstub_ffi_call_plan_invoke` (fast_path.c) for all but a live JIT plan with every
/// pointer given: plans served by ffi_call, a NULL result or argument array, errors.
@_cdecl("_callstub_plan_invoke_slow")
public func _callstub_plan_invoke_slow(
    _ handle: UnsafeMutableRawPointer?, _ function: UnsafeMutableRawPointer?, _ result: UnsafeMutableRawPointer?,
    _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) {
    _ = reporting { () throws(Failure) in
        let plan = try Handles.object(handle, .plan, as: CIFPlan.self)
        guard let function else { throw Failure(.handle, "fn is NULL") }
        guard arguments != nil || plan.type.parameters.isEmpty else {
            throw Failure(.handle, "avalue is NULL, and the cif has \(plan.type.parameters.count) arguments")
        }
        plan.invoke(function: function, result: result, arguments: arguments)
    }
}

@_cdecl("callstub_ffi_call_plan_free")
public func callstub_ffi_call_plan_free(_ handle: UnsafeMutableRawPointer?) {
    Handles.free(handle, .plan)
}

@_cdecl("callstub_ffi_call_plan_size")
public func callstub_ffi_call_plan_size(_ handle: UnsafeMutableRawPointer?) -> Int {
    guard let plan = try? Handles.object(handle, .plan, as: CIFPlan.self) else { return 0 }
    // The handle record, the plan object (a header and five fields) and its type
    // description (parameters and result).
    return MemoryLayout<HandleRecord>.size + 16 + 5 * 8 + (plan.type.parameters.count + 1) * MemoryLayout<CParameter>.stride
}

@_cdecl("callstub_ffi_call_plan_uses_jit")
public func callstub_ffi_call_plan_uses_jit(_ handle: UnsafeRawPointer?) -> Int32 {
    guard let plan = try? Handles.object(handle, .plan, as: CIFPlan.self) else { return -1 }
    return plan.stub == nil ? 0 : 1
}

/// `callstub_ffi_call`'s plan of a cif it has not seen at this address (fast_path.c
/// remembers it there): 1 and the stub (NULL: ffi_call serves) when the cif was planned,
/// 0 when it could not be (too large to identify, or refused) and ffi_call serves it, -1
/// when ffi_call would crash on it (the last error says why).
@_cdecl("_callstub_ffi_plan")
public func _callstub_ffi_plan(_ cif: UnsafeRawPointer?, _ stub: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
    guard let cif, let stub else { return -1 }
    stub.pointee = nil
    switch CIFCalls.route(cif: cif) {
    case .stub(let entry, _)?:
        stub.pointee = entry
        return 1
    case .ffiCall?:
        return 1
    case nil:
        do throws(CallStubError) {
            try CIFCalls.checkUsable(cif: cif)
            return 0
        } catch {
            LastError.set(error.description)
            return -1
        }
    }
}

/// `callstub_ffi_call` (fast_path.c) with a NULL pointer, or a cif it does not cache.
@_cdecl("_callstub_ffi_call_slow")
public func _callstub_ffi_call_slow(
    _ cif: UnsafeMutableRawPointer?, _ function: UnsafeMutableRawPointer?, _ result: UnsafeMutableRawPointer?,
    _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) {
    guard let cif, let function else {
        LastError.set(cif == nil ? "cif is NULL" : "fn is NULL")
        return
    }
    // ffi_cif: int abi; unsigned nargs; ...
    let count = cif.load(fromByteOffset: 4, as: UInt32.self)
    guard arguments != nil || count == 0 else {
        LastError.set("avalue is NULL, and the cif has \(count) arguments")
        return
    }
    do throws(CallStubError) {
        try CIFCalls.call(cif: cif, function: function, result: result, arguments: arguments)
    } catch {
        LastError.set(error.description)
    }
}

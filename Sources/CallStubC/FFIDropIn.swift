// callstub_ffi.h: CallStub beside libffi. A prepared ffi_cif checked against a library's
// DWARF, and libffi 3.7's call plans served by JIT stubs (CIFPlan).

import CallStub

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

@_cdecl("callstub_ffi_call_plan_invoke")
public func callstub_ffi_call_plan_invoke(
    _ handle: UnsafeMutableRawPointer?, _ function: UnsafeMutableRawPointer?, _ result: UnsafeMutableRawPointer?,
    _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) {
    // The fast path: the tag, then a jump to the stub with the function.
    if let handle, let function, let result, let arguments {
        let record = handle.assumingMemoryBound(to: HandleRecord.self)
        if record.pointee.tag == HandleTag.plan.rawValue, let stub = record.pointee.fixedStub {
            _ = unsafeBitCast(stub, to: StatusStub.self)(function, arguments, result)
            return
        }
    }
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

@_cdecl("callstub_ffi_call")
public func callstub_ffi_call(
    _ cif: UnsafeMutableRawPointer?, _ function: UnsafeMutableRawPointer?, _ result: UnsafeMutableRawPointer?,
    _ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) {
    guard let cif, let function else {
        LastError.set(cif == nil ? "cif is NULL" : "fn is NULL")
        return
    }
    CIFCalls.call(cif: cif, function: function, result: result, arguments: arguments)
}


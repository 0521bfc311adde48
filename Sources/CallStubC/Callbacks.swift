// callstub.h's callbacks: a C function pointer of an exact signature that calls a C
// handler `(context, result, args)`.

import CallStub

/// A C handler and its context, carried into the callback's Swift closure.
struct CHandler: @unchecked Sendable {
    let function: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Void
    let context: UnsafeMutableRawPointer?
}

@_cdecl("callstub_callback_new")
public func callstub_callback_new(
    _ declaration: UnsafePointer<CChar>?,
    _ handler: (@convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Void)?,
    _ context: UnsafeMutableRawPointer?, _ flags: UInt32, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let declaration = try string(declaration, "declaration")
        guard let handler else { throw Failure(.handle, "handler is NULL") }
        guard flags & ~(BindFlags.libffi | BindFlags.jit) == 0 else {
            throw Failure(.argument, "flags 0x\(String(flags, radix: 16)): only the backend flags apply to a callback")
        }
        let backend = try BindFlags.options(flags).backend
        guard let out else { throw Failure(.handle, "callback (the result pointer) is NULL") }
        let target = CHandler(function: handler, context: context)
        let callback = try translating { () throws(CallStubError) in
            try Callback(declaration, backend: backend) { arguments, result in
                target.function(target.context, result, arguments)
            }
        }
        out.pointee = Handles.make(callback, tag: .callback)
    }
}

@_cdecl("callstub_callback_pointer")
public func callstub_callback_pointer(_ handle: UnsafeRawPointer?) -> UnsafeMutableRawPointer? {
    (try? Handles.object(handle, .callback, as: Callback.self))?.pointer.raw
}

@_cdecl("callstub_callback_free")
public func callstub_callback_free(_ handle: UnsafeMutableRawPointer?) {
    Handles.free(handle, .callback)
}

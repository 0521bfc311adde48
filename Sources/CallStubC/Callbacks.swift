// callstub.h's callbacks: a C function pointer of an exact signature that calls a C
// handler `(context, result, args)`.

import CallStub

/// A C handler and its context, carried into the callback's Swift closure.
struct CHandler: @unchecked Sendable {
    let function: HandlerFunction
    let context: UnsafeMutableRawPointer?
}

/// What a callback handle holds: the callback and, once asked for, its signature tables.
final class CallbackHandle {
    let callback: Callback
    let signature: LazySignatureTables

    init(_ callback: Callback) {
        self.callback = callback
        signature = LazySignatureTables(callback.type)
    }
}

/// callstub.h's handler type.
public typealias HandlerFunction = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Void

@_cdecl("callstub_callback_new")
public func callstub_callback_new(
    _ declaration: UnsafePointer<CChar>?, _ handler: HandlerFunction?, _ context: UnsafeMutableRawPointer?, _ flags: UInt32,
    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let declaration = try string(declaration, "declaration")
        try makeCallback(handler, context, flags, out) { backend, body throws(CallStubError) in
            try Callback(declaration, backend: backend, rawHandler: body)
        }
    }
}

@_cdecl("callstub_callback_new_from_signature")
public func callstub_callback_new_from_signature(
    _ signature: UnsafeRawPointer?, _ type: Int32, _ handler: HandlerFunction?, _ context: UnsafeMutableRawPointer?,
    _ flags: UInt32, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let tables = try SignatureTables.owner(of: signature)
        guard tables.types.indices.contains(Int(type)) else {
            throw Failure(.argument, "type \(type) is not an index of the signature's \(tables.types.count) types")
        }
        guard case .function(let function) = tables.types[Int(type)].resolved.type else {
            throw Failure(.argument, "type \(type) (\(tables.types[Int(type)])) is not a function type")
        }
        try makeCallback(handler, context, flags, out) { backend, body throws(CallStubError) in
            try Callback(type: function, backend: backend, rawHandler: body)
        }
    }
}

/// The checks and handle common to both ways of making a callback; `make` makes the
/// Swift callback around the handler's closure.
private func makeCallback(
    _ handler: HandlerFunction?, _ context: UnsafeMutableRawPointer?, _ flags: UInt32,
    _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    make: (BindingOptions.Backend, @escaping @Sendable (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer) -> Void) throws(CallStubError) -> Callback
) throws(Failure) {
    guard let handler else { throw Failure(.handle, "handler is NULL") }
    guard flags & ~(BindFlags.libffi | BindFlags.jit) == 0 else {
        throw Failure(.argument, "flags 0x\(String(flags, radix: 16)): only the backend flags apply to a callback")
    }
    let backend = try BindFlags.options(flags).backend
    guard let out else { throw Failure(.handle, "callback (the result pointer) is NULL") }
    let target = CHandler(function: handler, context: context)
    let callback = try translating { () throws(CallStubError) in
        try make(backend) { arguments, result in target.function(target.context, result, arguments) }
    }
    out.pointee = Handles.make(CallbackHandle(callback), tag: .callback)
}

/// The C API's owner is explicit: the handle keeps the callback until callstub_callback_free.
@_cdecl("callstub_callback_pointer")
public func callstub_callback_pointer(_ handle: UnsafeRawPointer?) -> UnsafeMutableRawPointer? {
    (try? Handles.object(handle, .callback, as: CallbackHandle.self))?.callback.unsafePointer.raw
}

@_cdecl("callstub_callback_free")
public func callstub_callback_free(_ handle: UnsafeMutableRawPointer?) {
    Handles.free(handle, .callback)
}

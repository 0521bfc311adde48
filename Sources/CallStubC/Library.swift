// callstub.h's libraries: open, declare, include, signature, check, close.

import CallStub

@_cdecl("callstub_last_error")
public func callstub_last_error() -> UnsafePointer<CChar> { LastError.current }

@_cdecl("callstub_status_name")
public func callstub_status_name(_ status: Int32) -> UnsafePointer<CChar> {
    guard let known = Status(rawValue: status) else { return UnsafePointer(StaticStrings.unknownStatus) }
    return UnsafePointer(StaticStrings.statusNames[Int(known.rawValue)])
}

@_cdecl("callstub_version")
public func callstub_version() -> UnsafePointer<CChar> { UnsafePointer(StaticStrings.version) }

@_cdecl("callstub_library_open")
public func callstub_library_open(
    _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let name = try string(name, "name_or_path")
        guard let out else { throw Failure(.handle, "library (the result pointer) is NULL") }
        let library = try translating { () throws(CallStubError) in try SharedLibrary(name) }
        out.pointee = Handles.make(library, tag: .library)
    }
}

@_cdecl("callstub_library_declare")
public func callstub_library_declare(_ handle: UnsafeMutableRawPointer?, _ text: UnsafePointer<CChar>?) -> Int32 {
    reporting { () throws(Failure) in
        let library = try Handles.object(handle, .library, as: SharedLibrary.self)
        let text = try string(text, "declarations")
        _ = try translating { () throws(CallStubError) in try library.declare(text) }
    }
}

@_cdecl("callstub_library_include")
public func callstub_library_include(
    _ handle: UnsafeMutableRawPointer?, _ headers: UnsafePointer<UnsafePointer<CChar>?>?, _ headerCount: Int,
    _ arguments: UnsafePointer<UnsafePointer<CChar>?>?, _ argumentCount: Int
) -> Int32 {
    reporting { () throws(Failure) in
        let library = try Handles.object(handle, .library, as: SharedLibrary.self)
        let headers = try strings(headers, count: headerCount, "headers")
        let arguments = try strings(arguments, count: argumentCount, "arguments")
        guard !headers.isEmpty else { throw Failure(.argument, "no headers to include") }
        let options = CPreprocessorOptions(extraArguments: arguments)
        _ = try translating { () throws(CallStubError) in try library.declare(including: headers, options: options) }
    }
}

@_cdecl("callstub_library_signature")
public func callstub_library_signature(
    _ handle: UnsafeMutableRawPointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let library = try Handles.object(handle, .library, as: SharedLibrary.self)
        let name = try string(name, "name")
        guard let out else { throw Failure(.handle, "header (the result pointer) is NULL") }
        give(try translating { () throws(CallStubError) in try library.signature(name).header }, to: out)
    }
}

@_cdecl("callstub_library_check")
public func callstub_library_check(
    _ handle: UnsafeMutableRawPointer?, _ declaration: UnsafePointer<CChar>?, _ flags: UInt32,
    _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    reporting { () throws(Failure) in
        let library = try Handles.object(handle, .library, as: SharedLibrary.self)
        let declaration = try string(declaration, "declaration")
        let policy = try BindFlags.checkPolicy(flags)
        try reportCheck(report: report) { () throws(CallStubError) in try library.check(declaration: declaration, policy: policy) }
    }
}

/// Runs a check and reports it: the report text to `report`, and a failure for a
/// mismatch (`mismatch`) or a function the DWARF could not check (`debugInfo`).
func reportCheck(
    report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ check: () throws(CallStubError) -> (name: String, verification: SignatureVerification, warnings: [SignatureDifference])
) throws(Failure) {
    let outcome: (name: String, verification: SignatureVerification, warnings: [SignatureDifference])
    do throws(CallStubError) {
        outcome = try check()
    } catch {
        if case .signatureMismatch(_, let text) = error { give(text, to: report) }
        throw Failure(error)
    }
    let text = (["\(outcome.name): \(outcome.verification)"] + outcome.warnings.map { "  warning: \($0)" }).joined(separator: "\n")
    give(text, to: report)
    if case .unverified(let reason) = outcome.verification {
        throw Failure(.debugInfo, "\(outcome.name) was not checked: \(reason)")
    }
}

@_cdecl("callstub_library_close")
public func callstub_library_close(_ handle: UnsafeMutableRawPointer?) {
    if let library = try? Handles.object(handle, .library, as: SharedLibrary.self) { library.close() }
    Handles.free(handle, .library)
}

// callstub_ffi.h: CallStub beside libffi. A prepared ffi_cif checked against a library's
// DWARF.

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

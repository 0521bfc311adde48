// Callback lifetimes as the API makes them (issue: callback lifetimes safe by construction):
// a callback passed as an argument lives for the call, even as an inline temporary; one
// stored in a record's field lives as long as the record value; one C keeps (a registered
// handler) lives as long as the owner it is given to, the library or the process. The
// scenarios are Examples/Lifetimes.swift's (scripts/test runs them in a release build);
// here they run in the debug build, which stops a call into a freed callback with its
// name, so each would stop if the API let its callback go early.

import CallStub
import Foundation
import Testing
@testable import callstub_examples

@Suite struct CallbackLifetimeTests {
    /// The form a newcomer writes first: the callback made inline, in the argument list.
    @Test(arguments: backends)
    func anInlineTemporaryLivesForTheCall(_ backend: BindingOptions.Backend) throws {
        try inlineTemporaryCallback(backend: backend)
    }

    /// GSL's `gsl_function` holds a function pointer that `gsl_deriv_central` calls.
    @Test func aCallbackStoredInARecordLivesAsLongAsTheRecord() throws {
        try callbackStoredInACStruct()
    }

    /// `gsl_set_error_handler` keeps the handler and calls it on each later error.
    @Test func aHandlerTheLibraryKeepsLivesAsLongAsTheLibrary() throws {
        try handlerTheLibraryKeeps()
    }

    /// `on_exit` keeps its handler until the process ends: `keepUntilExit`. (glibc's
    /// `atexit` is not exported by libc.so.6: it lives in libc_nonshared.a.)
    @Test func aHandlerKeptUntilExitRunsAtExit() async {
        let result = await #expect(processExitsWith: .exitCode(3), observing: [\.standardErrorContent]) {
            let onExit = try SharedLibrary("libc.so.6").function("on_exit")  // from glibc's DWARF
            let goodbye = try Callback("void (*)(int, void *)", name: "goodbye") { values in
                let text = "goodbye from an exit handler, status \(values[0])\n"
                _ = text.withCString { write(2, $0, strlen($0)) }
                return .void
            }.keepUntilExit()
            _ = try onExit.call([.callback(goodbye), .null])
            exit(3)
        }
        let errors = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(errors.contains("goodbye from an exit handler, status 3"), "\(errors)")
    }
}

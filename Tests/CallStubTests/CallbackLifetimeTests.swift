// Callback lifetimes as the API makes them (issue: callback lifetimes safe by construction):
// a callback passed as an argument lives for the call, even as an inline temporary; one
// stored in a record's field lives as long as the record value; one C keeps (a registered
// handler) lives as long as the owner it is given to, the library or the process. Debug
// builds stop a call into a freed callback with its name, so each test below would stop
// if the API let its callback go early.

import CTestSupport
import CallStub
import Foundation
import Locks
import Testing

@Suite struct CallbackLifetimeTests {
    /// The form a newcomer writes first: the callback made inline, in the argument list.
    @Test(arguments: [BindingOptions.Backend.jit, .libffi])
    func anInlineTemporaryLivesForTheCall(_ backend: BindingOptions.Backend) throws {
        let qsort = try SharedLibrary("libc.so.6").function("qsort")
        var numbers: [Int32] = (0..<500).map { Int32(($0 * 7919) % 500) - 250 }
        try numbers.withUnsafeMutableBytes { buffer in
            _ = try qsort.call([
                .pointer(CPointer(buffer.baseAddress)), .uint(500), .uint(4),
                .callback(try Callback.typed(
                    "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self,
                    backend: backend
                ) { a, b in
                    let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
                    return x < y ? -1 : x > y ? 1 : 0
                }),
            ])
        }
        #expect(numbers == numbers.sorted())
        // Typed style: the Callback itself is the argument.
        var more: [Int32] = [3, -1, 2]
        let typedSort = try qsort.typed((UnsafeMutableRawPointer, UInt, UInt, Callback).self, returning: CVoid.self)
        try more.withUnsafeMutableBytes { buffer in
            _ = typedSort(
                buffer.baseAddress!, 3, 4,
                try Callback("int (*)(const void *, const void *)", backend: backend) { values in
                    guard case .pointer(let a) = values[0], case .pointer(let b) = values[1] else { return .int(0) }
                    let (x, y) = (a.raw!.load(as: Int32.self), b.raw!.load(as: Int32.self))
                    return .int(x < y ? -1 : x > y ? 1 : 0)
                })
        }
        #expect(more == [-1, 2, 3])
    }

    /// GSL's `gsl_function` holds a function pointer that `gsl_deriv_central` calls: the
    /// record is the callback's only owner here.
    @Test func aCallbackStoredInARecordLivesAsLongAsTheRecord() throws {
        let gsl = try SharedLibrary("libgsl.so.27")
        let derivative = try gsl.function("gsl_deriv_central")  // signature from libgsl-dbg
        var function = try derivative.makeRecord("gsl_function")
        try function.setField(
            "function",
            to: .callback(try Callback.typed("double (*)(double, void *)", (Double, UnsafeMutableRawPointer?).self, returning: Double.self) {
                x, _ in x * x * x
            }))
        #expect(function.callbacks.count == 1)
        var copy = function  // copies share what keeps the callback
        try copy.setField("params", to: .null)
        var (result, error) = (0.0, 0.0)
        let status = try copy.bytes.withUnsafeBytes { record in
            try withUnsafeMutablePointer(to: &result) { result in
                try withUnsafeMutablePointer(to: &error) { error in
                    try derivative.call([
                        .pointer(CPointer(record.baseAddress)), .double(2), .double(1e-3), .pointer(CPointer(result)),
                        .pointer(CPointer(error)),
                    ])
                }
            }
        }
        #expect(status == .int(0))
        #expect(abs(result - 12) < 1e-6, "d/dx x³ at 2 is 12, got \(result)")
    }

    /// `gsl_set_error_handler` keeps the handler it is given and calls it on the next
    /// error, long after the registering call returned: the library owns it.
    @Test func aHandlerTheLibraryKeepsLivesAsLongAsTheLibrary() throws {
        let gsl = try SharedLibrary("libgsl.so.27")
        let reasons = Lock<[String]>([])
        let handler = try gsl.keep(
            Callback("void (*)(const char *, const char *, int, int)", name: "gsl error handler") { values in
                if case .pointer(let reason) = values[0], let text = reason.raw {
                    reasons.withLock { $0.append(String(cString: text.assumingMemoryBound(to: CChar.self))) }
                }
                return .void
            })
        let setHandler = try gsl.function("gsl_set_error_handler")
        let previous = try setHandler.call([.callback(handler)])
        defer { _ = try? setHandler.call([previous]) }
        // ln(-1): a domain error, reported through the handler (GSL's default aborts).
        var result = [Double](repeating: 0, count: 2)
        let status = try result.withUnsafeMutableBytes { bytes in
            try gsl.function("gsl_sf_log_e").call([.double(-1), .pointer(CPointer(bytes.baseAddress))])
        }
        #expect(status == .int(1))  // GSL_EDOM
        #expect(reasons.withLock { $0 } == ["domain error"])
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

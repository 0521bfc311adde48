// Callback lifetimes in a release build, where Swift may free an object right after its
// last use: each callback below has no owner but the one the API gives it. (The same
// functions run in the debug build from Tests/CallStubTests/CallbackLifetimeTests, where
// a call into a freed callback stops the program naming it.)

import CallStub
import Foundation
import Synchronization

/// The callback made inline in the argument list: the argument array (dynamic style) or
/// the call (typed style, the `Callback` itself as the argument) keeps it for the call.
func inlineTemporaryCallback(backend: BindingOptions.Backend = .auto) throws {
    let qsort = try SharedLibrary("libc.so.6").function("qsort")
    var numbers: [Int32] = (0..<10_000).map { Int32(($0 * 7919) % 10_000) - 5_000 }
    try numbers.withUnsafeMutableBytes { buffer in
        _ = try qsort.call([
            .pointer(CPointer(buffer.baseAddress)), .uint(10_000), .uint(4),
            .callback(try Callback.typed(
                "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self,
                backend: backend
            ) { a, b in
                let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
                return x < y ? -1 : x > y ? 1 : 0
            }),
        ])
    }
    try check(numbers == numbers.sorted(), "qsort with an inline callback did not sort")
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
    try check(more == [-1, 2, 3], "typed qsort with an inline callback: \(more)")
}

/// GSL's `gsl_function` holds the function pointer `gsl_deriv_central` calls: the record
/// value (and its copies) is the callback's only owner.
func callbackStoredInACStruct() throws {
    let gsl = try SharedLibrary("libgsl.so.27")
    let derivative = try gsl.function("gsl_deriv_central")  // signature from libgsl-dbg
    var function = try derivative.makeRecord("gsl_function")
    try function.setField(
        "function",
        to: .callback(try Callback.typed("double (*)(double, void *)", (Double, UnsafeMutableRawPointer?).self, returning: Double.self) {
            x, _ in sin(x)
        }))
    try check(function.callbacks.count == 1, "the record keeps \(function.callbacks.count) callbacks")
    var copy = function  // copies share what keeps the callback
    try copy.setField("params", to: .null)
    var (result, error) = (0.0, 0.0)
    let status = try copy.bytes.withUnsafeBytes { record in
        try withUnsafeMutablePointer(to: &result) { result in
            try withUnsafeMutablePointer(to: &error) { error in
                try derivative.call([
                    .pointer(CPointer(record.baseAddress)), .double(1), .double(1e-4), .pointer(CPointer(result)),
                    .pointer(CPointer(error)),
                ])
            }
        }
    }
    try check(status == .int(0) && abs(result - cos(1)) < 1e-8, "gsl_deriv_central: \(status), \(result)")
}

/// `gsl_set_error_handler` keeps the handler and calls it at each later error: the library
/// is its owner (`keep`), long after the registering call returned.
func handlerTheLibraryKeeps() throws {
    let gsl = try SharedLibrary("libgsl.so.27")
    let errors = Mutex<[String]>([])
    let setHandler = try gsl.function("gsl_set_error_handler")
    let previous = try setHandler.call([
        .callback(try gsl.keep(Callback("void (*)(const char *, const char *, int, int)", name: "error handler") { values in
            if case .pointer(let reason) = values[0], let text = reason.raw {
                errors.withLock { $0.append(String(cString: text.assumingMemoryBound(to: CChar.self))) }
            }
            return .void
        }))
    ])
    defer { _ = try? setHandler.call([previous]) }
    var result = [Double](repeating: 0, count: 2)
    for _ in 0..<3 {
        // ln(-1): a domain error, reported through the handler (GSL's default aborts).
        let status = try result.withUnsafeMutableBytes { bytes in
            try gsl.function("gsl_sf_log_e").call([.double(-1), .pointer(CPointer(bytes.baseAddress))])
        }
        try check(status == .int(1), "gsl_sf_log_e(-1): \(status)")  // GSL_EDOM
    }
    let seen = errors.withLock { $0 }
    try check(seen == Array(repeating: "domain error", count: 3), "handler saw \(seen)")
}

/// The raw pointer of a callback that is gone (released right after `unsafePointer` is
/// read): its trampoline slot now jumps to the late-call stub, which stops the program
/// naming the callback instead of running freed memory.
func lateCallThroughAFreedCallback() -> Never {
    let pointer = try! Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, name: "late in release") { $0 + 1 }
        .unsafePointer
    let function = unsafeBitCast(pointer.raw, to: (@convention(c) (Int32) -> Int32).self)
    print("a late call returned \(function(1)): the freed callback ran")
    exit(0)
}

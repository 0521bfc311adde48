// `callstub call`: bind one function of a library from a C declaration and call it with
// arguments written in C syntax; print the result as C would write it, or as JSON.

import ArgumentParser
import CCrashReport
import CallStub
import Foundation

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call a C function of a shared library and print its result.",
        discussion: """
            ARGS are C values: integers (-5, 0x1f, 10u), floating values (2.5, 1e-3, inf),
            "strings" (passed as char *, alive during the call), 'c' characters, null,
            0x… addresses for pointers, enum constants, and initializer lists for
            records: {1, 2.5}, { {1, 2}, 3 }, {.x = 1, .y = 2}. For a pointer parameter,
            `out` passes a fresh zeroed object of the pointee type and `out[N]` an array of
            N (N bytes for void *); their values print after the result (*name = value,
            char arrays as strings). Variadic arguments have the
            type of the C literal (5 is int, 2.5 is double) unless cast: (long)5,
            (struct P){1, 2}. Negative numbers are ordinary arguments.

            The result prints as: integers (char and _Bool included) in decimal, floating
            values in shortest round-trip form, pointers in hex, records as {a, b} in
            member order with arrays and nested records in braces, nothing for void.

              callstub call libm.so.6 pow --decl 'double pow(double, double)' 2 10
              callstub call libc.so.6 div \\
                --decl 'typedef struct { int quot; int rem; } div_t; div_t div(int, int);' 7 2
              callstub call libc.so.6 printf --decl 'int printf(const char *, ...)' \\
                '"%s is %d\\n"' '"x"' 42
              callstub call libz.so.1 zlibVersion --include zlib.h --string
              callstub call libm.so.6 frexp --decl 'double frexp(double, int *exp)' 8 out
            """
    )

    @Argument(help: "The library: a file name the dynamic linker finds (libm.so.6) or a path.")
    var library: String

    @Argument(help: "The function's symbol name.")
    var function: String

    @Option(name: .long, help: "C declarations: the function's prototype, after any types it uses.")
    var decl: String?

    @OptionGroup(title: "Declarations")
    var sources: DeclarationSources

    @Option(name: .long, help: "The code path: ffi (libffi), jit (an LLVM stub compiled first) or auto (libffi for a single call).")
    var backend: BackendOption = .auto

    @Option(name: .long, help: "Check the declaration against the library's debug info: strict, abi (default) or off.")
    var verify: VerificationPolicy = .abi

    @Flag(name: .long, help: "Capture errno: clear it before the call, print it after (stderr, or in JSON).")
    var errno = false

    @Flag(name: .long, help: "Print a char * result as the string it points to.")
    var string = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: "The arguments, in C syntax.")
    var arguments: [String] = []

    enum BackendOption: String, ExpressibleByArgument, CaseIterable {
        case ffi, jit, auto
        var binding: BindingOptions.Backend {
            switch self {
            case .ffi: return .libffi
            case .jit: return .jit
            case .auto: return .auto
            }
        }
    }

    func run() throws {
        do {
            let shared = try SharedLibrary(library)
            try sources.declare(into: shared)
            let bound = try shared.function(
                function, declaration: decl, options: BindingOptions(backend: backend.binding, capturesErrno: errno, verification: verify))
            // The verification's non-ABI differences (member names, qualifiers, pointees):
            // the call goes ahead, but the declaration may still be wrong in meaning.
            let warnings = bound.verificationWarnings
            if !json {
                for warning in warnings { printError("warning: \(bound.name): \(warning)") }
            }
            // "--" ends the options; ArgumentParser passes it through with unrecognized arguments.
            let written = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
            // `out` / `out[N]`: fresh objects for out-parameters, printed after the call.
            let (values, outs) = try OutArguments.prepare(written, for: bound.type)
            defer { outs.release() }
            // A crash inside the function prints `error: NAME crashed with SIG…` and exits 2.
            _ = callstub_crash_report_begin(bound.name)
            let result: CValue
            do {
                defer { callstub_crash_report_end() }
                result = try bound.call(parsing: values)
            }
            let capturedErrno = errno ? CErrno.captured : nil
            let text = string ? Self.stringResult(result) : nil
            let outValues = try outs.values()
            if json {
                var report: [String: Any] = [
                    "function": bound.name, "declaration": bound.declaration, "backend": bound.backend.rawValue,
                    "verification": bound.verification.description, "result": Self.json(result),
                ]
                if !warnings.isEmpty {
                    report["warnings"] = warnings.map { warning -> [String: Any] in
                        [
                            "position": warning.position, "declared": warning.declared, "actual": warning.actual,
                            "detail": warning.detail, "message": warning.description,
                        ]
                    }
                }
                if let capturedErrno { report["errno"] = Int(capturedErrno) }
                if let fallback = bound.fallbackReason { report["fallback"] = fallback }
                if let text { report["string"] = text }
                if !outValues.isEmpty {
                    report["out"] = outValues.map { out -> [String: Any] in
                        ["argument": out.object.index + 1, "name": out.object.name, "value": Self.json(out.value)]
                    }
                }
                let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                if let text {
                    print(CValue.string(text).description)
                } else if result != .void {
                    print(result.description)
                }
                for out in outValues { print(out.text) }
                if let capturedErrno { printError("errno: \(capturedErrno) (\(String(cString: strerror(capturedErrno))))") }
            }
        } catch let error as CallStubError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }

    /// The string a `char *` result points to; `null` prints for NULL.
    static func stringResult(_ value: CValue) -> String? {
        guard case .pointer(let pointer) = value, let raw = pointer.raw else { return nil }
        return String(cString: raw.assumingMemoryBound(to: CChar.self))
    }

    /// The JSON form: numbers, `"0x…"` for pointers, objects with member names for
    /// records, arrays for arrays, `{"real":…, "imaginary":…}` for complex values.
    static func json(_ value: CValue) -> Any {
        func number(_ double: Double) -> Any { double.isFinite ? double : double.description }
        switch value {
        case .void: return NSNull()
        case .bool(let flag): return flag ? 1 : 0
        case .int(let number): return number
        case .uint(let number): return number
        case .int128(let number): return number.description
        case .uint128(let number): return number.description
        case .float(let value): return number(Double(value))
        case .double(let value): return number(value)
        case .longDouble(let value): return number(Double(value))
        case .complexFloat(let real, let imaginary): return ["real": number(Double(real)), "imaginary": number(Double(imaginary))]
        case .complexDouble(let real, let imaginary): return ["real": number(real), "imaginary": number(imaginary)]
        case .complexLongDouble(let real, let imaginary):
            return ["real": number(Double(real)), "imaginary": number(Double(imaginary))]
        case .pointer(let pointer): return pointer.description
        case .string(let text): return text
        case .array(let elements): return elements.map(json)
        case .callback(let callback): return callback.unsafePointer.description
        case .record(let record):
            var object: [String: Any] = [:]
            for (name, member) in record.namedMembers() { object[name] = json(member) }
            return object
        }
    }
}

extension VerificationPolicy: ExpressibleByArgument {}

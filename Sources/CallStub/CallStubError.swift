// Every error the public library throws, with messages that name the exact place:
// the library and symbol, `line 3, column 14` in a declaration, `argument 2 (struct P2d)`,
// or the field path inside a record value.

import ABILowering
import CDeclParser
import CTypeModel
import FFIBackend

/// An error from CallStub. Each case says where the problem is and why.
public enum CallStubError: Error, Sendable, CustomStringConvertible {
    /// `dlopen` failed; `message` is `dlerror`'s text.
    case libraryNotLoaded(name: String, message: String)
    /// `dlsym` found no such symbol; `message` is `dlerror`'s text.
    case symbolNotFound(symbol: String, library: String, message: String)
    /// A declared function or object that no library can have a symbol for (declared
    /// `static`, as a header's inline functions are).
    case noSymbol(name: String, reason: String)
    /// The C preprocessor could not be run, or refused the headers; `message` is its own.
    case preprocessorFailed(command: String, message: String)
    /// The library was closed before this lookup.
    case libraryClosed(String)
    /// A declaration text or type name that does not parse.
    case malformedDeclaration(CParseError)
    /// The declaration text parsed but does not declare what was asked for.
    case declarationMismatch(String)
    /// A signature no backend can call (an incomplete type, an array result, …).
    case invalidSignature(SignatureError)
    /// The chosen backend cannot take this signature; `reason` says why.
    case unsupportedSignature(backend: CallBackend, reason: String)
    /// A backend that is not available in this build or on this machine.
    case backendUnavailable(CallBackend, reason: String)
    /// A call with the wrong number of arguments.
    case argumentCount(function: String, expected: Int, variadic: Bool, got: Int)
    /// An argument value that does not fit its parameter: `argument 2 (struct P2d): …`.
    case invalidArgument(position: String, type: String, reason: String)
    /// A Swift type that does not match the C type at `position`.
    case typeMismatch(position: String, cType: String, swiftType: String, reason: String)
    /// A record field path that does not exist, or a value that does not fit it.
    case invalidField(record: String, path: String, reason: String)
    /// A file that could not be opened or mapped for viewing (`CMappedFile`).
    case fileNotMapped(path: String, reason: String)
    /// The library's debug info cannot be read or does not describe the function.
    case debugInfo(String)
    /// The declaration disagrees with the library's debug info; `report` shows both sides.
    case signatureMismatch(function: String, report: String)

    public var description: String {
        switch self {
        case .libraryNotLoaded(let name, let message): return "cannot load library \(name): \(message)"
        case .symbolNotFound(let symbol, let library, let message):
            return "symbol \(symbol) not found in \(library): \(message)"
        case .noSymbol(let name, let reason): return "\(name) has no symbol to bind: \(reason)"
        case .preprocessorFailed(let command, let message): return "preprocessing failed (\(command)):\n\(message)"
        case .libraryClosed(let name): return "library \(name) is closed"
        case .malformedDeclaration(let error): return error.rendered
        case .declarationMismatch(let message): return message
        case .invalidSignature(let error): return error.description
        case .unsupportedSignature(let backend, let reason): return "the \(backend) backend cannot call this: \(reason)"
        case .backendUnavailable(let backend, let reason): return "the \(backend) backend is not available: \(reason)"
        case .argumentCount(let function, let expected, let variadic, let got):
            let wanted = variadic ? "at least \(expected)" : "\(expected)"
            return "\(function) takes \(wanted) argument\(expected == 1 ? "" : "s"), got \(got)"
        case .invalidArgument(let position, let type, let reason): return "\(position) (\(type)): \(reason)"
        case .typeMismatch(let position, let cType, let swiftType, let reason):
            return "\(position) (\(cType)): Swift type \(swiftType) \(reason)"
        case .invalidField(let record, let path, let reason): return "\(record), field \(path): \(reason)"
        case .fileNotMapped(let path, let reason): return "cannot map \(path): \(reason)"
        case .debugInfo(let message): return message
        case .signatureMismatch(_, let report): return report
        }
    }
}

/// The code paths a bound function can be called through.
public enum CallBackend: String, Hashable, Sendable, CustomStringConvertible {
    /// libffi's generic `ffi_call` (the slow path and the oracle).
    case libffi
    /// A specialised stub generated with LLVM (the fast path).
    case jit
    public var description: String { rawValue }
}

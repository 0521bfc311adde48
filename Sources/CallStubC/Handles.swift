// Opaque handles for C, the per-thread error text and the status codes: the only unsafe
// pointer code of the C interface (include/callstub.h). A handle is a small record
// holding a tag and a retained Swift object; a freed handle's tag says so, and debug builds
// keep freed records (not their objects) so that a late use is reported, not a crash.

import CallStub
import CallStubCFastPath
#if canImport(Glibc)
    import Glibc
#endif

/// The status codes of callstub.h (`callstub_status`).
enum Status: Int32 {
    case ok = 0, handle, library, declaration, symbol, mismatch, debugInfo, argument, backend, preprocessor

    /// The C enumerator's name.
    var name: String {
        switch self {
        case .ok: "CALLSTUB_OK"
        case .handle: "CALLSTUB_ERROR_HANDLE"
        case .library: "CALLSTUB_ERROR_LIBRARY"
        case .declaration: "CALLSTUB_ERROR_DECLARATION"
        case .symbol: "CALLSTUB_ERROR_SYMBOL"
        case .mismatch: "CALLSTUB_ERROR_MISMATCH"
        case .debugInfo: "CALLSTUB_ERROR_DEBUG_INFO"
        case .argument: "CALLSTUB_ERROR_ARGUMENT"
        case .backend: "CALLSTUB_ERROR_BACKEND"
        case .preprocessor: "CALLSTUB_ERROR_PREPROCESSOR"
        }
    }

    /// The status a Swift error maps to.
    init(_ error: CallStubError) {
        switch error {
        case .libraryNotLoaded: self = .library
        case .symbolNotFound, .noSymbol: self = .symbol
        case .preprocessorFailed: self = .preprocessor
        case .libraryClosed: self = .handle
        case .malformedDeclaration, .declarationMismatch, .invalidSignature: self = .declaration
        case .unsupportedSignature, .backendUnavailable: self = .backend
        case .argumentCount, .invalidArgument, .typeMismatch, .invalidField, .fileNotMapped: self = .argument
        case .debugInfo: self = .debugInfo
        case .signatureMismatch: self = .mismatch
        }
    }
}

/// A failure to report to C: the status and the message `callstub_last_error` gives.
struct Failure: Error {
    var status: Status
    var message: String

    init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: CallStubError) { self.init(Status(error), error.description) }
}

/// Runs `body` for a C entry point: its failure becomes the thread's last error and its status.
func reporting(_ body: () throws(Failure) -> Void) -> Int32 {
    do throws(Failure) {
        try body()
        return Status.ok.rawValue
    } catch {
        LastError.set(error.message)
        return error.status.rawValue
    }
}

/// `body`'s CallStubError as a Failure.
func translating<Result>(_ body: () throws(CallStubError) -> Result) throws(Failure) -> Result {
    do throws(CallStubError) { return try body() } catch { throw Failure(error) }
}

// MARK: - The last error, per thread

enum LastError {
    /// A pthread key whose value is the thread's message (malloc'd; freed with the thread).
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    nonisolated(unsafe) static let empty: UnsafeMutablePointer<CChar> = strdup("")!

    static func set(_ message: String) {
        let old = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(old)
    }

    static var current: UnsafePointer<CChar> {
        UnsafePointer(pthread_getspecific(key)?.assumingMemoryBound(to: CChar.self) ?? empty)
    }
}

/// Strings that live as long as the process (status names, the version).
enum StaticStrings {
    nonisolated(unsafe) static let statusNames: [UnsafeMutablePointer<CChar>] =
        (0...Status.preprocessor.rawValue).map { strdup(Status(rawValue: $0)!.name)! }
    nonisolated(unsafe) static let unknownStatus: UnsafeMutablePointer<CChar> = strdup("CALLSTUB_UNKNOWN_STATUS")!
    nonisolated(unsafe) static let version: UnsafeMutablePointer<CChar> = strdup(CallStubVersion.current)!
}

// MARK: - Strings in and out

/// A C string argument, or a `handle` failure naming the parameter when it is NULL.
func string(_ pointer: UnsafePointer<CChar>?, _ parameter: String) throws(Failure) -> String {
    guard let pointer else { throw Failure(.handle, "\(parameter) is NULL") }
    return String(cString: pointer)
}

/// `count` C strings from an array that may be NULL only when `count` is 0.
func strings(_ array: UnsafePointer<UnsafePointer<CChar>?>?, count: Int, _ parameter: String) throws(Failure) -> [String] {
    guard count > 0 else { return [] }
    guard let array else { throw Failure(.handle, "\(parameter) is NULL but its count is \(count)") }
    var result: [String] = []
    for index in 0..<count { result.append(try string(array[index], "\(parameter)[\(index)]")) }
    return result
}

/// Stores a malloc'd copy of `text` at `out` (when `out` is not NULL).
func give(_ text: String, to out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
    out?.pointee = strdup(text)
}

// MARK: - Handles

/// The tag at the start of each handle record: what it is, or that it was freed (the C
/// fast paths compare with CALLSTUB_TAG_FUNCTION and CALLSTUB_TAG_PLAN, the same values).
enum HandleTag: UInt64 {
    case library = 0x4353_4C49_4252_4152  // "CSLIBRAR"
    case function = 0x4353_4655_4E43_5449  // "CSFUNCTI"
    case callback = 0x4353_4341_4C4C_4241  // "CSCALLBA"
    case plan = 0x4353_4646_4950_4C41  // "CSFFIPLA"
    case freed = 0xDEAD_0000_DEAD_0000

    var noun: String {
        switch self {
        case .library: "library"
        case .function: "function"
        case .callback: "callback"
        case .plan: "plan"
        case .freed: "freed"
        }
    }
}

/// The memory a handle points at: `callstub_handle_record` of callstub_fast_path.h, read
/// by the C fast paths (the tag, the retained object, a function handle's `BoundFunction`
/// unretained, and the stub fixed at binding with its target).
typealias HandleRecord = callstub_handle_record

extension HandleRecord {
    /// The retained object.
    var retained: Unmanaged<AnyObject> { Unmanaged.fromOpaque(object!) }
    /// A function handle's `BoundFunction`, unretained (the object keeps it).
    var boundFunction: Unmanaged<AnyObject>? { callee.map { Unmanaged.fromOpaque($0) } }
}

enum Handles {
    /// A new handle for `object`, which it keeps alive until freed.
    static func make(
        _ object: AnyObject, tag: HandleTag, callee: AnyObject? = nil, fixedStub: UnsafeRawPointer? = nil,
        fixedTarget: UnsafeRawPointer? = nil
    ) -> UnsafeMutableRawPointer {
        assert(HandleTag.function.rawValue == CALLSTUB_TAG_FUNCTION && HandleTag.plan.rawValue == CALLSTUB_TAG_PLAN)
        // callstub.h's callstub_handle_prefix_ (the inline fast paths) reads these offsets.
        assert(MemoryLayout<HandleRecord>.offset(of: \.fixed_stub) == 24 && MemoryLayout<HandleRecord>.offset(of: \.fixed_target) == 32)
        let record = UnsafeMutablePointer<HandleRecord>.allocate(capacity: 1)
        record.initialize(
            to: HandleRecord(
                tag: tag.rawValue, object: Unmanaged.passRetained(object).toOpaque(),
                callee: callee.map { Unmanaged.passUnretained($0).toOpaque() }, fixed_stub: fixedStub, fixed_target: fixedTarget,
                variadic_shapes: nil))
        return UnsafeMutableRawPointer(record)
    }

    /// The record behind a live handle of kind `tag`, or the failure to report.
    @inline(__always)
    static func record(_ raw: UnsafeRawPointer?, _ tag: HandleTag) throws(Failure) -> UnsafePointer<HandleRecord> {
        guard let raw else { throw Failure(.handle, "the \(tag.noun) handle is NULL") }
        let record = raw.assumingMemoryBound(to: HandleRecord.self)
        guard record.pointee.tag == tag.rawValue else { throw wrongTag(record.pointee.tag, expected: tag) }
        return record
    }

    static func wrongTag(_ found: UInt64, expected: HandleTag) -> Failure {
        if found == HandleTag.freed.rawValue { return Failure(.handle, "the \(expected.noun) handle was freed") }
        if let other = HandleTag(rawValue: found) {
            return Failure(.handle, "a \(other.noun) handle was given where a \(expected.noun) handle is expected")
        }
        return Failure(.handle, "not a \(expected.noun) handle")
    }

    /// The object behind a live handle of kind `tag`.
    static func object<Object: AnyObject>(_ raw: UnsafeRawPointer?, _ tag: HandleTag, as: Object.Type) throws(Failure) -> Object {
        unsafeDowncast(try record(raw, tag).pointee.retained.takeUnretainedValue(), to: Object.self)
    }

    /// Frees a handle of kind `tag` (NULL: nothing). Debug builds keep the record, marked
    /// freed, so that later uses are reported; release builds return its memory.
    static func free(_ raw: UnsafeMutableRawPointer?, _ tag: HandleTag) {
        guard let raw else { return }
        let record = raw.assumingMemoryBound(to: HandleRecord.self)
        guard record.pointee.tag == tag.rawValue else {
            LastError.set(wrongTag(record.pointee.tag, expected: tag).message)
            return
        }
        record.pointee.tag = HandleTag.freed.rawValue
        _callstub_forget_variadic(record)
        record.pointee.retained.release()
        #if !DEBUG
            record.deallocate()
        #endif
    }
}

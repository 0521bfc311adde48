// Shared libraries: `dlopen` by name or path, symbol lookup, and the declaration set that
// binding reads. Every bound function holds the library's handle, so the library stays
// mapped as long as any function of it can still be called: `close()` only gives up this
// object's claim, and `dlclose` runs when the last claim is gone.

import ABILowering
import CDeclParser
import CTypeModel
import DWARFImport
import LLVMBackend
import Locks

#if canImport(Glibc)
    import Glibc
#endif

/// The `dlopen` handle; `dlclose` runs when the last owner (a library or a bound function) goes.
final class LibraryHandle: @unchecked Sendable {
    // Immutable after init; dlsym on one handle from several threads is safe.
    let raw: UnsafeMutableRawPointer
    let name: String
    /// Callbacks the library's code may call for as long as it is loaded
    /// (`SharedLibrary.keep`): released after `dlclose`, when no code of it can run.
    let callbacks = Lock<[Callback]>([])

    init(raw: UnsafeMutableRawPointer, name: String) {
        self.raw = raw
        self.name = name
    }

    deinit { dlclose(raw) }

    /// The address of `symbol`. The corresponding C function is `dlsym`.
    func address(of symbol: String) throws(CallStubError) -> UnsafeMutableRawPointer {
        let lookup = Self.lock.withLock { _ -> (UnsafeMutableRawPointer?, String?) in
            _ = dlerror()  // clear a stale message
            let address = dlsym(raw, symbol)
            return (address, address == nil ? dlerror().map { String(cString: $0) } : nil)
        }
        guard let address = lookup.0 else {
            throw .symbolNotFound(symbol: symbol, library: name, message: lookup.1 ?? "the symbol's value is NULL")
        }
        return address
    }

    /// dlerror's message belongs to the thread but not to one call: keep open/lookup and
    /// the read of the message together.
    static let lock = Lock<Void>(())
}

/// A shared library loaded into the process.
///
///     let libm = try SharedLibrary("libm.so.6")
///     let pow = try libm.function("pow", declaration: "double pow(double, double)")
///     try pow.call([.double(2), .double(10)])   // .double(1024)
///
/// The library also holds a declaration set, like a small header: `declare` adds
/// typedefs, records and prototypes that later declarations and `function(_:)` can use.
public final class SharedLibrary: Sendable, CustomStringConvertible {
    /// The name or path the library was opened with.
    public let name: String
    /// The binding options used when `function` is called without any.
    public let defaultOptions: BindingOptions
    private let state: Lock<State>

    private struct State {
        var handle: LibraryHandle?
        var declarations: CScope
    }
    /// The library's type info (DWARF or CTF), once looked for.
    let debugState = Lock<Result<LibraryTypeInfo, CallStubError>?>(nil)

    /// Opens a library by file name (searched as the dynamic linker does, e.g.
    /// `libm.so.6`) or by path. The corresponding C function is `dlopen` with
    /// `RTLD_NOW | RTLD_LOCAL`: every undefined symbol is resolved now, so a broken
    /// library fails here rather than at its first call.
    /// `options` are the defaults for functions bound from this library.
    public init(
        _ nameOrPath: String, declarations: CScope = .standard, options: BindingOptions = BindingOptions()
    ) throws(CallStubError) {
        defaultOptions = options
        // A path (dlopen reads a name with a '/' as one) is checked before it is mapped: a
        // truncated ELF file kills the process in glibc's loader with SIGBUS.
        if nameOrPath.contains("/"), let problem = ELFPrecheck.problem(at: nameOrPath) {
            throw .libraryNotLoaded(name: nameOrPath, message: problem)
        }
        let opened = LibraryHandle.lock.withLock { _ -> (UnsafeMutableRawPointer?, String?) in
            let handle = dlopen(nameOrPath, RTLD_NOW | RTLD_LOCAL)
            return (handle, handle == nil ? dlerror().map { String(cString: $0) } : nil)
        }
        guard let raw = opened.0 else {
            throw .libraryNotLoaded(name: nameOrPath, message: opened.1 ?? "unknown error")
        }
        name = nameOrPath
        state = Lock(State(handle: LibraryHandle(raw: raw, name: nameOrPath), declarations: declarations))
    }

    public var description: String { "SharedLibrary(\(name))" }

    /// Keeps `callback` alive for as long as the library is loaded, for a pointer the
    /// library's code keeps beyond the call it was given in: a handler it registers, a
    /// function pointer stored in one of its structs. The library stays loaded while this
    /// object or any function bound from it lives; the callback is released after it is
    /// unloaded. Returns the callback.
    ///
    ///     let handler = try lua.keep(Callback.typed("int (*)(lua_State *)", …) { … })
    @discardableResult
    public func keep(_ callback: Callback) throws(CallStubError) -> Callback {
        try handle().callbacks.withLock { $0.append(callback) }
        return callback
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { state.withLock { $0.handle == nil } }

    /// Gives up this object's claim on the library. Functions already bound keep working
    /// (each keeps the library loaded); new lookups and bindings fail with `libraryClosed`.
    /// The library is unloaded (`dlclose`) when its last bound function is gone.
    public func close() {
        state.withLock { $0.handle = nil }
    }

    func handle() throws(CallStubError) -> LibraryHandle {
        guard let handle = state.withLock({ $0.handle }) else { throw .libraryClosed(name) }
        return handle
    }

    /// The address of a symbol. The corresponding C function is `dlsym`.
    public func address(of symbol: String) throws(CallStubError) -> CPointer {
        CPointer(try handle().address(of: symbol))
    }

    // MARK: - Declarations

    /// The library's declaration set.
    public var declarations: CScope { state.withLock { $0.declarations } }

    /// Adds declarations (typedefs, structs, unions, enums, prototypes) to the library's
    /// set, as if they were written in a header before every later declaration. Returns
    /// the parser's warnings.
    @discardableResult
    public func declare(_ text: String) throws(CallStubError) -> [CDiagnostic] {
        // Parsing under the lock keeps concurrent declarations from losing each other's names.
        let outcome = state.withLock { state -> Result<[CDiagnostic], CParseError> in
            do throws(CParseError) {
                let result = try CDeclParser.parse(text, scope: state.declarations)
                state.declarations = result.scope
                return .success(result.warnings)
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let warnings): return warnings
        case .failure(let error): throw .malformedDeclaration(error)
        }
    }

    /// Adds the declarations of real C headers to the library's set: the headers are run
    /// through the system C preprocessor (`cc -E -P`, see `CPreprocessorOptions`) and
    /// the result is declared as by `declare(_:)`. Names are as in `#include <…>`
    /// (`zlib.h`) or paths. Returns the parser's warnings.
    ///
    ///     let zlib = try SharedLibrary("libz.so.1")
    ///     try zlib.declare(including: ["zlib.h"])
    ///     let version = try zlib.function("zlibVersion")
    @discardableResult
    public func declare(
        including headers: [String], options: CPreprocessorOptions = CPreprocessorOptions()
    ) throws(CallStubError) -> [CDiagnostic] {
        try declare(CPreprocessor.preprocess(including: headers, options: options))
    }

    /// A type named in C (`struct P2d`, `div_t`, `int (*)(int)`) in the library's set.
    public func type(_ name: String) throws(CallStubError) -> CQualType {
        do { return try CDeclParser.parseTypeName(name, scope: declarations) } catch { throw .malformedDeclaration(error) }
    }

    /// A zeroed value of a struct or union type named in C (`struct P2d`, `div_t`).
    public func makeRecord(_ typeName: String) throws(CallStubError) -> CRecordValue {
        try CRecordValue.make(type(typeName))
    }

    // MARK: - Binding

    /// Binds the function `name`. `declaration` is C text that declares it (and may define
    /// the types it uses first, like a small header); it is parsed against the library's
    /// declaration set. Without a declaration, the prototype must already be in the set.
    ///
    ///     let div = try libc.function("div", declaration: """
    ///         typedef struct { int quot; int rem; } div_t;
    ///         div_t div(int, int);
    ///         """)
    public func function(
        _ name: String, declaration: String? = nil, options: BindingOptions? = nil
    ) throws(CallStubError) -> BoundFunction {
        var scope = declarations
        var type = scope.function(named: name)
        if let declaration {
            let result: CParseResult
            do { result = try CDeclParser.parse(Self.terminatedDeclaration(declaration), scope: scope) } catch {
                throw .malformedDeclaration(error)
            }
            scope = result.scope
            let declared = result.declarations.compactMap { entry -> (String, CFunctionType)? in
                if case .function(let functionName, let functionType) = entry { return (functionName, functionType) }
                return nil
            }
            guard declared.contains(where: { $0.0 == name }) else {
                let names = declared.map(\.0)
                throw .declarationMismatch(
                    names.isEmpty
                        ? "the declaration declares no function; expected a prototype of \(name)"
                        : "the declaration declares \(names.joined(separator: ", ")), not \(name)")
            }
            // The scope's type: a redeclaration of a function the set already has merges
            // with it (C11 6.2.7), so an unprototyped one does not lose the prototype.
            type = scope.function(named: name)
        }
        if let type {
            return try function(name, type: type, declarations: scope, options: options)
        }
        // No declaration anywhere: the signature comes from the library's DWARF, if there
        // is a symbol to call (a missing one is reported as such, not as missing DWARF).
        _ = try address(of: name)
        let found: DebugSignature
        do {
            found = try signature(name)
        } catch {
            throw .declarationMismatch(
                "no declaration of \(name), and none from debug info (\(error.description)): give a declaration")
        }
        return try bind(name, type: found.type, declarations: found.declarations, options: options ?? defaultOptions,
            verification: .verified(source: "\(found.source) (signature taken from it)"), warnings: [])
    }

    /// The symbol the function or object `name` is linked under in `scope`: its
    /// `__asm__` label (`strerror_r` → `__xpg_strerror_r`) or its own name. A `static`
    /// declaration has none: a header's `static inline` function is compiled into its callers.
    public static func symbol(of name: String, in scope: CScope) throws(CallStubError) -> String {
        switch scope.linkage(of: name) {
        case .internal?:
            throw .noSymbol(name: name, reason: "it is declared static, so it is compiled into its callers and no library exports it")
        case .external(let symbol)?: return symbol
        case nil: return name
        }
    }

    /// The text with a `;` added when its last declaration has none, so that a single
    /// prototype may be written as in documentation: `double pow(double, double)`.
    public static func terminatedDeclaration(_ text: String) -> String {
        let trimmed = text.reversed().drop { $0.isWhitespace }
        guard let last = trimmed.first, last != ";" else { return text }
        return text + ";"
    }

    /// Binds many functions at once: every declaration is parsed and validated first, then
    /// the stubs the JIT needs are compiled together in one LLVM module (several times
    /// cheaper per stub than one module each). `declarations` is C text with the
    /// prototypes (and the types they use); `names` lists the functions to bind.
    public func functions(
        _ names: [String], declarations text: String, options: BindingOptions? = nil
    ) throws(CallStubError) -> [BoundFunction] {
        let options = options ?? defaultOptions
        let result: CParseResult
        do { result = try CDeclParser.parse(Self.terminatedDeclaration(text), scope: declarations) } catch {
            throw .malformedDeclaration(error)
        }
        var requests: [(name: String, type: CFunctionType)] = []
        for name in names {
            guard let type = result.scope.function(named: name) else {
                throw .declarationMismatch("the declarations declare no function \(name)")
            }
            requests.append((name, type))
        }
        return try functions(requests, declarations: result.scope, options: options)
    }

    /// Binds many functions given as symbol names with signatures, compiling their stubs
    /// together (see `functions(_:declarations:options:)`).
    public func functions(
        _ requests: [(name: String, type: CFunctionType)], declarations scope: CScope? = nil, options: BindingOptions? = nil
    ) throws(CallStubError) -> [BoundFunction] {
        let options = options ?? defaultOptions
        let handle = try handle()
        var prepared: [(String, UnsafeMutableRawPointer, ValidatedSignature)] = []
        var checks: [(SignatureVerification, [SignatureDifference])] = []
        let scope = scope ?? declarations
        for (name, type) in requests {
            let symbol = try Self.symbol(of: name, in: scope)
            checks.append(try verify(symbol, declared: type, policy: options.verification))
            let signature: ValidatedSignature
            do { signature = try ValidatedSignature.validate(type) } catch { throw .invalidSignature(error) }
            prepared.append((name, try handle.address(of: symbol), signature))
        }
        let stubs: [Result<StubEntry, CallStubError>?] =
            options.backend == .libffi
            ? prepared.map { _ in nil }
            : JITRuntime.stubs(for: prepared.map { X86_64SysV.plan($0.2) }, capturesErrno: options.capturesErrno)
        var bound: [BoundFunction] = []
        for (((name, address, signature), stub), (verification, warnings)) in zip(zip(prepared, stubs), checks) {
            bound.append(try BoundFunction(
                name: name, library: handle, address: address, signature: signature, declarations: scope,
                options: options, verification: verification, warnings: warnings, precompiled: stub))
        }
        return bound
    }

    /// Binds the function `name` with a signature given as a value. `declarations` (the
    /// library's set by default) may give `name` an `__asm__` label: the symbol bound and
    /// checked is then the label.
    public func function(
        _ name: String, type: CFunctionType, declarations: CScope? = nil, options: BindingOptions? = nil
    ) throws(CallStubError) -> BoundFunction {
        let options = options ?? defaultOptions
        let declarations = declarations ?? self.declarations
        let symbol = try Self.symbol(of: name, in: declarations)
        // A signature no backend can call is refused before the debug info is consulted.
        do { _ = try ValidatedSignature.validate(type) } catch { throw .invalidSignature(error) }
        let (verification, warnings) = try verify(symbol, declared: type, policy: options.verification)
        return try bind(name, symbol: symbol, type: type, declarations: declarations, options: options,
            verification: verification, warnings: warnings)
    }

    func bind(
        _ name: String, symbol: String? = nil, type: CFunctionType, declarations: CScope, options: BindingOptions,
        verification: SignatureVerification, warnings: [SignatureDifference]
    ) throws(CallStubError) -> BoundFunction {
        let signature: ValidatedSignature
        do { signature = try ValidatedSignature.validate(type) } catch { throw .invalidSignature(error) }
        let handle = try handle()
        let address = try handle.address(of: symbol ?? name)
        return try BoundFunction(
            name: name, library: handle, address: address, signature: signature,
            declarations: declarations, options: options, verification: verification, warnings: warnings)
    }
}

extension CRecordValue {
    /// A zeroed value of a struct or union type (typedefs resolved).
    public static func make(_ type: CQualType) throws(CallStubError) -> CRecordValue {
        guard case .record(let record) = type.resolved.type else {
            throw .invalidField(record: type.description, path: "", reason: "not a struct or union type")
        }
        return try CRecordValue(record)
    }
}

// Global variables of a shared library (`extern FILE *stdout;`, `extern char **environ;`):
// bound from an `extern` declaration like functions, read and written in place at the
// symbol's address, and usable as call arguments (their value, or `&name`).

import ABILowering
import CDeclParser
import CTypeModel

/// A C object with external linkage in a shared library, bound from its declaration.
///
///     let libc = try SharedLibrary("libc.so.6")
///     try libc.declare(including: ["stdio.h"])
///     let stdout = try libc.variable("stdout")
///     try stdout.load()        // .pointer(0x7f…): the FILE *
///
/// Reads and writes go to the library's own object, not a copy. The variable keeps its
/// library loaded.
public final class GlobalVariable: Sendable, CustomStringConvertible {
    /// The declared name.
    public let name: String
    /// The symbol it is linked under (its `__asm__` label, or the name).
    public let symbol: String
    /// Its declared type (qualifiers kept: a `const` object refuses `store`).
    public let type: CQualType
    /// The object's address in this process.
    public let address: CPointer
    private let library: LibraryHandle

    init(name: String, symbol: String, type: CQualType, address: CPointer, library: LibraryHandle) {
        self.name = name
        self.symbol = symbol
        self.type = type
        self.address = address
        self.library = library
    }

    public var description: String { "GlobalVariable(\(type.declaration(named: name)) at \(address))" }

    /// The object's current value: scalars, pointers and records as `call` returns them,
    /// arrays of known size as `.array`.
    public func load() throws(CallStubError) -> CValue {
        try Self.load(type, from: try raw(), name: name)
    }

    /// Writes `value` into the object (converted as an argument of its type would be).
    public func store(_ value: CValue) throws(CallStubError) {
        let resolved = type.resolved
        if resolved.qualifiers.contains(.const) { throw .invalidArgument(position: name, type: type.description, reason: "the variable is const") }
        guard let valueClass = ValueCoding.valueClass(of: resolved) else {
            throw .invalidArgument(position: name, type: type.description, reason: "only scalars, pointers and records can be stored; write arrays element by element through the address")
        }
        let destination = try raw()
        do throws(ValueMismatch) {
            try ValueCoding.store(value, as: valueClass, byteOrder: resolved.byteOrder, at: destination, strings: nil)
        } catch {
            throw .invalidArgument(position: name, type: type.description, reason: error.reason)
        }
    }

    /// The value as a Swift type whose bytes are the C value (`Int32` for `int`,
    /// `UnsafeMutableRawPointer?` for pointers); the type is checked against the declaration.
    public func load<T: CScalarConvertible>(as swiftType: T.Type) throws(CallStubError) -> T {
        _ = try scalarClass(for: T.self)
        return UnsafeRawPointer(try raw()).loadUnaligned(as: T.self)
    }

    /// Writes a Swift value whose bytes are the C value; the type is checked as by `load(as:)`.
    public func store<T: CScalarConvertible>(_ value: T) throws(CallStubError) {
        if type.resolved.qualifiers.contains(.const) { throw .invalidArgument(position: name, type: type.description, reason: "the variable is const") }
        _ = try scalarClass(for: T.self)
        try raw().storeBytes(of: value, as: T.self)
    }

    // MARK: - Helpers

    private func raw() throws(CallStubError) -> UnsafeMutableRawPointer {
        guard let pointer = address.raw else { throw .symbolNotFound(symbol: symbol, library: library.name, message: "its address is NULL") }
        return pointer
    }

    private func scalarClass<T: CScalarConvertible>(for swiftType: T.Type) throws(CallStubError) -> CValueClass {
        guard let valueClass = ValueCoding.valueClass(of: type.resolved), !valueClass.isRecord else {
            throw .typeMismatch(position: name, cType: type.description, swiftType: "\(T.self)", reason: "cannot hold this type; use load()")
        }
        if let reason = T.cScalarMismatch(for: valueClass) {
            throw .typeMismatch(position: name, cType: type.description, swiftType: "\(T.self)", reason: reason)
        }
        return valueClass
    }

    static func load(_ type: CQualType, from source: UnsafeRawPointer, name: String) throws(CallStubError) -> CValue {
        let resolved = type.resolved
        if case .array(let element, let count) = resolved.type {
            guard let count else {
                throw .invalidArgument(position: name, type: type.description, reason: "an array of unknown size has no value to load; read it through the address")
            }
            let stride: Int
            do { stride = try element.layout().size } catch { throw .invalidArgument(position: name, type: type.description, reason: error.description) }
            var elements: [CValue] = []
            for index in 0..<count { elements.append(try load(element, from: source + index * stride, name: "\(name)[\(index)]")) }
            return .array(elements)
        }
        guard let valueClass = ValueCoding.valueClass(of: resolved), (try? resolved.layout()) != nil else {
            throw .invalidArgument(position: name, type: type.description, reason: "an object of incomplete type has no value to load")
        }
        return ValueCoding.load(valueClass, byteOrder: resolved.byteOrder, from: source)
    }
}

extension CValueClass {
    fileprivate var isRecord: Bool {
        if case .record = self { return true }
        return false
    }
}

extension SharedLibrary {
    /// Binds the global variable `name` from its `extern` declaration: in `declaration`
    /// (C text, parsed against the library's set) or already in the set. Its symbol is
    /// the declaration's `__asm__` label, if any.
    public func variable(_ name: String, declaration: String? = nil) throws(CallStubError) -> GlobalVariable {
        var scope = declarations
        if let declaration {
            do { scope = try CDeclParser.parse(Self.terminatedDeclaration(declaration), scope: scope).scope } catch {
                throw .malformedDeclaration(error)
            }
        }
        switch scope.ordinaryDeclarations[name] {
        case .variable(_, let type)?:
            let symbol = try Self.symbol(of: name, in: scope)
            let handle = try handle()
            return GlobalVariable(name: name, symbol: symbol, type: type, address: CPointer(try handle.address(of: symbol)), library: handle)
        case .function?:
            throw .declarationMismatch("\(name) is declared as a function, not a variable: bind it with function(_:)")
        default:
            if name == "errno" {
                throw .declarationMismatch("errno is not a variable: glibc defines it as a macro for (*__errno_location ()), one per thread; capture it with BindingOptions.capturesErrno (--errno)")
            }
            throw .declarationMismatch("no declaration of the variable \(name): declare it, e.g. 'extern int \(name);'")
        }
    }
}

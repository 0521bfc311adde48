// Functions known only by a pointer obtained at run time (a callback handed to you, a
// slot of a table of function pointers, a `dlsym` result) bound with a C declaration.

import ABILowering
import CDeclParser
import CTypeModel

#if canImport(Glibc)
    import Glibc
#endif

extension LibraryHandle {
    /// The handle of the process's global scope (`dlopen(NULL)`): what an address-bound
    /// function holds where a library-bound one holds its library, and where names in its
    /// arguments (`stdout`, `&counter`) are looked up.
    static let process: LibraryHandle = {
        LibraryHandle.lock.withLock { _ in LibraryHandle(raw: dlopen(nil, RTLD_NOW)!, name: "the process") }
    }()
}

extension BoundFunction {
    /// Binds the function at `address` with its C declaration: a prototype (`int
    /// compare(const void *, const void *)`, after any types it uses, like a small header)
    /// or a function or function-pointer type name (`int (*)(int)`). Nothing ties the
    /// code's lifetime to the result: the caller keeps what `address` points into loaded.
    /// There is no library whose debug info could check the declaration, so the binding is
    /// `unverified`. `options.verification` is not consulted.
    ///
    ///     let abs = try BoundFunction(address: libc.address(of: "abs"), declaration: "int abs(int)")
    public convenience init(
        address: CPointer, declaration: String, declarations: CScope = .standard, options: BindingOptions = BindingOptions()
    ) throws(CallStubError) {
        guard let raw = address.raw else {
            throw .invalidArgument(position: "address", type: declaration, reason: "a NULL function pointer cannot be called")
        }
        let (name, type, scope) = try Self.functionType(in: declaration, declarations: declarations)
        let signature: ValidatedSignature
        do { signature = try ValidatedSignature.validate(type) } catch { throw .invalidSignature(error) }
        try self.init(
            name: name, library: .process, address: raw, signature: signature, declarations: scope, options: options,
            verification: .unverified(reason: "bound from an address: no library debug info to check it against"),
            warnings: [])
    }

    /// The function a declaration text declares last, or the function type a type name
    /// denotes (named after its address in messages).
    private static func functionType(
        in text: String, declarations: CScope
    ) throws(CallStubError) -> (String, CFunctionType, CScope) {
        let parsed: CParseResult
        do {
            parsed = try CDeclParser.parse(SharedLibrary.terminatedDeclaration(text), scope: declarations)
        } catch {
            // Not declarations: a type name such as `int (*)(int)`?
            guard let type = try? CDeclParser.parseTypeName(text, scope: declarations) else { throw .malformedDeclaration(error) }
            switch type.resolved.type {
            case .function(let function): return ("(function)", function, declarations)
            case .pointer(let pointee):
                if case .function(let function) = pointee.resolved.type { return ("(function)", function, declarations) }
            default: break
            }
            throw .declarationMismatch("\(type) is not a function type")
        }
        for case .function(let name, let type) in parsed.declarations.reversed() { return (name, type, parsed.scope) }
        throw .declarationMismatch("the declaration declares no function: give a prototype or a function type")
    }
}

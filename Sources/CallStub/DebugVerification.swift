// Type safety from DWARF: a library's own debug info gives each function's signature, so
// a binding without a declaration takes it from there, and a binding with one is compared
// with it before any call is made: ABI-relevant differences are errors, the others warnings
// (errors under the `strict` policy).

import ABILowering
import CDeclParser
import CTypeModel
import DWARFImport
import FFIBackend

/// How declarations are checked against the library's debug info.
public enum VerificationPolicy: String, Hashable, Sendable, CaseIterable {
    /// Every difference is an error.
    case strict
    /// Differences that change the call are errors; the others are warnings (the default).
    case abi
    /// No check.
    case off
}

/// A function's signature as the library's type info (DWARF or CTF) gives it.
public struct DebugSignature: Sendable {
    /// The symbol.
    public var name: String
    /// A C header declaring the function's types and the function (parseable by CDeclParser).
    public var header: String
    /// The function type, read back from `header`.
    public var type: CFunctionType
    /// The header's declarations: the types the signature uses, by name.
    public var declarations: CScope
    /// Where the types came from ("DWARF in …", "CTF in …").
    public var source: String
    /// How the function was found (for DWARF: its DIE), and under which name.
    public var foundBy: String
    public var definitionName: String
}

extension SharedLibrary {
    /// The file the library was loaded from.
    public var path: String? {
        guard let handle = try? handle() else { return nil }
        return LibraryDebugInfo.loadedPath(of: handle.raw)
    }

    /// The library's type info (DWARF, else CTF), opened on first use.
    func typeInfo() throws(CallStubError) -> LibraryTypeInfo {
        let outcome = debugState.withLock { state -> Result<LibraryTypeInfo, CallStubError> in
            if let known = state { return known }
            let opened: Result<LibraryTypeInfo, CallStubError>
            if let path {
                do throws(CallStubError) { opened = .success(try LibraryTypeInfo.open(libraryPath: path)) } catch {
                    opened = .failure(error)
                }
            } else {
                opened = .failure(.debugInfo("\(name): the library's file is unknown"))
            }
            state = opened
            return opened
        }
        return try outcome.get()
    }

    /// Opens the library's type info and, for DWARF, builds its index now (otherwise the
    /// first verification does). Returns where the types came from.
    @discardableResult
    public func loadDebugInfo() throws(CallStubError) -> String {
        let info = try typeInfo()
        if case .dwarf(let dwarf) = info { dwarf.buildIndex() }
        return info.source
    }

    /// Where the library's types come from ("DWARF in …", "CTF in …"), or why there are none.
    public var debugInfoSource: Result<String, CallStubError> {
        do throws(CallStubError) { return .success(try typeInfo().source) } catch { return .failure(error) }
    }

    /// The function type of `name` as the library's type info (DWARF or CTF) describes
    /// it: a lookup and an import, no C text. Records keep one identity per library
    /// across lookups.
    public func debugFunctionType(_ name: String) throws(CallStubError) -> CFunctionType {
        try typeInfo().function(symbol: name, implementation: implementationAddress(name)).type
    }

    /// Where the code `dlsym` gives for `name` lies in the library's file (for an IFUNC
    /// symbol: the implementation its resolver picked here), asked only when needed.
    func implementationAddress(_ name: String) -> () -> UInt64? {
        { [self] in
            guard let raw = try? handle().raw, let code = try? address(of: name).address,
                let bias = LibraryDebugInfo.loadBias(of: raw), UInt64(code) >= bias
            else { return nil }
            return UInt64(code) - bias
        }
    }

    /// The signature of `name` from the library's type info (DWARF, else CTF).
    public func signature(_ name: String) throws(CallStubError) -> DebugSignature {
        let info = try typeInfo()
        let function = try info.function(symbol: name, implementation: implementationAddress(name))
        let header = CPrinter().print(function.typeDeclarations + [.function(name: name, type: function.type)])
        // Read back in a scope of its own: the header defines every name it uses.
        let parsed: CParseResult
        do { parsed = try CDeclParser.parse(header, scope: CScope()) } catch {
            throw .debugInfo("\(name): the signature read from \(info.format) does not parse back: \(error.description)")
        }
        guard let type = parsed.scope.function(named: name) else {
            throw .debugInfo("\(name): the signature read from \(info.format) does not parse back")
        }
        return DebugSignature(
            name: name, header: header, type: type, declarations: parsed.scope, source: info.source,
            foundBy: function.foundBy, definitionName: function.definitionName)
    }

    /// Checks a declaration against the library's DWARF without binding it (no symbol
    /// lookup, no stub): the verification state and the warnings; throws
    /// `signatureMismatch` when they disagree. The DWARF looked at is that of the symbol
    /// `name` is linked under in `declarations` (its `__asm__` label, if any); a `static`
    /// declaration throws `noSymbol`.
    public func check(
        _ name: String, type: CFunctionType, declarations: CScope? = nil, policy: VerificationPolicy = .abi
    ) throws(CallStubError) -> (verification: SignatureVerification, warnings: [SignatureDifference]) {
        try verify(Self.symbol(of: name, in: declarations ?? self.declarations), declared: type, policy: policy)
    }

    /// Checks a declaration text (a prototype, after any types it uses; read in the
    /// library's declaration set) against the library's DWARF: the last function it
    /// declares. Returns that function's name with the verification state and warnings;
    /// throws `signatureMismatch` when they disagree.
    public func check(
        declaration text: String, policy: VerificationPolicy = .abi
    ) throws(CallStubError) -> (name: String, verification: SignatureVerification, warnings: [SignatureDifference]) {
        let parsed: CParseResult
        do { parsed = try CDeclParser.parse(Self.terminatedDeclaration(text), scope: declarations) } catch {
            throw .malformedDeclaration(error)
        }
        guard case .function(let name, _)? = parsed.declarations.last(where: { if case .function = $0 { true } else { false } }),
            let type = parsed.scope.function(named: name)
        else {
            throw .declarationMismatch("the declaration declares no function to check")
        }
        let (verification, warnings) = try check(name, type: type, declarations: parsed.scope, policy: policy)
        return (name, verification, warnings)
    }

    /// Checks a prepared libffi `ffi_cif` (what a libffi user would call `name` with)
    /// against the library's DWARF: the cif's types read back as C (structs as anonymous
    /// structs of their elements) and compared as a declaration is. Member names and
    /// pointee types, which a cif does not have, differ only as warnings.
    public func check(
        _ name: String, cif: UnsafeRawPointer, policy: VerificationPolicy = .abi
    ) throws(CallStubError) -> (verification: SignatureVerification, warnings: [SignatureDifference]) {
        let type: CFunctionType
        do { type = try FFICIFReader.functionType(ofCIF: cif) } catch {
            throw .invalidArgument(position: "the cif", type: "ffi_cif", reason: error.description)
        }
        return try verify(name, declared: type, policy: policy)
    }

    /// Checks a declared type against the library's DWARF under `policy`. Returns the
    /// verification state and the non-ABI differences (warnings); throws `signatureMismatch`.
    func verify(
        _ name: String, declared: CFunctionType, policy: VerificationPolicy
    ) throws(CallStubError) -> (SignatureVerification, [SignatureDifference]) {
        if policy == .off { return (.unverified(reason: "verification is off"), []) }
        let actual: DebugSignature
        do {
            actual = try signature(name)
        } catch {
            return (.unverified(reason: error.description), [])
        }
        let differences = SignatureComparison.compare(declared: declared, actual: actual.type)
        let errors = differences.filter { $0.severity == .abi || policy == .strict }
        if !errors.isEmpty {
            throw .signatureMismatch(
                function: name, report: Self.mismatchReport(name, declared: declared, actual: actual, differences: differences))
        }
        return (.verified(source: actual.source), differences)
    }

    static func mismatchReport(
        _ name: String, declared: CFunctionType, actual: DebugSignature, differences: [SignatureDifference]
    ) -> String {
        let format = actual.source.hasPrefix("CTF") ? "CTF" : "DWARF"
        var lines = ["the declaration of \(name) disagrees with the library's \(format) (\(actual.source)):"]
        for difference in differences {
            lines.append("  [\(difference.severity.rawValue)] \(difference)")
        }
        lines.append("declared: " + CPrinter().print(.function(name: name, type: declared)))
        lines.append("actual:   " + CPrinter().print(.function(name: name, type: actual.type)))
        // Records side by side, in the pahole style of `callstub parse`: those passed by
        // value and those pointed to.
        var shown: Set<ObjectIdentifier> = []
        func pointee(_ type: CQualType) -> CQualType {
            if case .pointer(let pointee) = type.resolved.type { pointee } else { type }
        }
        for (mine, theirs) in zip([declared.result] + declared.parameters.map(\.type), [actual.type.result] + actual.type.parameters.map(\.type))
            .map({ (pointee($0), pointee($1)) })
        {
            if case .record(let left) = mine.resolved.type, case .record(let right) = theirs.resolved.type,
                shown.insert(ObjectIdentifier(left)).inserted,
                differences.contains(where: { $0.declared == mine.description && $0.severity == .abi })
            {
                lines.append(CLayoutReport().render(left, title: "declared"))
                lines.append(CLayoutReport().render(right, title: "actual"))
            }
        }
        return lines.joined(separator: "\n")
    }
}

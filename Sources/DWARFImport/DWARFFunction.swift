// Looking a function up in a library's debug info — by symbol address first (glibc's
// `strtol` symbol is the code of a DIE named `__strtol`), by name among declarations
// second — and importing its type with every type definition it needs, in an order a C
// header can print.

internal import CLibDW
import CTypeModel

/// A function as the library's DWARF describes it.
public struct DWARFFunction: Sendable {
    public var entry: DWARFFunctionEntry
    public var type: CFunctionType
    /// The typedefs, records and enums the signature uses, dependencies first: records
    /// passed by value or pointed to in full (so that values can be built for
    /// `mktime(struct tm *)`), those reached only through function types as declarations.
    public var typeDeclarations: [CDeclaration]

    /// A C header declaring the function under `name` after its types.
    public func header(declaring name: String) -> String {
        CPrinter().print(typeDeclarations + [.function(name: name, type: type)])
    }
}

extension LibraryDebugInfo {
    /// The function defined at `symbol`'s address (or, for IFUNC symbols and symbols with
    /// no DIE at their address, a declaration of that name).
    ///
    /// An IFUNC symbol's address is its resolver's; `implementation` gives the file address
    /// of the code the resolver picks in this process (glibc's `cos` is `__cos_fma` on a
    /// machine with FMA), whose DIE describes the function.
    public func function(
        symbol: String, implementation: (() -> UInt64?)? = nil
    ) throws(DWARFImportError) -> DWARFFunction {
        let index = index()
        let picked = index.symbols[symbol]?.isIndirectFunction == true ? implementation?() : nil
        return try lock.withLock { _ throws(DWARFImportError) -> DWARFFunction in
            // The DIEs that may describe the symbol, best first; the first with a C type wins
            // (an IFUNC's pick written in assembly, like glibc's `__strlen_avx2`, has none,
            // while a declaration of `strlen` elsewhere in the DWARF may).
            var candidates: [(die: Dwarf_Die, foundBy: String)] = []
            let entry = index.symbols[symbol]
            if let entry {
                if !entry.isIndirectFunction, let atAddress = index.functionsByAddress[entry.address] {
                    candidates.append((atAddress, "symbol address 0x\(String(entry.address, radix: 16))"))
                } else if let picked, let atAddress = index.functionsByAddress[picked &+ bias] {
                    candidates.append((atAddress, "IFUNC implementation at 0x\(String(picked, radix: 16)) (the resolver's pick)"))
                }
            }
            if candidates.isEmpty || entry?.isIndirectFunction == true, let declared = nameIndexLocked().functionsByName[symbol] {
                let how = entry == nil ? "declaration by name (no symbol)"
                    : entry!.isIndirectFunction ? "declaration by name (IFUNC symbol)" : "declaration by name"
                candidates.append((declared, how))
            }
            guard !candidates.isEmpty else {
                guard let entry else { throw .symbolNotFound(symbol) }
                throw .unverifiable(
                    symbol: symbol,
                    reason: entry.isIndirectFunction
                        ? "an IFUNC symbol whose implementations have no DWARF declaration"
                        : "no DIE describes the code at 0x\(String(entry.address, radix: 16))")
            }
            var firstError: DWARFImportError?
            for (candidate, foundBy) in candidates {
                var die = candidate
                do throws(DWARFImportError) {
                    let type = try importer().functionType(&die)
                    return DWARFFunction(
                        entry: DWARFFunctionEntry(
                            symbol: symbol, definitionName: DIE.name(&die) ?? symbol, foundBy: foundBy,
                            dieOffset: DIE.offset(&die)),
                        type: type, typeDeclarations: TypeClosure.declarations(for: type))
                } catch {
                    if case .noCType(_, let reason) = error {
                        firstError = firstError ?? .unverifiable(symbol: symbol, reason: reason)
                    } else {
                        firstError = firstError ?? error
                    }
                }
            }
            throw firstError!
        }
    }
}

/// The type declarations a function type needs, dependencies first.
enum TypeClosure {
    static func declarations(for function: CFunctionType) -> [CDeclaration] {
        var closure = TypeClosure.Walk()
        closure.visit(function.result, complete: true)
        for parameter in function.parameters { closure.visit(parameter.type, complete: true) }
        return closure.declarations
    }

    struct Walk {
        var declarations: [CDeclaration] = []
        var completeRecords: Set<ObjectIdentifier> = []
        var declaredRecords: Set<ObjectIdentifier> = []
        var enums: Set<ObjectIdentifier> = []
        /// Tags printed: a type each compilation unit describes again (without dwz, every
        /// unit that uses `struct __gconv_step_data` has its own DIE) is printed once.
        var printedTags: Set<String> = []
        var typedefs: Set<String> = []
        var depth = 0

        mutating func visit(_ type: CQualType, complete: Bool) {
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { return }
            switch type.type {
            case .typedef(let alias):
                visit(alias.underlying, complete: complete)
                if typedefs.insert(alias.name).inserted { declarations.append(.typedef(alias)) }
            case .pointer(let pointee):
                visit(pointee, complete: true)
            case .array(let element, _):
                visit(element, complete: complete)
            case .function(let function):
                // Complete: a callback of this type (made for a function pointer parameter)
                // takes and returns its records by value.
                visit(function.result, complete: true)
                for parameter in function.parameters { visit(parameter.type, complete: true) }
            case .record(let record):
                let id = ObjectIdentifier(record)
                let tagKey = record.tag.map { "\(record.kind.rawValue) \($0)" }
                if complete, let definition = record.definition {
                    guard completeRecords.insert(id).inserted else { return }
                    if let tagKey, printedTags.contains(tagKey) { return }
                    if let tagKey { printedTags.insert(tagKey) }
                    for field in definition.fields { visit(field.type, complete: true) }
                    if record.tag != nil { declarations.append(.record(record)) }
                } else if let tagKey, !completeRecords.contains(id), !printedTags.contains(tagKey),
                    declaredRecords.insert(id).inserted
                {
                    declarations.append(.recordDeclaration(record))
                }
            case .enumeration(let enumeration):
                if let tag = enumeration.tag, enumeration.definition != nil, enums.insert(ObjectIdentifier(enumeration)).inserted,
                    printedTags.insert("enum \(tag)").inserted
                {
                    declarations.append(.enumeration(enumeration))
                }
            case .void, .integer, .floating, .complex:
                return
            }
        }
    }
}

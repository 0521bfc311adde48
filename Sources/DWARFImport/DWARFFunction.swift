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
                        type: type, typeDeclarations: CTypeClosure.declarations(for: type))
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

extension LibraryDebugInfo {
    /// The library's exported symbols with their default names (global or weak, defined):
    /// functions (IFUNCs included) and data objects, each sorted.
    public var exportedSymbols: (functions: [String], objects: [String]) {
        let index = index()
        return (index.symbols.keys.sorted(), index.objects.keys.sorted())
    }

    /// The type of the data object `symbol`, from the variable of that name.
    public func variableType(symbol: String) throws(DWARFImportError) -> CQualType {
        guard index().objects[symbol] != nil else { throw .symbolNotFound(symbol) }
        return try lock.withLock { _ throws(DWARFImportError) -> CQualType in
            guard var die = nameIndexLocked().variablesByName[symbol] else {
                throw .unverifiable(symbol: symbol, reason: "no variable of that name in the DWARF")
            }
            return try importer().referencedType(&die)
        }
    }
}

// A library's type info, from the first source that has it: DWARF (in the file, or a
// separate debug file found by build-id or .gnu_debuglink), then compact type info (CTF):
// the file's `.ctf` section, a sidecar `LIB.ctf` beside it, or `BUILD-ID.ctf` in the types
// cache. The environment variable CALLSTUB_DEBUG_INFO=off skips DWARF (for a check that
// must not depend on installed debug packages, or to test a library's CTF).

import CTFImport
import CTypeModel
import DWARFImport

#if canImport(Glibc)
    import Glibc
#endif

/// The types of one library, from DWARF or CTF.
enum LibraryTypeInfo: Sendable {
    case dwarf(LibraryDebugInfo)
    case compact(LibraryCompactTypes)

    /// A function as the type info describes it.
    struct Function {
        var type: CFunctionType
        /// The typedefs, records and enums the signature uses, dependencies first.
        var typeDeclarations: [CDeclaration]
        var foundBy: String
        var definitionName: String
    }

    /// Whether DWARF is read (CALLSTUB_DEBUG_INFO is not `off`).
    static var readsDWARF: Bool {
        guard let value = getenv("CALLSTUB_DEBUG_INFO") else { return true }
        return String(cString: value).lowercased() != "off"
    }

    /// Opens the first source that describes the library at `path`; the error says what
    /// each source lacked.
    static func open(libraryPath path: String) throws(CallStubError) -> LibraryTypeInfo {
        var reasons: [String] = []
        if readsDWARF {
            do throws(DWARFImportError) {
                return .dwarf(try LibraryDebugInfo(libraryPath: path))
            } catch {
                guard case .noDebugInfo = error else { throw .debugInfo(error.description) }
                reasons.append(error.description)
            }
        } else {
            reasons.append("DWARF not read (CALLSTUB_DEBUG_INFO=off)")
        }
        do throws(CTFImportError) {
            return .compact(try LibraryCompactTypes.open(libraryPath: path))
        } catch {
            if case .cannotOpen(_, let reason) = error {
                reasons.append("no CTF: \(reason)")
            } else {
                reasons.append(error.description)
            }
        }
        throw .debugInfo(reasons.joined(separator: "; "))
    }

    /// "DWARF" or "CTF", for messages.
    var format: String {
        switch self {
        case .dwarf: "DWARF"
        case .compact: "CTF"
        }
    }

    /// Where the types came from ("DWARF in /usr/lib/debug/…", "CTF in …").
    var source: String {
        switch self {
        case .dwarf(let info): info.source.description
        case .compact(let types): types.source.description
        }
    }

    /// The function `symbol`; `implementation` gives the file address of an IFUNC's pick
    /// (DWARF describes the picked code; CTF has one type per symbol).
    func function(symbol: String, implementation: @escaping () -> UInt64?) throws(CallStubError) -> Function {
        switch self {
        case .dwarf(let info):
            do throws(DWARFImportError) {
                let function = try info.function(symbol: symbol, implementation: implementation)
                return Function(
                    type: function.type, typeDeclarations: function.typeDeclarations, foundBy: function.entry.foundBy,
                    definitionName: function.entry.definitionName)
            } catch {
                throw .debugInfo(error.description)
            }
        case .compact(let types):
            do throws(CTFImportError) {
                let type = try types.function(symbol: symbol)
                return Function(
                    type: type, typeDeclarations: CTypeClosure.declarations(for: type),
                    foundBy: "the CTF function table", definitionName: symbol)
            } catch {
                throw .debugInfo(error.description)
            }
        }
    }
}

// What a C header declares, in source order: the unit the parser produces and the
// printer prints back. Tagged records and enums defined inside another declaration are
// hoisted to their own entries, so printing is canonical.

/// One file-scope declaration.
public enum CDeclaration: Hashable, Sendable {
    /// A function prototype (or unprototyped declaration).
    case function(name: String, type: CFunctionType)
    /// An object declaration (`extern int errno;`).
    case variable(name: String, type: CQualType)
    case typedef(CTypedef)
    /// The definition of a struct or union (one with a tag, or anonymous and standing alone).
    case record(CRecord)
    /// `struct P;`: a forward declaration.
    case recordDeclaration(CRecord)
    /// The definition of an enum.
    case enumeration(CEnum)
    /// `enum E;`: a forward declaration (a GNU extension).
    case enumerationDeclaration(CEnum)

    /// The declared name: function, object or typedef name, or the tag of a record or enum.
    public var name: String? {
        switch self {
        case .function(let name, _), .variable(let name, _): return name
        case .typedef(let alias): return alias.name
        case .record(let record), .recordDeclaration(let record): return record.tag
        case .enumeration(let enumeration), .enumerationDeclaration(let enumeration): return enumeration.tag
        }
    }
}

/// How a declared function or object is linked (C11 6.2.2).
public enum CLinkage: Hashable, Sendable {
    /// External linkage, under this symbol: the declared name, or its `__asm__` label.
    case external(symbol: String)
    /// Declared `static` (a `static inline` function of a header): no library has it.
    case `internal`
}

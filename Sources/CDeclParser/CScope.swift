// The names a declaration text can refer to: typedefs, struct/union/enum tags, enum
// constants, functions and objects. A scope is a value: parsing extends a copy, so a
// per-library or per-session declaration set grows like a small header.

import CTypeModel

/// The file-scope names visible to a declaration text.
public struct CScope: Sendable {
    /// A struct, union or enum tag.
    public enum Tag: Hashable, Sendable {
        case record(CRecord)
        case enumeration(CEnum)
    }

    public private(set) var typedefs: [String: CTypedef] = [:]
    public private(set) var tags: [String: Tag] = [:]
    /// Enum constants with their values.
    public private(set) var constants: [String: Int128] = [:]
    /// Functions and objects, by name.
    public private(set) var ordinaryDeclarations: [String: CDeclaration] = [:]
    /// `__asm__("label")` on a function or object declaration: the symbol it is linked
    /// under, by declared name (`fscanf` → `__isoc99_fscanf`).
    public private(set) var assemblerNames: [String: String] = [:]
    /// Functions and objects declared `static`: they have no symbol in any library.
    public private(set) var internalNames: Set<String> = []
    /// Whether this is `standard` unchanged (type names parsed in it are cached).
    private(set) var isStandard = false

    /// A scope with no names at all.
    public init() {}

    /// The typedef of that name, if declared.
    public func typedef(named name: String) -> CTypedef? { typedefs[name] }
    /// The struct or union with that tag, if declared.
    public func record(tagged tag: String) -> CRecord? {
        if case .record(let record)? = tags[tag] { return record }
        return nil
    }
    /// The enum with that tag, if declared.
    public func enumeration(tagged tag: String) -> CEnum? {
        if case .enumeration(let enumeration)? = tags[tag] { return enumeration }
        return nil
    }
    /// The function type declared under that name, if any.
    public func function(named name: String) -> CFunctionType? {
        if case .function(_, let type)? = ordinaryDeclarations[name] { return type }
        return nil
    }

    /// How the function or object `name` is reached in a library, if it is declared.
    public func linkage(of name: String) -> CLinkage? {
        guard ordinaryDeclarations[name] != nil else { return nil }
        if internalNames.contains(name) { return .internal }
        return .external(symbol: assemblerNames[name] ?? name)
    }

    mutating func declareTypedef(_ alias: CTypedef) {
        typedefs[alias.name] = alias
        isStandard = false
    }
    mutating func declareAssemblerName(_ name: String, _ symbol: String) {
        assemblerNames[name] = symbol
        isStandard = false
    }
    mutating func declareInternal(_ name: String) {
        internalNames.insert(name)
        isStandard = false
    }
    mutating func declareTag(_ name: String, _ tag: Tag) {
        tags[name] = tag
        isStandard = false
    }
    mutating func declareConstant(_ name: String, _ value: Int128) {
        constants[name] = value
        isStandard = false
    }
    mutating func declareOrdinary(_ name: String, _ declaration: CDeclaration) {
        ordinaryDeclarations[name] = declaration
        isStandard = false
    }

    // MARK: - The standard names

    /// The typedefs of `<stddef.h>`, `<stdint.h>`, `<stdarg.h>` and a few of
    /// `<sys/types.h>` as glibc defines them on x86-64, so declarations can use them
    /// without a preprocessor.
    public static let standard: CScope = {
        var scope = CScope()
        let integers: [(String, CIntegerKind)] = [
            ("int8_t", .signedChar), ("uint8_t", .unsignedChar), ("int16_t", .short), ("uint16_t", .unsignedShort),
            ("int32_t", .int), ("uint32_t", .unsignedInt), ("int64_t", .long), ("uint64_t", .unsignedLong),
            ("int_least8_t", .signedChar), ("uint_least8_t", .unsignedChar), ("int_least16_t", .short),
            ("uint_least16_t", .unsignedShort), ("int_least32_t", .int), ("uint_least32_t", .unsignedInt),
            ("int_least64_t", .long), ("uint_least64_t", .unsignedLong),
            ("int_fast8_t", .signedChar), ("uint_fast8_t", .unsignedChar), ("int_fast16_t", .long),
            ("uint_fast16_t", .unsignedLong), ("int_fast32_t", .long), ("uint_fast32_t", .unsignedLong),
            ("int_fast64_t", .long), ("uint_fast64_t", .unsignedLong),
            ("intptr_t", .long), ("uintptr_t", .unsignedLong), ("intmax_t", .long), ("uintmax_t", .unsignedLong),
            ("size_t", .unsignedLong), ("ssize_t", .long), ("ptrdiff_t", .long), ("wchar_t", .int),
            ("wint_t", .unsignedInt), ("char16_t", .unsignedShort), ("char32_t", .unsignedInt),
            ("off_t", .long), ("off64_t", .long), ("pid_t", .int), ("uid_t", .unsignedInt), ("gid_t", .unsignedInt),
            ("mode_t", .unsignedInt), ("time_t", .long), ("clock_t", .long), ("socklen_t", .unsignedInt),
            ("__int128_t", .int128), ("__uint128_t", .unsignedInt128),
        ]
        for (name, kind) in integers {
            scope.declareTypedef(CTypedef(name: name, underlying: CQualType(.integer(kind))))
        }
        // `va_list` is `__builtin_va_list`: an array of one `struct __va_list_tag` (psABI §3.5.7).
        let vaListTag = CRecord(kind: .struct, tag: "__va_list_tag")
        try! vaListTag.define(fields: [
            CField(name: "gp_offset", type: CQualType(.unsignedInt)),
            CField(name: "fp_offset", type: CQualType(.unsignedInt)),
            CField(name: "overflow_arg_area", type: CQualType(.pointer(to: .void))),
            CField(name: "reg_save_area", type: CQualType(.pointer(to: .void))),
        ])
        scope.declareTag("__va_list_tag", .record(vaListTag))
        let builtin = CTypedef(name: "__builtin_va_list", underlying: CQualType(.array(CQualType(.record(vaListTag)), count: 1)))
        scope.declareTypedef(builtin)
        scope.declareTypedef(CTypedef(name: "va_list", underlying: CQualType(.typedef(builtin))))
        scope.declareTypedef(CTypedef(name: "__gnuc_va_list", underlying: CQualType(.typedef(builtin))))
        scope.isStandard = true
        return scope
    }()
}

extension CPrinter {
    /// Prints declarations as `print(_:)` does, each function and object with the linkage
    /// `scope` records for it (`static`, `__asm__("label")`).
    public func print(_ declarations: [CDeclaration], in scope: CScope) -> String {
        declarations.map { print($0, linkage: $0.name.flatMap(scope.linkage(of:))) + "\n" }.joined()
    }
}

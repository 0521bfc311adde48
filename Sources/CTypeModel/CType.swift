// The C type model: every type C has, as values. Structural types (pointers, arrays,
// functions, qualified scalars) compare by value; records and enums are nominal and
// compare by identity, so two `struct P` from different headers stay distinct.
//
//   kind          payload                      layout (x86-64 SysV LP64)
//   void          —                            incomplete
//   integer       CIntegerKind (_Bool … __int128, signedness in the kind)
//   floating      float / double / long double 4/4, 8/8, 16/16
//   complex       element kind                 two elements, element alignment
//   pointer       pointee (qualified)          8/8
//   array         element, count or nil        count × element; nil = flexible
//   record        CRecord (struct or union)    computed by CRecordLayout
//   enumeration   CEnum                        its underlying integer
//   function      CFunctionType                not an object type
//   typedef       name + underlying            the underlying type's

// MARK: - Scalars

/// Every C integer type, `_Bool` and `__int128` included. Plain `char` is its own type
/// (signed on x86-64 SysV) because C keeps it distinct from `signed char`.
public enum CIntegerKind: String, Hashable, Sendable, CaseIterable {
    case bool = "_Bool"
    case char = "char"
    case signedChar = "signed char"
    case unsignedChar = "unsigned char"
    case short = "short"
    case unsignedShort = "unsigned short"
    case int = "int"
    case unsignedInt = "unsigned int"
    case long = "long"
    case unsignedLong = "unsigned long"
    case longLong = "long long"
    case unsignedLongLong = "unsigned long long"
    case int128 = "__int128"
    case unsignedInt128 = "unsigned __int128"

    /// The canonical C spelling.
    public var spelling: String { rawValue }

    /// Size in bytes (LP64).
    public var size: Int {
        switch self {
        case .bool, .char, .signedChar, .unsignedChar: return 1
        case .short, .unsignedShort: return 2
        case .int, .unsignedInt: return 4
        case .long, .unsignedLong, .longLong, .unsignedLongLong: return 8
        case .int128, .unsignedInt128: return 16
        }
    }

    /// Whether values of the type are signed. `char` is signed on x86-64 SysV.
    public var isSigned: Bool {
        switch self {
        case .char, .signedChar, .short, .int, .long, .longLong, .int128: return true
        case .bool, .unsignedChar, .unsignedShort, .unsignedInt, .unsignedLong, .unsignedLongLong,
            .unsignedInt128:
            return false
        }
    }

    /// Integer conversion rank (C11 6.3.1.1); `_Bool` is lowest.
    public var rank: Int {
        switch self {
        case .bool: return 0
        case .char, .signedChar, .unsignedChar: return 1
        case .short, .unsignedShort: return 2
        case .int, .unsignedInt: return 3
        case .long, .unsignedLong: return 4
        case .longLong, .unsignedLongLong: return 5
        case .int128, .unsignedInt128: return 6
        }
    }

    /// The unsigned type of the same rank (`_Bool` and unsigned kinds map to themselves).
    public var unsignedCounterpart: CIntegerKind {
        switch self {
        case .char, .signedChar: return .unsignedChar
        case .short: return .unsignedShort
        case .int: return .unsignedInt
        case .long: return .unsignedLong
        case .longLong: return .unsignedLongLong
        case .int128: return .unsignedInt128
        default: return self
        }
    }

    /// The width in bits a value of the type carries (`_Bool` carries one).
    public var valueBits: Int { self == .bool ? 1 : size * 8 }
}

/// The real floating types. ISO/IEC TS 18661-3's `_Float32`, `_Float64`, `_Float32x` and
/// `_Float64x` have the representation and ABI of `float`, `double`, `double` and
/// `long double` on x86-64 and are read as those; `_Float16` (IEEE binary16) and
/// `_Float128` (binary128, GNU `__float128`) are types of their own.
public enum CFloatKind: String, Hashable, Sendable, CaseIterable {
    case float16 = "_Float16"
    case float = "float"
    case double = "double"
    case longDouble = "long double"
    case float128 = "_Float128"

    /// The canonical C spelling.
    public var spelling: String { rawValue }
    /// Size in bytes: `long double` is the x87 80-bit format stored in 16 bytes.
    public var size: Int {
        switch self {
        case .float16: return 2
        case .float: return 4
        case .double: return 8
        case .longDouble, .float128: return 16
        }
    }
}

/// Byte order of a scalar stored in a binary record. It never changes the layout, only
/// how the bytes of the scalar are read and written. Absent means the target's own.
public enum CByteOrder: String, Hashable, Sendable {
    case little
    case big
}

// MARK: - Qualified types

/// `const`, `volatile`, `restrict` and `_Atomic`, kept beside the type they qualify.
public struct CQualifiers: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let const = CQualifiers(rawValue: 1 << 0)
    public static let volatile = CQualifiers(rawValue: 1 << 1)
    public static let restrict = CQualifiers(rawValue: 1 << 2)
    public static let atomic = CQualifiers(rawValue: 1 << 3)

    /// The qualifiers in canonical order, as C spells them.
    public var spellings: [String] {
        var words: [String] = []
        if contains(.const) { words.append("const") }
        if contains(.volatile) { words.append("volatile") }
        if contains(.restrict) { words.append("restrict") }
        if contains(.atomic) { words.append("_Atomic") }
        return words
    }
}

/// A type with its qualifiers and, for scalars in binary records, an explicit byte order.
public struct CQualType: Hashable, Sendable {
    public var type: CType
    public var qualifiers: CQualifiers
    /// Explicit storage byte order; `nil` is the target's own (little-endian on x86-64).
    public var byteOrder: CByteOrder?

    public init(_ type: CType, _ qualifiers: CQualifiers = [], byteOrder: CByteOrder? = nil) {
        self.type = type
        self.qualifiers = qualifiers
        self.byteOrder = byteOrder
    }

    /// The same type without qualifiers or byte order.
    public var unqualified: CQualType { CQualType(type) }
}

// MARK: - Types

/// A C type. See the table at the top of this file.
public indirect enum CType: Hashable, Sendable {
    case void
    case integer(CIntegerKind)
    case floating(CFloatKind)
    case complex(CFloatKind)
    case pointer(CQualType)
    /// An array; `count == nil` is an array of unknown bound (a flexible array member).
    case array(CQualType, count: Int?)
    case record(CRecord)
    case enumeration(CEnum)
    case function(CFunctionType)
    case typedef(CTypedef)

    /// The type with every typedef resolved at the top level (qualifiers of the typedefs
    /// are dropped; use `CQualType.resolved` to keep them).
    public var resolved: CType {
        var type = self
        while case .typedef(let alias) = type { type = alias.underlying.type }
        return type
    }

    /// Whether the type is an integer, floating, complex, pointer or enum type.
    public var isScalar: Bool {
        switch resolved {
        case .integer, .floating, .complex, .pointer, .enumeration: return true
        default: return false
        }
    }

    /// The integer kind of an integer or enum type (enums give their underlying type).
    public var integerKind: CIntegerKind? {
        switch resolved {
        case .integer(let kind): return kind
        case .enumeration(let enumeration): return enumeration.definition?.underlying
        default: return nil
        }
    }
}

extension CQualType {
    /// Typedefs resolved, with the qualifiers of every level merged.
    public var resolved: CQualType {
        var current = self
        while case .typedef(let alias) = current.type {
            let inner = alias.underlying
            current = CQualType(
                inner.type, current.qualifiers.union(inner.qualifiers),
                byteOrder: current.byteOrder ?? inner.byteOrder)
        }
        return current
    }
}

/// A `typedef` name and the type it stands for.
public struct CTypedef: Hashable, Sendable {
    public var name: String
    public var underlying: CQualType
    /// `__attribute__((aligned(N)))` on the typedef, in bytes. On a typedef gcc and clang
    /// let it raise or lower the alignment of the underlying type.
    public var alignment: Int?
    public init(name: String, underlying: CQualType, alignment: Int? = nil) {
        self.name = name
        self.underlying = underlying
        self.alignment = alignment
    }
}

/// A function parameter; the name is kept for printing and diagnostics only.
public struct CParameter: Hashable, Sendable {
    public var name: String?
    public var type: CQualType
    public init(name: String? = nil, type: CQualType) {
        self.name = name
        self.type = type
    }
}

/// A function type. `int f(void)` has no parameters and is prototyped; `int f()` is not
/// prototyped (its callers apply the default argument promotions).
public struct CFunctionType: Hashable, Sendable {
    public var result: CQualType
    public var parameters: [CParameter]
    public var isVariadic: Bool
    public var isPrototyped: Bool

    public init(
        result: CQualType, parameters: [CParameter], isVariadic: Bool = false, isPrototyped: Bool = true
    ) {
        self.result = result
        self.parameters = parameters
        self.isVariadic = isVariadic
        self.isPrototyped = isPrototyped
    }
}

// MARK: - Conveniences

extension CType {
    public static let bool = CType.integer(.bool)
    public static let char = CType.integer(.char)
    public static let int = CType.integer(.int)
    public static let unsignedInt = CType.integer(.unsignedInt)
    public static let long = CType.integer(.long)
    public static let unsignedLong = CType.integer(.unsignedLong)
    public static let float = CType.floating(.float)
    public static let double = CType.floating(.double)
    public static let longDouble = CType.floating(.longDouble)

    /// A pointer to `pointee`.
    public static func pointer(to pointee: CType, _ qualifiers: CQualifiers = []) -> CType {
        .pointer(CQualType(pointee, qualifiers))
    }
}

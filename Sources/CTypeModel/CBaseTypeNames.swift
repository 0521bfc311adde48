// C base types from what a type-info source says of them (DWARF's base types, CTF's
// integers and floats): a name as the compiler spelt it, a size and a signedness. The
// size alone does not tell `long` from `long long`, nor x87 `long double` from IEEE
// binary128: the name does.

public enum CBaseTypeNames {
    /// The integer type of `size` bytes (`char` and `long long` by name).
    public static func integer(named name: String, size: Int, isSigned: Bool) -> CIntegerKind? {
        if name == "char" { return .char }
        if name.contains("long long") { return isSigned ? .longLong : .unsignedLongLong }
        switch (size, isSigned) {
        case (1, true): return .signedChar
        case (1, false): return .unsignedChar
        case (2, true): return .short
        case (2, false): return .unsignedShort
        case (4, true): return .int
        case (4, false): return .unsignedInt
        case (8, true): return .long
        case (8, false): return .unsignedLong
        case (16, true): return .int128
        case (16, false): return .unsignedInt128
        default: return nil
        }
    }

    /// The real floating type of `size` bytes: 16 bytes is x87 extended (`long double`,
    /// `_Float64x`, `__float80`) or IEEE binary128 (`_Float128`, `__float128`) by name.
    public static func floating(named name: String, size: Int) -> CFloatKind? {
        switch size {
        case 2: return .float16
        case 4: return .float
        case 8: return .double
        case 16 where name.contains("_Float128") || name.contains("__float128"): return .float128
        case 16 where name.contains("long double") || name.contains("_Float64x") || name.contains("__float80"): return .longDouble
        default: return nil
        }
    }

    /// The complex type of `size` bytes (both parts).
    public static func complex(named name: String, size: Int) -> CFloatKind? {
        switch size {
        case 4: return .float16
        case 8: return .float
        case 16: return .double
        case 32 where name.contains("_Float128") || name.contains("__float128"): return .float128
        case 32: return .longDouble
        default: return nil
        }
    }
}

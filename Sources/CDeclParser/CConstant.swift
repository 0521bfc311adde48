// Integer constant expressions evaluated with C's types (C11 §6.3.1, §6.4.4.1, §6.6):
// literals get the type their value and suffix ask for, operands go through the usual
// arithmetic conversions, and results wrap to their type's width. Undefined operations
// (division by zero, out-of-range shifts) are diagnostics, never traps.

import CTypeModel

/// A value with its C integer type.
struct CConstant: Equatable {
    var value: Int128
    var kind: CIntegerKind

    /// The value converted to `kind` (C11 6.3.1.3: modulo 2^N for unsigned; the same for
    /// signed, as gcc and clang do).
    func converted(to kind: CIntegerKind) -> CConstant {
        if kind == .bool { return CConstant(value: value != 0 ? 1 : 0, kind: .bool) }
        return CConstant(value: Self.wrap(value, to: kind), kind: kind)
    }

    static func wrap(_ value: Int128, to kind: CIntegerKind) -> Int128 {
        let bits = kind.size * 8
        if bits >= 128 { return value }
        let mask = (Int128(1) << bits) - 1
        let low = value & mask
        if kind.isSigned && low >> (bits - 1) != 0 { return low - (Int128(1) << bits) }
        return low
    }

    /// The type of an integer literal (C11 6.4.4.1p5): the first of the candidate types that holds it.
    static func literal(_ value: Int128, _ suffix: CIntegerKindSuffix, at location: CSourceLocation) throws(ParseError) -> CConstant {
        var candidates: [CIntegerKind]
        switch (suffix.isUnsigned, suffix.longCount) {
        case (true, 0): candidates = [.unsignedInt, .unsignedLong, .unsignedLongLong]
        case (true, 1): candidates = [.unsignedLong, .unsignedLongLong]
        case (true, _): candidates = [.unsignedLongLong]
        case (false, 0): candidates = suffix.isDecimal ? [.int, .long, .longLong] : [.int, .unsignedInt, .long, .unsignedLong, .longLong, .unsignedLongLong]
        case (false, 1): candidates = suffix.isDecimal ? [.long, .longLong] : [.long, .unsignedLong, .longLong, .unsignedLongLong]
        case (false, _): candidates = suffix.isDecimal ? [.longLong] : [.longLong, .unsignedLongLong]
        }
        guard let kind = candidates.first(where: { CIntegerKind.range(of: $0).contains(value) }) else {
            // gcc gives such a decimal literal an unsigned type with a warning; so do we.
            return CConstant(value: value, kind: .unsignedLong)
        }
        _ = location
        return CConstant(value: value, kind: kind)
    }

    /// Integer promotion (C11 6.3.1.1p2).
    var promoted: CConstant { kind.rank < CIntegerKind.int.rank ? converted(to: .int) : self }

    /// The common type of the usual arithmetic conversions (C11 6.3.1.8) for integers.
    static func commonKind(_ a: CIntegerKind, _ b: CIntegerKind) -> CIntegerKind {
        let a = a.rank < CIntegerKind.int.rank ? CIntegerKind.int : a
        let b = b.rank < CIntegerKind.int.rank ? CIntegerKind.int : b
        if a == b { return a }
        if a.isSigned == b.isSigned { return a.rank >= b.rank ? a : b }
        let (signed, unsigned) = a.isSigned ? (a, b) : (b, a)
        if unsigned.rank >= signed.rank { return unsigned }
        if signed.size > unsigned.size { return signed }
        return signed.unsignedCounterpart
    }

    static func applyUnary(_ op: String, _ operand: CConstant, at location: CSourceLocation) throws(ParseError) -> CConstant {
        let value = operand.promoted
        switch op {
        case "-": return CConstant(value: 0 &- value.value, kind: value.kind).converted(to: value.kind)
        case "+": return value
        case "~": return CConstant(value: ~value.value, kind: value.kind).converted(to: value.kind)
        default: return CConstant(value: operand.value == 0 ? 1 : 0, kind: .int)
        }
    }

    static func apply(_ op: String, _ lhs: CConstant, _ rhs: CConstant, at location: CSourceLocation) throws(ParseError) -> CConstant {
        switch op {
        case "&&": return CConstant(value: lhs.value != 0 && rhs.value != 0 ? 1 : 0, kind: .int)
        case "||": return CConstant(value: lhs.value != 0 || rhs.value != 0 ? 1 : 0, kind: .int)
        case "<<", ">>":
            // C11 6.5.7: the result has the promoted left operand's type.
            let left = lhs.promoted
            let width = left.kind.size * 8
            guard rhs.value >= 0, rhs.value < Int128(width) else {
                throw ParseError(location, "shift count \(rhs.value) is out of range for \(left.kind.spelling)")
            }
            let count = Int(rhs.value)
            let unsignedValue = left.kind.isSigned ? left.value : wrapUnsigned(left.value, width)
            let shifted = op == "<<" ? unsignedValue << count : unsignedValue >> count
            return CConstant(value: shifted, kind: left.kind).converted(to: left.kind)
        default:
            break
        }
        let kind = commonKind(lhs.kind, rhs.kind)
        let a = lhs.converted(to: kind).value
        let b = rhs.converted(to: kind).value
        func compare(_ result: Bool) -> CConstant { CConstant(value: result ? 1 : 0, kind: .int) }
        // Unsigned comparisons of 128-bit values beyond Int128.max are not modelled; such
        // values do not occur in declarations.
        switch op {
        case "+": return CConstant(value: a &+ b, kind: kind).converted(to: kind)
        case "-": return CConstant(value: a &- b, kind: kind).converted(to: kind)
        case "*": return CConstant(value: a &* b, kind: kind).converted(to: kind)
        case "/", "%":
            guard b != 0 else { throw ParseError(location, "division by zero in constant expression") }
            let (quotient, overflow) = a.dividedReportingOverflow(by: b)
            let (remainder, _) = a.remainderReportingOverflow(dividingBy: b)
            if overflow { return CConstant(value: op == "/" ? a : 0, kind: kind).converted(to: kind) }
            return CConstant(value: op == "/" ? quotient : remainder, kind: kind).converted(to: kind)
        case "&": return CConstant(value: a & b, kind: kind)
        case "|": return CConstant(value: a | b, kind: kind)
        case "^": return CConstant(value: a ^ b, kind: kind)
        case "==": return compare(a == b)
        case "!=": return compare(a != b)
        case "<": return compare(a < b)
        case ">": return compare(a > b)
        case "<=": return compare(a <= b)
        default: return compare(a >= b)  // ">="
        }
    }

    private static func wrapUnsigned(_ value: Int128, _ width: Int) -> Int128 {
        width >= 128 ? value : value & ((Int128(1) << width) - 1)
    }
}

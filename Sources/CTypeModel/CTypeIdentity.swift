// When two declarations of one name agree (C11 6.7p3–4, 6.2.7): a typedef may be
// redefined only as the same type, a function or object may be redeclared with a
// compatible one. Typedef names are looked through; records and enums stay nominal.

extension CQualType {
    /// Whether the two denote the same type once typedef names are looked through
    /// (C11 6.7p3: a typedef may be redefined to denote the same type). Parameter names
    /// and the top-level qualifiers of parameters do not count (C11 6.7.6.3p15).
    public func isSameType(as other: CQualType) -> Bool {
        TypeAgreement(mode: .same).agree(self, other)
    }

    /// Whether the two are compatible types (C11 6.2.7): an array of unknown size agrees
    /// with any size, an unprototyped function type with a prototype, and an enum with
    /// its underlying integer type (C11 6.7.2.2p4, as gcc and clang choose it).
    public func isCompatible(with other: CQualType) -> Bool {
        TypeAgreement(mode: .compatible).agree(self, other)
    }
}

private struct TypeAgreement {
    enum Mode { case same, compatible }
    let mode: Mode

    func agree(_ a: CQualType, _ b: CQualType) -> Bool {
        let x = a.resolved
        let y = b.resolved
        guard x.qualifiers == y.qualifiers, x.byteOrder == y.byteOrder else { return false }
        guard Self.alignmentOverride(a) == Self.alignmentOverride(b) else { return false }
        return agree(x.type, y.type)
    }

    private func agree(_ a: CType, _ b: CType) -> Bool {
        switch (a, b) {
        case (.void, .void): return true
        case (.integer(let x), .integer(let y)): return x == y
        case (.floating(let x), .floating(let y)), (.complex(let x), .complex(let y)): return x == y
        case (.pointer(let x), .pointer(let y)): return agree(x, y)
        case (.array(let x, let n), .array(let y, let m)):
            guard n == m || (mode == .compatible && (n == nil || m == nil)) else { return false }
            return agree(x, y)
        case (.record(let x), .record(let y)): return x === y
        case (.enumeration(let x), .enumeration(let y)): return x === y
        case (.enumeration(let e), .integer(let kind)), (.integer(let kind), .enumeration(let e)):
            return mode == .compatible && e.definition?.underlying == kind
        case (.function(let x), .function(let y)):
            guard agree(x.result, y.result) else { return false }
            if x.isPrototyped && y.isPrototyped {
                return x.isVariadic == y.isVariadic && x.parameters.count == y.parameters.count
                    && zip(x.parameters, y.parameters).allSatisfy { agree($0.type.unqualifiedAtTop, $1.type.unqualifiedAtTop) }
            }
            // C11 6.2.7p3: an unprototyped declaration agrees with any prototype (the
            // promotion rules of 6.7.6.3p15 are the caller's concern); both must be that.
            return mode == .compatible || (x.isPrototyped == y.isPrototyped && x.parameters.isEmpty && y.parameters.isEmpty)
        default:
            return false
        }
    }

    /// The first `aligned(N)` met on the typedef chain: it changes the type's alignment.
    private static func alignmentOverride(_ type: CQualType) -> Int? {
        var current = type.type
        while case .typedef(let alias) = current {
            if let alignment = alias.alignment { return alignment }
            current = alias.underlying.type
        }
        return nil
    }
}

extension CQualType {
    /// The type with its own qualifiers dropped (typedef qualifiers inside are kept).
    fileprivate var unqualifiedAtTop: CQualType {
        var resolved = self.resolved
        resolved.qualifiers = []
        return resolved
    }
}

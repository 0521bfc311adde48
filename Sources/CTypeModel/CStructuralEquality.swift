// Structural comparison of types from different sources (two parses of the same text,
// a declaration and DWARF): records and enums are compared by kind, tag, members and
// attributes rather than identity, with a guard for recursive records.

extension CQualType {
    /// Whether the two types are the same C type written in two places: equal
    /// qualifiers, byte order and structure, records compared member by member.
    public func isStructurallyEqual(to other: CQualType) -> Bool {
        var assumed: Set<Pair> = []
        return Self.equal(self, other, &assumed, lenient: false)
    }

    /// Like `isStructurallyEqual(to:)`, except for what public headers hide of a
    /// library's types, at any depth: a record declared on one side (`struct _IO_codecvt;`)
    /// and defined on the other (as the library's own DWARF has it) counts as the same
    /// record, and a pointer to `void` as the same as any pointer.
    public func isStructurallyEqualAllowingDeclarations(to other: CQualType) -> Bool {
        var assumed: Set<Pair> = []
        return Self.equal(self, other, &assumed, lenient: true)
    }

    private struct Pair: Hashable {
        let left: ObjectIdentifier
        let right: ObjectIdentifier
    }

    private static func equal(_ a: CQualType, _ b: CQualType, _ assumed: inout Set<Pair>, lenient: Bool) -> Bool {
        a.qualifiers == b.qualifiers && a.byteOrder == b.byteOrder && equal(a.type, b.type, &assumed, lenient: lenient)
    }

    private static func equal(_ a: CType, _ b: CType, _ assumed: inout Set<Pair>, lenient: Bool) -> Bool {
        switch (a, b) {
        case (.void, .void): return true
        case (.integer(let x), .integer(let y)): return x == y
        case (.floating(let x), .floating(let y)), (.complex(let x), .complex(let y)): return x == y
        case (.pointer(let x), .pointer(let y)):
            // Lenient: a pointer to void matches any pointer, as a public header hides a
            // type the library defines (glibc's `typedef void _IO_lock_t;`).
            if lenient, x.type.resolved == .void || y.type.resolved == .void { return true }
            return equal(x, y, &assumed, lenient: lenient)
        case (.array(let x, let n), .array(let y, let m)): return n == m && equal(x, y, &assumed, lenient: lenient)
        case (.typedef(let x), .typedef(let y)):
            return x.name == y.name && x.alignment == y.alignment && equal(x.underlying, y.underlying, &assumed, lenient: lenient)
        case (.function(let x), .function(let y)):
            return x.isVariadic == y.isVariadic && x.isPrototyped == y.isPrototyped && x.parameters.count == y.parameters.count
                && equal(x.result, y.result, &assumed, lenient: lenient)
                && zip(x.parameters, y.parameters).allSatisfy { $0.name == $1.name && equal($0.type, $1.type, &assumed, lenient: lenient) }
        case (.enumeration(let x), .enumeration(let y)):
            return x.tag == y.tag && x.definition == y.definition
        case (.record(let x), .record(let y)):
            if x === y { return true }
            guard x.kind == y.kind, x.tag == y.tag else { return false }
            let pair = Pair(left: ObjectIdentifier(x), right: ObjectIdentifier(y))
            if assumed.contains(pair) { return true }  // already being compared higher up
            assumed.insert(pair)
            switch (x.definition, y.definition) {
            case (nil, nil): return true
            case (let p?, let q?):
                return p.attributes == q.attributes && p.layout == q.layout && p.fields.count == q.fields.count
                    && zip(p.fields, q.fields).allSatisfy { f, g in
                        f.name == g.name && f.bitWidth == g.bitWidth && f.alignment == g.alignment && f.isPacked == g.isPacked
                            && equal(f.type, g.type, &assumed, lenient: lenient)
                    }
            default: return lenient && x.tag != nil  // declared on one side, defined on the other
            }
        default:
            return false
        }
    }
}

extension CDeclaration {
    /// Whether two declarations declare the same thing, comparing types structurally.
    public func isStructurallyEqual(to other: CDeclaration) -> Bool {
        switch (self, other) {
        case (.function(let n, let x), .function(let m, let y)):
            return n == m && CQualType(.function(x)).isStructurallyEqual(to: CQualType(.function(y)))
        case (.variable(let n, let x), .variable(let m, let y)):
            return n == m && x.isStructurallyEqual(to: y)
        case (.typedef(let x), .typedef(let y)):
            return CQualType(.typedef(x)).isStructurallyEqual(to: CQualType(.typedef(y)))
        case (.record(let x), .record(let y)), (.recordDeclaration(let x), .recordDeclaration(let y)):
            return CQualType(.record(x)).isStructurallyEqual(to: CQualType(.record(y)))
        case (.enumeration(let x), .enumeration(let y)), (.enumerationDeclaration(let x), .enumerationDeclaration(let y)):
            return CQualType(.enumeration(x)).isStructurallyEqual(to: CQualType(.enumeration(y)))
        default:
            return false
        }
    }
}

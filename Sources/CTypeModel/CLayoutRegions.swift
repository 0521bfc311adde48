// An object's bytes as regions a person can read: each scalar member (bit-fields by their
// bits, arrays of scalars whole), nested records and arrays of records opened up, and the
// padding and holes between them, each with its offset, size, byte order and alignment.
// `callstub view` colours a hex dump by these regions; CRecordView reads their values.

/// One stretch of an object's bytes: a member or padding.
public struct CLayoutRegion: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// A scalar member, a bit-field, or an array of scalars.
        case member
        /// Bytes or bits no member occupies: a hole between members, trailing padding, or
        /// the bits an unnamed bit-field skips.
        case padding
    }

    public var kind: Kind
    /// The member's path as `CRecordValue.field(_:)` takes it (`len`, `inner[0].s`;
    /// members of anonymous structs and unions by their own names); empty for padding and
    /// for an object that is itself a scalar.
    public var path: String
    /// The member's type; `nil` for padding.
    public var type: CQualType?
    /// Offset of the first bit from the start of the object (bit 0 is the least
    /// significant bit of byte 0, as on x86-64).
    public var offsetInBits: Int
    public var sizeInBits: Int
    public var isBitField: Bool
    /// The byte order its scalars are stored in (`little` unless given).
    public var byteOrder: CByteOrder
    /// The size of one scalar: 1 means byte order does not apply.
    public var scalarSize: Int
    /// The alignment its address is sure to have where it is placed: its own in its
    /// record (1 when packed), no more than that of the record around it.
    public var alignment: Int
    /// For a member of a union other than its first: the path of that first member, whose
    /// bytes it views differently.
    public var alternativeOf: String?

    public var offsetInBytes: Int { offsetInBits / 8 }
    /// The bytes it touches (a bit-field: every byte holding one of its bits).
    public var byteRange: Range<Int> { offsetInBits / 8..<(offsetInBits + sizeInBits + 7) / 8 }
    /// Whether it starts or ends inside a byte.
    public var isPartialBytes: Bool { offsetInBits % 8 != 0 || sizeInBits % 8 != 0 }
}

extension CQualType {
    /// The regions of an object of this type, in offset order (members that share their
    /// start, as union members do, in declaration order): every member down to scalars
    /// and arrays of scalars, then padding wherever no member's bits are.
    public func layoutRegions() throws(CLayoutError) -> [CLayoutRegion] {
        let layout = try self.layout()
        var walk = RegionWalk()
        try walk.visit(self, path: "", offsetInBits: 0, alignment: layout.alignment, bitWidth: nil, alternativeOf: nil)
        var covered = [Bool](repeating: false, count: layout.size * 8)
        for region in walk.regions {
            for bit in region.offsetInBits..<min(region.offsetInBits + region.sizeInBits, covered.count) { covered[bit] = true }
        }
        var regions = walk.regions
        var bit = 0
        while bit < covered.count {
            guard !covered[bit] else {
                bit += 1
                continue
            }
            let start = bit
            while bit < covered.count && !covered[bit] { bit += 1 }
            regions.append(CLayoutRegion(
                kind: .padding, path: "", type: nil, offsetInBits: start, sizeInBits: bit - start, isBitField: false,
                byteOrder: .little, scalarSize: 1, alignment: 1, alternativeOf: nil))
        }
        // A stable sort: regions that start together keep declaration order.
        return regions.enumerated().sorted { ($0.element.offsetInBits, $0.offset) < ($1.element.offsetInBits, $1.offset) }
            .map(\.element)
    }
}

private struct RegionWalk {
    var regions: [CLayoutRegion] = []
    var depth = 0

    mutating func visit(
        _ type: CQualType, path: String, offsetInBits: Int, alignment: Int, bitWidth: Int?, alternativeOf: String?
    ) throws(CLayoutError) {
        depth += 1
        defer { depth -= 1 }
        if depth > 64 { throw .unsupported("records nested more than 64 deep") }
        let resolved = type.resolved
        switch resolved.type {
        case .record(let record):
            guard let definition = record.definition else { throw .incompleteType(record.description) }
            var firstMember: String?  // a union's: the path of its first leaf
            for (field, member) in zip(definition.fields, definition.layout.members) {
                // Unnamed bit-fields are padding: they hold no value.
                if field.isBitField && field.name == nil { continue }
                let memberPath = field.name.map { path.isEmpty ? $0 : path + "." + $0 } ?? path
                let isAlternative = record.kind == .union && firstMember != nil
                let start = regions.count
                try visit(
                    field.type, path: memberPath, offsetInBits: offsetInBits + member.offsetInBits,
                    alignment: min(alignment, CRecordLayout.placementAlignment(
                        of: field, natural: (try? field.type.layout().alignment) ?? 1, in: definition.attributes)),
                    bitWidth: field.bitWidth,
                    alternativeOf: isAlternative ? alternativeOf ?? firstMember : alternativeOf)
                if record.kind == .union, firstMember == nil, start < regions.count { firstMember = regions[start].path }
            }
        case .array(let element, let count):
            let elementLayout = try element.layout()
            let total = (count ?? 0) * elementLayout.size * 8
            if case .record = element.resolved.type {} else if case .array = element.resolved.type {} else {
                appendLeaf(type, path: path, offsetInBits: offsetInBits, sizeInBits: total, alignment: alignment,
                           bitWidth: nil, alternativeOf: alternativeOf, scalar: element)
                return
            }
            for index in 0..<(count ?? 0) {
                try visit(
                    element, path: path + "[\(index)]", offsetInBits: offsetInBits + index * elementLayout.size * 8,
                    alignment: min(alignment, elementLayout.alignment), bitWidth: nil, alternativeOf: alternativeOf)
            }
        default:
            let size = try type.layout().size
            appendLeaf(type, path: path, offsetInBits: offsetInBits, sizeInBits: bitWidth ?? size * 8, alignment: alignment,
                       bitWidth: bitWidth, alternativeOf: alternativeOf, scalar: type)
        }
    }

    mutating func appendLeaf(
        _ type: CQualType, path: String, offsetInBits: Int, sizeInBits: Int, alignment: Int, bitWidth: Int?,
        alternativeOf: String?, scalar: CQualType
    ) {
        guard sizeInBits > 0 else { return }  // a flexible array member holds no bytes of the object
        var innermost = scalar.resolved
        while case .array(let element, _) = innermost.type { innermost = element.resolved }
        let scalarSize = (try? innermost.layout().size) ?? 1
        regions.append(CLayoutRegion(
            kind: .member, path: path, type: type, offsetInBits: offsetInBits, sizeInBits: sizeInBits,
            isBitField: bitWidth != nil, byteOrder: innermost.byteOrder ?? .little, scalarSize: scalarSize,
            alignment: alignment, alternativeOf: alternativeOf))
    }
}

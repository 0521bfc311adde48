// The layout engine for x86-64 System V LP64: sizes, alignments and member offsets as
// gcc and clang compute them (the C compiler is the oracle in CTypeModelTests).
// Offsets are kept in bits so that bit-fields need no special case downstream.

// MARK: - Errors

/// Why a type has no layout, or a record or enum definition was refused.
public enum CLayoutError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `void`, a declared-but-undefined record or enum, or a function type used as an object.
    case incompleteType(String)
    /// A member that may not stand where it does; `owner` is the record, `member` its name.
    case invalidMember(owner: String, member: String, reason: String)
    /// A record or enum defined twice.
    case redefinition(String)
    /// An enum constant no integer type can hold.
    case enumeratorOutOfRange(String)
    /// A construct the compilers themselves disagree on, refused rather than guessed.
    case unsupported(String)
    /// A size that overflows the address space.
    case tooLarge(String)
    /// Member offsets from a type-info source that no C layout reproduces.
    case irreproducible(String)

    public var description: String {
        switch self {
        case .incompleteType(let what): return "incomplete type \(what) has no size"
        case .invalidMember(let owner, let member, let reason): return "\(owner), member \(member): \(reason)"
        case .redefinition(let what): return "redefinition of \(what)"
        case .enumeratorOutOfRange(let what): return "\(what): enumerator value does not fit any integer type"
        case .unsupported(let what): return "unsupported: \(what)"
        case .tooLarge(let what): return "\(what) is too large"
        case .irreproducible(let reason): return reason
        }
    }
}

// MARK: - Size and alignment of any type

/// Size and alignment in bytes.
public struct CTypeLayout: Hashable, Sendable {
    public var size: Int
    public var alignment: Int
    public init(size: Int, alignment: Int) {
        self.size = size
        self.alignment = alignment
    }
}

extension CType {
    /// Size and alignment of an object of this type. Throws for incomplete types.
    public func layout() throws(CLayoutError) -> CTypeLayout {
        switch self {
        case .void:
            throw .incompleteType("void")
        case .integer(let kind):
            return CTypeLayout(size: kind.size, alignment: kind.size)
        case .floating(let kind):
            return CTypeLayout(size: kind.size, alignment: kind.size)
        case .complex(let kind):
            return CTypeLayout(size: kind.size * 2, alignment: kind.size)
        case .pointer:
            return CTypeLayout(size: 8, alignment: 8)
        case .array(let element, let count):
            guard let count else { throw .incompleteType("array of unknown size") }
            let inner = try element.layout()
            let (size, overflow) = inner.size.multipliedReportingOverflow(by: count)
            if overflow || size > CTypeLayout.maximumObjectSize { throw .tooLarge("array") }
            return CTypeLayout(size: size, alignment: inner.alignment)
        case .record(let record):
            guard let definition = record.definition else { throw .incompleteType(record.description) }
            return CTypeLayout(size: definition.layout.size, alignment: definition.layout.alignment)
        case .enumeration(let enumeration):
            guard let definition = enumeration.definition else { throw .incompleteType(enumeration.description) }
            return CTypeLayout(size: definition.underlying.size, alignment: definition.underlying.size)
        case .function:
            throw .incompleteType("function type")
        case .typedef(let alias):
            var inner = try alias.underlying.layout()
            if let alignment = alias.alignment { inner.alignment = alignment }
            return inner
        }
    }
}

extension CTypeLayout {
    /// The largest object size accepted (as gcc: PTRDIFF_MAX), far beyond any real record.
    public static let maximumObjectSize = Int.max / 8
}

extension CQualType {
    /// Size and alignment, with `_Atomic` applied: an atomic scalar of 1, 2, 4, 8 or 16
    /// bytes is aligned to its size (gcc and clang agree). `_Atomic` records and arrays
    /// are refused: gcc and clang lay them out differently.
    public func layout() throws(CLayoutError) -> CTypeLayout {
        var inner = try type.layout()
        if qualifiers.contains(.atomic) {
            guard type.isScalar else { throw .unsupported("_Atomic on a non-scalar type") }
            if [1, 2, 4, 8, 16].contains(inner.size) { inner.alignment = max(inner.alignment, inner.size) }
        }
        return inner
    }
}

// MARK: - Record layout

/// Where one member of a record sits.
public struct CMemberLayout: Hashable, Sendable {
    /// Offset of the member's first bit from the start of the record.
    public var offsetInBits: Int
    /// Size in bits: the bit-field width, or the member's size × 8.
    public var sizeInBits: Int
    public var offsetInBytes: Int { offsetInBits / 8 }
}

/// The computed layout of a record: one `CMemberLayout` per field, in declaration order.
public struct CRecordLayout: Hashable, Sendable {
    public var size: Int
    public var alignment: Int
    public var members: [CMemberLayout]

    /// The alignment an ordinary (not bit-field) member is placed with: its type's
    /// (`natural`), 1 when packed, raised by its `aligned(N)`, capped by `#pragma pack(N)`.
    public static func placementAlignment(of field: CField, natural: Int, in attributes: CRecordAttributes) -> Int {
        var alignment = attributes.isPacked || field.isPacked ? 1 : natural
        if let explicit = field.alignment { alignment = max(alignment, explicit) }
        if let pack = attributes.maxFieldAlignment { alignment = min(alignment, pack) }
        return alignment
    }

    /// Lays out a struct or union as gcc and clang do for x86-64 SysV (psABI §3.1.2,
    /// "Aggregates and Unions" and "Bit-Fields"), including their extensions: `packed`,
    /// `aligned(N)`, `#pragma pack(N)` and zero-width bit-fields.
    static func compute(
        kind: CRecord.Kind, fields: [CField], attributes: CRecordAttributes, owner: String
    ) throws(CLayoutError) -> CRecordLayout {
        var offset = 0  // next free bit (structs); unions place everything at 0
        var unionSize = 0  // bits
        var alignment = 1  // bytes
        var members: [CMemberLayout] = []
        members.reserveCapacity(fields.count)
        var seenNames: Set<String> = []

        for (index, field) in fields.enumerated() {
            let label = field.name ?? "#\(index + 1) (unnamed)"
            func invalid(_ reason: String) -> CLayoutError {
                .invalidMember(owner: owner, member: label, reason: reason)
            }
            if let name = field.name, !seenNames.insert(name).inserted { throw invalid("duplicate member name") }

            let natural: CTypeLayout
            do { natural = try field.type.layout() } catch {
                if case .array(_, nil) = field.type.type.resolved {
                    natural = try flexibleArrayLayout(field, index: index, fields: fields, kind: kind, invalid: invalid)
                } else {
                    throw invalid("\(error)")
                }
            }
            let packed = attributes.isPacked || field.isPacked

            if let width = field.bitWidth {
                // MARK: Bit-fields (psABI: "bit-fields must be contained in a storage unit
                // appropriate for its declared type"; gcc/clang extensions for packing)
                guard let integer = field.type.type.integerKind else { throw invalid("bit-field has non-integer type") }
                if width < 0 { throw invalid("negative bit-field width") }
                if width > integer.valueBits {
                    throw invalid("width \(width) exceeds the \(integer.valueBits) bits of its type")
                }
                if width == 0 && field.name != nil { throw invalid("named bit-field has zero width") }
                if field.alignment != nil { throw .unsupported("aligned attribute on bit-field \(label) of \(owner)") }
                let typeBits = natural.size * 8
                let typeAlignBits = natural.alignment * 8
                var position = kind == .union ? 0 : offset
                if width == 0 {
                    // A zero-width bit-field moves to the next unit of its type, even in a
                    // packed record or under #pragma pack; it adds no alignment.
                    position = alignUp(position, typeAlignBits)
                } else if !packed && attributes.maxFieldAlignment == nil {
                    // Straddling the type's storage unit starts a new one. Any #pragma pack
                    // and `packed` suppress this padding.
                    if position % typeAlignBits + width > typeBits { position = alignUp(position, typeAlignBits) }
                }
                if width > 0 && field.name != nil {
                    // Named bit-fields align the record as their type would (unnamed ones
                    // do not: psABI "unnamed bit-fields' types do not affect alignment").
                    // Under #pragma pack(N) gcc and clang cap that at N and ignore `packed`:
                    // `#pragma pack(8) struct { int a; long b : 8; } __attribute__((packed))`
                    // has alignment 8 (found by the DWARF import oracle).
                    var contributed = packed ? 1 : natural.alignment
                    if let pack = attributes.maxFieldAlignment { contributed = min(natural.alignment, pack) }
                    alignment = max(alignment, contributed)
                }
                members.append(CMemberLayout(offsetInBits: position, sizeInBits: width))
                if kind == .union {
                    unionSize = max(unionSize, width)
                } else {
                    offset = position + width
                }
                continue
            }

            // MARK: Ordinary members
            let fieldAlignment = placementAlignment(of: field, natural: natural.alignment, in: attributes)
            alignment = max(alignment, fieldAlignment)
            let position = kind == .union ? 0 : alignUp(offset, fieldAlignment * 8)
            let bits = natural.size * 8
            members.append(CMemberLayout(offsetInBits: position, sizeInBits: bits))
            if kind == .union {
                unionSize = max(unionSize, bits)
            } else {
                offset = position + bits
            }
            if offset > CTypeLayout.maximumObjectSize { throw .tooLarge(owner) }
        }

        if let explicit = attributes.alignment { alignment = max(alignment, explicit) }
        let usedBits = kind == .union ? unionSize : offset
        let size = alignUp((usedBits + 7) / 8, alignment)
        return CRecordLayout(size: size, alignment: alignment, members: members)
    }

    /// A flexible array member (`T a[];`) has size 0 and its element's alignment; it must
    /// be the last member of a struct with at least one other named member (C11 6.7.2.1p18).
    private static func flexibleArrayLayout(
        _ field: CField, index: Int, fields: [CField], kind: CRecord.Kind, invalid: (String) -> CLayoutError
    ) throws(CLayoutError) -> CTypeLayout {
        guard case .array(let element, nil) = field.type.type.resolved else { throw invalid("incomplete type") }
        if kind == .union { throw invalid("flexible array member in a union") }
        if index != fields.count - 1 { throw invalid("flexible array member is not the last member") }
        if !fields.dropLast().contains(where: { $0.name != nil || $0.isAnonymousRecord }) {
            throw invalid("flexible array member in a struct with no named members")
        }
        if field.bitWidth != nil { throw invalid("bit-field has non-integer type") }
        let inner: CTypeLayout
        do { inner = try element.layout() } catch { throw invalid("\(error)") }
        return CTypeLayout(size: 0, alignment: inner.alignment)
    }
}

/// Rounds `value` up to a multiple of `alignment` (which is positive).
@inlinable
public func alignUp(_ value: Int, _ alignment: Int) -> Int {
    let remainder = value % alignment
    return remainder == 0 ? value : value + (alignment - remainder)
}

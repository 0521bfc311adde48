// Nominal C types: structs, unions and enums. Each is a reference with identity,
// declared (possibly only forward) first and defined at most once; the layout of a
// record is computed when it is defined and never changes after.

import Locks
import Synchronization

// MARK: - Records

/// A struct or union member. `name == nil` is an unnamed bit-field or an anonymous
/// struct/union member whose fields are reached through the enclosing record.
public struct CField: Hashable, Sendable {
    public var name: String?
    public var type: CQualType
    /// Width in bits for a bit-field (0 for a zero-width bit-field), `nil` otherwise.
    public var bitWidth: Int?
    /// `__attribute__((aligned(N)))` on the member, in bytes.
    public var alignment: Int?
    /// `__attribute__((packed))` on the member.
    public var isPacked: Bool

    public init(
        name: String?, type: CQualType, bitWidth: Int? = nil, alignment: Int? = nil, isPacked: Bool = false
    ) {
        self.name = name
        self.type = type
        self.bitWidth = bitWidth
        self.alignment = alignment
        self.isPacked = isPacked
    }

    /// Whether the member is a bit-field.
    public var isBitField: Bool { bitWidth != nil }
    /// Whether the member is an anonymous struct or union whose members belong to the parent.
    public var isAnonymousRecord: Bool {
        guard name == nil, bitWidth == nil, case .record = type.type.resolved else { return false }
        return true
    }
}

/// Attributes and pragmas that change a record's layout.
public struct CRecordAttributes: Hashable, Sendable {
    /// `__attribute__((packed))` on the record: every member is byte-aligned.
    public var isPacked: Bool
    /// `__attribute__((aligned(N)))` on the record, in bytes.
    public var alignment: Int?
    /// `#pragma pack(N)` in force where the record was defined, in bytes.
    public var maxFieldAlignment: Int?
    /// `__attribute__((scalar_storage_order(...)))`: the byte order of the record's own
    /// scalar members (already applied to their types; kept for printing).
    public var scalarStorageOrder: CByteOrder?

    public init(
        isPacked: Bool = false, alignment: Int? = nil, maxFieldAlignment: Int? = nil,
        scalarStorageOrder: CByteOrder? = nil
    ) {
        self.isPacked = isPacked
        self.alignment = alignment
        self.maxFieldAlignment = maxFieldAlignment
        self.scalarStorageOrder = scalarStorageOrder
    }
}

/// The members and attributes of a defined record, with its computed layout.
public struct CRecordDefinition: Hashable, Sendable {
    public let fields: [CField]
    public let attributes: CRecordAttributes
    public let layout: CRecordLayout
}

/// A struct or union. Identity is the declaration: compare with `===` semantics.
public final class CRecord: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case `struct`
        case union
    }

    public let kind: Kind
    /// The tag (`P` in `struct P`), or `nil` for an anonymous record.
    public let tag: String?
    /// The definition once `define` has set it (retained, released in `deinit`): set once,
    /// then read without a lock or reference counting, since calls read a record's size on
    /// every call. (`AtomicLazyReference` would do, but its `load` is not inlined and looks
    /// up generic metadata on each call.)
    private let state = Atomic<Unmanaged<Defined>?>(nil)

    private final class Defined: Sendable {
        let definition: CRecordDefinition
        init(_ definition: CRecordDefinition) { self.definition = definition }
    }

    /// Declares a record, incomplete until `define` is called.
    public init(kind: Kind, tag: String?) {
        self.kind = kind
        self.tag = tag
    }

    /// Declares and defines a record in one step.
    public convenience init(
        kind: Kind, tag: String?, fields: [CField], attributes: CRecordAttributes = CRecordAttributes()
    ) throws(CLayoutError) {
        self.init(kind: kind, tag: tag)
        try define(fields: fields, attributes: attributes)
    }

    /// The definition, or `nil` while the record is only declared.
    public var definition: CRecordDefinition? { withDefined { $0.definition } }
    /// `sizeof` the record, or `nil` while it is only declared (without copying the
    /// definition, unlike `definition?.layout.size`).
    public var size: Int? { withDefined { $0.definition.layout.size } }
    /// The record's alignment, or `nil` while it is only declared.
    public var alignment: Int? { withDefined { $0.definition.layout.alignment } }

    /// Whether the record has been defined.
    public var isComplete: Bool { state.load(ordering: .acquiring) != nil }
    /// `struct P`, `union U`, or `struct <anonymous>`.
    public var description: String { "\(kind.rawValue) \(tag ?? "<anonymous>")" }

    /// `body` with the definition, unretained: `self` is kept alive until `body` returns,
    /// since it owns the definition (released in `deinit`). Without that, the optimizer
    /// may end a temporary record's life after the load, before `body` reads it
    /// (`(try? CRecord(…))?.definition` crashed in release builds).
    private func withDefined<Result>(_ body: (Defined) -> Result) -> Result? {
        withExtendedLifetime(self) { state.load(ordering: .acquiring)?._withUnsafeGuaranteedRef(body) }
    }

    /// Defines the record, computing its layout. Fails if the record is already defined
    /// or a member is not allowed where it stands (see `CLayoutError`).
    public func define(fields: [CField], attributes: CRecordAttributes = CRecordAttributes()) throws(CLayoutError) {
        let layout = try CRecordLayout.compute(kind: kind, fields: fields, attributes: attributes, owner: description)
        let definition = CRecordDefinition(fields: fields, attributes: attributes, layout: layout)
        let defined = Unmanaged.passRetained(Defined(definition))
        let (stored, _) = state.compareExchange(expected: nil, desired: defined, ordering: .acquiringAndReleasing)
        if !stored {
            defined.release()
            throw .redefinition(description)
        }
    }

    deinit { state.load(ordering: .acquiring)?.release() }

    public static func == (lhs: CRecord, rhs: CRecord) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

// MARK: - Enums

/// An enumeration constant.
public struct CEnumerator: Hashable, Sendable {
    public var name: String
    public var value: Int128
    public init(name: String, value: Int128) {
        self.name = name
        self.value = value
    }
}

/// The constants of a defined enum and the integer type that stores it.
public struct CEnumDefinition: Hashable, Sendable {
    public let enumerators: [CEnumerator]
    /// `__attribute__((packed))`: the smallest integer type that holds every value.
    public let isPacked: Bool
    /// The underlying integer type, chosen as gcc does.
    public let underlying: CIntegerKind
}

/// An enum. Identity is the declaration.
public final class CEnum: Hashable, Sendable, CustomStringConvertible {
    public let tag: String?
    private let state = Lock<CEnumDefinition?>(nil)

    public init(tag: String?) { self.tag = tag }

    /// Declares and defines an enum in one step.
    public convenience init(tag: String?, enumerators: [CEnumerator], isPacked: Bool = false) throws(CLayoutError) {
        self.init(tag: tag)
        try define(enumerators: enumerators, isPacked: isPacked)
    }

    public var definition: CEnumDefinition? { state.withLock { $0 } }
    public var isComplete: Bool { definition != nil }
    public var description: String { "enum \(tag ?? "<anonymous>")" }

    /// Defines the enum; the underlying type follows gcc: `unsigned int` when every value
    /// is non-negative and fits, else `int`, widening to (`unsigned`) `long` and
    /// `__int128`; with `packed`, the smallest type of the same signedness rule.
    public func define(enumerators: [CEnumerator], isPacked: Bool = false) throws(CLayoutError) {
        let underlying = try Self.underlyingType(for: enumerators.map(\.value), packed: isPacked, owner: description)
        let definition = CEnumDefinition(enumerators: enumerators, isPacked: isPacked, underlying: underlying)
        let stored = state.withLock { current -> Bool in
            guard current == nil else { return false }
            current = definition
            return true
        }
        if !stored { throw .redefinition(description) }
    }

    static func underlyingType(for values: [Int128], packed: Bool, owner: String) throws(CLayoutError) -> CIntegerKind {
        let negative = values.contains { $0 < 0 }
        let candidates: [CIntegerKind] =
            packed
            ? (negative ? [.signedChar, .short, .int, .long, .int128] : [.unsignedChar, .unsignedShort, .unsignedInt, .unsignedLong, .unsignedInt128])
            : (negative ? [.int, .long, .int128] : [.unsignedInt, .unsignedLong, .unsignedInt128])
        for kind in candidates where values.allSatisfy({ CIntegerKind.range(of: kind).contains($0) }) {
            return kind
        }
        throw .enumeratorOutOfRange(owner)
    }

    public static func == (lhs: CEnum, rhs: CEnum) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

extension CIntegerKind {
    /// The values a type of this kind holds.
    public static func range(of kind: CIntegerKind) -> ClosedRange<Int128> {
        if kind == .bool { return 0...1 }
        if kind == .unsignedInt128 { return 0...Int128.max }  // Int128 cannot hold the top half
        if kind == .int128 { return Int128.min...Int128.max }
        let bits = kind.size * 8
        if kind.isSigned {
            let limit = Int128(1) << (bits - 1)
            return (-limit)...(limit - 1)
        }
        return 0...((Int128(1) << bits) - 1)
    }
}

// DIE → CTypeModel, one function per DWARF tag: base types, typedef and qualifier chains,
// pointers, arrays (flexible and zero-length too), structs and unions with anonymous
// members, bit-fields in all three encodings, enums, function types. Records and enums
// are imported once per DIE (nominal identity), declaration-only records are resolved to
// their definition by name, and packed or over-aligned layouts are recovered from the
// offsets DWARF gives. Recursion is bounded; malformed DWARF throws, naming DIE and attribute.

internal import CLibDW
import CTypeModel

final class DWARFTypeImporter {
    /// The name index, built on first need (callers hold the debug info's lock).
    private let names: () -> DWARFNameIndex
    private var records: [UInt: CRecord] = [:]
    private var enumerations: [UInt: CEnum] = [:]
    private var typedefs: [UInt: CTypedef] = [:]
    private var depth = 0
    static let maximumDepth = 200

    init(names: @escaping () -> DWARFNameIndex) {
        self.names = names
    }

    private func fail(_ die: inout Dwarf_Die, _ attribute: String, _ reason: String) -> DWARFImportError {
        .malformed(die: DIE.offset(&die), attribute: attribute, reason: reason)
    }

    /// Sizes, counts and offsets read from the file, in bytes or bits, larger than any real
    /// object (2^40) are corrupt: refusing them here keeps every later `* 8` and `+` in range.
    static let largestPlausibleValue = 1 << 40

    private func bounded<T: BinaryInteger>(
        _ value: T, _ die: inout Dwarf_Die, _ attribute: String, allowingNegative: Bool = false
    ) throws(DWARFImportError) -> Int {
        let limit = Int128(Self.largestPlausibleValue)
        guard let wide = Int128(exactly: value), wide >= (allowingNegative ? -limit : 0), wide <= limit else {
            throw fail(&die, attribute, "\(value) is out of range (corrupt debug info?)")
        }
        return Int(wide)
    }

    // MARK: - Types

    /// The type a DIE's `DW_AT_type` names (`void` when absent).
    func referencedType(_ die: inout Dwarf_Die) throws(DWARFImportError) -> CQualType {
        guard DIE.has(&die, DW_AT_type) else { return CQualType(.void) }
        guard var target = DIE.reference(&die, DW_AT_type) else { throw fail(&die, "DW_AT_type", "unresolvable reference") }
        return try type(of: &target)
    }

    func type(of die: inout Dwarf_Die) throws(DWARFImportError) -> CQualType {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw fail(&die, "DW_AT_type", "types nested deeper than \(Self.maximumDepth)") }
        let tag = Int(dwarf_tag(&die))
        switch tag {
        case DW_TAG_base_type: return CQualType(try baseType(&die))
        case DW_TAG_pointer_type: return CQualType(.pointer(try referencedType(&die)))
        case DW_TAG_const_type: return try qualified(&die, .const)
        case DW_TAG_volatile_type: return try qualified(&die, .volatile)
        case DW_TAG_restrict_type: return try qualified(&die, .restrict)
        case DW_TAG_atomic_type: return try qualified(&die, .atomic)
        case DW_TAG_typedef: return CQualType(.typedef(try typedef(&die)))
        case DW_TAG_array_type: return try array(&die)
        case DW_TAG_structure_type: return CQualType(.record(try record(&die, kind: .struct)))
        case DW_TAG_union_type: return CQualType(.record(try record(&die, kind: .union)))
        case DW_TAG_enumeration_type: return CQualType(.enumeration(try enumeration(&die)))
        case DW_TAG_subroutine_type: return CQualType(.function(try functionType(&die)))
        case DW_TAG_unspecified_type:
            // What the assembler writes for functions written in assembly: no C type.
            throw .noCType(die: DIE.offset(&die), reason: "the DWARF gives no C type (the code is written in assembly)")
        default:
            throw fail(&die, "DW_TAG", "tag 0x\(String(tag, radix: 16)) is not a C type")
        }
    }

    private func qualified(_ die: inout Dwarf_Die, _ qualifier: CQualifiers) throws(DWARFImportError) -> CQualType {
        var inner = try referencedType(&die)
        inner.qualifiers.insert(qualifier)
        return inner
    }

    private func baseType(_ die: inout Dwarf_Die) throws(DWARFImportError) -> CType {
        guard let encoding = DIE.unsigned(&die, DW_AT_encoding) else { throw fail(&die, "DW_AT_encoding", "missing") }
        guard let size = DIE.unsigned(&die, DW_AT_byte_size) else { throw fail(&die, "DW_AT_byte_size", "missing") }
        let name = DIE.name(&die) ?? ""
        switch Int(encoding) {
        case DW_ATE_boolean: return .integer(.bool)
        case DW_ATE_float:
            guard let kind = CBaseTypeNames.floating(named: name, size: Int(size)) else {
                throw .noCType(die: DIE.offset(&die), reason: "\(name) (\(size) bytes) is not supported")
            }
            return .floating(kind)
        case DW_ATE_complex_float:
            guard let kind = CBaseTypeNames.complex(named: name, size: Int(size)) else {
                throw fail(&die, "DW_AT_byte_size", "\(name): no C complex type of \(size) bytes")
            }
            return .complex(kind)
        case DW_ATE_signed, DW_ATE_signed_char, DW_ATE_unsigned, DW_ATE_unsigned_char:
            let signed = encoding == DW_ATE_signed || encoding == DW_ATE_signed_char
            guard size <= 16, let kind = CBaseTypeNames.integer(named: name, size: Int(size), isSigned: signed) else {
                throw fail(&die, "DW_AT_byte_size", "\(name): no C integer type of \(size) bytes")
            }
            return .integer(kind)
        default:
            throw fail(&die, "DW_AT_encoding", "\(name): encoding 0x\(String(encoding, radix: 16)) has no C type")
        }
    }

    private func typedef(_ die: inout Dwarf_Die) throws(DWARFImportError) -> CTypedef {
        let key = DIE.key(die)
        if let known = typedefs[key] { return known }
        guard let name = DIE.name(&die) else { throw fail(&die, "DW_AT_name", "typedef without a name") }
        let alias = CTypedef(name: name, underlying: try referencedType(&die))
        typedefs[key] = alias
        return alias
    }

    private func array(_ die: inout Dwarf_Die) throws(DWARFImportError) -> CQualType {
        var element = try referencedType(&die)
        var counts: [Int?] = []
        for var child in DIE.children(&die) where Int(dwarf_tag(&child)) == DW_TAG_subrange_type {
            if let count = DIE.unsigned(&child, DW_AT_count) {
                counts.append(try bounded(count, &child, "DW_AT_count"))
            } else if let upper = DIE.integer(&child, DW_AT_upper_bound) {
                // DW_FORM_data1..8 are the bound's bits, unsigned as the subrange's type
                // (gcc writes `char[256]` as data1 0xff: 255, not -1); -1 (sdata, or data8
                // all ones) is `[0]`.
                counts.append(upper < 0 ? 0 : try bounded(upper, &child, "DW_AT_upper_bound") + 1)
            } else {
                counts.append(nil)  // a flexible array member
            }
        }
        if counts.isEmpty { counts = [nil] }
        for count in counts.reversed() { element = CQualType(.array(element, count: count)) }
        return element
    }

    // MARK: - Records

    private func record(_ die: inout Dwarf_Die, kind: CRecord.Kind) throws(DWARFImportError) -> CRecord {
        let key = DIE.key(die)
        if let known = records[key] { return known }
        let name = DIE.name(&die)
        if DIE.flag(&die, DW_AT_declaration) {
            // A declaration only: the definition is elsewhere (another CU, or not at all).
            if let name, var definition = names().typesByName["\(kind.rawValue) \(name)"] {
                let defined = try record(&definition, kind: kind)
                records[key] = defined
                return defined
            }
            let incomplete = CRecord(kind: kind, tag: name)
            records[key] = incomplete
            return incomplete
        }
        let record = CRecord(kind: kind, tag: name)
        records[key] = record  // before the members: they may point back to the record

        var fields: [CField] = []
        var offsets: [Int] = []  // in bits
        for var member in DIE.children(&die) where Int(dwarf_tag(&member)) == DW_TAG_member {
            let memberName = DIE.name(&member)
            let type = try referencedType(&member)
            var byteOffset = 0
            if DIE.has(&member, DW_AT_data_member_location) {
                byteOffset = try memberLocation(&member)
            }
            if let rawBitSize = DIE.unsigned(&member, DW_AT_bit_size) {
                let bitSize = try bounded(rawBitSize, &member, "DW_AT_bit_size")
                let position: Int
                if let dataBitOffset = DIE.unsigned(&member, DW_AT_data_bit_offset) {
                    position = try bounded(dataBitOffset, &member, "DW_AT_data_bit_offset")  // DWARF 4/5: from the record's start
                } else if let rawBitOffset = DIE.integer(&member, DW_AT_bit_offset) {
                    // DWARF 2/3: from the most significant bit of a storage unit of
                    // DW_AT_byte_size bytes at DW_AT_data_member_location (little-endian).
                    // Negative when the bit-field's storage unit runs past the record's end.
                    let bitOffset = try bounded(rawBitOffset, &member, "DW_AT_bit_offset", allowingNegative: true)
                    let storage = try bounded(
                        DIE.unsigned(&member, DW_AT_byte_size) ?? UInt64((try? type.layout().size) ?? 4), &member, "DW_AT_byte_size")
                    position = byteOffset * 8 + storage * 8 - bitOffset - bitSize
                } else {
                    position = byteOffset * 8
                }
                fields.append(CField(name: memberName, type: type, bitWidth: bitSize))
                offsets.append(position)
            } else {
                fields.append(CField(name: memberName, type: type))
                offsets.append(byteOffset * 8)
            }
        }
        let size = try DIE.unsigned(&die, DW_AT_byte_size).map { (value: UInt64) throws(DWARFImportError) in
            try bounded(value, &die, "DW_AT_byte_size")
        }
        let alignment = try DIE.unsigned(&die, DW_AT_alignment).map { (value: UInt64) throws(DWARFImportError) in
            try bounded(value, &die, "DW_AT_alignment")
        }
        do {
            try record.defineMatching(fields: fields, offsets: offsets, size: size, alignment: alignment)
        } catch {
            if case .irreproducible(let reason) = error { throw fail(&die, "DW_AT_data_member_location", reason) }
            throw fail(&die, "DW_TAG_member", error.description)
        }
        return record
    }

    /// `DW_AT_data_member_location` as a constant or a `DW_OP_plus_uconst` expression (DWARF 2).
    private func memberLocation(_ member: inout Dwarf_Die) throws(DWARFImportError) -> Int {
        if let constant = DIE.unsigned(&member, DW_AT_data_member_location) {
            return try bounded(constant, &member, "DW_AT_data_member_location")
        }
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&member, UInt32(DW_AT_data_member_location), &attribute) != nil else { return 0 }
        var operations: UnsafeMutablePointer<Dwarf_Op>?
        var count = 0
        guard dwarf_getlocation(&attribute, &operations, &count) == 0, let operations, count == 1,
            operations[0].atom == UInt8(DW_OP_plus_uconst)
        else { throw fail(&member, "DW_AT_data_member_location", "not a constant or DW_OP_plus_uconst") }
        return try bounded(operations[0].number, &member, "DW_AT_data_member_location")
    }

    // MARK: - Enums

    private func enumeration(_ die: inout Dwarf_Die) throws(DWARFImportError) -> CEnum {
        let key = DIE.key(die)
        if let known = enumerations[key] { return known }
        let name = DIE.name(&die)
        if DIE.flag(&die, DW_AT_declaration) {
            if let name, var definition = names().typesByName["enum \(name)"] {
                let defined = try enumeration(&definition)
                enumerations[key] = defined
                return defined
            }
            let incomplete = CEnum(tag: name)
            enumerations[key] = incomplete
            return incomplete
        }
        var enumerators: [CEnumerator] = []
        for var child in DIE.children(&die) where Int(dwarf_tag(&child)) == DW_TAG_enumerator {
            guard let enumeratorName = DIE.name(&child) else { throw fail(&child, "DW_AT_name", "enumerator without a name") }
            var attribute = Dwarf_Attribute()
            guard dwarf_attr_integrate(&child, UInt32(DW_AT_const_value), &attribute) != nil else {
                throw fail(&child, "DW_AT_const_value", "missing")
            }
            let form = Int(dwarf_whatform(&attribute))
            var value: Int128
            if form == DW_FORM_sdata || form == DW_FORM_implicit_const {
                var signed: Dwarf_Sword = 0
                _ = dwarf_formsdata(&attribute, &signed)
                value = Int128(signed)
            } else {
                var unsigned: Dwarf_Word = 0
                _ = dwarf_formudata(&attribute, &unsigned)
                value = Int128(unsigned)
            }
            enumerators.append(CEnumerator(name: enumeratorName, value: value))
        }
        // The underlying type from DW_AT_type when given, else gcc's rule; byte_size tells packed.
        let size = DIE.unsigned(&die, DW_AT_byte_size).map(Int.init) ?? 4
        let enumeration = CEnum(tag: name)
        enumerations[key] = enumeration
        do {
            try enumeration.define(enumerators: enumerators, isPacked: size < 4)
        } catch {
            throw fail(&die, "DW_TAG_enumerator", error.description)
        }
        if enumeration.definition?.underlying.size != size {
            throw fail(&die, "DW_AT_byte_size", "enum of \(size) bytes: no underlying integer type matches")
        }
        return enumeration
    }

    // MARK: - Functions

    /// The function type of a `DW_TAG_subprogram` or `DW_TAG_subroutine_type`. Parameters
    /// are read from the abstract origin or specification when the DIE has one (a concrete
    /// out-of-line instance may lack some). Unprototyped (K&R) functions get their
    /// parameters' default promotions, as their callers do.
    func functionType(_ die: inout Dwarf_Die) throws(DWARFImportError) -> CFunctionType {
        var declaring = die
        for _ in 0..<8 {
            if var origin = DIE.reference(&declaring, DW_AT_abstract_origin) ?? DIE.reference(&declaring, DW_AT_specification),
                !DIE.children(&origin).isEmpty || DIE.children(&declaring).isEmpty
            {
                declaring = origin
            } else {
                break
            }
        }
        let result = try referencedType(&die)
        var parameters: [CParameter] = []
        var variadic = false
        for var child in DIE.children(&declaring) {
            switch Int(dwarf_tag(&child)) {
            case DW_TAG_formal_parameter:
                if DIE.flag(&child, DW_AT_artificial) { continue }
                parameters.append(CParameter(name: DIE.name(&child), type: try referencedType(&child)))
            case DW_TAG_unspecified_parameters:
                variadic = true
            default:
                continue
            }
        }
        let prototyped = DIE.flag(&die, DW_AT_prototyped) || DIE.flag(&declaring, DW_AT_prototyped)
        if !prototyped {
            parameters = parameters.map { parameter in
                CParameter(name: parameter.name, type: Self.promoted(parameter.type))
            }
        }
        return CFunctionType(result: result, parameters: parameters, isVariadic: variadic, isPrototyped: true)
    }

    /// The default argument promotion of a K&R parameter's declared type.
    static func promoted(_ type: CQualType) -> CQualType {
        switch type.resolved.type {
        case .floating(.float): return CQualType(.double)
        case .integer(let kind) where kind.rank < CIntegerKind.int.rank: return CQualType(.int)
        default: return type
        }
    }
}

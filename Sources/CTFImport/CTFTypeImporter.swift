// CTF types into the C type model: integers and floats from their encodings and names,
// pointers, arrays, typedefs, qualifiers, records with their member offsets (bit-fields as
// CTF slices; attributes recovered by `CRecord.defineMatching`), enums, functions.
// Records and enums keep one identity per dictionary; every id and count read is checked,
// so a corrupt section gives an error, never a crash or a loop.

internal import CLibCTF
import CTypeModel

/// Imports the types of one CTF dictionary; used under `LibraryCompactTypes.lock`.
final class CTFTypeImporter {
    let dictionary: OpaquePointer
    private var records: [ctf_id_t: CRecord] = [:]
    private var enums: [ctf_id_t: CEnum] = [:]
    /// Packed variants of enums, by the enum they narrow (see `narrowingPackedEnums`).
    private var packedEnums: [ObjectIdentifier: CEnum] = [:]
    private var typedefs: [ctf_id_t: CTypedef] = [:]
    private var depth = 0

    init(dictionary: OpaquePointer) {
        self.dictionary = dictionary
    }

    private func fail(_ id: ctf_id_t, _ reason: String) -> CTFImportError {
        .malformed("type 0x\(String(id, radix: 16)): \(reason)")
    }

    private func libctfError() -> String { String(cString: ctf_errmsg(ctf_errno(dictionary))) }

    // MARK: - Functions

    func functionType(_ id: ctf_id_t, symbol: String) throws(CTFImportError) -> CFunctionType {
        var info = ctf_funcinfo_t()
        guard ctf_func_type_info(dictionary, id, &info) == 0 else {
            throw .noCType(symbol: symbol, reason: "not a function (\(libctfError()))")
        }
        guard info.ctc_argc <= 256 else { throw fail(id, "\(info.ctc_argc) arguments") }
        var arguments = [ctf_id_t](repeating: 0, count: Int(info.ctc_argc))
        if info.ctc_argc > 0 {
            guard ctf_func_type_args(dictionary, id, info.ctc_argc, &arguments) == 0 else { throw fail(id, libctfError()) }
        }
        do {
            let result = try type(info.ctc_return)
            let parameters = try arguments.map { (argument: ctf_id_t) throws(CTFImportError) in
                CParameter(name: nil, type: try type(argument))
            }
            return CFunctionType(
                result: result, parameters: parameters, isVariadic: info.ctc_flags & UInt32(CTF_FUNC_VARARG) != 0,
                isPrototyped: true)
        } catch {
            if case .noCType(_, let reason) = error { throw .noCType(symbol: symbol, reason: reason) }
            throw error
        }
    }

    // MARK: - Types

    func type(_ id: ctf_id_t) throws(CTFImportError) -> CQualType {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw fail(id, "types nested more than 200 deep (a cycle?)") }
        let kind = ctf_type_kind(dictionary, id)
        switch kind {
        case CTF_K_INTEGER:
            // gcc writes `void` as an integer of no bits named void.
            if ctf_type_size(dictionary, id) == 0, name(id) == "void" { return CQualType(.void) }
            return CQualType(try integer(id))
        case CTF_K_FLOAT:
            return CQualType(try floating(id))
        case CTF_K_POINTER:
            return CQualType(.pointer(try type(try reference(id))))
        case CTF_K_ARRAY:
            var info = ctf_arinfo_t()
            guard ctf_array_info(dictionary, id, &info) == 0 else { throw fail(id, libctfError()) }
            let element = try type(info.ctr_contents)
            // A flexible array member is an array of 0 elements in CTF, as in DWARF without a bound.
            return CQualType(.array(element, count: info.ctr_nelems == 0 ? nil : Int(info.ctr_nelems)))
        case CTF_K_FUNCTION:
            return CQualType(.function(try functionType(id, symbol: name(id) ?? "function type")))
        case CTF_K_STRUCT, CTF_K_UNION:
            return CQualType(.record(try record(id, kind: kind == CTF_K_STRUCT ? .struct : .union)))
        case CTF_K_ENUM:
            return CQualType(.enumeration(try enumeration(id)))
        case CTF_K_FORWARD:
            let tag = name(id)
            switch ctf_type_kind_forwarded(dictionary, id) {
            case CTF_K_UNION: return CQualType(.record(forward(id, kind: .union, tag: tag)))
            case CTF_K_ENUM: return CQualType(.enumeration(enums[id] ?? { let made = CEnum(tag: tag); enums[id] = made; return made }()))
            default: return CQualType(.record(forward(id, kind: .struct, tag: tag)))
            }
        case CTF_K_TYPEDEF:
            return CQualType(.typedef(try typedef(id)))
        case CTF_K_CONST, CTF_K_VOLATILE, CTF_K_RESTRICT:
            var inner = try type(try reference(id))
            inner.qualifiers.insert(kind == CTF_K_CONST ? .const : kind == CTF_K_VOLATILE ? .volatile : .restrict)
            return inner
        case CTF_K_UNKNOWN where id == 0:
            return CQualType(.void)
        default:
            if kind < 0 { throw fail(id, libctfError()) }
            throw CTFImportError.noCType(symbol: "", reason: "CTF kind \(kind) has no C type")
        }
    }

    private func reference(_ id: ctf_id_t) throws(CTFImportError) -> ctf_id_t {
        let target = ctf_type_reference(dictionary, id)
        guard target != ctf_id_t(bitPattern: -1) else { throw fail(id, libctfError()) }
        return target
    }

    private func name(_ id: ctf_id_t) -> String? {
        guard let raw = ctf_type_name_raw(dictionary, id), raw.pointee != 0 else { return nil }
        return String(cString: raw)
    }

    private func integer(_ id: ctf_id_t) throws(CTFImportError) -> CType {
        var encoding = ctf_encoding_t()
        guard ctf_type_encoding(dictionary, id, &encoding) == 0 else { throw fail(id, libctfError()) }
        let format = Int32(encoding.cte_format)
        if format & CTF_INT_BOOL != 0 { return .integer(.bool) }
        let size = ctf_type_size(dictionary, id)
        let name = self.name(id) ?? ""
        guard size > 0, size <= 16, let kind = CBaseTypeNames.integer(named: name, size: size, isSigned: format & CTF_INT_SIGNED != 0)
        else {
            throw fail(id, "\(name): no C integer type of \(size) bytes")
        }
        return .integer(kind)
    }

    private func floating(_ id: ctf_id_t) throws(CTFImportError) -> CType {
        var encoding = ctf_encoding_t()
        guard ctf_type_encoding(dictionary, id, &encoding) == 0 else { throw fail(id, libctfError()) }
        let size = ctf_type_size(dictionary, id)
        let name = self.name(id) ?? ""
        switch Int32(encoding.cte_format) {
        case CTF_FP_CPLX, CTF_FP_DCPLX, CTF_FP_LDCPLX:
            guard let kind = CBaseTypeNames.complex(named: name, size: size) else {
                throw CTFImportError.noCType(symbol: "", reason: "\(name) (\(size) bytes) is not supported")
            }
            return .complex(kind)
        default:
            guard let kind = CBaseTypeNames.floating(named: name, size: size) else {
                throw CTFImportError.noCType(symbol: "", reason: "\(name) (\(size) bytes) is not supported")
            }
            return .floating(kind)
        }
    }

    private func typedef(_ id: ctf_id_t) throws(CTFImportError) -> CTypedef {
        if let known = typedefs[id] { return known }
        guard let name = name(id) else { throw fail(id, "a typedef without a name") }
        let made = CTypedef(name: name, underlying: try type(try reference(id)))
        typedefs[id] = made
        return made
    }

    private func forward(_ id: ctf_id_t, kind: CRecord.Kind, tag: String?) -> CRecord {
        if let known = records[id] { return known }
        let made = CRecord(kind: kind, tag: tag)
        records[id] = made
        return made
    }

    private func record(_ id: ctf_id_t, kind: CRecord.Kind) throws(CTFImportError) -> CRecord {
        if let known = records[id] { return known }
        let record = CRecord(kind: kind, tag: name(id))
        records[id] = record  // before the members: they may point back to the record
        var fields: [CField] = []
        var offsets: [Int] = []
        var linkerSize = 0  // see below
        var iterator: OpaquePointer?
        defer { if let iterator { ctf_next_destroy(iterator) } }
        while true {
            var memberName: UnsafePointer<CChar>?
            var memberType: ctf_id_t = 0
            let offset = ctf_member_next(dictionary, id, &iterator, &memberName, &memberType, 0)
            if offset < 0 {
                guard ctf_errno(dictionary) == Int32(ECTF_NEXT_END) else { throw fail(id, libctfError()) }
                break
            }
            guard fields.count < 65_536 else { throw fail(id, "too many members") }
            let name = memberName.flatMap { $0.pointee == 0 ? nil : String(cString: $0) }
            // A bit-field's member type is a slice (of `bits` bits) of its declared type.
            // libctf reports a slice with the kind and name of what it slices and gives
            // that as its reference, but has no name of its own: a slice of an integer or
            // enum is one that references anything, a slice of a typedef one without a
            // name (a typedef proper has one).
            var width: Int?
            var declared = memberType
            let kind = ctf_type_kind(dictionary, memberType)
            let sliced = ctf_type_reference(dictionary, memberType)
            var encoding = ctf_encoding_t()
            if sliced != ctf_id_t(bitPattern: -1), ctf_type_encoding(dictionary, memberType, &encoding) == 0,
                kind == CTF_K_INTEGER || kind == CTF_K_ENUM || (kind == CTF_K_TYPEDEF && self.name(memberType) == nil)
            {
                declared = sliced
                width = Int(encoding.cte_bits)
            }
            let type = try self.type(declared)
            if width == nil, kind == CTF_K_INTEGER, case .integer(let integer) = type.type.resolved {
                // A bit-field of an integer type of its own (older CTF without slices).
                var encoding = ctf_encoding_t()
                if ctf_type_encoding(dictionary, memberType, &encoding) == 0, Int(encoding.cte_bits) != integer.size * 8 {
                    width = Int(encoding.cte_bits)
                }
            }
            fields.append(CField(name: name, type: type, bitWidth: width))
            offsets.append(offset)
            if width != nil {
                linkerSize = max(linkerSize, offset / 8 + ctf_type_size(dictionary, memberType))
            }
        }
        // CTF writes `[]` and GNU `[0]` alike, as 0 elements: only the last member of a
        // struct with others may be a flexible array member, any other is `[0]`.
        for index in fields.indices {
            guard case .array(let element, count: nil) = fields[index].type.type else { continue }
            if kind == .union || index != fields.count - 1 || fields.count == 1 {
                fields[index].type.type = .array(element, count: 0)
            }
        }
        let size = ctf_type_size(dictionary, id)
        guard size >= 0 else { throw fail(id, libctfError()) }
        if let narrowedEnd = narrowingPackedEnums(&fields, offsets: offsets, recordBits: size * 8, isUnion: kind == .union) {
            linkerSize = max(linkerSize, narrowedEnd)  // the linker sized the record with the 4-byte enum
        }
        do {
            // GNU ld 2.40 links a record whose bit-field slice reaches past its end with
            // the size max(real size, the last slice's byte offset + the slice's size):
            // `struct { unsigned a : 3; int b : 5; unsigned c : 20; }` is 4 bytes in the
            // object's CTF and 5 in the library's. A size that is exactly that, larger
            // than the layout the offsets give on their own, is the linker's.
            if linkerSize > 0, size == linkerSize, let natural = Self.layout(of: record, fields: fields, offsets: offsets),
                natural < size
            {
                try record.defineMatching(fields: fields, offsets: offsets, size: natural, alignment: nil)
            } else {
                try record.defineMatching(fields: fields, offsets: offsets, size: size, alignment: nil)
            }
        } catch {
            throw fail(id, error.description)
        }
        return record
    }

    /// gcc 12 writes a packed enum (`enum __attribute__((packed)) E`) with size 4, its
    /// underlying type's size unknown to CTF. A member of an enum type that has less than 4
    /// bytes before the next member (or the record's end) can only be a packed enum: it is
    /// given the packed variant (the smallest type that holds its values, as gcc chooses),
    /// when that fits. Returns where the last narrowed member would end at 4 bytes (GNU ld
    /// sizes the record so, as it does for bit-field slices), if any was narrowed.
    private func narrowingPackedEnums(_ fields: inout [CField], offsets: [Int], recordBits: Int, isUnion: Bool) -> Int? {
        var end: Int?
        for index in fields.indices where fields[index].bitWidth == nil {
            let room = (isUnion || index == fields.count - 1 ? recordBits : offsets[index + 1]) - offsets[index]
            guard room < 32, let narrowed = packed(fields[index].type), let bits = narrowed.type.integerKind.map({ $0.size * 8 }),
                bits <= room
            else { continue }
            fields[index].type = narrowed
            end = max(end ?? 0, offsets[index] / 8 + 4)
        }
        return end
    }

    /// `type` (an enum of 4 bytes, or a typedef of one) with the enum packed.
    private func packed(_ type: CQualType) -> CQualType? {
        switch type.type {
        case .typedef(let alias):
            guard let inner = packed(alias.underlying) else { return nil }
            return CQualType(.typedef(CTypedef(name: alias.name, underlying: inner)), type.qualifiers)
        case .enumeration(let enumeration):
            guard let definition = enumeration.definition, !definition.isPacked, definition.underlying.size == 4 else { return nil }
            let key = ObjectIdentifier(enumeration)
            if let known = packedEnums[key] { return CQualType(.enumeration(known), type.qualifiers) }
            guard let made = try? CEnum(tag: enumeration.tag, enumerators: definition.enumerators, isPacked: true) else { return nil }
            packedEnums[key] = made
            return CQualType(.enumeration(made), type.qualifiers)
        default:
            return nil
        }
    }

    /// The size of the layout that reproduces `offsets` with no size given, if any.
    private static func layout(of record: CRecord, fields: [CField], offsets: [Int]) -> Int? {
        let trial = CRecord(kind: record.kind, tag: record.tag)
        guard (try? trial.defineMatching(fields: fields, offsets: offsets, size: nil, alignment: nil)) != nil else { return nil }
        return trial.definition?.layout.size
    }

    private func enumeration(_ id: ctf_id_t) throws(CTFImportError) -> CEnum {
        if let known = enums[id] { return known }
        let made = CEnum(tag: name(id))
        enums[id] = made
        var enumerators: [CEnumerator] = []
        var iterator: OpaquePointer?
        defer { if let iterator { ctf_next_destroy(iterator) } }
        while true {
            var value: Int32 = 0
            guard let name = ctf_enum_next(dictionary, id, &iterator, &value) else {
                guard ctf_errno(dictionary) == Int32(ECTF_NEXT_END) else { throw fail(id, libctfError()) }
                break
            }
            guard enumerators.count < 1_000_000 else { throw fail(id, "too many enumerators") }
            enumerators.append(CEnumerator(name: String(cString: name), value: Int128(value)))
        }
        let size = ctf_type_size(dictionary, id)
        do {
            try made.define(enumerators: enumerators, isPacked: size > 0 && size < 4)
        } catch {
            throw fail(id, error.description)
        }
        return made
    }
}

// Writing CTF: types of the C type model into one libctf dictionary (the inverse of
// CTFTypeImporter), with function and data-object symbols, serialized uncompressed so that
// it can be a sidecar file or a library's `.ctf` section. Types are deduplicated: the same
// record, enum or typedef described again by another compilation unit (DWARF without dwz
// repeats `struct tm` in every unit that uses it) is written once. A name already taken at
// the top level by a different type is written as a non-root type (reachable by id only),
// as GNU ld does with conflicting types.

internal import CLibCTF
import CTypeModel

#if canImport(Glibc)
    import Glibc
#endif

/// Why CTF could not be written.
public enum CTFExportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// libctf refused an operation.
    case libctf(String)
    /// The type has no CTF form.
    case unsupported(String)

    public var description: String {
        switch self {
        case .libctf(let reason): return "libctf: \(reason)"
        case .unsupported(let reason): return "no CTF form: \(reason)"
        }
    }
}

/// One CTF dictionary being written. Not thread-safe.
public final class CTFTypeWriter {
    private let dictionary: OpaquePointer
    /// Written types by what identifies them; each entry added since the current symbol
    /// began is undone if the symbol fails (`undo`).
    private var ids: [Key: ctf_id_t] = [:]
    /// Top-level names taken (`struct T`, `union T`, `enum T`, typedef names).
    private var rootNames: [String: ctf_id_t] = [:]
    /// Complete records, enums and typedefs written under each name, to find an equal one.
    private var byName: [String: [(type: CQualType, id: ctf_id_t)]] = [:]
    private var undo: [() -> Void] = []
    private var depth = 0
    /// The symbols written.
    public private(set) var functionCount = 0
    public private(set) var objectCount = 0

    private enum Key: Hashable {
        case object(ObjectIdentifier)  // a record or enum
        case integer(CIntegerKind)
        case floating(CFloatKind)
        case complex(CFloatKind)
        case void
        case derived(String, [ctf_id_t])  // pointer, qualifier, array, function, slice
    }

    public init() throws(CTFExportError) {
        var error: Int32 = 0
        guard let made = ctf_create(&error) else { throw .libctf(String(cString: ctf_errmsg(error))) }
        dictionary = made
    }

    deinit { ctf_dict_close(dictionary) }

    /// Adds the function `symbol` of type `type`; on failure nothing of it stays.
    public func addFunction(symbol: String, type: CFunctionType) throws(CTFExportError) {
        try transaction { () throws(CTFExportError) in
            let id = try function(type)
            try check(ctf_add_func_sym(dictionary, symbol, id), "function symbol \(symbol)")
        }
        functionCount += 1
    }

    /// Adds the data object `symbol` of type `type`; on failure nothing of it stays.
    public func addObject(symbol: String, type: CQualType) throws(CTFExportError) {
        try transaction { () throws(CTFExportError) in
            let id = try self.type(type)
            try check(ctf_add_objt_sym(dictionary, symbol, id), "data object \(symbol)")
        }
        objectCount += 1
    }

    /// The dictionary as bytes (uncompressed CTF: CallStub's reader refuses compressed
    /// CTF), symbols indexed by name: readable on its own.
    public func serialized() throws(CTFExportError) -> [UInt8] {
        var size = 0
        // A threshold above any size: never compressed.
        guard let bytes = ctf_write_mem(dictionary, &size, Int.max) else { throw .libctf(libctfError()) }
        defer { free(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: size))
    }

    /// The dictionary linked against the library at `path` as GNU ld links a library's
    /// CTF (`CLibCTF_link`): types deduplicated again by libctf, symbol names shared with
    /// the library's `.dynstr`, the symbol tables in `.dynsym` order. Readable only with
    /// that build of the library, whose build-id it records (`recordedBuildID`).
    public func serialized(linkedTo path: String) throws(CTFExportError) -> [UInt8] {
        let plain = try serialized()
        let label = LibraryCompactTypes.buildID(ofFile: path).map { Self.buildIDLabel + $0 }
        var size = 0
        var reason: UnsafePointer<CChar>?
        guard let linked = CLibCTF_link(plain, plain.count, path, label, &size, &reason) else {
            throw .libctf("linking against \(path): \(reason.map { String(cString: $0) } ?? "unknown")")
        }
        defer { free(linked) }
        return Array(UnsafeBufferPointer(start: linked, count: size))
    }

    /// The compilation-unit name that records the build-id of the library a dictionary
    /// was linked against.
    static let buildIDLabel = "callstub build-id "

    // MARK: - Transactions

    private func transaction(_ body: () throws(CTFExportError) -> Void) throws(CTFExportError) {
        let snapshot = ctf_snapshot(dictionary)
        undo.removeAll(keepingCapacity: true)
        do {
            try body()
        } catch {
            for step in undo.reversed() { step() }
            undo.removeAll()
            _ = ctf_rollback(dictionary, snapshot)
            throw error
        }
    }

    private func remember(_ key: Key, _ id: ctf_id_t) {
        ids[key] = id
        undo.append { [unowned self] in self.ids[key] = nil }
    }

    private func claim(_ name: String, _ id: ctf_id_t) {
        rootNames[name] = id
        undo.append { [unowned self] in self.rootNames[name] = nil }
    }

    private func note(_ name: String, _ type: CQualType, _ id: ctf_id_t) {
        byName[name, default: []].append((type, id))
        undo.append { [unowned self] in self.byName[name]?.removeLast() }
    }

    private func libctfError() -> String { String(cString: ctf_errmsg(ctf_errno(dictionary))) }

    private func check(_ status: Int32, _ what: String) throws(CTFExportError) {
        guard status == 0 else { throw .libctf("\(what): \(libctfError())") }
    }

    private func added(_ id: ctf_id_t, _ what: String) throws(CTFExportError) -> ctf_id_t {
        guard id != ctf_id_t(bitPattern: -1) else { throw .libctf("\(what): \(libctfError())") }
        return id
    }

    /// ROOT when `name` is free at the top level, else NONROOT (the name stays on the type).
    private func flag(for name: String?) -> UInt32 {
        guard let name else { return root }
        return rootNames[name] == nil ? root : nonRoot
    }
    private let root = UInt32(CTF_ADD_ROOT)
    private let nonRoot = UInt32(CTF_ADD_NONROOT)

    // MARK: - Types

    private func function(_ function: CFunctionType) throws(CTFExportError) -> ctf_id_t {
        let result = try type(function.result)
        var arguments: [ctf_id_t] = []
        for parameter in function.parameters { arguments.append(try type(parameter.type)) }
        let key = Key.derived(function.isVariadic ? "function..." : "function", [result] + arguments)
        if let known = ids[key] { return known }
        var info = ctf_funcinfo_t(
            ctc_return: result, ctc_argc: UInt32(arguments.count), ctc_flags: function.isVariadic ? UInt32(CTF_FUNC_VARARG) : 0)
        let id = try added(ctf_add_function(dictionary, nonRoot, &info, &arguments), "function type")
        remember(key, id)
        return id
    }

    func type(_ qualified: CQualType) throws(CTFExportError) -> ctf_id_t {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw .unsupported("types nested more than 200 deep") }
        var id = try unqualified(qualified.type)
        // `int *const`: the qualifiers apply to the type they are written after.
        for (qualifier, name) in [(CQualifiers.restrict, "restrict"), (.volatile, "volatile"), (.const, "const")]
        where qualified.qualifiers.contains(qualifier) {
            let key = Key.derived(name, [id])
            if let known = ids[key] {
                id = known
                continue
            }
            let base = id
            let made: ctf_id_t
            switch qualifier {
            case .const: made = ctf_add_const(dictionary, root, base)
            case .volatile: made = ctf_add_volatile(dictionary, root, base)
            default: made = ctf_add_restrict(dictionary, root, base)
            }
            id = try added(made, name)
            remember(key, id)
        }
        return id
    }

    private func unqualified(_ type: CType) throws(CTFExportError) -> ctf_id_t {
        switch type {
        case .void:
            // As gcc writes it: an integer of no bits named void.
            return try base(.void, name: "void", format: 0, bits: 0, isFloat: false)
        case .integer(let kind):
            var format: Int32 = kind.isSigned ? CTF_INT_SIGNED : 0
            if kind == .char || kind == .signedChar || kind == .unsignedChar { format |= CTF_INT_CHAR }
            if kind == .bool { format = CTF_INT_BOOL }
            return try base(.integer(kind), name: kind.spelling, format: format, bits: kind.size * 8, isFloat: false)
        case .floating(let kind):
            let format: Int32 =
                switch kind {
                case .float16, .float: CTF_FP_SINGLE
                case .double: CTF_FP_DOUBLE
                case .longDouble, .float128: CTF_FP_LDOUBLE
                }
            return try base(.floating(kind), name: kind.spelling, format: format, bits: kind.size * 8, isFloat: true)
        case .complex(let kind):
            let format: Int32 =
                switch kind {
                case .float16, .float: CTF_FP_CPLX
                case .double: CTF_FP_DCPLX
                case .longDouble, .float128: CTF_FP_LDCPLX
                }
            return try base(.complex(kind), name: "\(kind.spelling) _Complex", format: format, bits: kind.size * 16, isFloat: true)
        case .pointer(let pointee):
            let target = try self.type(pointee)
            let key = Key.derived("*", [target])
            if let known = ids[key] { return known }
            let id = try added(ctf_add_pointer(dictionary, root, target), "pointer")
            remember(key, id)
            return id
        case .array(let element, let count):
            let contents = try self.type(element)
            let index = try unqualified(.integer(.unsignedLong))
            let key = Key.derived("[\(count.map(String.init) ?? "")]", [contents])
            if let known = ids[key] { return known }
            let count = count ?? 0
            guard count <= Int(UInt32.max) else { throw .unsupported("an array of more than 2^32 - 1 elements") }
            var info = ctf_arinfo_t(ctr_contents: contents, ctr_index: index, ctr_nelems: UInt32(count))
            let id = try added(ctf_add_array(dictionary, root, &info), "array")
            remember(key, id)
            return id
        case .function(let function):
            return try self.function(function)
        case .typedef(let alias):
            return try typedef(alias)
        case .record(let record):
            return try self.record(record)
        case .enumeration(let enumeration):
            return try self.enumeration(enumeration)
        }
    }

    private func base(_ key: Key, name: String, format: Int32, bits: Int, isFloat: Bool) throws(CTFExportError) -> ctf_id_t {
        if let known = ids[key] { return known }
        var encoding = ctf_encoding_t(cte_format: UInt32(format), cte_offset: 0, cte_bits: UInt32(bits))
        let flag = flag(for: name)
        let id = try added(
            isFloat ? ctf_add_float(dictionary, flag, name, &encoding) : ctf_add_integer(dictionary, flag, name, &encoding), name)
        remember(key, id)
        if flag == root { claim(name, id) }
        return id
    }

    /// A written type of the same name equal to `type`, if any: one library's units may
    /// see a record pointed to as declared or defined (and libctf's linker would move two
    /// definitions of one name into child dictionaries, leaving a forward in the parent).
    private func equal(named name: String, to type: CQualType) -> ctf_id_t? {
        byName[name]?.first { $0.type.isStructurallyEqualAllowingDeclarations(to: type) }?.id
    }

    private func typedef(_ alias: CTypedef) throws(CTFExportError) -> ctf_id_t {
        let whole = CQualType(.typedef(alias))
        if let known = equal(named: alias.name, to: whole) { return known }
        let underlying = try type(alias.underlying)
        // (A recursive visit through a pointer may have written it meanwhile.)
        if let known = equal(named: alias.name, to: whole) { return known }
        let flag = flag(for: alias.name)
        let id = try added(ctf_add_typedef(dictionary, flag, alias.name, underlying), "typedef \(alias.name)")
        if flag == root { claim(alias.name, id) }
        note(alias.name, whole, id)
        return id
    }

    /// A record's or enum's id: written before (by identity, or an equal one of the same
    /// name), a forward for a declaration, or `.added` for a new definition whose members
    /// or enumerators the caller then adds.
    private enum Placement {
        case written(ctf_id_t)
        case added(ctf_id_t)
    }

    private func place(
        _ whole: CQualType, object: AnyObject, name: String?, tag: String?, kind: Int32, isDefined: Bool, description: String,
        add: (UInt32) -> ctf_id_t
    ) throws(CTFExportError) -> Placement {
        let key = Key.object(ObjectIdentifier(object))
        if let known = ids[key] { return .written(known) }
        guard isDefined else {
            // A declaration: any type of that tag written, or a forward.
            guard let name, let tag else { throw .unsupported("an anonymous incomplete \(description)") }
            if let taken = rootNames[name] { return .written(taken) }
            let id = try added(ctf_add_forward(dictionary, root, tag, UInt32(kind)), name)
            claim(name, id)
            remember(key, id)
            return .written(id)
        }
        if let name, let known = equal(named: name, to: whole) {
            remember(key, known)
            return .written(known)
        }
        // A forward of this tag becomes this definition (libctf completes it in place).
        let forwarded = name.flatMap { rootNames[$0] }.map { ctf_type_kind(dictionary, $0) == CTF_K_FORWARD } ?? false
        let flag = forwarded ? root : flag(for: name)
        let id = try added(add(flag), description)
        remember(key, id)  // before the members, which may point back to the type
        if let name {
            if flag == root { claim(name, id) }
            note(name, whole, id)
        }
        return .added(id)
    }

    private func record(_ record: CRecord) throws(CTFExportError) -> ctf_id_t {
        let kind = record.kind == .struct ? CTF_K_STRUCT : CTF_K_UNION
        let definition = record.definition
        let size = definition?.layout.size ?? 0
        let placement = try place(
            CQualType(.record(record)), object: record, name: record.tag.map { "\(record.kind.rawValue) \($0)" }, tag: record.tag,
            kind: kind, isDefined: definition != nil, description: record.description
        ) { flag in
            kind == CTF_K_STRUCT
                ? ctf_add_struct_sized(dictionary, flag, record.tag, size) : ctf_add_union_sized(dictionary, flag, record.tag, size)
        }
        let id: ctf_id_t
        switch placement {
        case .written(let known): return known
        case .added(let new): id = new
        }
        guard let definition else { return id }  // (only a definition is added)
        for (field, placement) in zip(definition.fields, definition.layout.members) {
            // Zero-width bit-fields only move what follows; the offsets say where it went.
            if field.bitWidth == 0 { continue }
            var member = try type(field.type)
            if let width = field.bitWidth {
                member = try slice(of: member, type: field.type, bits: width)
            }
            try check(
                ctf_add_member_offset(dictionary, id, field.name ?? "", member, UInt(placement.offsetInBits)),
                "\(record.description), member \(field.name ?? "(anonymous)")")
        }
        return id
    }

    /// A bit-field's type: a slice of `bits` bits of its declared integer or enum type.
    private func slice(of base: ctf_id_t, type: CQualType, bits: Int) throws(CTFExportError) -> ctf_id_t {
        let key = Key.derived("slice \(bits)", [base])
        if let known = ids[key] { return known }
        var format: Int32 = 0
        if let kind = type.type.integerKind {
            format = kind == .bool ? CTF_INT_BOOL : kind.isSigned ? CTF_INT_SIGNED : 0
        }
        var encoding = ctf_encoding_t(cte_format: UInt32(format), cte_offset: 0, cte_bits: UInt32(bits))
        let id = try added(ctf_add_slice(dictionary, nonRoot, base, &encoding), "bit-field of \(bits) bits")
        remember(key, id)
        return id
    }

    private func enumeration(_ enumeration: CEnum) throws(CTFExportError) -> ctf_id_t {
        let definition = enumeration.definition
        let placement = try place(
            CQualType(.enumeration(enumeration)), object: enumeration, name: enumeration.tag.map { "enum \($0)" },
            tag: enumeration.tag, kind: CTF_K_ENUM, isDefined: definition != nil, description: enumeration.description
        ) { flag in ctf_add_enum(dictionary, flag, enumeration.tag) }
        let id: ctf_id_t
        switch placement {
        case .written(let known): return known
        case .added(let new): id = new
        }
        guard let definition else { return id }  // (only a definition is added)
        for enumerator in definition.enumerators {
            // CTF 3 holds 32-bit values: an unsigned int's upper half is written as its bits.
            guard enumerator.value >= Int128(Int32.min), enumerator.value <= Int128(UInt32.max) else {
                throw .unsupported("\(enumeration.description): \(enumerator.name) = \(enumerator.value) does not fit CTF's 32 bits")
            }
            try check(
                ctf_add_enumerator(dictionary, id, enumerator.name, Int32(truncatingIfNeeded: enumerator.value)),
                "\(enumeration.description), \(enumerator.name)")
        }
        return id
    }
}

// Canonical C printing: declarations and types back to C text that gcc, clang and
// CDeclParser all read back to the same model (the round-trip tests check this).
// Declarators are printed inside out, as C reads them: `int (*(*fp)(int))[4]`.

// MARK: - Types

extension CQualType: CustomStringConvertible {
    /// The type as an abstract declarator on one line, e.g. `const char *`,
    /// `int (*)(int)`, `struct { double a; int b[3]; }`: messages name types with it.
    public var description: String { CPrinter(singleLine: true).declaration(of: self, declarator: "") }

    /// The C declaration of `name` with this type, e.g. `int (*name)[4]`.
    public func declaration(named name: String) -> String {
        CPrinter().declaration(of: self, declarator: name)
    }
}

extension CType: CustomStringConvertible {
    public var description: String { CQualType(self).description }
}

/// Prints types and declarations as canonical C.
public struct CPrinter: Sendable {
    /// What one print call carries down the type: the `#pragma pack` values met, and the
    /// records being printed inline (to stop at one that contains itself).
    struct PrintState {
        var packs: Set<Int> = []
        var open: Set<ObjectIdentifier> = []
    }

    /// Indentation of one nesting level in record and enum bodies.
    public var indent: String = "    "
    /// Whether record and enum bodies stay on one line (`struct { int a; int b; }`)
    /// instead of one member per line.
    public var singleLine: Bool

    public init(singleLine: Bool = false) {
        self.singleLine = singleLine
    }

    // MARK: Declarations

    /// Prints a sequence of declarations, one per line (records across several lines).
    public func print(_ declarations: [CDeclaration]) -> String {
        declarations.map { print($0) + "\n" }.joined()
    }

    /// Prints one declaration, with its terminating semicolon. A declaration whose inline
    /// records were defined under `#pragma pack(N)` is wrapped in push/pop pragmas.
    public func print(_ entry: CDeclaration) -> String {
        print(entry, linkage: nil)
    }

    /// Prints one declaration; a function or object with `linkage` is printed with it:
    /// `static` for internal linkage, `__asm__("label")` for a symbol other than its name.
    public func print(_ entry: CDeclaration, linkage: CLinkage?) -> String {
        let text: String
        var state = PrintState()
        func linked(_ name: String, _ declarator: String) -> String {
            if case .external(let symbol)? = linkage, symbol != name { return declarator + " __asm__(\"\(symbol)\")" }
            return declarator
        }
        let isInternal = linkage == .internal
        switch entry {
        case .function(let name, let type):
            text = (isInternal ? "static " : "")
                + linked(name, declaration(of: CQualType(.function(type)), declarator: name, level: 0, state: &state)) + ";"
        case .variable(let name, let type):
            text = (isInternal ? "static " : "extern ")
                + linked(name, declaration(of: type, declarator: name, level: 0, state: &state)) + ";"
        case .typedef(let alias):
            var attributes = ""
            if let alignment = alias.alignment { attributes = " __attribute__((aligned(\(alignment))))" }
            text = "typedef " + declaration(of: alias.underlying, declarator: alias.name, level: 0, state: &state)
                + attributes + ";"
        case .record(let record):
            text = recordSpecifier(record, level: 0, state: &state, forceDefinition: true) + ";"
        case .recordDeclaration(let record):
            text = "\(record.kind.rawValue) \(record.tag ?? "")" + ";"
        case .enumeration(let enumeration):
            text = enumSpecifier(enumeration, level: 0, forceDefinition: true) + ";"
        case .enumerationDeclaration(let enumeration):
            text = "enum \(enumeration.tag ?? "")" + ";"
        }
        guard let pack = state.packs.max() else { return text }
        return "#pragma pack(push, \(pack))\n" + text + "\n#pragma pack(pop)"
    }

    /// The declaration of `declarator` with type `type`; an empty declarator gives the
    /// type name (abstract declarator).
    public func declaration(of type: CQualType, declarator: String) -> String {
        var state = PrintState()
        return declaration(of: type, declarator: declarator, level: 0, state: &state)
    }

    // MARK: Declarators, inside out

    private func declaration(of type: CQualType, declarator: String, level: Int, state: inout PrintState) -> String {
        switch type.type {
        case .pointer(let pointee):
            var inner = "*" + type.qualifiers.spellings.joined(separator: " ")
            if !type.qualifiers.isEmpty && !declarator.isEmpty { inner += " " }
            inner += declarator
            switch pointee.type {
            case .array, .function: inner = "(" + inner + ")"
            default: break
            }
            return declaration(of: pointee, declarator: inner, level: level, state: &state)
        case .array(let element, let count):
            return declaration(of: element, declarator: declarator + "[\(count.map(String.init) ?? "")]", level: level, state: &state)
        case .function(let function):
            var parameters = function.parameters.map { parameter in
                declaration(of: parameter.type, declarator: parameter.name ?? "", level: level, state: &state)
            }
            if function.isVariadic { parameters.append("...") }
            if parameters.isEmpty && function.isPrototyped { parameters = ["void"] }
            return declaration(
                of: function.result, declarator: declarator + "(" + parameters.joined(separator: ", ") + ")",
                level: level, state: &state)
        default:
            var words = type.qualifiers.spellings
            words.append(specifier(type.type, level: level, state: &state))
            if !declarator.isEmpty { words.append(declarator) }
            return words.joined(separator: " ")
        }
    }

    private func specifier(_ type: CType, level: Int, state: inout PrintState) -> String {
        switch type {
        case .void: return "void"
        case .integer(let kind): return kind.spelling
        case .floating(let kind): return kind.spelling
        case .complex(let kind): return kind.spelling + " _Complex"
        case .record(let record): return recordSpecifier(record, level: level, state: &state, forceDefinition: false)
        case .enumeration(let enumeration): return enumSpecifier(enumeration, level: level, forceDefinition: false)
        case .typedef(let alias): return alias.name
        case .pointer, .array, .function: return "?"  // handled by the declarator printer
        }
    }

    // MARK: Records and enums

    /// `struct P` for a tagged record; the full definition for an anonymous one (or when
    /// printing the record's own definition).
    private func recordSpecifier(_ record: CRecord, level: Int, state: inout PrintState, forceDefinition: Bool) -> String {
        let head = record.kind.rawValue + (record.tag.map { " " + $0 } ?? "")
        guard forceDefinition || record.tag == nil, let definition = record.definition else { return head }
        // An anonymous record is printed inline, so one that contains itself (only corrupt
        // debug info makes one) would print forever: the inner mention names the cycle,
        // which no C parser reads back.
        guard state.open.insert(ObjectIdentifier(record)).inserted else { return head + " /* contains itself */" }
        defer { state.open.remove(ObjectIdentifier(record)) }
        let attributes = definition.attributes
        if let pack = attributes.maxFieldAlignment { state.packs.insert(pack) }
        var text = head + " {"
        for field in definition.fields {
            let member = fieldDeclaration(field, in: attributes, level: level + 1, state: &state) + ";"
            text += singleLine ? " " + member : "\n" + String(repeating: indent, count: level + 1) + member
        }
        text += singleLine ? " }" : "\n" + String(repeating: indent, count: level) + "}"
        var words: [String] = []
        if attributes.isPacked { words.append("packed") }
        if let alignment = attributes.alignment { words.append("aligned(\(alignment))") }
        if let order = attributes.scalarStorageOrder { words.append(Self.storageOrder(order)) }
        if !words.isEmpty { text += " __attribute__((" + words.joined(separator: ", ") + "))" }
        return text
    }

    private func fieldDeclaration(_ field: CField, in record: CRecordAttributes, level: Int, state: inout PrintState) -> String {
        // The byte order is stored on the scalar (or on an array's scalar elements); only
        // one that differs from the record's own is printed on the field.
        let order = Self.scalarByteOrder(of: field.type)
        let printedType = Self.removingByteOrder(field.type)
        var text = declaration(of: printedType, declarator: field.name ?? "", level: level, state: &state)
        if let width = field.bitWidth { text += (field.name == nil ? ": " : " : ") + String(width) }
        var words: [String] = []
        if field.isPacked { words.append("packed") }
        if let alignment = field.alignment { words.append("aligned(\(alignment))") }
        if let order, order != record.scalarStorageOrder { words.append(Self.storageOrder(order)) }
        if !words.isEmpty { text += " __attribute__((" + words.joined(separator: ", ") + "))" }
        return text
    }

    private func enumSpecifier(_ enumeration: CEnum, level: Int, forceDefinition: Bool) -> String {
        guard forceDefinition || enumeration.tag == nil, let definition = enumeration.definition else {
            return "enum" + (enumeration.tag.map { " " + $0 } ?? "")
        }
        var text = "enum" + (definition.isPacked ? " __attribute__((packed))" : "")
        if let tag = enumeration.tag { text += " " + tag }
        let enumerators = definition.enumerators.map { "\($0.name) = \(Self.integerLiteral($0.value))" }
        if singleLine { return text + " { " + enumerators.joined(separator: ", ") + " }" }
        let pad = String(repeating: indent, count: level + 1)
        return text + " {\n" + enumerators.map { pad + $0 }.joined(separator: ",\n") + "\n"
            + String(repeating: indent, count: level) + "}"
    }

    // MARK: Helpers

    /// A literal C reads back as the same value: values outside `long` get a suffix.
    static func integerLiteral(_ value: Int128) -> String {
        if value >= 0 && value > Int128(Int64.max) { return "\(value)UL" }
        if value == Int128(Int64.min) { return "(-9223372036854775807L - 1)" }
        return "\(value)"
    }

    static func storageOrder(_ order: CByteOrder) -> String {
        "scalar_storage_order(\"\(order == .big ? "big-endian" : "little-endian")\")"
    }

    /// The explicit byte order of a field's scalar, looking through arrays.
    public static func scalarByteOrder(of type: CQualType) -> CByteOrder? {
        if case .array(let element, _) = type.type { return scalarByteOrder(of: element) }
        return type.byteOrder
    }

    static func removingByteOrder(_ type: CQualType) -> CQualType {
        var copy = type
        copy.byteOrder = nil
        if case .array(let element, let count) = type.type { copy.type = .array(removingByteOrder(element), count: count) }
        return copy
    }
}

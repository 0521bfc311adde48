// Values written in C syntax, as `callstub call` takes them: integers (decimal, 0x, 0,
// 0b, suffixes), floating literals (incl. hex floats, inf, nan), "strings" and 'c'
// characters with C escapes, null, true/false, enum constants, casts `(long)5`, and
// initializer lists for records and arrays: `{1, 2.5}`, `{ {1, 2}, 3 }`, `{.x = 1, [2] = 5}`.
// Conversion is directed by the parameter's C type; variadic arguments get the type a
// C literal would have, or the type of their cast.

import CDeclParser
import CTypeModel

/// A value text that does not parse or does not fit its type.
public struct CValueSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 1-based column in the value text.
    public var column: Int
    public var message: String
    public var description: String { "column \(column): \(message)" }
}

/// Parser and converter for values written in C syntax.
public enum CValueSyntax {
    /// What a name that is not an enum constant stands for: a global variable or a
    /// function of a library, as its value (`stdout`) and as its address (`&counter`).
    public struct Names {
        /// The current value of the named object and its type; a function gives its address.
        public var value: (String) throws(CValueSyntaxError) -> (CValue, CQualType)?
        /// The address of the named object or function.
        public var address: (String) throws(CValueSyntaxError) -> CPointer?

        public init(
            value: @escaping (String) throws(CValueSyntaxError) -> (CValue, CQualType)?,
            address: @escaping (String) throws(CValueSyntaxError) -> CPointer?
        ) {
            self.value = value
            self.address = address
        }
    }

    /// The value `text` denotes as a `type` (typedefs, enum constants and cast type names
    /// are looked up in `scope`; other names and `&name` in `names`).
    public static func parse(
        _ text: String, as type: CQualType, scope: CScope = .standard, names: Names? = nil
    ) throws(CValueSyntaxError) -> CValue {
        var parser = Parser(text: text, scope: scope)
        let node = try parser.parseComplete()
        return try Converter(scope: scope, names: names).convert(node, to: node.cast ?? type)
    }

    /// A value with no parameter type (a variadic argument): its type is the cast's, or
    /// the type of the C literal (`5` is `int`, `5000000000` is `long`, `2.5` is `double`,
    /// `"s"` is `char *`), or the declared type of a named variable. Returns the value and
    /// the explicit type of a cast or variable, if any.
    public static func parseVariadic(
        _ text: String, scope: CScope = .standard, names: Names? = nil
    ) throws(CValueSyntaxError) -> (CValue, CQualType?) {
        var parser = Parser(text: text, scope: scope)
        let node = try parser.parseComplete()
        let converter = Converter(scope: scope, names: names)
        if let cast = node.cast { return (try converter.convert(node, to: cast), cast) }
        if case .name(let name, _) = node, scope.constants[name] == nil, let (value, type) = try names?.value(name) {
            return (value, type)
        }
        return (try converter.literalValue(node), nil)
    }

    // MARK: - Syntax

    indirect enum Node {
        /// `radix` is how it was written: 16 for `0x…`, 10, 8, 2, or 0 for a character.
        case integer(magnitude: UInt128, negative: Bool, unsigned: Bool, radix: Int, column: Int)
        case floating(text: String, column: Int)
        case string(String, column: Int)
        case null(column: Int)
        case name(String, column: Int)
        /// `&name`: the address of a global variable or function.
        case address(String, column: Int)
        case list([Element], column: Int)
        case cast(CQualType, Node, column: Int)

        var cast: CQualType? {
            if case .cast(let type, _, _) = self { return type }
            return nil
        }
        var column: Int {
            switch self {
            case .integer(_, _, _, _, let column), .floating(_, let column), .string(_, let column), .null(let column),
                .name(_, let column), .address(_, let column), .list(_, let column), .cast(_, _, let column):
                return column
            }
        }
    }

    enum Designator {
        case member(String)
        case index(Int)
    }

    struct Element {
        var designators: [Designator]
        var value: Node
    }

    struct Parser {
        let characters: [Character]
        let scope: CScope
        var position = 0

        init(text: String, scope: CScope) {
            characters = Array(text)
            self.scope = scope
        }

        func error(_ message: String, at column: Int? = nil) -> CValueSyntaxError {
            CValueSyntaxError(column: column ?? position + 1, message: message)
        }

        mutating func skipSpace() {
            while position < characters.count, characters[position].isWhitespace { position += 1 }
        }

        func peek() -> Character? { position < characters.count ? characters[position] : nil }

        mutating func parseComplete() throws(CValueSyntaxError) -> Node {
            skipSpace()
            if peek() == nil { throw error("expected a value") }
            let node = try parseValue(depth: 0)
            skipSpace()
            if let extra = peek() { throw error("unexpected '\(extra)' after the value") }
            return node
        }

        mutating func parseValue(depth: Int) throws(CValueSyntaxError) -> Node {
            if depth > 64 { throw error("initializers nested too deeply") }
            skipSpace()
            let column = position + 1
            guard let next = peek() else { throw error("expected a value") }
            switch next {
            case "(":
                guard let close = characters[position...].firstIndex(of: ")") else { throw error("')' missing after the cast's type") }
                let typeText = String(characters[(position + 1)..<close])
                let type: CQualType
                do { type = try CDeclParser.parseTypeName(typeText, scope: scope) } catch {
                    throw self.error("cast to '\(typeText)': \(error.diagnostics.first?.message ?? "not a type name")", at: column + 1)
                }
                if case .array = type.resolved.type {} else {
                    do { _ = try type.layout() } catch {
                        throw self.error("cast to '\(typeText)': \(error.description)", at: column + 1)
                    }
                }
                position = close + 1
                return .cast(type, try parseValue(depth: depth + 1), column: column)
            case "{":
                position += 1
                var elements: [Element] = []
                while true {
                    skipSpace()
                    if peek() == "}" { position += 1; break }
                    var designators: [Designator] = []
                    while let mark = peek(), mark == "." || mark == "[" {
                        position += 1
                        if mark == "." {
                            skipSpace()
                            let name = identifier()
                            if name.isEmpty { throw error("expected a member name after '.'") }
                            designators.append(.member(name))
                        } else {
                            skipSpace()
                            let digits = String(characters[position...].prefix { $0.isNumber })
                            guard let index = Int(digits) else { throw error("expected an array index") }
                            position += digits.count
                            skipSpace()
                            guard peek() == "]" else { throw error("expected ']'") }
                            position += 1
                            designators.append(.index(index))
                        }
                        skipSpace()
                    }
                    if !designators.isEmpty {
                        guard peek() == "=" else { throw error("expected '=' after the designator") }
                        position += 1
                    }
                    elements.append(Element(designators: designators, value: try parseValue(depth: depth + 1)))
                    skipSpace()
                    if peek() == "," { position += 1; continue }
                    if peek() == "}" { position += 1; break }
                    throw error(peek() == nil ? "expected '}' to close the initializer list" : "expected ',' or '}'")
                }
                return .list(elements, column: column)
            case "\"":
                return .string(try quoted(terminator: "\""), column: column)
            case "&":
                position += 1
                let name = identifier()
                guard let first = name.first, first.isLetter || first == "_" else { throw error("expected a name after '&'", at: column) }
                return .address(name, column: column)
            case "'":
                let text = try quoted(terminator: "'")
                guard text.unicodeScalars.count == 1, let scalar = text.unicodeScalars.first, scalar.value < 256 else {
                    throw error("a character constant holds one byte", at: column)
                }
                return .integer(magnitude: UInt128(scalar.value), negative: false, unsigned: false, radix: 0, column: column)
            default:
                return try number(column: column)
            }
        }

        mutating func identifier() -> String {
            let name = String(characters[position...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            position += name.count
            return name
        }

        mutating func quoted(terminator: Character) throws(CValueSyntaxError) -> String {
            let start = position + 1
            position += 1
            var bytes: [UInt8] = []
            while true {
                guard let character = peek() else { throw error("missing closing \(terminator)", at: start) }
                position += 1
                if character == terminator { break }
                if character != "\\" {
                    bytes.append(contentsOf: Array(String(character).utf8))
                    continue
                }
                guard let escape = peek() else { throw error("incomplete escape sequence") }
                position += 1
                switch escape {
                case "n": bytes.append(10)
                case "t": bytes.append(9)
                case "r": bytes.append(13)
                case "0"..."7":
                    var value = Int(String(escape))!
                    var count = 1
                    while count < 3, let digit = peek(), ("0"..."7").contains(digit) {
                        value = value * 8 + Int(String(digit))!
                        position += 1
                        count += 1
                    }
                    guard value < 256 else { throw error("octal escape out of range") }
                    bytes.append(UInt8(value))
                case "x":
                    let digits = String(characters[position...].prefix { $0.isHexDigit })
                    guard let value = UInt8(digits, radix: 16) else { throw error("bad hexadecimal escape") }
                    position += digits.count
                    bytes.append(value)
                case "a": bytes.append(7)
                case "b": bytes.append(8)
                case "f": bytes.append(12)
                case "v": bytes.append(11)
                case "\\", "'", "\"", "?": bytes.append(contentsOf: Array(String(escape).utf8))
                default: throw error("unknown escape sequence \\\(escape)")
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        mutating func number(column: Int) throws(CValueSyntaxError) -> Node {
            var negative = false
            if peek() == "-" || peek() == "+" {
                negative = peek() == "-"
                position += 1
            }
            let word = String(characters[position...].prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "+" || $0 == "-" })
            // A sign inside a word belongs to an exponent only (1e-5, 0x1p+3).
            var text = ""
            var previous: Character = " "
            for character in word {
                if (character == "+" || character == "-") && !"eEpP".contains(previous) { break }
                if (character == "+" || character == "-") && text.lowercased().hasPrefix("0x") && !"pP".contains(previous) { break }
                text.append(character)
                previous = character
            }
            if text.isEmpty { throw error("expected a value", at: column) }
            position += text.count
            let lower = text.lowercased()
            if ["null"].contains(lower) && !negative { return .null(column: column) }
            if let first = text.first, first.isLetter || first == "_" {
                if ["inf", "infinity", "nan"].contains(lower) {
                    return .floating(text: (negative ? "-" : "") + lower, column: column)
                }
                if negative { throw error("'-' before a name", at: column) }
                return .name(text, column: column)
            }
            let isHex = lower.hasPrefix("0x")
            if lower.contains(".") || (isHex ? lower.contains("p") : lower.contains("e")) {
                var body = text
                while let last = body.last, "fFlL".contains(last), !(isHex && last.isHexDigit) { body.removeLast() }
                return .floating(text: (negative ? "-" : "") + body, column: column)
            }
            var digits = lower
            var unsigned = false
            while let last = digits.last, last == "u" || last == "l" {
                if last == "u" { unsigned = true }
                digits.removeLast()
            }
            let radix: Int
            if digits.hasPrefix("0x") { radix = 16; digits.removeFirst(2) }
            else if digits.hasPrefix("0b") { radix = 2; digits.removeFirst(2) }
            else if digits.count > 1 && digits.hasPrefix("0") { radix = 8; digits.removeFirst() }
            else { radix = 10 }
            guard !digits.isEmpty, let magnitude = UInt128(digits, radix: radix) else {
                throw error("'\(text)' is not a number", at: column)
            }
            return .integer(magnitude: magnitude, negative: negative, unsigned: unsigned, radix: radix, column: column)
        }
    }

    // MARK: - Conversion

    struct Converter {
        let scope: CScope
        var names: Names?

        func fail(_ node: Node, _ message: String) -> CValueSyntaxError {
            CValueSyntaxError(column: node.column, message: message)
        }

        /// A literal's own value, as a variadic argument takes it (C11 6.4.4.1p5).
        func literalValue(_ node: Node) throws(CValueSyntaxError) -> CValue {
            switch node {
            case .integer(let magnitude, let negative, let unsigned, _, _):
                if unsigned {
                    guard !negative, let value = UInt64(exactly: magnitude) else { throw fail(node, "does not fit in unsigned long") }
                    return .uint(value)
                }
                if negative {
                    guard magnitude <= UInt128(Int64.max) + 1 else { throw fail(node, "does not fit in long") }
                    return .int(magnitude == UInt128(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
                }
                if let value = Int64(exactly: magnitude) { return .int(value) }
                if let value = UInt64(exactly: magnitude) { return .uint(value) }
                throw fail(node, "does not fit in a 64-bit integer")
            case .floating(let text, _):
                guard let value = Double(text) else { throw fail(node, "'\(text)' is not a number") }
                return .double(value)
            case .string(let text, _): return .string(text)
            case .null: return .null
            case .name(let name, _):
                if name == "true" { return .int(1) }
                if name == "false" { return .int(0) }
                if let value = scope.constants[name] { return .int(Int64(clamping: value)) }
                if let (value, _) = try names?.value(name) { return value }
                if name == "errno" { throw fail(node, "errno is not a variable (a macro for (*__errno_location ())): use --errno") }
                throw fail(node, "unknown name \(name)")
            case .address(let name, _):
                guard let address = try names?.address(name) else { throw fail(node, "no declared variable or function \(name)") }
                return .pointer(address)
            case .list:
                throw fail(node, "an initializer list needs a type: cast it, e.g. (struct P){1, 2}")
            case .cast(let type, let inner, _):
                return try convert(inner, to: type)
            }
        }

        func convert(_ node: Node, to type: CQualType) throws(CValueSyntaxError) -> CValue {
            if case .cast(let castType, let inner, _) = node { return try convert(inner, to: castType) }
            let resolved = type.resolved
            // A scalar's initializer may stand in braces: `int x = {5}` (C11 6.7.9p11).
            if case .list(let elements, _) = node, elements.count == 1, elements[0].designators.isEmpty,
                resolved.type.isScalar
            {
                return try convert(elements[0].value, to: type)
            }
            switch resolved.type {
            case .integer, .enumeration:
                switch node {
                case .integer, .name: return try literalValue(node)
                case .floating: throw fail(node, "a floating value for an integer type \(type)")
                case .address: throw fail(node, "an address for an integer type \(type)")
                default: throw fail(node, "expected an integer for \(type)")
                }
            case .floating(let kind):
                switch node {
                case .floating(let text, _):
                    if kind == .longDouble, let value = Float80(text) { return .longDouble(value) }
                    if kind == .float, let value = Float(text) { return .float(value) }
                    guard let value = Double(text) else { throw fail(node, "'\(text)' is not a number") }
                    return .double(value)
                case .integer, .name: return try literalValue(node)
                default: throw fail(node, "expected a number for \(type)")
                }
            case .complex(let kind):
                if case .list(let elements, _) = node {
                    guard elements.count == 2, elements.allSatisfy({ $0.designators.isEmpty }) else {
                        throw fail(node, "a complex value is {real, imaginary}")
                    }
                    let part = CQualType(.floating(kind))
                    return .array([try convert(elements[0].value, to: part), try convert(elements[1].value, to: part)])
                }
                return try convert(node, to: CQualType(.floating(kind)))
            case .pointer:
                switch node {
                case .null: return .null
                case .string(let text, _): return .string(text)
                case .name, .address: return try literalValue(node)
                case .integer(let magnitude, let negative, _, let radix, _):
                    // An address is written in hex; 0 is NULL. A decimal like 12 is far more
                    // likely a string or a number meant for another parameter than an address.
                    if magnitude == 0 && !negative { return .null }
                    if radix == 0 { throw fail(node, "a character constant is not a pointer: write a string in double quotes") }
                    guard radix == 16 else {
                        let text = negative ? "-\(magnitude)" : "\(magnitude)"
                        throw fail(node, "\(text) is not a pointer: write an address in hex (0x…), null, or a string in quotes ('\"\(text)\"')")
                    }
                    guard !negative, let address = UInt(exactly: magnitude) else { throw fail(node, "not an address") }
                    return .pointer(CPointer(address: address))
                default: throw fail(node, "expected a pointer (0x…, null or a string) for \(type)")
                }
            case .record, .array:
                if case .string(let text, _) = node, case .array = resolved.type { return .string(text) }
                guard case .list(let elements, _) = node else {
                    throw fail(node, "expected an initializer list {…} for \(type)")
                }
                var index = 0
                let value = try aggregateValue(type, elements: elements, index: &index, braced: true, at: node)
                if index < elements.count { throw fail(elements[index].value, "too many initializers for \(type)") }
                return value
            default:
                throw fail(node, "\(type) has no values")
            }
        }

        /// Whether an element for `type` that is not itself a list takes its values from
        /// the enclosing list (C11 6.7.9p20, brace elision): records and arrays do, except a
        /// `char` array initialized from a string.
        func elides(_ type: CQualType, for node: Node) -> Bool {
            switch (type.resolved.type, node) {
            case (_, .list), (_, .cast): return false
            case (.array(let element, _), .string): return !ValueCoding.isByteLike(element)
            case (.record, _), (.array, _): return true
            default: return false
            }
        }

        /// The value of the element at `index` for a member or element of `type`, advancing
        /// `index` past it: one element, or as many as a brace-less aggregate takes. The
        /// element's own designators have been applied by the caller.
        func nextValue(_ type: CQualType, elements: [Element], index: inout Int) throws(CValueSyntaxError) -> CValue {
            let node = elements[index].value
            if elides(type, for: node) {
                return try aggregateValue(type, elements: elements, index: &index, braced: false, at: node)
            }
            index += 1
            return try convert(node, to: type)
        }

        /// A record or array from `elements` starting at `index`. A braced list (`braced`)
        /// takes all its elements, designators included; a brace-less one (elided) takes
        /// only as many as the aggregate has members, and stops at the next designator,
        /// which belongs to the enclosing list.
        func aggregateValue(
            _ type: CQualType, elements: [Element], index: inout Int, braced: Bool, at node: Node
        ) throws(CValueSyntaxError) -> CValue {
            let first = index
            switch type.resolved.type {
            case .record(let record):
                return .record(
                    try recordValue(record, named: type, elements: elements, index: &index, braced: braced, first: first, at: node))
            case .array(let element, let count):
                var values: [CValue] = []
                var position = 0
                while index < elements.count {
                    let item = elements[index]
                    if let designator = item.designators.first, braced || index > first {
                        guard braced else { break }
                        guard item.designators.count == 1, case .index(let target) = designator else {
                            throw fail(item.value, "only [i] designators inside an array")
                        }
                        position = target
                    }
                    if let count, position >= count {
                        guard braced else { break }
                        throw fail(item.value, item.designators.isEmpty ? "too many initializers for \(type)" : "index \(position) is beyond \(type)")
                    }
                    while values.count <= position { values.append(zero(of: element)) }
                    values[position] = try nextValue(element, elements: elements, index: &index)
                    position += 1
                }
                return .array(values)
            default:
                throw fail(node, "\(type) has no values")
            }
        }

        func zero(of type: CQualType) -> CValue {
            switch type.resolved.type {
            case .floating: return .double(0)
            case .pointer: return .null
            case .record(let record): return (try? CRecordValue(record)).map { .record($0) } ?? .int(0)
            case .array: return .array([])
            default: return .int(0)
            }
        }

        /// Whether the anonymous struct or union `type` has a member `name`, directly or
        /// in anonymous records of its own.
        static func declares(_ name: String, _ type: CQualType) -> Bool {
            guard case .record(let record) = type.resolved.type, let definition = record.definition else { return false }
            return definition.fields.contains { field in
                field.name == name || (field.isAnonymousRecord && declares(name, field.type))
            }
        }

        /// A record from an initializer list: positional elements fill the initializable
        /// members in order; `.a.b = v` sets a member and continues after `a` (C11 6.7.9p17).
        func recordValue(
            _ record: CRecord, named type: CQualType, elements: [Element], index: inout Int, braced: Bool, first: Int,
            at node: Node
        ) throws(CValueSyntaxError) -> CRecordValue {
            var value: CRecordValue
            do { value = try CRecordValue(record) } catch { throw fail(node, error.description) }
            let members = value.initializableMembers
            var next = 0
            while index < elements.count {
                let element = elements[index]
                do {
                    if element.designators.isEmpty || (!braced && index == first) {
                        guard next < members.count, record.kind == .struct || next == 0 else {
                            guard braced else { break }
                            throw fail(element.value, "too many initializers for \(type)")
                        }
                        let member = members[next]
                        next += 1
                        let memberValue = try nextValue(member.location.type, elements: elements, index: &index)
                        try value.store(memberValue, at: member.location, path: member.name)
                        continue
                    }
                    guard braced else { break }
                    var path = ""
                    for designator in element.designators {
                        switch designator {
                        case .member(let name): path += path.isEmpty ? name : ".\(name)"
                        case .index(let index): path += "[\(index)]"
                        }
                    }
                    // Positional elements continue after the designated member, or after the
                    // anonymous struct or union that holds it (C11 6.7.9p17).
                    if case .member(let first) = element.designators[0],
                        let found = members.firstIndex(where: { $0.name == first })
                            ?? members.firstIndex(where: { $0.name.hasPrefix("#") && Self.declares(first, $0.location.type) })
                    {
                        next = found + 1
                    }
                    let memberType = try value.fieldType(path)
                    try value.setField(path, to: try nextValue(memberType, elements: elements, index: &index))
                } catch let error as CValueSyntaxError {
                    throw error
                } catch {
                    throw fail(element.value, "\(error)")
                }
            }
            return value
        }
    }
}

extension BoundFunction {
    /// Calls with arguments written in C syntax (see `CValueSyntax`), each converted for
    /// its parameter; variadic arguments take their cast's type or their literal's.
    public func call(parsing texts: [String]) throws(CallStubError) -> CValue {
        let fixed = parameterCount
        if texts.count < fixed || (!isVariadic && texts.count != fixed) {
            throw .argumentCount(function: name, expected: fixed, variadic: isVariadic, got: texts.count)
        }
        let signature = fixedTarget.signature
        let names = Self.names(in: declarations, library: library)
        var values: [CValue] = []
        var tail: [CQualType] = []
        for (index, text) in texts.enumerated() {
            do throws(CValueSyntaxError) {
                if index < fixed {
                    let declared = signature.arguments[index].declared
                    values.append(try CValueSyntax.parse(text, as: declared, scope: declarations, names: names))
                } else {
                    let (value, cast) = try CValueSyntax.parseVariadic(text, scope: declarations, names: names)
                    values.append(value)
                    if let cast {
                        tail.append(cast)
                    } else {
                        tail.append(try Self.variadicTypeOrSyntaxError(of: value))
                    }
                }
            } catch {
                let position = index < fixed ? "argument \(index + 1)" : "variadic argument \(index + 1)"
                let type = index < fixed ? signature.arguments[index].declared.description : "..."
                throw .invalidArgument(position: position, type: type, reason: error.description)
            }
        }
        return tail.isEmpty ? try call(values) : try call(values, variadicTypes: tail)
    }

    /// The declared variables and functions of `scope`, found in `library` by symbol.
    static func names(in scope: CScope, library: LibraryHandle) -> CValueSyntax.Names {
        func address(_ name: String) throws(CValueSyntaxError) -> CPointer? {
            guard scope.ordinaryDeclarations[name] != nil else { return nil }
            do {
                return CPointer(try library.address(of: try SharedLibrary.symbol(of: name, in: scope)))
            } catch {
                throw CValueSyntaxError(column: 1, message: error.description)
            }
        }
        return CValueSyntax.Names(
            value: { (name: String) throws(CValueSyntaxError) -> (CValue, CQualType)? in
                switch scope.ordinaryDeclarations[name] {
                case .variable(_, let type)?:
                    guard let pointer = try address(name)?.raw else { return nil }
                    do throws(CallStubError) { return (try GlobalVariable.load(type, from: pointer, name: name), type) } catch {
                        throw CValueSyntaxError(column: 1, message: error.description)
                    }
                case .function(_, let type)?:
                    // A function designator decays to a pointer to the function (C11 6.3.2.1p4).
                    guard let pointer = try address(name) else { return nil }
                    return (.pointer(pointer), CQualType(.pointer(CQualType(.function(type)))))
                default:
                    return nil
                }
            },
            address: address)
    }

    private static func variadicTypeOrSyntaxError(of value: CValue) throws(CValueSyntaxError) -> CQualType {
        do { return try variadicType(of: value, position: 0) } catch {
            throw CValueSyntaxError(column: 1, message: "needs a cast to give its type")
        }
    }
}

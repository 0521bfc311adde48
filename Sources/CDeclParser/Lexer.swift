// The lexer: C tokens from preprocessed declaration text. Comments and line markers
// (`# 1 "file"`) are skipped; `#pragma pack` becomes a token; other directives are
// errors, because a macro the parser cannot see would silently change meaning.

struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)
        case integer(Int128, CIntegerKindSuffix)
        case floating(String)
        case string(String)
        case punctuator(String)
        /// `#pragma pack(...)`: the text between the parentheses.
        case pragmaPack(String)
        case endOfInput
    }

    var kind: Kind
    var location: CSourceLocation

    var identifier: String? {
        if case .identifier(let name) = kind { return name }
        return nil
    }

    func isPunctuator(_ text: String) -> Bool {
        if case .punctuator(let value) = kind { return value == text }
        return false
    }

    /// The token as the user wrote it, for messages.
    var spelling: String {
        switch kind {
        case .identifier(let name): return "'\(name)'"
        case .integer(let value, _): return "'\(value)'"
        case .floating(let text): return "'\(text)'"
        case .string(let text): return "string \"\(text)\""
        case .punctuator(let text): return "'\(text)'"
        case .pragmaPack: return "#pragma pack"
        case .endOfInput: return "end of input"
        }
    }
}

/// The type an integer literal's suffix asks for (C11 6.4.4.1).
struct CIntegerKindSuffix: Equatable, Sendable {
    var isUnsigned = false
    var longCount = 0
    /// Decimal literals without `u` never become unsigned (C11 6.4.4.1p5).
    var isDecimal = true
}

struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var atLineStart = true

    init(_ source: String) { bytes = Array(source.utf8) }

    /// All tokens, ending with `.endOfInput`, or the first lexical error.
    mutating func tokenize() throws(CParseError.Internal) -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = try next()
            tokens.append(token)
            if token.kind == .endOfInput { return tokens }
        }
    }

    /// Columns count characters: continuation bytes of UTF-8 do not advance them.
    private var column = 1

    private var location: CSourceLocation { CSourceLocation(line: line, column: column, offset: index) }

    private func peek(_ ahead: Int = 0) -> UInt8 {
        index + ahead < bytes.count ? bytes[index + ahead] : 0
    }

    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            column = 1
            atLineStart = true
        } else if index + 1 >= bytes.count || bytes[index + 1] & 0xC0 != 0x80 {
            column += 1  // the next byte starts a new character
        }
        index += 1
    }

    private mutating func next() throws(CParseError.Internal) -> Token {
        try skipTrivia()
        let start = location
        guard index < bytes.count else { return Token(kind: .endOfInput, location: start) }
        let byte = peek()
        if byte == UInt8(ascii: "#") && atLineStart { return try directive(start) }
        atLineStart = false
        if byte.isIdentifierStart {
            let begin = index
            while index < bytes.count && peek().isIdentifierBody { advance() }
            return Token(kind: .identifier(String(decoding: bytes[begin..<index], as: UTF8.self)), location: start)
        }
        if byte.isDigit || (byte == UInt8(ascii: ".") && peek(1).isDigit) { return try number(start) }
        if byte == UInt8(ascii: "'") {
            return Token(kind: .integer(try characterConstant(start), CIntegerKindSuffix()), location: start)
        }
        if byte == UInt8(ascii: "\"") { return Token(kind: .string(try stringLiteral(start)), location: start) }
        for (candidate, bytes) in Self.punctuatorsByFirstByte[Int(byte)] where matches(bytes) {
            for _ in 0..<bytes.count { advance() }
            return Token(kind: .punctuator(candidate), location: start)
        }
        let scalar = String(decoding: bytes[index..<min(bytes.count, index + Self.sequenceLength(byte))], as: UTF8.self)
        throw .init(start, "unexpected character '\(scalar)'")
    }

    // Longest first, so that `...` wins over `.` and `<<` over `<`.
    private static let punctuators = [
        "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
        "{", "}", "[", "]", "(", ")", ";", ",", ":", "*", "&", "+", "-", "~", "!", "/", "%",
        "<", ">", "^", "|", "?", "=", ".",
    ]

    /// The punctuators by their first byte, longest first, with their bytes: the lexer
    /// tries only those that can match.
    private static let punctuatorsByFirstByte: [[(String, [UInt8])]] = {
        var table = [[(String, [UInt8])]](repeating: [], count: 256)
        for punctuator in punctuators { table[Int(punctuator.utf8.first!)].append((punctuator, Array(punctuator.utf8))) }
        return table
    }()

    private func matches(_ text: [UInt8]) -> Bool {
        guard index + text.count <= bytes.count else { return false }
        for offset in 1..<text.count where bytes[index + offset] != text[offset] { return false }
        return true  // the first byte chose the candidates
    }

    private static func sequenceLength(_ lead: UInt8) -> Int {
        lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
    }

    private mutating func skipTrivia() throws(CParseError.Internal) {
        while index < bytes.count {
            let byte = peek()
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r") || byte == 0x0B || byte == 0x0C
            {
                advance()
            } else if byte == UInt8(ascii: "\\") && (peek(1) == UInt8(ascii: "\n")) {
                advance()
                advance()  // a line splice
            } else if byte == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                while index < bytes.count && peek() != UInt8(ascii: "\n") { advance() }
            } else if byte == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                let start = location
                advance()
                advance()
                while !(peek() == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/")) {
                    guard index < bytes.count else { throw .init(start, "unterminated comment") }
                    advance()
                }
                advance()
                advance()
            } else {
                return
            }
        }
    }

    // MARK: Directives

    private mutating func directive(_ start: CSourceLocation) throws(CParseError.Internal) -> Token {
        advance()  // '#'
        var collected: [UInt8] = []
        while index < bytes.count && peek() != UInt8(ascii: "\n") {
            if peek() == UInt8(ascii: "\\") && peek(1) == UInt8(ascii: "\n") {
                advance()  // a line splice continues the directive
                advance()
                collected.append(UInt8(ascii: " "))
                continue
            }
            collected.append(peek())
            advance()
        }
        let text = String(decoding: collected, as: UTF8.self)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "(" })
        guard let first = words.first else { return try next() }  // a null directive
        if first.allSatisfy(\.isNumber) || first == "line" || first == "ident" { return try next() }
        if first == "pragma" {
            guard words.count > 1, words[1] == "pack" else { return try next() }  // unknown pragmas are ignored, as gcc does
            guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else {
                throw .init(start, "malformed #pragma pack: expected '(' ... ')'")
            }
            return Token(kind: .pragmaPack(String(text[text.index(after: open)..<close])), location: start)
        }
        throw .init(start, "preprocessor directive '#\(first)' is not supported: give preprocessed declarations")
    }

    // MARK: Literals

    private mutating func number(_ start: CSourceLocation) throws(CParseError.Internal) -> Token {
        let begin = index
        while index < bytes.count
            && (peek().isIdentifierBody || peek() == UInt8(ascii: ".")
                || ((peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-"))
                    && (bytes[index - 1] | 0x20 == UInt8(ascii: "e") || bytes[index - 1] | 0x20 == UInt8(ascii: "p"))
                    && !isHexPrefix(begin)))
        {
            advance()
        }
        let text = String(decoding: bytes[begin..<index], as: UTF8.self)
        let lower = text.lowercased()
        let isHex = lower.hasPrefix("0x")
        if lower.contains(".") || (!isHex && lower.contains("e")) || (isHex && lower.contains("p")) {
            return Token(kind: .floating(text), location: start)
        }
        var digits = Substring(lower)
        var suffix = CIntegerKindSuffix()
        while let last = digits.last, last == "u" || last == "l" {
            if last == "u" {
                if suffix.isUnsigned { throw .init(start, "invalid suffix on integer constant \(text)") }
                suffix.isUnsigned = true
            } else {
                suffix.longCount += 1
            }
            digits = digits.dropLast()
        }
        if suffix.longCount > 2 { throw .init(start, "invalid suffix on integer constant \(text)") }
        var radix = 10
        if digits.hasPrefix("0x") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.hasPrefix("0b") {
            radix = 2
            digits = digits.dropFirst(2)
        } else if digits.count > 1 && digits.hasPrefix("0") {
            radix = 8
            digits = digits.dropFirst()
        }
        suffix.isDecimal = radix == 10
        guard !digits.isEmpty else { throw .init(start, "invalid integer constant \(text)") }
        var value: Int128 = 0
        for character in digits {
            guard let digit = character.hexDigitValue, digit < radix else {
                throw .init(start, "invalid digit '\(character)' in integer constant \(text)")
            }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: Int128(radix))
            let (sum, overflow2) = shifted.addingReportingOverflow(Int128(digit))
            if overflow1 || overflow2 || sum > Int128(UInt64.max) {
                throw .init(start, "integer constant \(text) is too large")
            }
            value = sum
        }
        return Token(kind: .integer(value, suffix), location: start)
    }

    private func isHexPrefix(_ begin: Int) -> Bool {
        begin + 1 < bytes.count && bytes[begin] == UInt8(ascii: "0") && bytes[begin + 1] | 0x20 == UInt8(ascii: "x")
            && !bytes[begin..<index].contains(where: { $0 | 0x20 == UInt8(ascii: "p") })
    }

    private mutating func characterConstant(_ start: CSourceLocation) throws(CParseError.Internal) -> Int128 {
        advance()  // opening quote
        guard index < bytes.count, peek() != UInt8(ascii: "'"), peek() != UInt8(ascii: "\n") else {
            throw .init(start, "empty or unterminated character constant")
        }
        let value = try escapedByte(start)
        guard peek() == UInt8(ascii: "'") else { throw .init(start, "unterminated or multi-character constant") }
        advance()
        // A plain char constant has type int with the value of a (signed) char.
        return value >= 128 ? value - 256 : value
    }

    private mutating func stringLiteral(_ start: CSourceLocation) throws(CParseError.Internal) -> String {
        advance()
        var scalars: [UInt8] = []
        while peek() != UInt8(ascii: "\"") {
            guard index < bytes.count, peek() != UInt8(ascii: "\n") else { throw .init(start, "unterminated string literal") }
            scalars.append(UInt8(truncatingIfNeeded: try escapedByte(start)))
        }
        advance()
        return String(decoding: scalars, as: UTF8.self)
    }

    /// One possibly escaped byte of a character constant or string (C11 6.4.4.4).
    private mutating func escapedByte(_ start: CSourceLocation) throws(CParseError.Internal) -> Int128 {
        let byte = peek()
        advance()
        guard byte == UInt8(ascii: "\\") else { return Int128(byte) }
        guard index < bytes.count else { throw .init(start, "unterminated escape sequence") }
        let escape = peek()
        advance()
        switch escape {
        case UInt8(ascii: "n"): return 10
        case UInt8(ascii: "t"): return 9
        case UInt8(ascii: "r"): return 13
        case UInt8(ascii: "a"): return 7
        case UInt8(ascii: "b"): return 8
        case UInt8(ascii: "f"): return 12
        case UInt8(ascii: "v"): return 11
        case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "?"): return Int128(escape)
        case UInt8(ascii: "x"):
            var value: Int128 = 0
            var count = 0
            while let digit = Character(UnicodeScalar(peek())).hexDigitValue, index < bytes.count {
                value = (value << 4 | Int128(digit)) & 0xFF_FFFF
                count += 1
                advance()
            }
            if count == 0 { throw .init(start, "\\x used with no following hex digits") }
            if value > 255 { throw .init(start, "hex escape sequence out of range") }
            return value
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var value = Int128(escape - UInt8(ascii: "0"))
            var count = 1
            while count < 3, peek() >= UInt8(ascii: "0"), peek() <= UInt8(ascii: "7") {
                value = value * 8 + Int128(peek() - UInt8(ascii: "0"))
                count += 1
                advance()
            }
            if value > 255 { throw .init(start, "octal escape sequence out of range") }
            return value
        default:
            throw .init(start, "unknown escape sequence '\\\(Character(UnicodeScalar(escape)))'")
        }
    }
}

extension UInt8 {
    fileprivate var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    fileprivate var isIdentifierStart: Bool {
        (self | 0x20 >= UInt8(ascii: "a") && self | 0x20 <= UInt8(ascii: "z")) || self == UInt8(ascii: "_")
            || self == UInt8(ascii: "$")
    }
    fileprivate var isIdentifierBody: Bool { isIdentifierStart || isDigit }
}

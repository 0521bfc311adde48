// Recursive-descent parser for C11 declarations with the GNU extensions headers use
// (`__attribute__`, `__extension__`, `__restrict`, `__int128`, `#pragma pack`). The
// grammar follows C11 §6.7; declarators are read inside out into a list of derivations
// applied to the base type. Nesting is bounded, so no input can exhaust the stack.

import CTypeModel
import Locks

/// What a declaration text declared, and the scope extended by it.
public struct CParseResult: Sendable {
    /// The declarations in source order; tagged records and enums defined inside another
    /// declaration come before it as their own entries. A function or object declared
    /// again is listed again as written; `scope` holds the declaration that says most.
    public var declarations: [CDeclaration]
    /// The scope given to the parser, extended by these declarations.
    public var scope: CScope
    /// Things accepted but worth knowing (ignored attributes, declarations that declare nothing).
    public var warnings: [CDiagnostic]
}

/// Parses C declarations.
public enum CDeclParser {
    /// Parses `source`, resolving names against `scope` (the standard typedefs by default).
    public static func parse(_ source: String, scope: CScope = .standard) throws(CParseError) -> CParseResult {
        try unwrap(withLargeStack(inputLength: source.utf8.count) { translationUnit(source, scope: scope) }, source: source)
    }

    /// Parses a single type name such as `const char *` or `int (*)(int)`. In the standard
    /// scope, the last type names read are kept (a callback made per call reads the same
    /// `int (*)(const void *, const void *)` again and again), those without records or
    /// enums: a record a type name creates is an object of its own, completed by whoever
    /// holds it.
    public static func parseTypeName(_ source: String, scope: CScope = .standard) throws(CParseError) -> CQualType {
        if scope.isStandard, let known = standardTypeNames.withLock({ $0[source] }) { return known }
        let type = try unwrap(withLargeStack(inputLength: source.utf8.count) { typeName(source, scope: scope) }, source: source)
        if scope.isStandard && !hasTags(type) {
            standardTypeNames.withLock { cache in
                if cache.count >= 256 { cache.removeAll() }
                cache[source] = type
            }
        }
        return type
    }

    private static let standardTypeNames = Lock<[String: CQualType]>([:])

    /// Whether `type` reaches a struct, union or enum.
    private static func hasTags(_ type: CQualType, depth: Int = 0) -> Bool {
        guard depth < 64 else { return true }
        switch type.type {
        case .void, .integer, .floating, .complex: return false
        case .record, .enumeration: return true
        case .pointer(let pointee), .array(let pointee, _): return hasTags(pointee, depth: depth + 1)
        case .typedef(let alias): return hasTags(alias.underlying, depth: depth + 1)
        case .function(let function):
            return hasTags(function.result, depth: depth + 1) || function.parameters.contains { hasTags($0.type, depth: depth + 1) }
        }
    }

    // These run on the large-stack thread (LargeStack.swift).

    private static func translationUnit(_ source: String, scope: CScope) -> Result<CParseResult, ParseError> {
        do throws(ParseError) {
            var lexer = Lexer(source)
            var parser = Parser(tokens: try lexer.tokenize(), scope: scope)
            try parser.translationUnit()
            return .success(CParseResult(declarations: parser.declarations, scope: parser.scope, warnings: parser.warnings))
        } catch {
            return .failure(error)
        }
    }

    private static func typeName(_ source: String, scope: CScope) -> Result<CQualType, ParseError> {
        do throws(ParseError) {
            var lexer = Lexer(source)
            var parser = Parser(tokens: try lexer.tokenize(), scope: scope)
            let type = try parser.typeName()
            try parser.expectEnd()
            return .success(type)
        } catch {
            return .failure(error)
        }
    }

    private static func unwrap<T>(_ outcome: Result<T, ParseError>, source: String) throws(CParseError) -> T {
        switch outcome {
        case .success(let value): return value
        case .failure(let error):
            throw CParseError(diagnostics: [CDiagnostic(.error, at: error.location, error.message)], source: source)
        }
    }
}

typealias ParseError = CParseError.Internal

// MARK: - Parser state

struct Parser {
    private let tokens: [Token]
    private var position = 0
    var scope: CScope
    var declarations: [CDeclaration] = []
    var warnings: [CDiagnostic] = []
    /// `#pragma pack` state: the value in force and the pushed ones.
    private var pack: Int?
    private var packStack: [Int?] = []
    /// How many parameter lists the parser is inside.
    private var parameterDepth = 0
    /// How deeply the type of each typedef (by name) and record nests, for `nestingDepth`.
    private var typedefDepths: [String: Int] = [:]
    private var recordDepths: [ObjectIdentifier: Int] = [:]
    /// Types nest (typedef in typedef, record pointing to record) at most this deep: a
    /// type graph is released recursively, and a 150,000-long chain of typedefs overflowed
    /// the stack when freed. Every header of the corpus (Tests/HeaderCorpusTests) is within it.
    static let maximumTypeNesting = 1024
    /// Where this text declared each typedef and ordinary name, for conflict messages.
    private var sites: [String: CSourceLocation] = [:]
    /// Nesting of declarators, records and expressions (C11 §5.2.4.1 asks for 63 levels).
    private var depth = 0
    static let maximumDepth = 96
    /// Pointer, array and function derivations in one declarator (C11 §5.2.4.1 asks for 12).
    static let maximumDerivations = 64

    init(tokens: [Token], scope: CScope) {
        self.tokens = tokens
        self.scope = scope
    }

    private var current: Token { tokens[position] }
    private func peekToken(_ ahead: Int = 1) -> Token { tokens[min(position + ahead, tokens.count - 1)] }
    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    private mutating func accept(_ punctuator: String) -> Bool {
        guard current.isPunctuator(punctuator) else { return false }
        advance()
        return true
    }

    private mutating func expect(_ punctuator: String, _ context: String) throws(ParseError) {
        guard accept(punctuator) else { throw ParseError(current.location, "expected '\(punctuator)' \(context), found \(current.spelling)") }
    }

    mutating func expectEnd() throws(ParseError) {
        guard current.kind == .endOfInput else { throw ParseError(current.location, "unexpected \(current.spelling) after type name") }
    }

    private mutating func nest(_ location: CSourceLocation) throws(ParseError) {
        depth += 1
        if depth > Self.maximumDepth { throw ParseError(location, "nesting is too deep (more than \(Self.maximumDepth) levels)") }
    }

    private mutating func warn(_ location: CSourceLocation, _ message: String) {
        warnings.append(CDiagnostic(.warning, at: location, message))
    }

    // MARK: - Translation unit

    mutating func translationUnit() throws(ParseError) {
        while current.kind != .endOfInput {
            if accept(";") { continue }
            if case .pragmaPack(let text) = current.kind {
                try pragmaPack(text, at: current.location)
                advance()
                continue
            }
            try externalDeclaration()
        }
    }

    /// `#pragma pack(N)`, `(push[, N])`, `(pop)`, `()`.
    private mutating func pragmaPack(_ text: String, at location: CSourceLocation) throws(ParseError) {
        let words = text.split(separator: ",").map { $0.trimmingSpaces() }
        func value(_ word: String) throws(ParseError) -> Int {
            guard let number = Int(word), [1, 2, 4, 8, 16].contains(number) else {
                throw ParseError(location, "#pragma pack: alignment must be 1, 2, 4, 8 or 16, not '\(word)'")
            }
            return number
        }
        switch words.first ?? "" {
        case "":
            pack = nil
        case "push":
            packStack.append(pack)
            if words.count > 2 { throw ParseError(location, "#pragma pack: identifiers in push are not supported") }
            if words.count == 2 { pack = try value(words[1]) }
        case "pop":
            guard let previous = packStack.popLast() else { throw ParseError(location, "#pragma pack(pop) without a matching push") }
            pack = previous
        default:
            guard words.count == 1 else { throw ParseError(location, "malformed #pragma pack") }
            pack = try value(words[0])
        }
    }

    private mutating func externalDeclaration() throws(ParseError) {
        while let word = current.identifier, word == "__extension__" || word == "__extension" { advance() }
        if try staticAssertion() { return }
        let start = current.location
        let specifiers = try declarationSpecifiers(context: .fileScope)
        if accept(";") {
            noteDeclarationWithoutDeclarators(specifiers, at: start)
            return
        }
        var isFirst = true
        while true {
            let declarator = try self.declarator(abstract: false)
            var attributes = try attributeList()
            let label = try asmLabel()
            if label != nil { attributes += try attributeList() }
            if current.isPunctuator("{") {
                // A function definition (a header's `static inline` or `extern inline`
                // body): the declaration is kept, the body skipped by brace matching.
                guard isFirst, case .function? = declarator.derivations.last?.0, specifiers.storage != .typedef else {
                    throw ParseError(current.location, "expected ';' after declaration, found '{'")
                }
                try declare(declarator, specifiers: specifiers, attributes: specifiers.attributes + attributes, label: label)
                try skipBalanced()
                return
            }
            if current.isPunctuator("=") {
                // An initializer (`static const int x = 3;`): the declaration is kept.
                if specifiers.storage == .typedef { throw ParseError(current.location, "a typedef cannot have an initializer") }
                try skipInitializer()
            }
            try declare(declarator, specifiers: specifiers, attributes: specifiers.attributes + attributes, label: label)
            isFirst = false
            if accept(",") { continue }
            try expect(";", "after declaration")
            return
        }
    }

    /// Skips a `{ … }` group, nested groups included; `current` is its `{`.
    private mutating func skipBalanced() throws(ParseError) {
        let open = current.location
        var depth = 0
        repeat {
            if current.kind == .endOfInput { throw ParseError(open, "expected '}' to match this '{'") }
            if current.isPunctuator("{") { depth += 1 } else if current.isPunctuator("}") { depth -= 1 }
            advance()
        } while depth > 0
    }

    /// Skips `= initializer` up to the `,` or `;` that ends it; `current` is the `=`.
    private mutating func skipInitializer() throws(ParseError) {
        let start = current.location
        var depth = 0
        advance()
        while depth > 0 || !(current.isPunctuator(",") || current.isPunctuator(";")) {
            if current.kind == .endOfInput { throw ParseError(start, "unterminated initializer") }
            if current.isPunctuator("(") || current.isPunctuator("[") || current.isPunctuator("{") { depth += 1 }
            if current.isPunctuator(")") || current.isPunctuator("]") || current.isPunctuator("}") {
                depth -= 1
                if depth < 0 { throw ParseError(current.location, "unbalanced \(current.spelling) in initializer") }
            }
            advance()
        }
    }

    /// A declaration such as `struct P;` or `struct P { ... };` declares no name of its own.
    private mutating func noteDeclarationWithoutDeclarators(_ specifiers: Specifiers, at location: CSourceLocation) {
        if specifiers.storage == .typedef { warn(location, "typedef declares no name") }
        guard let declared = specifiers.declaredTag else {
            warn(location, "declaration does not declare anything")
            return
        }
        if specifiers.definedTag == nil {
            switch declared {
            case .record(let record) where !record.isComplete: declarations.append(.recordDeclaration(record))
            case .enumeration(let enumeration) where !enumeration.isComplete: declarations.append(.enumerationDeclaration(enumeration))
            default: break
            }
        }
    }

    // MARK: - Declaring names

    private mutating func declare(
        _ declarator: Declarator, specifiers: Specifiers, attributes: [Attribute], label: String? = nil
    ) throws(ParseError) {
        guard let name = declarator.name else { throw ParseError(declarator.location, "expected a name in declaration") }
        let type = try applyingMode(attributes, to: try apply(declarator, to: specifiers.qualifiedType))
        let location = declarator.nameLocation ?? declarator.location
        if specifiers.storage == .typedef {
            var alignment: Int?
            for attribute in attributes {
                switch attribute.name {
                case "aligned": alignment = try attribute.alignmentValue()
                default: try checkIgnorable(attribute)
                }
            }
            if let alignas = specifiers.alignas { throw ParseError(alignas.location, "_Alignas cannot qualify a typedef") }
            let alias = CTypedef(name: name, underlying: type, alignment: alignment)
            let nesting = nestingDepth(CQualType(.typedef(alias)))  // the name is a level of its own
            if nesting > Self.maximumTypeNesting {
                throw ParseError(location, "typedef '\(name)' nests types more than \(Self.maximumTypeNesting) levels deep")
            }
            if scope.ordinaryDeclarations[name] != nil || scope.constants[name] != nil {
                throw ParseError(location, "'\(name)' redeclared as a different kind of symbol")
            }
            if let existing = scope.typedefs[name] {
                // C11 6.7p3: a typedef may be redefined to denote the same type.
                guard CQualType(.typedef(alias)).isSameType(as: CQualType(.typedef(existing))) else {
                    throw ParseError(location, conflict("typedef '\(name)'", CQualType(.typedef(alias)).resolved,
                        CQualType(.typedef(existing)).resolved, name: name))
                }
                return
            }
            declarations.append(.typedef(alias))
            scope.declareTypedef(alias)
            typedefDepths[name] = nesting
            sites[name] = location
            return
        }
        for attribute in attributes where attribute.name != "aligned" { try checkIgnorable(attribute) }
        if scope.typedefs[name] != nil || scope.constants[name] != nil {
            throw ParseError(location, "'\(name)' redeclared as a different kind of symbol")
        }
        let declaration: CDeclaration
        if case .function(let function) = type.type {
            declaration = .function(name: name, type: function)
        } else {
            if case .void = type.type.resolved { throw ParseError(location, "variable '\(name)' has type void") }
            declaration = .variable(name: name, type: type)
        }
        // C11 6.2.2p3: `static` at file scope gives internal linkage, and a later
        // `extern` declaration keeps it.
        if specifiers.storage == .static { scope.declareInternal(name) }
        if let label { scope.declareAssemblerName(name, label) }
        if scope.ordinaryDeclarations[name] != nil && attributes.contains(where: { $0.name == "overloadable" }) {
            return  // clang's C overloads (tgmath.h) share a name; the first declaration stands
        }
        if let existing = scope.ordinaryDeclarations[name] {
            // C11 6.7p4: redeclarations must have compatible types; the scope keeps the one
            // that says more (a prototype, an array size). The text's list keeps each as written.
            let (old, new) = (Self.declaredType(existing), Self.declaredType(declaration))
            guard old.isCompatible(with: new) else {
                throw ParseError(location, conflict("'\(name)'", new, old, name: name))
            }
            if Self.saysMore(new, than: old) { scope.declareOrdinary(name, declaration) }
            declarations.append(declaration)
            return
        }
        declarations.append(declaration)
        scope.declareOrdinary(name, declaration)
        sites[name] = location
    }

    /// How many typedefs, pointers, arrays, functions and records the type reaches through,
    /// using the depths recorded for this text's typedefs and records (those of an earlier
    /// scope count by their own chain, or as one level for a record). Stops counting past
    /// the limit, so it costs at most that many steps per level of function nesting.
    private func nestingDepth(_ type: CQualType) -> Int {
        var depth = 0
        var current = type.type
        while depth <= Self.maximumTypeNesting {
            switch current {
            case .pointer(let inner), .array(let inner, _):
                depth += 1
                current = inner.type
            case .typedef(let alias):
                if let known = typedefDepths[alias.name] { return depth + known }
                depth += 1
                current = alias.underlying.type
            case .record(let record):
                return depth + (recordDepths[ObjectIdentifier(record)] ?? 1)
            case .function(let function):
                let inner = ([function.result] + function.parameters.map(\.type)).map(nestingDepth).reduce(0, max)
                return depth + 1 + inner
            default:
                return depth + 1
            }
        }
        return depth
    }

    /// `conflicting types for 'f': long (int) here, int (int) at line 2, column 5`.
    private func conflict(_ what: String, _ new: CQualType, _ old: CQualType, name: String) -> String {
        let before = sites[name].map { "at \($0)" } ?? "where it was declared before this text"
        return "conflicting types for \(what): \(new) here, \(old) \(before)"
    }

    private static func declaredType(_ declaration: CDeclaration) -> CQualType {
        switch declaration {
        case .function(_, let type): return CQualType(.function(type))
        case .variable(_, let type): return type
        default: return CQualType(.void)
        }
    }

    /// Whether a compatible redeclaration completes the earlier one.
    private static func saysMore(_ new: CQualType, than old: CQualType) -> Bool {
        switch (old.type, new.type) {
        case (.function(let x), .function(let y)): return !x.isPrototyped && y.isPrototyped
        case (.array(_, nil), .array(_, let count)): return count != nil
        default: return false
        }
    }

    private mutating func checkIgnorable(_ attribute: Attribute) throws(ParseError) {
        if Attribute.changesTypes.contains(attribute.name) {
            throw ParseError(attribute.location, "attribute '\(attribute.name)' is not supported")
        }
        if !Attribute.ignorable.contains(attribute.name) && !Attribute.appliedByTheParser.contains(attribute.name) {
            warn(attribute.location, "attribute '\(attribute.name)' ignored")
        }
    }

    /// `__attribute__((mode(M)))` (GCC manual, "Common Variable Attributes"): the integer
    /// or floating type of machine mode M, with the signedness of the type it is on.
    /// On x86-64, `word` and `pointer` are DImode and TFmode is IEEE binary128.
    private func applyingMode(_ attributes: [Attribute], to type: CQualType) throws(ParseError) -> CQualType {
        guard let attribute = attributes.last(where: { $0.name == "mode" }) else { return type }
        guard attribute.arguments.count == 1, case .identifier(let word) = attribute.arguments[0] else {
            throw ParseError(attribute.location, "mode takes one machine mode name, such as QI or DI")
        }
        let mode = Attribute.normalize(word)
        let integerSizes = ["QI": 1, "byte": 1, "HI": 2, "SI": 4, "DI": 8, "word": 8, "pointer": 8, "unwind_word": 8, "TI": 16]
        let floatKinds: [String: CFloatKind] = ["HF": .float16, "SF": .float, "DF": .double, "XF": .longDouble, "TF": .float128]
        let complexKinds: [String: CFloatKind] = ["HC": .float16, "SC": .float, "DC": .double, "XC": .longDouble, "TC": .float128]
        var result = type
        switch type.type.resolved {
        case .integer(let kind):
            guard let size = integerSizes[mode] else {
                throw ParseError(attribute.location, "mode(\(word)) cannot apply to the integer type \(type)")
            }
            if kind == .bool { throw ParseError(attribute.location, "mode(\(word)) cannot apply to _Bool") }
            let signed: [Int: CIntegerKind] = [1: .signedChar, 2: .short, 4: .int, 8: .long, 16: .int128]
            let base = signed[size]!
            result.type = .integer(kind.isSigned ? base : base.unsignedCounterpart)
        case .floating:
            guard let kind = floatKinds[mode] else { throw ParseError(attribute.location, "mode(\(word)) cannot apply to \(type)") }
            result.type = .floating(kind)
        case .complex:
            guard let kind = complexKinds[mode] else { throw ParseError(attribute.location, "mode(\(word)) cannot apply to \(type)") }
            result.type = .complex(kind)
        case .pointer where ["DI", "word", "pointer"].contains(mode):
            break  // a pointer is already 64 bits
        default:
            throw ParseError(attribute.location, "mode(\(word)) is not supported on \(type)")
        }
        return result
    }

    // MARK: - Declaration specifiers

    enum SpecifierContext { case fileScope, member, parameter, typeName }

    enum Storage: Equatable { case typedef, extern, `static`, other }

    struct Specifiers {
        var location: CSourceLocation
        var storage: Storage?
        var base: CType?
        var words: [String: Int] = [:]
        var qualifiers: CQualifiers = []
        var attributes: [Attribute] = []
        var alignas: (value: Int, location: CSourceLocation)?
        /// The tag a `struct`/`union`/`enum` specifier named or defined.
        var declaredTag: CScope.Tag?
        var definedTag: CScope.Tag?
        var resolved: CType = .void

        var qualifiedType: CQualType { CQualType(resolved, qualifiers) }
        var hasTypeSpecifier: Bool { base != nil || !words.isEmpty }
    }

    private static let typeWords: Set<String> = Set([
        "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool", "_Complex", "__int128",
    ]).union(floatingWords.keys)

    /// ISO/IEC TS 18661-3 and GNU floating type keywords, as x86-64 defines them.
    private static let floatingWords: [String: CFloatKind] = [
        "_Float16": .float16, "_Float32": .float, "_Float64": .double, "_Float32x": .double, "_Float64x": .longDouble,
        "_Float128": .float128, "__float128": .float128, "__float80": .longDouble,
    ]

    private mutating func declarationSpecifiers(context: SpecifierContext) throws(ParseError) -> Specifiers {
        var specifiers = Specifiers(location: current.location)
        loop: while true {
            let token = current
            guard let word = token.identifier else { break }
            switch Self.keywordAlias[word] ?? word {
            case "_Thread_local":
                // C11 6.7.1p3: it combines with static or extern.
                guard context == .fileScope else { throw ParseError(token.location, "storage class '\(word)' is not allowed here") }
                advance()
            case "typedef", "extern", "static", "auto", "register":
                guard context == .fileScope || (context == .parameter && word == "register") else {
                    throw ParseError(token.location, "storage class '\(word)' is not allowed here")
                }
                if specifiers.storage != nil { throw ParseError(token.location, "more than one storage class") }
                specifiers.storage = word == "typedef" ? .typedef : word == "extern" ? .extern : word == "static" ? .static : .other
                advance()
            case "inline", "_Noreturn", "__extension__":
                advance()
            case "const": specifiers.qualifiers.insert(.const); advance()
            case "volatile": specifiers.qualifiers.insert(.volatile); advance()
            case "restrict": specifiers.qualifiers.insert(.restrict); advance()
            case "_Atomic":
                if peekToken().isPunctuator("(") {
                    advance()
                    advance()
                    if specifiers.hasTypeSpecifier { throw ParseError(token.location, "_Atomic(type) combined with another type specifier") }
                    let inner = try typeName()
                    try expect(")", "after _Atomic type name")
                    specifiers.base = inner.type
                    specifiers.qualifiers.formUnion(inner.qualifiers)
                    specifiers.qualifiers.insert(.atomic)
                } else {
                    specifiers.qualifiers.insert(.atomic)
                    advance()
                }
            case "_Alignas":
                advance()
                try expect("(", "after _Alignas")
                let value: Int
                if startsTypeName() {
                    value = try layout(of: try typeName(), at: token.location).alignment
                } else {
                    value = try alignmentValue(constantExpression(), at: token.location, allowZero: true)
                }
                try expect(")", "after _Alignas argument")
                if value > 0 { specifiers.alignas = (max(specifiers.alignas?.value ?? 0, value), token.location) }
            case "__attribute__":
                specifiers.attributes += try attributeList()
            case "struct", "union":
                if specifiers.hasTypeSpecifier { throw ParseError(token.location, "cannot combine '\(word)' with another type specifier") }
                let record = try recordSpecifier()
                specifiers.base = .record(record.record)
                specifiers.declaredTag = .record(record.record)
                if record.defined { specifiers.definedTag = .record(record.record) }
            case "enum":
                if specifiers.hasTypeSpecifier { throw ParseError(token.location, "cannot combine 'enum' with another type specifier") }
                let enumeration = try enumSpecifier()
                specifiers.base = .enumeration(enumeration.enumeration)
                specifiers.declaredTag = .enumeration(enumeration.enumeration)
                if enumeration.defined { specifiers.definedTag = .enumeration(enumeration.enumeration) }
            case _ where Self.floatingWords[word] != nil
                && (specifiers.base != nil || specifiers.words.keys.contains { $0 != "_Complex" }):
                // Without the keyword (clang), glibc typedefs these names: `typedef float _Float32;`.
                break loop
            case let typeWord where Self.typeWords.contains(typeWord):
                if specifiers.base != nil { throw ParseError(token.location, "cannot combine '\(word)' with a previous type specifier") }
                specifiers.words[typeWord, default: 0] += 1
                advance()
            case "typeof", "__typeof__", "__typeof", "typeof_unqual", "__typeof_unqual__":
                if specifiers.hasTypeSpecifier { throw ParseError(token.location, "cannot combine '\(word)' with another type specifier") }
                let type = try typeofSpecifier()
                specifiers.base = type.type
                if !word.contains("unqual") { specifiers.qualifiers.formUnion(type.qualifiers) }
            case "_Decimal32", "_Decimal64", "_Decimal128", "_BitInt", "__bf16", "__ibm128":
                throw ParseError(token.location, "'\(word)' is not supported")
            default:
                // A typedef name is a type specifier only where no other type specifier came first.
                if !specifiers.hasTypeSpecifier, let alias = scope.typedefs[word] {
                    specifiers.base = .typedef(alias)
                    advance()
                } else {
                    break loop
                }
            }
        }
        specifiers.resolved = try resolveTypeWords(specifiers)
        return specifiers
    }

    /// `typeof(type-name)` or `typeof(name)` of a declared function or object (C23 6.7.2.5,
    /// GNU `__typeof__`); `current` is the keyword.
    private mutating func typeofSpecifier() throws(ParseError) -> CQualType {
        let keyword = current
        advance()
        try expect("(", "after \(keyword.identifier ?? "typeof")")
        let type: CQualType
        if startsTypeName() {
            type = try typeName()
        } else if let name = current.identifier, peekToken().isPunctuator(")"), let declared = scope.ordinaryDeclarations[name] {
            advance()
            type = Self.declaredType(declared)
        } else {
            throw ParseError(current.location, "typeof of an expression is not supported: give a type name or a declared name")
        }
        try expect(")", "after typeof operand")
        return type
    }

    /// GNU spellings of the standard keywords.
    private static let keywordAlias: [String: String] = [
        "__const": "const", "__const__": "const", "__volatile": "volatile", "__volatile__": "volatile",
        "__restrict": "restrict", "__restrict__": "restrict", "__inline": "inline", "__inline__": "inline",
        "__signed": "signed", "__signed__": "signed", "__complex__": "_Complex", "__complex": "_Complex",
        "__attribute": "__attribute__", "_Alignof": "_Alignof", "__alignof__": "_Alignof", "__alignof": "_Alignof",
        "alignas": "_Alignas", "__int128_t": "__int128_t", "__thread": "_Thread_local", "bool": "_Bool",
        "__extension": "__extension__",
    ]

    private func resolveTypeWords(_ specifiers: Specifiers) throws(ParseError) -> CType {
        if let base = specifiers.base { return base }
        var words = specifiers.words
        guard !words.isEmpty else { throw ParseError(current.location, "expected a type specifier, found \(current.spelling)") }
        let location = specifiers.location
        let complex = words.removeValue(forKey: "_Complex") ?? 0
        let signed = words.removeValue(forKey: "signed") ?? 0
        let unsigned = words.removeValue(forKey: "unsigned") ?? 0
        let longs = words.removeValue(forKey: "long") ?? 0
        if complex > 1 || signed > 1 || unsigned > 1 || (signed > 0 && unsigned > 0) || longs > 2 || words.values.contains(where: { $0 > 1 }) {
            throw ParseError(location, "invalid combination of type specifiers")
        }
        let sign: Bool? = signed > 0 ? true : unsigned > 0 ? false : nil
        func integer(_ signedKind: CIntegerKind) -> CType { .integer(sign == false ? signedKind.unsignedCounterpart : signedKind) }
        let rest = Set(words.keys)
        let invalid = ParseError(location, "invalid combination of type specifiers")
        if rest.count == 1, let word = rest.first, let kind = Self.floatingWords[word], longs == 0, sign == nil {
            return complex > 0 ? .complex(kind) : .floating(kind)
        }
        if complex > 0 {
            guard sign == nil else { throw invalid }
            switch (rest, longs) {
            case (["float"], 0): return .complex(.float)
            case (["double"], 0), ([], 0): return .complex(.double)
            case (["double"], 1): return .complex(.longDouble)
            default: throw invalid
            }
        }
        switch (rest, longs) {
        case (["void"], 0) where sign == nil: return .void
        case (["_Bool"], 0) where sign == nil: return .bool
        case (["char"], 0): return sign == nil ? .char : sign! ? .integer(.signedChar) : .integer(.unsignedChar)
        case (["short"], 0), (["short", "int"], 0): return integer(.short)
        case (["int"], 0), ([], 0): return integer(.int)
        case (["int"], 1), ([], 1): return integer(.long)
        case (["int"], 2), ([], 2): return integer(.longLong)
        case (["__int128"], 0): return integer(.int128)
        case (["float"], 0) where sign == nil: return .float
        case (["double"], 0) where sign == nil: return .double
        case (["double"], 1) where sign == nil: return .longDouble
        default: throw invalid
        }
    }

    private func startsTypeName() -> Bool {
        guard let word = current.identifier else { return false }
        let canonical = Self.keywordAlias[word] ?? word
        return Self.typeWords.contains(canonical) || ["struct", "union", "enum", "const", "volatile", "restrict", "_Atomic", "__attribute__", "__extension__", "typeof", "__typeof__", "__typeof", "typeof_unqual", "__typeof_unqual__"].contains(canonical)
            || scope.typedefs[word] != nil
    }

    // MARK: - Type names (abstract declarations)

    mutating func typeName() throws(ParseError) -> CQualType {
        let specifiers = try declarationSpecifiers(context: .typeName)
        let declarator = try self.declarator(abstract: true)
        if declarator.name != nil { throw ParseError(declarator.nameLocation ?? declarator.location, "unexpected name in type name") }
        return try apply(declarator, to: specifiers.qualifiedType)
    }

    // MARK: - Declarators

    /// One step from the base type outwards: `int *(*f)[3]` is array(3), pointer,
    /// then pointer… read in the order they apply to `int`.
    enum Derivation {
        case pointer(CQualifiers)
        case array(Int?)
        /// `[n]` with a size that is not constant, or `[*]`: only in parameters.
        case variableLengthArray
        case function(parameters: [CParameter], variadic: Bool, prototyped: Bool)
    }

    struct Declarator {
        var name: String?
        var nameLocation: CSourceLocation?
        var location: CSourceLocation
        /// Applied in order to the base type.
        var derivations: [(Derivation, CSourceLocation)] = []
        var attributes: [Attribute] = []
    }

    mutating func declarator(abstract: Bool) throws(ParseError) -> Declarator {
        try nest(current.location)
        defer { depth -= 1 }
        var result = Declarator(location: current.location)
        var pointers: [(Derivation, CSourceLocation)] = []
        while current.isPunctuator("*") {
            let location = current.location
            advance()
            var qualifiers: CQualifiers = []
            while let word = current.identifier {
                switch Self.keywordAlias[word] ?? word {
                case "const": qualifiers.insert(.const)
                case "volatile": qualifiers.insert(.volatile)
                case "restrict": qualifiers.insert(.restrict)
                case "_Atomic": qualifiers.insert(.atomic)
                case "__attribute__":
                    result.attributes += try attributeList()
                    continue
                default:
                    break
                }
                if ["const", "volatile", "restrict", "_Atomic"].contains(Self.keywordAlias[word] ?? word) { advance() } else { break }
            }
            pointers.append((.pointer(qualifiers), location))
            if pointers.count > Self.maximumDerivations {
                throw ParseError(location, "declarator is too complex (more than \(Self.maximumDerivations) pointer, array and function levels)")
            }
        }
        var inner: Declarator?
        if current.isPunctuator("(") && isNestedDeclarator(abstract: abstract) {
            advance()
            result.attributes += try attributeList()
            inner = try declarator(abstract: abstract)
            try expect(")", "to close the declarator")
        } else if let name = current.identifier, !abstract || !isReservedWord(name) {
            if isReservedWord(name) { throw ParseError(current.location, "expected a name, found keyword '\(name)'") }
            result.name = name
            result.nameLocation = current.location
            advance()
        } else if !abstract {
            throw ParseError(current.location, "expected a name or '(' in declarator, found \(current.spelling)")
        }
        var suffixes: [(Derivation, CSourceLocation)] = []
        while true {
            let location = current.location
            if accept("[") {
                while let word = current.identifier, ["static", "const", "volatile", "restrict", "_Atomic", "__restrict", "__restrict__", "__const"].contains(word) { advance() }
                if parameterDepth > 0, try skipVariableLength() {
                    // C11 6.7.6.2p4: a variable length array in a prototype (`double a[n][m]`)
                    // has unspecified size; the parameter decays to a pointer all the same.
                    suffixes.append((.variableLengthArray, location))
                    continue
                }
                if current.isPunctuator("*") && peekToken().isPunctuator("]") {
                    throw ParseError(current.location, "variable-length arrays are not supported")
                }
                var count: Int?
                if !current.isPunctuator("]") {
                    let value = try constantExpression()
                    guard value.value >= 0 else { throw ParseError(location, "array size is negative") }
                    guard value.value <= Int128(CTypeLayout.maximumObjectSize) else { throw ParseError(location, "array is too large") }
                    count = Int(value.value)
                }
                try expect("]", "to close the array declarator")
                suffixes.append((.array(count), location))
            } else if accept("(") {
                let parameters = try parameterList(at: location)
                suffixes.append((parameters, location))
            } else {
                break
            }
            if suffixes.count > Self.maximumDerivations {
                throw ParseError(location, "declarator is too complex (more than \(Self.maximumDerivations) pointer, array and function levels)")
            }
        }
        result.derivations = pointers + suffixes.reversed()
        if let inner {
            if inner.derivations.count + result.derivations.count > Self.maximumDerivations {
                throw ParseError(result.location, "declarator is too complex (more than \(Self.maximumDerivations) pointer, array and function levels)")
            }
            result.name = inner.name
            result.nameLocation = inner.nameLocation
            result.derivations += inner.derivations
            result.attributes += inner.attributes
        }
        return result
    }

    /// After `(` in a declarator: a nested declarator, or (in an abstract declarator) the
    /// start of a parameter list?
    private func isNestedDeclarator(abstract: Bool) -> Bool {
        let next = peekToken()
        if next.isPunctuator("*") || next.isPunctuator("(") || next.isPunctuator("[") { return true }
        guard let word = next.identifier else { return false }
        if word == "__attribute__" || word == "__attribute" { return true }
        if abstract { return false }
        return scope.typedefs[word] == nil && !isReservedWord(word)
    }

    private func isReservedWord(_ word: String) -> Bool {
        let canonical = Self.keywordAlias[word] ?? word
        if Self.floatingWords[canonical] != nil { return false }  // keywords in gcc, typedef names for clang
        return Self.typeWords.contains(canonical) || Self.otherKeywords.contains(canonical)
    }

    private static let otherKeywords: Set<String> = [
        "typedef", "extern", "static", "_Thread_local", "auto", "register", "inline", "_Noreturn", "const", "volatile",
        "restrict", "_Atomic", "_Alignas", "__attribute__", "struct", "union", "enum", "sizeof", "_Alignof",
        "__extension__", "_Static_assert", "static_assert", "__asm__", "__asm", "asm", "if", "else", "for", "while",
        "do", "return", "switch", "case", "default", "break", "continue", "goto", "typeof", "__typeof__", "__typeof", "typeof_unqual", "__typeof_unqual__",
    ]

    /// After `[` in a parameter: skips `*]` or a size that is not an integer constant
    /// expression (a parameter name, a call) up to the matching `]`, if that is what follows.
    private mutating func skipVariableLength() throws(ParseError) -> Bool {
        if current.isPunctuator("*") && peekToken().isPunctuator("]") {
            advance()
            advance()
            return true
        }
        if current.isPunctuator("]") { return false }
        var probe = self
        if (try? probe.constantExpression()) != nil && probe.current.isPunctuator("]") { return false }
        var depth = 0
        while depth > 0 || !current.isPunctuator("]") {
            if current.kind == .endOfInput { throw ParseError(current.location, "expected ']' to close the array declarator") }
            if current.isPunctuator("[") || current.isPunctuator("(") { depth += 1 }
            if current.isPunctuator("]") || current.isPunctuator(")") { depth -= 1 }
            advance()
        }
        advance()
        return true
    }

    private mutating func parameterList(at location: CSourceLocation) throws(ParseError) -> Derivation {
        parameterDepth += 1
        defer { parameterDepth -= 1 }
        if accept(")") { return .function(parameters: [], variadic: false, prototyped: false) }
        if current.identifier == "void" && peekToken().isPunctuator(")") {
            advance()
            advance()
            return .function(parameters: [], variadic: false, prototyped: true)
        }
        var parameters: [CParameter] = []
        var variadic = false
        while true {
            if accept("...") {
                variadic = true
                try expect(")", "after '...'")
                break
            }
            let start = current.location
            if let word = current.identifier, !startsTypeName(), !isReservedWord(word),
                peekToken().isPunctuator(",") || peekToken().isPunctuator(")")
            {
                throw ParseError(start, "unknown type name '\(word)' (K&R identifier lists are not supported)")
            }
            let specifiers = try declarationSpecifiers(context: .parameter)
            let declarator = try self.declarator(abstract: true)
            let attributes = specifiers.attributes + declarator.attributes + (try attributeList())
            var type = try applyingMode(attributes, to: try apply(declarator, to: specifiers.qualifiedType))
            // C11 6.7.6.3p7-8: array and function parameters are adjusted to pointers.
            switch type.type {
            case .array(let element, _): type = CQualType(.pointer(element), type.qualifiers)
            case .function: type = CQualType(.pointer(type))
            case .void:
                throw ParseError(start, "parameter \(parameters.count + 1) has type void")
            default: break
            }
            parameters.append(CParameter(name: declarator.name, type: type))
            if accept(")") { break }
            try expect(",", "between parameters")
        }
        return .function(parameters: parameters, variadic: variadic, prototyped: true)
    }

    /// Applies a declarator's derivations to the base type, checking C's constraints.
    private func apply(_ declarator: Declarator, to base: CQualType) throws(ParseError) -> CQualType {
        var type = base
        for (derivation, location) in declarator.derivations {
            switch derivation {
            case .pointer(let qualifiers):
                type = CQualType(.pointer(type), qualifiers)
            case .array(let count):
                switch type.type.resolved {
                case .function: throw ParseError(location, "array of functions is not allowed")
                case .void: throw ParseError(location, "array has element type void")
                default: break
                }
                if case .array(_, nil) = type.type.resolved { throw ParseError(location, "array has incomplete element type") }
                if let count, let element = try? type.layout(), element.size > 0, count > CTypeLayout.maximumObjectSize / element.size {
                    throw ParseError(location, "array is too large")
                }
                // C11 6.7.3p9: qualifiers of an array type belong to its elements.
                type = CQualType(.array(type, count: count))
            case .variableLengthArray:
                if case .function = type.type.resolved { throw ParseError(location, "array of functions is not allowed") }
                type = CQualType(.array(type, count: nil))
            case .function(let parameters, let variadic, let prototyped):
                switch type.type.resolved {
                case .function: throw ParseError(location, "function cannot return a function")
                case .array: throw ParseError(location, "function cannot return an array")
                default: break
                }
                type = CQualType(.function(CFunctionType(result: type, parameters: parameters, isVariadic: variadic, isPrototyped: prototyped)))
            }
        }
        return type
    }

    // MARK: - Records

    private mutating func recordSpecifier() throws(ParseError) -> (record: CRecord, defined: Bool) {
        let keywordLocation = current.location
        let kind: CRecord.Kind = current.identifier == "union" ? .union : .struct
        advance()
        var attributes = try attributeList()
        var tag: String?
        var tagLocation = keywordLocation
        if let name = current.identifier, !isReservedWord(name) {
            tag = name
            tagLocation = current.location
            advance()
        }
        attributes += try attributeList()
        guard current.isPunctuator("{") else {
            guard let tag else { throw ParseError(current.location, "expected a tag or '{' after '\(kind.rawValue)'") }
            return (try recordForTag(tag, kind: kind, at: tagLocation, defining: false), false)
        }
        try nest(current.location)
        defer { depth -= 1 }
        let record = try tag.map { name throws(ParseError) in try recordForTag(name, kind: kind, at: tagLocation, defining: true) }
            ?? CRecord(kind: kind, tag: nil)
        advance()  // '{'
        var fields: [CField] = []
        var fieldLocations: [CSourceLocation] = []
        while !accept("}") {
            if current.kind == .endOfInput { throw ParseError(current.location, "expected '}' to end \(record)") }
            if case .pragmaPack = current.kind { throw ParseError(current.location, "#pragma pack inside a record is not supported") }
            if accept(";") { continue }
            if try staticAssertion() { continue }
            try memberDeclaration(into: &fields, locations: &fieldLocations)
        }
        attributes += try attributeList()
        var recordAttributes = CRecordAttributes(maxFieldAlignment: pack)
        for attribute in attributes {
            switch attribute.name {
            case "packed": recordAttributes.isPacked = true
            case "aligned": recordAttributes.alignment = max(recordAttributes.alignment ?? 0, try attribute.alignmentValue())
            case "scalar_storage_order": recordAttributes.scalarStorageOrder = try attribute.byteOrder()
            default: try checkIgnorable(attribute)
            }
        }
        if recordAttributes.scalarStorageOrder != nil, let index = fields.firstIndex(where: \.isBitField) {
            // gcc reverses bit-field allocation under a reversed storage order; not modelled.
            throw ParseError(fieldLocations[index], "scalar_storage_order on a record with bit-fields is not supported")
        }
        if let order = recordAttributes.scalarStorageOrder {
            for index in fields.indices where CPrinter.scalarByteOrder(of: fields[index].type) == nil {
                fields[index].type = Self.withByteOrder(fields[index].type, order) ?? fields[index].type
            }
        }
        do {
            try record.define(fields: fields, attributes: recordAttributes)
        } catch {
            throw ParseError(Self.location(of: error, fields: fields, locations: fieldLocations) ?? keywordLocation, "\(error)")
        }
        let nesting = 1 + fields.map { nestingDepth($0.type) }.reduce(0, max)
        if nesting > Self.maximumTypeNesting {
            throw ParseError(keywordLocation, "\(record) nests types more than \(Self.maximumTypeNesting) levels deep")
        }
        recordDepths[ObjectIdentifier(record)] = nesting
        if record.tag != nil { declarations.append(.record(record)) }
        return (record, true)
    }

    private static func location(of error: CLayoutError, fields: [CField], locations: [CSourceLocation]) -> CSourceLocation? {
        guard case .invalidMember(_, let member, _) = error else { return nil }
        // The last member of that name: a duplicate is reported where it is repeated.
        if let index = fields.lastIndex(where: { $0.name == member }) { return locations[index] }
        if member.hasPrefix("#"), let number = Int(member.dropFirst().prefix(while: \.isNumber)), number - 1 < locations.count {
            return locations[number - 1]
        }
        return nil
    }

    private mutating func recordForTag(_ tag: String, kind: CRecord.Kind, at location: CSourceLocation, defining: Bool) throws(ParseError) -> CRecord {
        switch scope.tags[tag] {
        case .record(let existing)?:
            guard existing.kind == kind else {
                throw ParseError(location, "'\(tag)' defined as \(existing.kind == .struct ? "a struct" : "a union"), used as \(kind == .struct ? "a struct" : "a union")")
            }
            if defining && existing.isComplete { throw ParseError(location, "redefinition of '\(kind.rawValue) \(tag)'") }
            return existing
        case .enumeration?:
            throw ParseError(location, "'\(tag)' defined as an enum, used as a \(kind.rawValue)")
        case nil:
            let record = CRecord(kind: kind, tag: tag)
            scope.declareTag(tag, .record(record))
            return record
        }
    }

    private mutating func memberDeclaration(into fields: inout [CField], locations: inout [CSourceLocation]) throws(ParseError) {
        let start = current.location
        let specifiers = try declarationSpecifiers(context: .member)
        if accept(";") {
            // C11 6.7.2.1p13: an anonymous struct or union member.
            if case .record(let record)? = specifiers.definedTag, record.tag == nil {
                fields.append(CField(name: nil, type: specifiers.qualifiedType))
                locations.append(start)
            } else {
                warn(start, "declaration does not declare anything")
            }
            return
        }
        while true {
            let location = current.location
            var declarator = Declarator(location: location)
            if !current.isPunctuator(":") { declarator = try self.declarator(abstract: false) }
            var width: Int?
            if accept(":") {
                let value = try constantExpression()
                guard value.value >= 0, value.value <= 128 else { throw ParseError(location, "bit-field width \(value.value) is out of range") }
                width = Int(value.value)
            }
            let attributes = specifiers.attributes + declarator.attributes + (try attributeList())
            var type = try applyingMode(attributes, to: try apply(declarator, to: specifiers.qualifiedType))
            if case .function = type.type { throw ParseError(declarator.nameLocation ?? location, "member is declared as a function") }
            var field = CField(name: declarator.name, type: type, bitWidth: width)
            if let alignas = specifiers.alignas { field.alignment = alignas.value }
            for attribute in attributes {
                switch attribute.name {
                case "packed": field.isPacked = true
                case "aligned": field.alignment = max(field.alignment ?? 0, try attribute.alignmentValue())
                case "scalar_storage_order":
                    if width != nil { throw ParseError(attribute.location, "scalar_storage_order on a bit-field is not supported") }
                    guard let ordered = Self.withByteOrder(type, try attribute.byteOrder()) else {
                        throw ParseError(attribute.location, "scalar_storage_order applies to scalar members and arrays of scalars")
                    }
                    type = ordered
                    field.type = ordered
                default: try checkIgnorable(attribute)
                }
            }
            fields.append(field)
            locations.append(declarator.nameLocation ?? location)
            if accept(",") { continue }
            try expect(";", "after member declaration")
            return
        }
    }

    /// The type with `order` on its scalar (or on an array's scalar elements).
    static func withByteOrder(_ type: CQualType, _ order: CByteOrder) -> CQualType? {
        var copy = type
        if case .array(let element, let count) = type.type {
            guard let inner = withByteOrder(element, order) else { return nil }
            copy.type = .array(inner, count: count)
            return copy
        }
        guard type.type.isScalar else { return nil }
        copy.byteOrder = order
        return copy
    }

    // MARK: - Enums

    private mutating func enumSpecifier() throws(ParseError) -> (enumeration: CEnum, defined: Bool) {
        let keywordLocation = current.location
        advance()
        var attributes = try attributeList()
        var tag: String?
        var tagLocation = keywordLocation
        if let name = current.identifier, !isReservedWord(name) {
            tag = name
            tagLocation = current.location
            advance()
        }
        attributes += try attributeList()
        func existing(defining: Bool) throws(ParseError) -> CEnum? {
            guard let tag else { return nil }
            switch scope.tags[tag] {
            case .enumeration(let found)?:
                if defining && found.isComplete { throw ParseError(tagLocation, "redefinition of 'enum \(tag)'") }
                return found
            case .record(let record)?:
                throw ParseError(tagLocation, "'\(tag)' defined as a \(record.kind.rawValue), used as an enum")
            case nil:
                return nil
            }
        }
        guard accept("{") else {
            guard let tag else { throw ParseError(current.location, "expected a tag or '{' after 'enum'") }
            if let found = try existing(defining: false) { return (found, false) }
            let declared = CEnum(tag: tag)
            scope.declareTag(tag, .enumeration(declared))
            return (declared, false)
        }
        let enumeration = try existing(defining: true) ?? CEnum(tag: tag)
        if let tag { scope.declareTag(tag, .enumeration(enumeration)) }
        var enumerators: [CEnumerator] = []
        var next: Int128 = 0
        while !accept("}") {
            guard let name = current.identifier, !isReservedWord(name) else {
                throw ParseError(current.location, "expected an enumerator name, found \(current.spelling)")
            }
            let location = current.location
            advance()
            _ = try attributeList()
            if accept("=") { next = try constantExpression().value }
            if scope.constants[name] != nil || scope.typedefs[name] != nil || scope.ordinaryDeclarations[name] != nil {
                throw ParseError(location, "redefinition of '\(name)'")
            }
            guard CIntegerKind.range(of: .long).contains(next) || CIntegerKind.range(of: .unsignedLong).contains(next) else {
                throw ParseError(location, "enumerator value for '\(name)' is too large")
            }
            enumerators.append(CEnumerator(name: name, value: next))
            scope.declareConstant(name, next)
            next += 1
            if accept("}") { break }
            try expect(",", "between enumerators")
        }
        guard !enumerators.isEmpty else { throw ParseError(keywordLocation, "an enum must have at least one enumerator") }
        attributes += try attributeList()
        var packed = false
        for attribute in attributes {
            if attribute.name == "packed" { packed = true } else { try checkIgnorable(attribute) }
        }
        do {
            try enumeration.define(enumerators: enumerators, isPacked: packed)
        } catch {
            throw ParseError(keywordLocation, "\(error)")
        }
        if enumeration.tag != nil { declarations.append(.enumeration(enumeration)) }
        return (enumeration, true)
    }

    // MARK: - Attributes, asm labels, static assertions

    private mutating func attributeList() throws(ParseError) -> [Attribute] {
        var attributes: [Attribute] = []
        while let word = current.identifier, word == "__attribute__" || word == "__attribute" {
            advance()
            try expect("(", "after __attribute__")
            try expect("(", "after __attribute__(")
            while !accept(")") {
                if accept(",") { continue }
                guard let name = current.identifier else { throw ParseError(current.location, "expected an attribute name, found \(current.spelling)") }
                let attribute = Attribute(name: Attribute.normalize(name), location: current.location)
                advance()
                var arguments: [Attribute.Argument] = []
                if accept("(") {
                    while !accept(")") {
                        if accept(",") { continue }
                        if case .string(let text) = current.kind {
                            arguments.append(.string(text))
                            advance()
                            while case .string = current.kind { advance() }
                        } else if let word = current.identifier, scope.constants[word] == nil,
                            peekToken().isPunctuator(",") || peekToken().isPunctuator(")")
                        {
                            arguments.append(.identifier(word))
                            advance()
                        } else {
                            arguments.append(.integer(try constantExpression().value))
                        }
                        if current.kind == .endOfInput { throw ParseError(current.location, "unterminated attribute arguments") }
                    }
                }
                var complete = attribute
                complete.arguments = arguments
                attributes.append(complete)
                if current.kind == .endOfInput { throw ParseError(current.location, "unterminated __attribute__") }
            }
            try expect(")", "to close __attribute__((")
        }
        return attributes
    }

    /// `__asm__("symbol")` after a declarator (GCC "Controlling Names Used in Assembler
    /// Code"): the name the declaration is linked under. Adjacent strings concatenate
    /// (glibc writes `__asm__ ("" "__isoc99_fscanf")`).
    private mutating func asmLabel() throws(ParseError) -> String? {
        guard let word = current.identifier, ["__asm__", "__asm", "asm"].contains(word) else { return nil }
        advance()
        try expect("(", "after \(word)")
        var label = ""
        guard case .string = current.kind else { throw ParseError(current.location, "expected a string in \(word) label") }
        while case .string(let text) = current.kind {
            label += text
            advance()
        }
        try expect(")", "after \(word) label")
        guard !label.isEmpty else { throw ParseError(current.location, "empty \(word) label") }
        return label
    }

    private mutating func staticAssertion() throws(ParseError) -> Bool {
        guard let word = current.identifier, word == "_Static_assert" || word == "static_assert" else { return false }
        let location = current.location
        advance()
        try expect("(", "after \(word)")
        let value = try constantExpression()
        var message = "static assertion failed"
        if accept(",") {
            guard case .string(let text) = current.kind else { throw ParseError(current.location, "expected a string in \(word)") }
            message += ": \"\(text)\""
            advance()
        }
        try expect(")", "after \(word)")
        try expect(";", "after \(word)")
        if value.value == 0 { throw ParseError(location, message) }
        return true
    }

    // MARK: - Constant expressions (C11 §6.6), typed as C types them

    mutating func constantExpression() throws(ParseError) -> CConstant {
        try conditional()
    }

    private mutating func conditional() throws(ParseError) -> CConstant {
        let condition = try binary(minimumPrecedence: 1)
        guard accept("?") else { return condition }
        let whenTrue = try conditional()
        try expect(":", "in conditional expression")
        let whenFalse = try conditional()
        let kind = CConstant.commonKind(whenTrue.kind, whenFalse.kind)
        return (condition.value != 0 ? whenTrue : whenFalse).converted(to: kind)
    }

    private static let binaryPrecedence: [String: Int] = [
        "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
        "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
    ]

    /// Precedence climbing: one stack frame per nesting level, not per precedence level.
    private mutating func binary(minimumPrecedence: Int) throws(ParseError) -> CConstant {
        var left = try unary()
        while case .punctuator(let op) = current.kind, let precedence = Self.binaryPrecedence[op], precedence >= minimumPrecedence {
            let location = current.location
            advance()
            let right = try binary(minimumPrecedence: precedence + 1)
            left = try CConstant.apply(op, left, right, at: location)
        }
        return left
    }

    private mutating func unary() throws(ParseError) -> CConstant {
        let token = current
        try nest(token.location)
        defer { depth -= 1 }
        if let word = token.identifier, word == "__extension__" || word == "__extension" {
            advance()
            return try unary()
        }
        if case .punctuator(let op) = token.kind, ["-", "+", "~", "!"].contains(op) {
            advance()
            return try CConstant.applyUnary(op, try unary(), at: token.location)
        }
        if let word = token.identifier {
            switch Self.keywordAlias[word] ?? word {
            case "sizeof", "_Alignof":
                advance()
                let isSize = word == "sizeof"
                guard current.isPunctuator("("), startsTypeName(after: 1) else {
                    throw ParseError(token.location, "\(word) of an expression is not supported: give a type name in parentheses")
                }
                advance()
                let type = try typeName()
                try expect(")", "after type name")
                let layout = try layout(of: type, at: token.location)
                if case .function = type.type.resolved { throw ParseError(token.location, "\(word) applied to a function type") }
                return CConstant(value: Int128(isSize ? layout.size : layout.alignment), kind: .unsignedLong)
            default:
                break
            }
        }
        if token.isPunctuator("("), startsTypeName(after: 1) {
            advance()
            let type = try typeName()
            try expect(")", "after cast type")
            let operand = try unary()
            guard let kind = type.type.integerKind ?? (type.type.resolved.isPointerLike ? .unsignedLong : nil) else {
                throw ParseError(token.location, "cast to non-integer type \(type) in a constant expression")
            }
            return operand.converted(to: kind)
        }
        return try primary()
    }

    private func startsTypeName(after ahead: Int) -> Bool {
        var copy = self
        for _ in 0..<ahead { copy.advance() }
        return copy.startsTypeName()
    }

    private mutating func primary() throws(ParseError) -> CConstant {
        let token = current
        switch token.kind {
        case .integer(let value, let suffix):
            advance()
            return try CConstant.literal(value, suffix, at: token.location)
        case .floating(let text):
            throw ParseError(token.location, "floating constant '\(text)' in an integer constant expression")
        case .identifier(let name):
            if let value = scope.constants[name] {
                advance()
                return CConstant(value: value, kind: CIntegerKind.range(of: .int).contains(value) ? .int : (value < 0 ? .long : .unsignedLong))
            }
            throw ParseError(token.location, "'\(name)' is not an integer constant")
        case .punctuator("("):
            advance()
            let value = try conditional()
            try expect(")", "to close parenthesised expression")
            return value
        default:
            throw ParseError(token.location, "expected an integer constant expression, found \(token.spelling)")
        }
    }

    private func layout(of type: CQualType, at location: CSourceLocation) throws(ParseError) -> CTypeLayout {
        do { return try type.layout() } catch { throw ParseError(location, "\(error)") }
    }

    private func alignmentValue(_ value: CConstant, at location: CSourceLocation, allowZero: Bool) throws(ParseError) -> Int {
        if allowZero && value.value == 0 { return 0 }
        guard value.value > 0, value.value <= 1 << 28, value.value & (value.value - 1) == 0 else {
            throw ParseError(location, "requested alignment \(value.value) is not a positive power of 2")
        }
        return Int(value.value)
    }
}

extension CType {
    fileprivate var isPointerLike: Bool {
        if case .pointer = self { return true }
        return false
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

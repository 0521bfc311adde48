// Seeded random C signatures for the lowering oracle: every scalar type, small records of
// every eightbyte class mix (unions, bit-fields, packed, arrays, nesting, over-aligned
// members), large records, and argument runs that exhaust the integer and vector
// registers just before, at or after an aggregate.

import CTestSupport

enum RandomSignatures {
    struct Corpus {
        /// Types and prototypes, for CDeclParser.
        var header: String
        /// The header and a definition of every function, for clang.
        var source: String
        var functionNames: [String]
    }

    static let scalars = [
        "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int", "long",
        "unsigned long", "long long", "_Bool", "float", "double", "long double", "float _Complex",
        "double _Complex", "long double _Complex", "__int128", "unsigned __int128", "void *", "const char *",
        "enum E0", "enum E1", "enum E2", "FP",
    ]

    static let memberScalars = [
        "char", "unsigned char", "short", "int", "unsigned int", "long", "float", "double", "_Bool", "long double",
        "__int128", "void *", "float _Complex", "double _Complex", "enum E1",
    ]

    /// The body of `kind tag { … }` in `header`, braces matched.
    static func body(of declaration: String, in header: String) -> Substring? {
        guard let start = header.range(of: declaration + " {") else { return nil }
        var depth = 0
        var index = start.upperBound
        depth = 1
        while index < header.endIndex, depth > 0 {
            if header[index] == "{" { depth += 1 }
            if header[index] == "}" { depth -= 1 }
            index = header.index(after: index)
        }
        return header[start.upperBound..<index]
    }

    /// Whether a record, or a record it nests, has an _Atomic member.
    static func hasAtomicMember(_ body: Substring, _ header: String, depth: Int = 0) -> Bool {
        if body.contains("_Atomic") { return true }
        guard depth < 32 else { return true }
        for word in Set(body.split(whereSeparator: { !$0.isLetter && !$0.isNumber })) where word.hasPrefix("R") {
            for kind in ["struct", "union"] {
                if let inner = Self.body(of: "\(kind) \(word)", in: header), hasAtomicMember(inner, header, depth: depth + 1) {
                    return true
                }
            }
        }
        return false
    }

    static func make(count: Int, seed: UInt64) -> Corpus {
        var random = SeededGenerator(seed: seed)
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        func pick<T>(_ items: [T]) -> T { items.randomElement(using: &random)! }

        // Large and irregular records from the layout corpus (R0 …), then small ones (S0 …).
        var header = RandomRecords.header(count: 24, seed: seed ^ 0x5EED)
        header += "typedef int (*FP)(int);\n"
        var small: [String] = []
        for index in 0..<48 {
            let isUnion = chance(15)
            var members: [String] = []
            for field in 0..<Int.random(in: 1...4, using: &random) {
                let roll = Int.random(in: 0..<100, using: &random)
                if roll < 55 {
                    members.append("\(pick(memberScalars)) m\(field);")
                } else if roll < 70 {
                    members.append("\(pick(["char", "short", "float", "int", "double"])) m\(field)[\(Int.random(in: 1...4, using: &random))];")
                } else if roll < 82 {
                    members.append("\(pick(["unsigned", "int", "unsigned char", "long"])) m\(field) : \(Int.random(in: 1...8, using: &random));")
                } else if roll < 92, let inner = small.last.map({ _ in pick(small) }) {
                    members.append("\(inner) m\(field);")
                } else if roll < 96 {
                    members.append("int m\(field) __attribute__((aligned(16)));")
                } else {
                    members.append("\(pick(["unsigned", "int"])) : \(Int.random(in: 0...8, using: &random));")
                }
            }
            if !members.contains(where: { !$0.contains(" : ") || $0.contains(" m") }) { members.append("int last;") }
            let attributes = chance(10) ? " __attribute__((packed))" : ""
            let tag = "S\(index)"
            header += "\(isUnion ? "union" : "struct") \(tag) { \(members.joined(separator: " ")) }\(attributes);\n"
            small.append("\(isUnion ? "union" : "struct") \(tag)")
        }
        // Records of the layout corpus, except those with _Atomic members: gcc passes them
        // like their plain types, clang in memory, so no plan can match both (the JIT
        // refuses them; see X86_64SysV.compilerDisagreement).
        let large = (0..<24).compactMap { index -> String? in
            for kind in ["struct", "union"] {
                guard let body = Self.body(of: "\(kind) R\(index)", in: header) else { continue }
                return hasAtomicMember(body, header) ? nil : "\(kind) R\(index)"
            }
            return nil
        }

        func anyType() -> String {
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 45 { return pick(scalars) }
            if roll < 90 { return pick(small) }
            return pick(large)
        }

        var prototypes: [String] = []
        var definitions: [String] = []
        var names: [String] = []
        for index in 0..<count {
            let name = "f\(index)"
            var parameters: [String] = []
            // Runs that use up registers right before an aggregate.
            if chance(30) {
                let run = chance(50) ? ("long", Int.random(in: 3...7, using: &random)) : ("double", Int.random(in: 5...9, using: &random))
                parameters += Array(repeating: run.0, count: run.1)
            }
            for _ in 0..<Int.random(in: 0...(parameters.isEmpty ? 16 : 4), using: &random) { parameters.append(anyType()) }
            let result = chance(10) ? "void" : anyType()
            let list = parameters.isEmpty ? "void" : parameters.joined(separator: ", ")
            prototypes.append("\(result) \(name)(\(list));")
            let named = parameters.isEmpty ? "void" : parameters.enumerated().map { "\($0.element) a\($0.offset)" }.joined(separator: ", ")
            let body = result == "void" ? "{}" : "{ static \(result) zero; return zero; }"
            definitions.append("\(result) \(name)(\(named)) \(body)")
            names.append(name)
        }
        let declarations = header + prototypes.joined(separator: "\n") + "\n"
        return Corpus(header: declarations, source: LayoutProbe.includes + declarations + definitions.joined(separator: "\n") + "\n", functionNames: names)
    }
}

// Seeded random C record definitions for the layout oracle and the parser round trip:
// nesting, arrays, unions, anonymous members, bit-fields of every width (zero-width and
// unnamed too), packed, aligned, #pragma pack, flexible arrays, mixed scalars.

/// SplitMix64: small, fast and identical on every platform, so a seed names a corpus.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum RandomRecords {
    static let preamble = """
        enum E0 { E0A = 0, E0B = 300 };
        enum __attribute__((packed)) E1 { E1A = 1, E1B = 200 };
        enum E2 { E2A = -5, E2B = 5 };

        """

    static let scalarTypes = [
        "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int", "long",
        "unsigned long", "long long", "unsigned long long", "_Bool", "float", "double", "long double",
        "float _Complex", "double _Complex", "__int128", "unsigned __int128", "void *", "const char *",
        "size_t", "int8_t", "uint16_t", "int32_t", "uint64_t", "enum E0", "enum E1", "enum E2",
        "_Atomic int", "_Atomic long", "_Atomic char", "double *",
    ]

    /// Bit-field types with their width in bits.
    static let bitFieldTypes: [(String, Int)] = [
        ("char", 8), ("signed char", 8), ("unsigned char", 8), ("short", 16), ("unsigned short", 16), ("int", 32),
        ("unsigned int", 32), ("long", 64), ("unsigned long", 64), ("long long", 64), ("unsigned long long", 64),
        ("_Bool", 1), ("enum E0", 32), ("enum E1", 8), ("enum E2", 32), ("uint8_t", 8), ("int32_t", 32),
        ("__int128", 128),
    ]

    /// A header of `count` records named R0, R1, ... (later ones may contain earlier ones);
    /// `bigEndianPercent` of those without bit-fields are `scalar_storage_order("big-endian")`.
    public static func header(count: Int, seed: UInt64, bigEndianPercent: Int = 5) -> String {
        var random = SeededGenerator(seed: seed)
        var text = preamble
        var nestable: [String] = []
        for index in 0..<count {
            let (definition, hasFlexibleArray) = record(index, nestable: nestable, bigEndianPercent: bigEndianPercent, random: &random)
            text += definition + "\n"
            if !hasFlexibleArray { nestable.append(definition.contains("union R\(index) {") ? "union R\(index)" : "struct R\(index)") }
        }
        return text
    }

    /// The header without `scalar_storage_order` (clang has none; DWARF layouts and CTF
    /// do not carry it).
    public static func removingByteOrder(_ header: String) -> String {
        header.replacingOccurrences(of: ", scalar_storage_order(\"big-endian\")", with: "")
            .replacingOccurrences(of: "scalar_storage_order(\"big-endian\"), ", with: "")
            .replacingOccurrences(of: " __attribute__((scalar_storage_order(\"big-endian\")))", with: "")
    }

    private static func chance(_ percent: Int, _ random: inout SeededGenerator) -> Bool {
        Int.random(in: 0..<100, using: &random) < percent
    }

    private static func record(
        _ index: Int, nestable: [String], bigEndianPercent: Int, random: inout SeededGenerator
    ) -> (String, Bool) {
        let isUnion = chance(15, &random)
        var names = 0
        func nextName() -> String {
            defer { names += 1 }
            return "f\(names)"
        }
        var lines: [String] = []
        var hasBitFields = false
        let fieldCount = Int.random(in: 1...8, using: &random)
        for position in 0..<fieldCount {
            let roll = position == 0 ? 0 : Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<40:
                lines.append(scalarMember(nextName(), &random))
            case 40..<65:
                hasBitFields = true
                lines.append(bitFieldMember(nextName, &random))
            case 65..<77 where !nestable.isEmpty:
                let inner = nestable.randomElement(using: &random)!
                var member = "\(inner) \(nextName())"
                if chance(20, &random) { member += "[\(Int.random(in: 1...3, using: &random))]" }
                lines.append(member + fieldAttributes(bitField: false, &random) + ";")
            case 77..<87:
                // C11 anonymous struct or union member.
                let kind = chance(50, &random) ? "union" : "struct"
                var inner: [String] = []
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    if chance(30, &random) {
                        hasBitFields = true
                        inner.append(bitFieldMember(nextName, &random))
                    } else {
                        inner.append(scalarMember(nextName(), &random))
                    }
                }
                lines.append("\(kind) { \(inner.joined(separator: " ")) };")
            case 87..<93:
                let name = nextName()
                lines.append("struct { \(scalarMember(nextName(), &random)) \(scalarMember(nextName(), &random)) } \(name);")
            case 93..<96:
                lines.append("int (*\(nextName()))(int, double);")
            default:
                lines.append(scalarMember(nextName(), &random))
            }
        }
        var hasFlexibleArray = false
        if !isUnion && chance(6, &random) {
            let element = ["char", "int", "double", "short", "long double"].randomElement(using: &random)!
            lines.append("\(element) \(nextName())[];")
            hasFlexibleArray = true
        }
        var attributes: [String] = []
        if chance(12, &random) { attributes.append("packed") }
        if chance(10, &random) { attributes.append("aligned(\([1, 2, 4, 8, 16, 32].randomElement(using: &random)!))") }
        if !hasBitFields && chance(bigEndianPercent, &random) { attributes.append("scalar_storage_order(\"big-endian\")") }
        var text = "\(isUnion ? "union" : "struct") R\(index) {\n    " + lines.joined(separator: "\n    ") + "\n}"
        if !attributes.isEmpty { text += " __attribute__((\(attributes.joined(separator: ", "))))" }
        text += ";"
        if chance(10, &random) {
            text = "#pragma pack(push, \([1, 2, 4, 8].randomElement(using: &random)!))\n\(text)\n#pragma pack(pop)"
        }
        return (text, hasFlexibleArray)
    }

    private static func scalarMember(_ name: String, _ random: inout SeededGenerator) -> String {
        var declarator = name
        if chance(15, &random) { declarator += "[\(Int.random(in: 1...4, using: &random))]" }
        return "\(scalarTypes.randomElement(using: &random)!) \(declarator)" + fieldAttributes(bitField: false, &random) + ";"
    }

    private static func bitFieldMember(_ nextName: () -> String, _ random: inout SeededGenerator) -> String {
        let (type, bits) = bitFieldTypes.randomElement(using: &random)!
        let roll = Int.random(in: 0..<100, using: &random)
        if roll < 10 { return "\(type) : 0;" }
        let width = Int.random(in: 1...bits, using: &random)
        if roll < 20 { return "\(type) : \(width);" }
        return "\(type) \(nextName()) : \(width)" + fieldAttributes(bitField: true, &random) + ";"
    }

    private static func fieldAttributes(bitField: Bool, _ random: inout SeededGenerator) -> String {
        var words: [String] = []
        if chance(8, &random) { words.append("packed") }
        if !bitField && chance(8, &random) { words.append("aligned(\([1, 2, 4, 8, 16, 32].randomElement(using: &random)!))") }
        return words.isEmpty ? "" : " __attribute__((\(words.joined(separator: ", "))))"
    }
}

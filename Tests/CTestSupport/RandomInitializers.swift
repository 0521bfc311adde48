// Seeded random values for every member of a C object, written as one designated
// initializer gcc compiles (`{.f0 = 5, .f1[2].f0 = -3, .f2 = "ab"}`), together with the
// value `callstub view --json` should decode at each member's path. Values stay where
// C literals and the view's JSON are exact: integers within ±2⁶², floating values in
// quarters, pointers as (void *) addresses, char arrays as strings of letters.

import CTypeModel

public enum RandomInitializers {
    /// One member's initializer text and the JSON value expected for it.
    public struct Member {
        public var path: String
        public var text: String
        /// Int, Double, String (a pointer's `0x…`), [Any] or ["real": …, "imaginary": …].
        public var expected: Any
    }

    /// The first `count` tagged records of `declarations` (a generated header's, in order)
    /// small enough to initialize in full: at most 64 members and 4 KB (nesting arrays of
    /// records makes a few of many thousand members). `asMembers` also leaves out those
    /// ending in a flexible array member, which cannot be a member of another struct.
    public static func initializableRecords(
        _ declarations: [CDeclaration], count: Int, asMembers: Bool = false
    ) throws -> [(name: String, type: CQualType)] {
        var chosen: [(name: String, type: CQualType)] = []
        for case .record(let record) in declarations where chosen.count < count {
            guard let tag = record.tag, let definition = record.definition, definition.layout.size <= 4096 else { continue }
            if asMembers, case .array(_, nil)? = definition.fields.last?.type.resolved.type { continue }
            let type = CQualType(.record(record))
            guard try type.layoutRegions().count <= 64 else { continue }
            chosen.append(("\(record.kind.rawValue) \(tag)", type))
        }
        return chosen
    }

    /// An initializer for an object of `type`: each member the regions list (a union's
    /// first member only), with a random value.
    public static func members(of type: CQualType, random: inout SeededGenerator) throws -> [Member] {
        var members: [Member] = []
        for region in try type.layoutRegions() where region.kind == .member && region.alternativeOf == nil {
            guard let memberType = region.type else { continue }
            let (text, expected) = value(for: memberType, bitWidth: region.isBitField ? region.sizeInBits : nil, random: &random)
            members.append(Member(path: region.path, text: text, expected: expected))
        }
        return members
    }

    /// The designated initializer of `members`.
    public static func text(_ members: [Member]) -> String {
        "{" + members.map { ($0.path.hasPrefix("[") ? "" : ".") + $0.path + " = " + $0.text }.joined(separator: ", ") + "}"
    }

    static func value(for type: CQualType, bitWidth: Int?, random: inout SeededGenerator) -> (String, Any) {
        let resolved = type.resolved
        switch resolved.type {
        case .array(let element, let count):
            let count = count ?? 0
            // (Not `_Atomic char`: gcc 12 does not finish compiling one from a string.)
            if element.resolved.type == .integer(.char), !element.resolved.qualifiers.contains(.atomic) {
                let letters = (0..<Int.random(in: 0...count, using: &random)).map { _ in UInt8.random(in: 97...122, using: &random) }
                let text = "\"" + String(decoding: letters, as: UTF8.self) + "\""
                return (text, letters.map { Int($0) } + [Int](repeating: 0, count: count - letters.count))
            }
            var texts: [String] = []
            var values: [Any] = []
            for _ in 0..<count {
                let (text, expected) = value(for: element, bitWidth: nil, random: &random)
                texts.append(text)
                values.append(expected)
            }
            return ("{" + texts.joined(separator: ", ") + "}", values)
        case .floating:
            let number = Double(Int.random(in: -4000...4000, using: &random)) / 4
            return ("\(number)", number)
        case .complex:
            let number = Double(Int.random(in: -4000...4000, using: &random)) / 4
            return ("\(number)", ["real": number, "imaginary": 0.0])
        case .pointer:
            let address = Int.random(in: 1...0xfffff, using: &random) * 16
            let text = "0x" + String(address, radix: 16)
            return ("(void *)" + text, text)
        default:
            guard let kind = resolved.type.integerKind else { return ("0", 0) }
            if kind == .bool {
                let bit = Int.random(in: 0...1, using: &random)
                return ("\(bit)", bit)
            }
            let bits = min(bitWidth ?? kind.size * 8, 63)
            let number: Int
            if kind.isSigned {
                let limit = bits >= 63 ? Int(1) << 62 : Int(1) << (bits - 1)
                number = Int.random(in: -limit...(limit - 1), using: &random)
            } else {
                number = Int.random(in: 0...(bits >= 63 ? Int(1) << 62 : (Int(1) << bits) - 1), using: &random)
            }
            return ("\(number)", number)
        }
    }
}

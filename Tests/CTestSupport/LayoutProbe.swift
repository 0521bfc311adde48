// Builds, from a parsed model, a C program that prints what the compiler thinks of each
// record (sizeof, _Alignof, every named member's bit offset and, for bit-fields, width),
// and the lines the layout engine expects that program to print.

import CTypeModel

public enum LayoutProbe {
    /// What the tested header may use without declaring: CScope.standard's names.
    public static let includes = "#include <stdint.h>\n#include <stddef.h>\n#include <sys/types.h>\n"

    public struct Probe: Sendable {
        /// A C program to append to the header it describes.
        public var program: String
        /// What the program prints, according to the layout engine.
        public var expected: [String]
    }

    /// A probe over every tagged record in `records`.
    public static func make(for records: [CRecord]) -> Probe {
        make(named: records.compactMap { record in
            record.tag.map { (record, "\(record.kind.rawValue) \($0)", $0, nil) }
        })
    }

    /// A probe over records spelled as C names them (`struct tm`, or a typedef name for
    /// an anonymous record); `tag` labels the printed lines; `alignment`, when given, is
    /// the spelled type's own (a typedef with `aligned(N)`). Member names are `#undef`ined
    /// first: headers define macros named like members (libxml2's globals).
    public static func make(named records: [(record: CRecord, type: String, tag: String, alignment: Int?)]) -> Probe {
        var body: [String] = []
        var expected: [String] = []
        var memberNames: Set<String> = []
        for (record, type, tag, alignment) in records {
            guard let definition = record.definition else { continue }
            memberNames.formUnion(leaves(of: definition, base: 0).map(\.name))
            body.append("    printf(\"\(tag) %zu %zu\\n\", sizeof(\(type)), _Alignof(\(type)));")
            expected.append("\(tag) \(definition.layout.size) \(alignment ?? definition.layout.alignment)")
            for leaf in leaves(of: definition, base: 0) {
                if let width = leaf.bitWidth {
                    body.append("    { \(type) s; memset(&s, 0, sizeof s); s.\(leaf.name) = -1; int w; int o = scan((const unsigned char *)&s, sizeof s, &w); printf(\"\(tag).\(leaf.name) %d %d\\n\", o, w); }")
                    expected.append("\(tag).\(leaf.name) \(leaf.offset) \(width)")
                } else {
                    body.append("    printf(\"\(tag).\(leaf.name) %zu\\n\", offsetof(\(type), \(leaf.name)) * 8);")
                    expected.append("\(tag).\(leaf.name) \(leaf.offset)")
                }
            }
        }
        let undefinitions = memberNames.sorted().map { "#undef \($0)" }.joined(separator: "\n")
        let program = """

            \(undefinitions)
            #include <stdio.h>
            #include <string.h>
            #include <stddef.h>
            /* The first set bit and the number of set bits: where a bit-field set to all ones lies. */
            static int scan(const unsigned char *bytes, size_t size, int *width) {
                int first = -1, count = 0;
                for (size_t i = 0; i < size * 8; i++) {
                    if (bytes[i / 8] >> (i % 8) & 1) { if (first < 0) first = (int)i; count++; }
                }
                *width = count;
                return first;
            }
            int main(void) {
            \(body.joined(separator: "\n"))
                return 0;
            }

            """
        return Probe(program: program, expected: expected)
    }

    struct Leaf {
        var name: String
        var offset: Int
        var bitWidth: Int?
    }

    /// Named members, with the members of anonymous structs and unions reached through them.
    static func leaves(of definition: CRecordDefinition, base: Int) -> [Leaf] {
        var result: [Leaf] = []
        for (field, member) in zip(definition.fields, definition.layout.members) {
            let offset = base + member.offsetInBits
            if field.isAnonymousRecord, case .record(let inner) = field.type.type.resolved, let innerDefinition = inner.definition {
                result += leaves(of: innerDefinition, base: offset)
            } else if let name = field.name {
                result.append(Leaf(name: name, offset: offset, bitWidth: field.bitWidth))
            }
        }
        return result
    }
}

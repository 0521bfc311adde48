// Records compared by what a type-info source can tell: every named member's place.

import CTypeModel

/// Every named member at any depth: path, bit offset, bit size; and each record's size.
/// Alignment is compared separately: DWARF and CTF do not record `packed` or `#pragma pack`, so
/// a packed record whose offsets are natural cannot be told from an unpacked one.
public func leaves(_ record: CRecord, base: Int = 0, prefix: String = "") -> [String] {
    guard let definition = record.definition else { return ["\(prefix)<incomplete>"] }
    var result = ["\(prefix)size \(definition.layout.size)"]
    for (field, member) in zip(definition.fields, definition.layout.members) {
        let offset = base + member.offsetInBits
        if let name = field.name {
            result.append("\(prefix)\(name) \(offset) \(member.sizeInBits)")
            if field.bitWidth == nil, case .record(let inner) = field.type.type.resolved {
                result += leaves(inner, base: offset, prefix: "\(prefix)\(name).")
            }
        } else if field.isAnonymousRecord, case .record(let inner) = field.type.type.resolved {
            result += leaves(inner, base: offset, prefix: prefix).dropFirst()
        }
    }
    return result
}

/// A function `use_TAG(struct TAG *)` per tagged record of `declarations`, so that a
/// compiler emits each record's type info; returns the tags and the C source.
public func recordUsers(_ declarations: [CDeclaration]) -> (tags: [String], source: String) {
    var tags: [String] = []
    var source = ""
    for case .record(let record) in declarations {
        guard let tag = record.tag else { continue }
        tags.append(tag)
        source += "void use_\(tag)(\(record.kind.rawValue) \(tag) *p) {}\n"
    }
    return (tags, source)
}

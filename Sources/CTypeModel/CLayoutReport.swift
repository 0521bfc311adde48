// A record's layout as text, in the style of pahole: each member with its offset and
// size, holes and trailing padding called out, and a summary. Anonymous struct and union
// members are expanded in place with offsets from the start of the outer record.
//
//   struct S {
//       char    c;          /*     0     1 */
//       int     x : 3;      /*   1:0    3b */
//       /* XXX 5 bits hole */
//       double  d;          /*     2     8 */
//
//       /* size: 10, alignment: 1, members: 3 */
//       /* sum members: 9 bytes 3 bits, holes: 0, bit holes: 1 (5 bits), padding: 0 */
//   } __attribute__((packed));
//
// Offsets are in bytes; a bit-field's is `byte:bit` (bit 0 is the least significant
// bit of the byte, as on x86-64) and its size is its width in bits (`3b`).

/// Renders the layout of records as pahole-style tables.
public struct CLayoutReport: Sendable {
    /// Width of the member column before the offset comment.
    public var columnWidth = 40

    public init() {}

    /// The table for `record`, or a one-line note if it is not defined. `title` replaces
    /// the record's own name in the first line (e.g. `typedef div_t` for an anonymous struct).
    public func render(_ record: CRecord, title: String? = nil) -> String {
        let heading = title ?? record.description
        guard let definition = record.definition else { return "\(heading); /* incomplete */\n" }
        var lines: [String] = ["\(heading) {"]
        var summary = Summary()
        members(of: definition, kind: record.kind, base: 0, depth: 1, lines: &lines, summary: &summary)
        let layout = definition.layout
        let indent = String(repeating: " ", count: 4)
        let usedBits = layout.members.map { $0.offsetInBits + $0.sizeInBits }.max() ?? 0
        let paddingBits = layout.size * 8 - usedBits
        lines.append("")
        lines.append(indent + "/* size: \(layout.size), alignment: \(layout.alignment), members: \(definition.fields.count) */")
        var details = ["sum members: \(Self.bits(summary.memberBits))", "holes: \(summary.holes)"]
        if summary.holes > 0 { details.append("sum holes: \(Self.bits(summary.holeBits))") }
        if summary.bitHoles > 0 { details.append("bit holes: \(summary.bitHoles) (\(Self.bits(summary.bitHoleBits)))") }
        details.append("padding: \(Self.bits(paddingBits))")
        lines.append(indent + "/* " + details.joined(separator: ", ") + " */")
        var attributes: [String] = []
        if definition.attributes.isPacked { attributes.append("packed") }
        if let alignment = definition.attributes.alignment { attributes.append("aligned(\(alignment))") }
        if let order = definition.attributes.scalarStorageOrder { attributes.append("scalar_storage_order(\"\(order == .big ? "big-endian" : "little-endian")\")") }
        var closing = "}"
        if !attributes.isEmpty { closing += " __attribute__((" + attributes.joined(separator: ", ") + "))" }
        if let pack = definition.attributes.maxFieldAlignment { closing += " /* #pragma pack(\(pack)) */" }
        lines.append(closing + ";")
        return lines.joined(separator: "\n") + "\n"
    }

    private struct Summary {
        var memberBits = 0
        var holes = 0
        var holeBits = 0
        var bitHoles = 0
        var bitHoleBits = 0
    }

    private func members(
        of definition: CRecordDefinition, kind: CRecord.Kind, base: Int, depth: Int, lines: inout [String], summary: inout Summary
    ) {
        let indent = String(repeating: "    ", count: depth)
        var end: Int? = nil  // end bit of the previous member (structs only)
        for (field, member) in zip(definition.fields, definition.layout.members) {
            let start = base + member.offsetInBits
            if kind == .struct, let previous = end, start > previous {
                let gap = start - previous
                if gap % 8 == 0 && previous % 8 == 0 {
                    lines.append(indent + "/* XXX \(Self.bits(gap)) hole */")
                    summary.holes += 1
                    summary.holeBits += gap
                } else {
                    lines.append(indent + "/* XXX \(Self.bits(gap)) hole */")
                    summary.bitHoles += 1
                    summary.bitHoleBits += gap
                }
            }
            if field.isAnonymousRecord, case .record(let inner) = field.type.type.resolved, let innerDefinition = inner.definition {
                lines.append(indent + inner.kind.rawValue + " {")
                var nested = Summary()
                members(of: innerDefinition, kind: inner.kind, base: start, depth: depth + 1, lines: &lines, summary: &nested)
                lines.append(pad(indent + "};", comment: offsetComment(start: start, member: member, field: field)))
            } else {
                var text = CPrinter().declaration(of: field.type, declarator: field.name ?? "")
                if let width = field.bitWidth { text += " : \(width)" }
                if let order = CPrinter.scalarByteOrder(of: field.type) { text += " /* \(order.rawValue)-endian */" }
                lines.append(pad(indent + text + ";", comment: offsetComment(start: start, member: member, field: field)))
            }
            if field.bitWidth != 0 { summary.memberBits += member.sizeInBits }
            if kind == .struct { end = start + member.sizeInBits }
        }
    }

    private func offsetComment(start: Int, member: CMemberLayout, field: CField) -> String {
        if field.isBitField {
            let offset = "\(start / 8):\(start % 8)"
            return "/* " + offset.leftPadded(to: 7) + " " + "\(member.sizeInBits)b".leftPadded(to: 5) + " */"
        }
        return "/* " + String(start / 8).leftPadded(to: 7) + " " + String(member.sizeInBits / 8).leftPadded(to: 5) + " */"
    }

    private func pad(_ text: String, comment: String) -> String {
        let width = max(columnWidth, text.count + 1)
        return text.padding(to: width) + comment
    }

    private static func bits(_ count: Int) -> String {
        let bytes = count / 8
        let bits = count % 8
        switch (bytes, bits) {
        case (_, 0): return bytes == 1 ? "1 byte" : "\(bytes) bytes"
        case (0, _): return bits == 1 ? "1 bit" : "\(bits) bits"
        default: return "\(bytes) bytes \(bits) bits"
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

// Damage to a shared object's debug info, for the fuzz tests of issue 20: where each
// attribute value of each DIE lies in the file (read from `readelf --debug-dump=info`),
// the edge patterns written over one, and seeded random damage to the debug sections and
// the ELF headers.

import Foundation

/// A shared object's bytes and the places in them that damage aims at.
public struct DamageTarget: Sendable {
    /// One place in `.debug_info`: a unit header field, a DIE's abbreviation code, or an
    /// attribute value. `offset` is the file offset.
    public struct Field: Sendable {
        public var offset: Int
        public var size: Int
        /// What it is, as readelf names it: `<0x2e> DW_AT_byte_size`.
        public var label: String
        /// The value a reference or offset takes to point just past its section's end.
        public var pastEnd: UInt64
    }

    public let path: String
    public let bytes: Data
    /// Sections by name: file offset and size, from `readelf -SW`.
    public let sections: [String: (offset: Int, size: Int)]
    public let fields: [Field]

    public init(path: String) throws {
        self.path = path
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        sections = try Self.sections(of: path)
        guard let info = sections[".debug_info"] else { throw DamageTargetError.noDebugInfo(path) }
        let dump = try run("/usr/bin/readelf", ["--debug-dump=info", path])
        guard dump.status == 0 else { throw DamageTargetError.readelf(dump.output) }
        fields = Self.fields(dump.output, info: info, sections: sections)
    }

    /// File offset and size of every section, from `readelf -SW`
    /// (`[ 1] .note.gnu.build-id NOTE  0000000000000238 000238 000024 00   A  0   0  4`).
    public static func sections(of path: String) throws -> [String: (offset: Int, size: Int)] {
        var result: [String: (offset: Int, size: Int)] = [:]
        for line in try run("/usr/bin/readelf", ["-SW", path]).output.split(separator: "\n") {
            guard let close = line.firstIndex(of: "]"), line.contains("[") else { continue }
            let fields = line[line.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 4, let offset = Int(fields[3], radix: 16), let size = Int(fields[4], radix: 16) else {
                continue
            }
            result[String(fields[0])] = (offset, size)
        }
        return result
    }

    /// The marks readelf prints (unit headers, DIEs, attributes), each sized up to the next.
    static func fields(
        _ dump: String, info: (offset: Int, size: Int), sections: [String: (offset: Int, size: Int)]
    ) -> [Field] {
        var marks: [(offset: Int, size: Int?, label: String, pastEnd: UInt64)] = []
        var unitStart = 0
        var unitEnd = info.size
        var version = 0
        func size(of name: String) -> UInt64 { UInt64(sections[name]?.size ?? info.size) + 1 }
        for line in dump.split(separator: "\n", omittingEmptySubsequences: true) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Compilation Unit @ offset ") {
                let number = text.dropFirst("Compilation Unit @ offset ".count).trimmingCharacters(in: [":"])
                unitStart = number.hasPrefix("0x") ? Int(number.dropFirst(2), radix: 16) ?? 0 : Int(number) ?? 0
                version = 0
            } else if text.hasPrefix("Length:"), let length = text.split(separator: " ").dropFirst().first,
                let value = Int(length.dropFirst(2), radix: 16)
            {
                unitEnd = unitStart + 4 + value
                marks.append((unitStart, 4, "unit @\(unitStart) unit_length", UInt64(info.size + 1)))
            } else if text.hasPrefix("Version:"), let value = Int(text.split(separator: " ").last ?? "") {
                version = value
                marks.append((unitStart + 4, 2, "unit @\(unitStart) version", 0xFFFF))
                let abbreviations = size(of: ".debug_abbrev")
                if version >= 5 {
                    marks.append((unitStart + 6, 1, "unit @\(unitStart) unit_type", 0xFF))
                    marks.append((unitStart + 7, 1, "unit @\(unitStart) address_size", 0xFF))
                    marks.append((unitStart + 8, 4, "unit @\(unitStart) debug_abbrev_offset", abbreviations))
                } else {
                    marks.append((unitStart + 6, 4, "unit @\(unitStart) debug_abbrev_offset", abbreviations))
                    marks.append((unitStart + 10, 1, "unit @\(unitStart) address_size", 0xFF))
                }
            } else if text.hasPrefix("<"), let close = text.firstIndex(of: ">") {
                // ` <1><2e>: Abbrev Number: 15 (DW_TAG_base_type)` or `<2f>   DW_AT_byte_size   : 8`.
                let rest = text[text.index(after: close)...]
                if rest.hasPrefix("<"), let end = rest.firstIndex(of: ">"),
                    let offset = Int(rest[rest.index(after: rest.startIndex)..<end], radix: 16)
                {
                    marks.append((offset, nil, "<0x\(String(offset, radix: 16))> abbreviation code", UInt64(0xFFFF)))
                } else if let offset = Int(text[text.index(after: text.startIndex)..<close], radix: 16) {
                    let name = rest.split(separator: " ").first.map(String.init) ?? "?"
                    let pastEnd: UInt64 =
                        if text.contains("indirect line string") { size(of: ".debug_line_str") }
                        else if text.contains("indirect string") { size(of: ".debug_str") }
                        else if name == "DW_AT_stmt_list" { size(of: ".debug_line") }
                        else if name == "DW_AT_ranges" { size(of: version >= 5 ? ".debug_rnglists" : ".debug_ranges") }
                        else if name == "DW_AT_location" { size(of: version >= 5 ? ".debug_loclists" : ".debug_loc") }
                        else { UInt64(unitEnd - unitStart + 1) }  // a reference: CU-relative
                    marks.append((offset, nil, "<0x\(String(offset, radix: 16))> \(name)", pastEnd))
                }
            }
        }
        marks.sort { $0.offset < $1.offset }
        var fields: [Field] = []
        for (index, mark) in marks.enumerated() {
            let next = index + 1 < marks.count ? marks[index + 1].offset : info.size
            let size = mark.size ?? (next - mark.offset)
            // Implicit constants and flag_present hold no bytes: nothing to overwrite.
            guard size > 0, mark.offset + size <= info.size else { continue }
            fields.append(Field(offset: info.offset + mark.offset, size: size, label: mark.label, pastEnd: mark.pastEnd))
        }
        return fields
    }
}

public enum DamageTargetError: Error {
    case noDebugInfo(String)
    case readelf(String)
}

/// The values written over a field, little-endian, cut to the field's size.
public enum EdgePattern: String, CaseIterable, Sendable {
    case zero, allOnes = "all-ones", signBit = "0x80000000", pastEnd = "past-the-end"

    /// The field's new bytes.
    public func bytes(for field: DamageTarget.Field) -> [UInt8] {
        switch self {
        case .zero: return Array(repeating: 0, count: field.size)
        case .allOnes: return Array(repeating: 0xFF, count: field.size)
        case .signBit:
            // The top bit of the first four bytes' value (for a 1-byte field, 0x80).
            var bytes = Array(repeating: UInt8(0), count: field.size)
            bytes[min(field.size, 4) - 1] = 0x80
            return bytes
        case .pastEnd:
            let fits = field.size >= 8 || field.pastEnd < (UInt64(1) << (8 * field.size))
            let value = fits ? field.pastEnd : UInt64.max
            return (0..<field.size).map { $0 < 8 ? UInt8(truncatingIfNeeded: value >> (8 * $0)) : 0 }
        }
    }
}

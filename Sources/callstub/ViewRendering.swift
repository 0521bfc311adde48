// What `callstub view` shows, in three forms from one model: text (a hex dump with a key
// line under each row and a legend; ANSI colours on request), a self-contained HTML page,
// and JSON. Values print as C initializers do, so the last line reads back with encode.

import CallStub
import Foundation

/// The objects to show: their regions, each region's key, and each object's values.
struct ViewedObjects {
    struct Object {
        var index: Int
        /// Where the object starts in the input.
        var offset: Int
        var bytes: [UInt8]
        /// Per region: the decoded value and its C text (nil for padding).
        var values: [(value: CValue, text: String)?]
        /// The object as a C initializer (each union as its first member).
        var initializer: String
    }

    let type: CQualType
    let size: Int
    let alignment: Int
    let regions: [CLayoutRegion]
    /// Per region: `A`…`Z`, `AA`…; `.` for padding.
    let keys: [String]
    /// Per region: its colour number (an index into the palettes), or nil for padding.
    let colors: [Int?]
    let objects: [Object]

    init(type: CQualType, bytes: [UInt8], offset: Int, count: Int) throws {
        let layout = try type.layout()
        self.type = type
        size = layout.size
        alignment = layout.alignment
        let regions = try type.layoutRegions()
        self.regions = regions
        var keys: [String] = []
        var colors: [Int?] = []
        var next = 0
        for region in regions {
            guard region.kind == .member else {
                keys.append(".")
                colors.append(nil)
                continue
            }
            keys.append(Self.key(next))
            colors.append(next)
            next += 1
        }
        self.keys = keys
        self.colors = colors
        let needed = offset + count * layout.size
        guard needed <= bytes.count else {
            throw ViewError(
                "\(count == 1 ? type.description : "\(count) × \(type)") needs bytes \(offset)..<\(needed), the input has \(bytes.count)")
        }
        var objects: [Object] = []
        for index in 0..<count {
            let start = offset + index * layout.size
            let slice = Array(bytes[start..<(start + layout.size)])
            var values: [(CValue, String)?] = []
            try slice.withUnsafeBytes { raw throws in
                let view = try CRecordView(type, bytes: raw)
                for region in regions {
                    guard region.kind == .member, let memberType = region.type else {
                        values.append(nil)
                        continue
                    }
                    let value = try view.field(region.path)
                    values.append((value, ViewRendering.cText(value, type: memberType)))
                }
            }
            var initializer: [String] = []
            for (region, value) in zip(regions, values) where region.kind == .member && region.alternativeOf == nil {
                guard let value else { continue }
                if region.path.isEmpty { initializer.append(value.1) } else {
                    initializer.append((region.path.hasPrefix("[") ? "" : ".") + region.path + " = " + value.1)
                }
            }
            let text = regions.first?.path.isEmpty == true && regions.count == 1
                ? initializer.joined() : "{" + initializer.joined(separator: ", ") + "}"
            objects.append(Object(index: index, offset: start, bytes: slice, values: values, initializer: text))
        }
        self.objects = objects
    }

    /// `A`…`Z`, `AA`…`ZZ`, `AAA`…: a key for every number (bijective base 26).
    static func key(_ number: Int) -> String {
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var key = ""
        var rest = number + 1
        while rest > 0 {
            rest -= 1
            key.insert(letters[rest % 26], at: key.startIndex)
            rest /= 26
        }
        return key
    }

    /// The region each byte of an object is shown as: the first member touching it, else
    /// padding.
    var regionOfByte: [Int] {
        var owner = [Int](repeating: -1, count: size)
        for (index, region) in regions.enumerated() where region.kind == .member {
            for byte in region.byteRange where byte < size && owner[byte] < 0 { owner[byte] = index }
        }
        for (index, region) in regions.enumerated() where region.kind == .padding {
            for byte in region.byteRange where byte < size && owner[byte] < 0 { owner[byte] = index }
        }
        return owner
    }

    /// The legend's columns for a region (value aside).
    func columns(_ index: Int) -> (offset: String, size: String, bits: String, order: String, align: String, member: String, type: String) {
        let region = regions[index]
        let size = region.isPartialBytes ? "\(region.sizeInBits) bits" : "\(region.sizeInBits / 8)"
        let bits = region.isPartialBytes
            ? "\(region.offsetInBits % 8)–\(region.offsetInBits % 8 + region.sizeInBits - 1)" : ""
        guard region.kind == .member, let type = region.type else {
            return ("\(region.offsetInBytes)", size, bits, "", "", "(padding)", "")
        }
        let order = region.scalarSize == 1 ? "-" : region.byteOrder.rawValue
        var member = region.path.isEmpty ? "(the object)" : region.path
        if let first = region.alternativeOf { member += " (union: the bytes of \(first))" }
        return ("\(region.offsetInBytes)", size, bits, order, "\(region.alignment)", member, type.description)
    }
}

enum ViewRendering {
    // MARK: Values as C

    /// A value as C writes it in an initializer: a `char` array as a string literal when
    /// its bytes are text, an enum by its enumerator, the rest as `CValue` prints it.
    static func cText(_ value: CValue, type: CQualType) -> String {
        let resolved = type.resolved
        if case .array(let element, _) = resolved.type, element.resolved.type == .integer(.char),
            !element.resolved.qualifiers.contains(.atomic), case .array(let items) = value,
            let text = stringLiteral(items)
        {
            return text
        }
        if case .enumeration(let enumeration) = resolved.type, let definition = enumeration.definition {
            let number: Int128? = switch value {
            case .int(let number): Int128(number)
            case .uint(let number): Int128(number)
            default: nil
            }
            if let number, let named = definition.enumerators.first(where: { $0.value == number }) { return named.name }
        }
        return value.description
    }

    /// `"33t\0"`: the bytes up to the last non-zero one, then `\0` if zeros follow (the
    /// rest is zero, as C fills it), in C's escapes; nil when a byte is not ASCII (a
    /// literal's text is UTF-8, so it would not read back as the same bytes).
    static func stringLiteral(_ items: [CValue]) -> String? {
        var bytes: [UInt8] = []
        for item in items {
            switch item {
            case .int(let number) where number >= 0 && number < 0x80: bytes.append(UInt8(number))
            case .uint(let number) where number < 0x80: bytes.append(UInt8(number))
            default: return nil
            }
        }
        let end = (bytes.lastIndex { $0 != 0 } ?? -1) + 1
        let text = CValue.string(String(decoding: bytes[..<end], as: UTF8.self)).description
        return end < bytes.count ? String(text.dropLast()) + "\\0\"" : text
    }

    // MARK: Text

    /// ANSI foreground colours for members; padding is dim.
    static let ansiColors = ["31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"]

    static func text(_ viewed: ViewedObjects, colored: Bool) -> String {
        func paint(_ text: String, _ color: Int?) -> String {
            guard colored else { return text }
            let code = color.map { ansiColors[$0 % ansiColors.count] } ?? "2"
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        let owner = viewed.regionOfByte
        var out = ""
        for object in viewed.objects {
            var heading = "\(viewed.type): \(viewed.size) bytes, alignment \(viewed.alignment)"
            if viewed.objects.count > 1 || object.offset != 0 { heading = "[\(object.index)] at offset \(object.offset): " + heading }
            out += heading + "\n"
            out += "          " + (0..<16).map { String(format: "+%x", $0) }.joined(separator: " ") + "\n"
            for row in stride(from: 0, to: viewed.size, by: 16) {
                let bytes = object.bytes[row..<min(row + 16, viewed.size)]
                var hexes: [String] = []
                var keyCells: [String] = []
                var ascii = ""
                for (column, byte) in bytes.enumerated() {
                    let region = owner[row + column]
                    let color = region >= 0 ? viewed.colors[region] : nil
                    hexes.append(paint(String(format: "%02x", byte), color))
                    let key = region >= 0 ? viewed.keys[region] : "."
                    keyCells.append(paint(key.padding(toLength: 2, withPad: " ", startingAt: 0), color))
                    ascii += byte >= 0x20 && byte < 0x7f ? String(UnicodeScalar(byte)) : "."
                }
                let missing = 16 - bytes.count
                out += String(format: "%08x  ", object.offset + row) + hexes.joined(separator: " ")
                    + String(repeating: "   ", count: missing) + "  " + ascii + "\n"
                var keyLine = "          " + keyCells.joined(separator: " ")
                while keyLine.hasSuffix(" ") { keyLine.removeLast() }
                out += keyLine + "\n"
            }
            out += "\n"
            var rows: [[String]] = [["", "offset", "size", "bits", "order", "align", "member", "type", "value"]]
            var rowColors: [Int?] = [nil]
            for index in viewed.regions.indices {
                let c = viewed.columns(index)
                rows.append([viewed.keys[index], c.offset, c.size, c.bits, c.order, c.align, c.member, c.type, object.values[index]?.text ?? ""])
                rowColors.append(viewed.colors[index])
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for (number, row) in rows.enumerated() {
                var line = ""
                for (column, cell) in row.enumerated() {
                    let padded = column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) + "  "
                    line += column == 0 && number > 0 ? paint(padded, rowColors[number]) : padded
                }
                while line.hasSuffix(" ") { line.removeLast() }
                out += line + "\n"
            }
            out += "\ninitializer: \(object.initializer)\n"
            if object.index + 1 < viewed.objects.count { out += "\n" }
        }
        return out
    }

    /// Bytes as `00 00 00 6c …` on one line.
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    /// Bytes as `00 00 00 6c …`, 16 to a line.
    static func hexLines(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 16).map { hex(bytes[$0..<min($0 + 16, bytes.count)]) }.joined(separator: "\n")
    }

    // MARK: JSON

    static func json(_ viewed: ViewedObjects) throws -> String {
        var objects: [[String: Any]] = []
        for object in viewed.objects {
            var regions: [[String: Any]] = []
            for (index, region) in viewed.regions.enumerated() {
                var entry: [String: Any] = [
                    "kind": region.kind.rawValue, "offset": region.offsetInBytes, "bitOffset": region.offsetInBits,
                    "bitSize": region.sizeInBits, "bytes": hex(region.byteRange.map { object.bytes[$0] }),
                    "size": region.isPartialBytes ? NSNull() : region.sizeInBits / 8 as Any,
                ]
                if region.kind == .member, let type = region.type, let value = object.values[index] {
                    entry["key"] = viewed.keys[index]
                    entry["path"] = region.path
                    entry["type"] = type.description
                    entry["bitField"] = region.isBitField
                    entry["byteOrder"] = region.scalarSize == 1 ? NSNull() : region.byteOrder.rawValue as Any
                    entry["alignment"] = region.alignment
                    entry["value"] = Call.json(value.value)
                    entry["text"] = value.text
                    if let first = region.alternativeOf { entry["alternativeOf"] = first }
                }
                regions.append(entry)
            }
            objects.append([
                "index": object.index, "offset": object.offset, "bytes": hex(object.bytes),
                "regions": regions, "initializer": object.initializer,
            ])
        }
        let report: [String: Any] = [
            "type": viewed.type.description, "size": viewed.size, "alignment": viewed.alignment, "objects": objects,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: HTML

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A member's background: hues spread by the golden angle, light enough for black text.
    static func htmlColor(_ color: Int?) -> String {
        guard let color else { return "#eeeeee" }
        return "hsl(\(Int((Double(color) * 137.508).truncatingRemainder(dividingBy: 360))), 75%, 82%)"
    }

    static func html(_ viewed: ViewedObjects) -> String {
        let owner = viewed.regionOfByte
        var body = ""
        for object in viewed.objects {
            body += "<section>\n"
            if viewed.objects.count > 1 || object.offset != 0 { body += "<h2>[\(object.index)] at offset \(object.offset)</h2>\n" }
            body += "<pre class=\"dump\">"
            for row in stride(from: 0, to: viewed.size, by: 16) {
                body += "<span class=\"address\">" + String(format: "%08x", object.offset + row) + "</span>  "
                var ascii = ""
                for column in 0..<16 {
                    guard row + column < viewed.size else {
                        body += "   "
                        continue
                    }
                    let byte = object.bytes[row + column]
                    let region = owner[row + column]
                    let color = region >= 0 ? viewed.colors[region] : nil
                    let key = region >= 0 ? viewed.keys[region] : "."
                    let label = region >= 0 && viewed.regions[region].kind == .member ? viewed.regions[region].path : "padding"
                    body += "<span class=\"byte\" style=\"background:\(htmlColor(color))\" title=\"\(escape(key + " " + label))\">"
                        + String(format: "%02x", byte) + "</span> "
                    ascii += byte >= 0x20 && byte < 0x7f ? escape(String(UnicodeScalar(byte))) : "."
                }
                body += " <span class=\"ascii\">\(ascii)</span>\n"
            }
            body += "</pre>\n<table>\n<tr><th>key</th><th>offset</th><th>size</th><th>bits</th><th>order</th><th>align</th>"
                + "<th>member</th><th>type</th><th>value</th></tr>\n"
            for index in viewed.regions.indices {
                let c = viewed.columns(index)
                let cells = [c.offset, c.size, c.bits, c.order, c.align, c.member, c.type, object.values[index]?.text ?? ""]
                body += "<tr><td class=\"key\" style=\"background:\(htmlColor(viewed.colors[index]))\">\(escape(viewed.keys[index]))</td>"
                    + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
            }
            body += "</table>\n<p class=\"initializer\">initializer: <code>\(escape(object.initializer))</code></p>\n</section>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(viewed.type.description)) — callstub view</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            h1 small { font-size: 60%; font-weight: normal; color: #666; }
            pre.dump { font: 15px/1.6 ui-monospace, monospace; background: #fafafa; padding: 1em; border: 1px solid #ddd; display: inline-block; }
            .byte { padding: 1px 2px; border-radius: 3px; }
            .address, .ascii { color: #888; }
            table { border-collapse: collapse; font: 14px ui-monospace, monospace; }
            th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
            td.key { font-weight: bold; text-align: center; }
            th { background: #f0f0f0; }
            </style>
            </head>
            <body>
            <h1>\(escape(viewed.type.description)) <small>\(viewed.size) bytes, alignment \(viewed.alignment)</small></h1>
            \(body)</body>
            </html>

            """
    }
}

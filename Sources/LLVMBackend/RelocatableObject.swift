// The machine code of functions in an ELF64 relocatable object (what LLVM emits for a
// module before the JIT links it), for the persistent stub cache: a function whose bytes
// no relocation touches is position-independent and self-contained, so its bytes can run
// at any address in any process. Every offset is bounds-checked: the object is LLVM's,
// but a reader of binary data trusts nothing (System V gABI, "Sections", "Symbol Table",
// "Relocation").

struct RelocatableObject {
    private let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    private struct Section {
        var type: UInt32
        var offset: Int
        var size: Int
        var link: Int
        var info: Int
        var entrySize: Int
    }

    /// The code of each of `names` that is a function defined in the object with no
    /// relocation inside it; the others are left out (they cannot be moved as bytes).
    func relocationFreeFunctions(named names: Set<String>) -> [String: [UInt8]] {
        guard let sections = sections() else { return [:] }
        let symbolTableType: UInt32 = 2, relaType: UInt32 = 4, relType: UInt32 = 9
        guard let symbolTable = sections.first(where: { $0.type == symbolTableType }),
            symbolTable.entrySize >= 24, sections.indices.contains(symbolTable.link)
        else { return [:] }
        let strings = sections[symbolTable.link]
        var found: [String: [UInt8]] = [:]
        for index in 0..<(symbolTable.size / symbolTable.entrySize) {
            let entry = symbolTable.offset + index * symbolTable.entrySize
            guard let nameOffset = read32(entry), let info = read8(entry + 4), let sectionIndex = read16(entry + 6),
                let value = read64(entry + 8), let size = read64(entry + 16)
            else { return [:] }
            let isFunction = info & 0xf == 2
            guard isFunction, let name = string(at: strings, Int(nameOffset)), names.contains(name),
                sections.indices.contains(Int(sectionIndex)), size > 0, size < 1 << 20, value < 1 << 32
            else { continue }
            let code = sections[Int(sectionIndex)]
            let start = Int(value), end = Int(value) + Int(size)
            guard end <= code.size, code.offset + end <= bytes.count else { continue }
            // Relocation sections apply to the section named by their info field.
            let touched = sections.contains { relocations in
                guard relocations.type == relaType || relocations.type == relType, relocations.info == Int(sectionIndex),
                    relocations.entrySize > 0
                else { return false }
                return (0..<(relocations.size / relocations.entrySize)).contains { entry in
                    guard let offset = read64(relocations.offset + entry * relocations.entrySize) else { return true }
                    return offset >= UInt64(start) && offset < UInt64(end)
                }
            }
            if !touched { found[name] = Array(bytes[(code.offset + start)..<(code.offset + end)]) }
        }
        return found
    }

    private func sections() -> [Section]? {
        // ELF64, little-endian, relocatable, x86-64.
        guard bytes.count >= 64, bytes[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]), bytes[4] == 2, bytes[5] == 1,
            read16(16) == 1, read16(18) == 62,
            let tableOffset = read64(40), tableOffset < UInt64(bytes.count),
            let entrySize = read16(58), let count = read16(60), entrySize >= 64
        else { return nil }
        var sections: [Section] = []
        for index in 0..<Int(count) {
            let header = Int(tableOffset) + index * Int(entrySize)
            guard let type = read32(header + 4), let offset = read64(header + 24), let size = read64(header + 32),
                let link = read32(header + 40), let info = read32(header + 44), let entry = read64(header + 56),
                offset <= UInt64(bytes.count), size <= UInt64(bytes.count), entry <= 4096, link < 1 << 16, info < 1 << 16
            else { return nil }
            // NOBITS sections (8) occupy no bytes of the file.
            if type != 8 && offset + size > UInt64(bytes.count) { return nil }
            sections.append(Section(
                type: type, offset: Int(offset), size: Int(size), link: Int(link), info: Int(info), entrySize: Int(entry)))
        }
        return sections
    }

    private func string(at table: Section, _ offset: Int) -> String? {
        guard offset < table.size else { return nil }
        let start = table.offset + offset
        guard let end = bytes[start..<(table.offset + table.size)].firstIndex(of: 0) else { return nil }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private func read8(_ offset: Int) -> UInt8? { offset >= 0 && offset < bytes.count ? bytes[offset] : nil }

    private func readLittleEndian(_ offset: Int, _ count: Int) -> UInt64? {
        guard offset >= 0, offset + count <= bytes.count else { return nil }
        var value: UInt64 = 0
        for index in (0..<count).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
        return value
    }

    private func read16(_ offset: Int) -> UInt16? { readLittleEndian(offset, 2).map { UInt16($0) } }
    private func read32(_ offset: Int) -> UInt32? { readLittleEndian(offset, 4).map { UInt32($0) } }
    private func read64(_ offset: Int) -> UInt64? { readLittleEndian(offset, 8) }
}

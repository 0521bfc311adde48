// Corrupt debug info never crashes: the fixture's .debug_info and .debug_abbrev are
// damaged at seeded random places, and every function is looked up and imported; each
// lookup gives a type or a typed error.

import CTestSupport
import DWARFImport
import Foundation
import Testing

@Suite struct CorruptDWARFTests {
    /// File offset and size of a section, from `readelf -SW`.
    static func section(_ name: String, in path: String) throws -> (offset: Int, size: Int)? {
        let listing = try run("/usr/bin/readelf", ["-SW", path]).output
        for line in listing.split(separator: "\n") where line.contains(" \(name) ") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let index = fields.firstIndex(where: { $0 == name }), fields.count > index + 4,
                let offset = Int(fields[index + 3], radix: 16), let size = Int(fields[index + 4], radix: 16)
            else { continue }
            return (offset, size)
        }
        return nil
    }

    /// Every DW_AT_low_pc of a subprogram set to all ones (issue 20: `start + bias`
    /// trapped on overflow while indexing, killing every lookup of the library).
    @Test func addressesThatOverflowAreLeftOut() throws {
        let gcc = try #require(CCompiler.installed.first { $0.name == "gcc" })
        let (directory, path) = try buildLibrary(
            "int first(int x) { return x + 1; }\nint second(int x) { return x * 2; }\n", compiler: gcc, flags: ["-g", "-gdwarf-5"])
        defer { try? FileManager.default.removeItem(at: directory) }
        // Undamaged, both are found by address: the damage below is what changes.
        let intact = try LibraryDebugInfo(libraryPath: path)
        for name in ["first", "second"] { #expect(try intact.function(symbol: name).type.parameters.count == 1) }
        let info = try #require(try Self.section(".debug_info", in: path))
        var damaged = try Data(contentsOf: URL(fileURLWithPath: path))
        var patched = 0
        // `<2d>   DW_AT_low_pc      : 0x1109`: the attribute's offset in .debug_info.
        for line in try run("/usr/bin/readelf", ["--debug-dump=info", path]).output.split(separator: "\n")
        where line.contains("DW_AT_low_pc") && line.contains("0x") {
            guard let open = line.firstIndex(of: "<"), let close = line.firstIndex(of: ">"),
                let offset = Int(line[line.index(after: open)..<close], radix: 16)
            else { continue }
            for index in 0..<8 { damaged[info.offset + offset + index] = 0xFF }
            patched += 1
        }
        try #require(patched >= 2, "no DW_AT_low_pc found to damage")
        let copy = directory.appendingPathComponent("overflowing.so")
        try damaged.write(to: copy)
        let debug = try LibraryDebugInfo(libraryPath: copy.path)
        for name in ["first", "second"] {
            // Found some other way (by name) or refused: either way, no trap.
            _ = try? debug.function(symbol: name)
        }
    }

    @Test func damagedDWARFGivesErrorsNotCrashes() throws {
        let gcc = try #require(CCompiler.installed.first { $0.name == "gcc" })
        let source = try String(
            contentsOf: FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.c"), encoding: .utf8)
        let (directory, path) = try buildLibrary(source, compiler: gcc, flags: ["-g", "-I", FixtureLibrary.sourceDirectory.path])
        defer { try? FileManager.default.removeItem(at: directory) }
        let names = ["echo_int", "echo_NEST", "weigh_BIG", "vmixed", "echo_BITS", "echo_U", "make_LDS", "greeting"]
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let info = try #require(try Self.section(".debug_info", in: path))
        let abbrev = try #require(try Self.section(".debug_abbrev", in: path))
        var random = SeededGenerator(seed: 0xBAD_D1E)
        var outcomes = (imported: 0, refused: 0)
        for round in 0..<300 {
            var damaged = original
            let target = round % 4 == 3 ? abbrev : info
            for _ in 0..<(1 + round % 8) {
                let position = target.offset + Int.random(in: 0..<target.size, using: &random)
                damaged[position] = UInt8.random(in: 0...255, using: &random)
            }
            let copy = directory.appendingPathComponent("damaged-\(round).so")
            try damaged.write(to: copy)
            do {
                let debug = try LibraryDebugInfo(libraryPath: copy.path)
                for name in names {
                    do {
                        _ = try debug.function(symbol: name)
                        outcomes.imported += 1
                    } catch {
                        outcomes.refused += 1
                    }
                }
            } catch {
                outcomes.refused += 1
            }
        }
        #expect(outcomes.imported + outcomes.refused >= 40)
        print("corrupt DWARF: \(outcomes.imported) lookups imported, \(outcomes.refused) refused with typed errors")
    }
}

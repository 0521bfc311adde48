// DWARF import against the C compiler: 150 seeded random records (bit-fields, packed,
// aligned, #pragma pack, unions, anonymous members, flexible arrays) and arrays at the
// bounds of DWARF's constant forms, compiled with -g in
// every DWARF flavour (5, 4, strict 2, and clang's), then imported: every named member's
// bit offset and width, and each record's size and alignment, equal those of the same
// header parsed by CDeclParser (whose layouts are checked against gcc and clang).

import CDeclParser
import CTestSupport
import CTypeModel
import DWARFImport
import Foundation
import Testing

struct DWARFFlavour: CustomStringConvertible, Sendable {
    var compiler: CCompiler
    var flags: [String]
    /// gcc writes DW_AT_alignment for `aligned(N)` from DWARF 4 on; strict DWARF 2 and
    /// clang do not, so there an over-aligned record whose size and offsets are natural
    /// cannot be recognised.
    var recordsAlignment: Bool { compiler.name == "gcc" && !flags.contains("-gstrict-dwarf") }
    var description: String { "\(compiler.name) \(flags.joined(separator: " "))" }

    static var all: [DWARFFlavour] {
        var flavours: [DWARFFlavour] = []
        if let gcc = CCompiler.installed.first(where: { $0.name == "gcc" }) {
            flavours += [
                DWARFFlavour(compiler: gcc, flags: ["-gdwarf-5"]),
                DWARFFlavour(compiler: gcc, flags: ["-gdwarf-4"]),
                DWARFFlavour(compiler: gcc, flags: ["-gdwarf-2", "-gstrict-dwarf"]),
                DWARFFlavour(compiler: gcc, flags: ["-gdwarf-5", "-gz"]),
            ]
        }
        if let clang = CCompiler.installed.first(where: { $0.name == "clang-19" }) {
            flavours.append(DWARFFlavour(compiler: clang, flags: ["-gdwarf-5"]))
        }
        return flavours
    }
}

/// Builds a shared object from C source in a temporary directory.
func buildLibrary(_ source: String, compiler: CCompiler, flags: [String], name: String = "lib.so") throws -> (directory: URL, path: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-dwarf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let file = directory.appendingPathComponent("source.c")
    let library = directory.appendingPathComponent(name)
    try source.write(to: file, atomically: true, encoding: .utf8)
    let result = try run(compiler.path, ["-std=gnu11", "-w", "-O0", "-shared", "-fPIC"] + flags + ["-o", library.path, file.path])
    guard result.status == 0 else { throw OracleError.compileFailed(compiler: compiler.name, output: String(result.output.prefix(3000))) }
    return (directory, library.path)
}

@Suite struct ImportOracleTests {
    @Test(arguments: DWARFFlavour.all)
    func importedRecordsMatchTheParsedHeader(_ flavour: DWARFFlavour) throws {
        var header = RandomRecords.header(count: 150, seed: 0xD3A4F)
        // Arrays whose upper bound fills a DW_FORM_data1 or data2 to its top bit (gcc writes
        // `char[256]`'s as data1 0xff, which a signed read takes for -1), and `[0]`.
        header += """
            struct array_bounds { char a128[128]; char a129[129]; char a200[200]; char a256[256]; short a257[257];
                char a32769[32769]; char a65536[65536]; int zero[0]; int after; };

            """
        // clang has no scalar_storage_order; the byte order is not part of a layout anyway.
        header = RandomRecords.removingByteOrder(header)
        let parsed = try CDeclParser.parse(header)
        if let dump = ProcessInfo.processInfo.environment["CALLSTUB_DUMP_SIGNATURES"] {
            try header.write(toFile: "\(dump)/records.h", atomically: true, encoding: .utf8)
        }
        let (tags, functions) = recordUsers(parsed.declarations)
        let (directory, path) = try buildLibrary(LayoutProbe.includes + header + functions, compiler: flavour.compiler, flags: flavour.flags)
        defer { try? FileManager.default.removeItem(at: directory) }
        let info = try DWARFImport.LibraryDebugInfo(libraryPath: path)
        #expect(info.source == .embedded(path: path))
        var mismatches: [String] = []
        var ambiguous = 0
        for tag in tags {
            let function = try info.function(symbol: "use_\(tag)")
            guard case .pointer(let pointee) = function.type.parameters.first?.type.resolved.type,
                case .record(let imported) = pointee.resolved.type,
                let expected = parsed.scope.record(tagged: tag)
            else {
                mismatches.append("\(tag): no record parameter")
                continue
            }
            let (mine, theirs) = (leaves(expected), leaves(imported))
            if mine != theirs {
                mismatches.append("\(tag):\n  parsed   \(mine)\n  imported \(theirs)")
            }
            // The importer takes the natural alignment unless the offsets or size rule it
            // out: never less than the true one.
            let (trueAlignment, importedAlignment) = (expected.definition?.layout.alignment ?? 0, imported.definition?.layout.alignment ?? 0)
            if importedAlignment < trueAlignment && flavour.recordsAlignment {
                mismatches.append("\(tag): alignment \(importedAlignment), true \(trueAlignment)")
            } else if importedAlignment != trueAlignment {
                ambiguous += 1
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(tags.count) records differ\n\(mismatches.prefix(4).joined(separator: "\n"))")
        // Packed, #pragma-packed or (without DW_AT_alignment) aligned records whose offsets
        // and size are natural: their alignment is a guess, reported and bounded.
        #expect(ambiguous * 5 < tags.count, "\(ambiguous) records with an alignment DWARF cannot decide")
    }
}

// Files that are not whole shared objects are refused before `dlopen` maps them: a
// truncated ELF file killed glibc's loader with SIGBUS (issue 20, item 5).

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct HostileFileTests {
    /// `original` with its first dynamic relocation's r_offset (the address the loader
    /// writes at) moved outside the library.
    static func relocationTargetDamaged(_ original: Data, path: String) throws -> Data {
        let table = try #require(try DamageTarget.sections(of: path)[".rela.dyn"])
        var data = original
        for (index, byte) in [0x00, 0x00, 0xFF, 0xFF, 0xFF, 0, 0, 0].enumerated() { data[table.offset + index] = UInt8(byte) }
        return data
    }

    /// `original` with its PT_GNU_STACK entry turned into a segment of `type` at `address`
    /// (`size` bytes in memory): one the loader reads in the mapped image.
    static func stackEntryRetyped(_ original: Data, type: UInt32, address: UInt64, size: UInt64) throws -> Data {
        let tableOffset = Int(original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self) })
        let count = Int(original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 56, as: UInt16.self) })
        let entry = try #require((0..<count).map { tableOffset + $0 * 56 }.first { offset in
            original.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) } == 0x6474_e551
        })
        var data = original
        data.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: type, toByteOffset: entry, as: UInt32.self)
            bytes.storeBytes(of: address, toByteOffset: entry + 16, as: UInt64.self)
            bytes.storeBytes(of: size, toByteOffset: entry + 32, as: UInt64.self)
            bytes.storeBytes(of: size, toByteOffset: entry + 40, as: UInt64.self)
        }
        return data
    }

    @Test func truncatedAndForeignFilesAreTypedErrors() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: "/lib/x86_64-linux-gnu/libm.so.6"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases: [(name: String, bytes: Data, message: String)] = [
            ("empty.so", Data(), "shorter than an ELF header"),
            ("text.so", Data("hello\n".utf8), "shorter than an ELF header"),
            ("header-only.so", original.prefix(64), "program headers end at byte"),
            ("t3000.so", original.prefix(3000), "truncated: segment 0 (PT_LOAD)"),
            ("t100000.so", original.prefix(100_000), "truncated: segment"),
            ("half.so", original.prefix(original.count / 2), "truncated: segment"),
            ("not-elf.so", Data(repeating: 0x41, count: 4096), "not an ELF file"),
            ("big-endian.so", { var data = original; data[5] = 2; return data }(), "not a little-endian ELF file"),
            ("huge-phoff.so", { var data = original; for index in 32..<40 { data[index] = 0xFF }; return data }(), "program headers end at byte"),
            // e_phoff moved one entry on: the first PT_LOAD is lost, DT_GNU_HASH is not mapped, and
            // glibc's _dl_setup_hash read unmapped memory (found by DebugInfoFuzzTests' random damage).
            ("shifted-phoff.so", { var data = original; data[32] &+= 56; return data }(), "lies outside every loadable segment"),
            ("wild-relocation.so", try Self.relocationTargetDamaged(original, path: "/lib/x86_64-linux-gnu/libm.so.6"),
             "relocation writes at 0xffffff0000"),
            // A thousand program headers, all in the file: glibc copies the table onto the calling
            // thread's stack; DebugInfoFuzzTests' random damage to e_phnum overran a GCD thread's.
            ("many-phdrs.so", { var data = original; data[56] = 0xE8; data[57] = 0x03; return data }(),
             "e_phnum is 1000, more than the 256 program headers accepted"),
            // Segments the loader reads once the image is mapped, pointing outside it: the table
            // it scans for notes (PT_PHDR), a note.
            ("stray-phdr.so", try Self.stackEntryRetyped(original, type: 6, address: 0x7fff_0000, size: 0),
             "(PT_PHDR, 0x7fff0000, 616 bytes) lies outside every loadable segment"),
            ("stray-note.so", try Self.stackEntryRetyped(original, type: 4, address: 0x7fff_0000, size: 64),
             "(PT_NOTE, 0x7fff0000, 64 bytes) lies outside every loadable segment"),
        ]
        for (name, bytes, message) in cases {
            let path = directory.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            #expect {
                try SharedLibrary(path)
            } throws: { error in
                guard case .libraryNotLoaded(_, let text)? = error as? CallStubError else { return false }
                return text.contains(message)
            }
        }
        // The whole file, copied, still loads and calls.
        let whole = directory.appendingPathComponent("whole.so").path
        try original.write(to: URL(fileURLWithPath: whole))
        let cos = try SharedLibrary(whole).function("cos", declaration: "double cos(double)")
        #expect(try cos.call([.double(0)]) == .double(1))
    }
}

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

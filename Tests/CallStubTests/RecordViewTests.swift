// Record views over memory the caller owns: reads and writes go to that memory (shared,
// not copied), big- and little-endian members in one record, bounds checked against the
// layout, read-only views and mapped files. gcc's bytes are the oracle for the layout.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct RecordViewTests {
    static let declarations = """
        struct le_be {
            unsigned short little;
            struct { unsigned int length; unsigned short port; } __attribute__((scalar_storage_order("big-endian"))) wire;
            unsigned char flags : 3;
            char tag[4];
        };
        """

    @Test func viewsShareTheCallersBytes() throws {
        let scope = try CDeclParser.parse(Self.declarations).scope
        let type = try CDeclParser.parseTypeName("struct le_be", scope: scope)
        // gcc's bytes for an initializer: the view reads each member as gcc wrote it.
        let compiled = try #require(CCompiler.installed.first { $0.name == "gcc" })
        let program = "#include <stdio.h>\n" + Self.declarations + """
            static struct le_be v = { 0x1234, { 108, 8080 }, 5, "ab" };
            int main(void) { for (size_t k = 0; k < sizeof v; k++) printf("%02x", ((unsigned char *)&v)[k]); return 0; }
            """
        let hex = try compiled.compileAndRun(program).trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes = stride(from: 0, to: hex.count, by: 2).map { offset -> UInt8 in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
        #expect(bytes.count == 20)
        try bytes.withUnsafeMutableBytes { buffer in
            let view = try CRecordView(type, bytes: buffer)
            #expect(try view.field("little") == .uint(0x1234))
            #expect(try view.field("wire.length") == .uint(108))
            #expect(try view.field("wire.port") == .uint(8080))
            #expect(try view.field("flags") == .uint(5))
            #expect(try view.field("tag") == .array([.int(97), .int(98), .int(0), .int(0)]))
            // Writes land in the caller's bytes, in each member's byte order.
            try view.setField("wire.port", to: .int(53))
            try view.setField("little", to: .int(0xABCD))
            #expect(buffer[8] == 0x00 && buffer[9] == 0x35, "big-endian port")
            #expect(buffer[0] == 0xCD && buffer[1] == 0xAB, "little-endian")
            guard case .record(let record) = type.resolved.type else { throw CallStubError.declarationMismatch("not a record") }
            #expect(try view.field() == .record(try CRecordValue(record, bytes: Array(buffer))), "the whole object, copied")
            // Checked against the layout before memory is touched.
            #expect(throws: CallStubError.self) { try view.setField("flags", to: .int(8)) }
            #expect(throws: CallStubError.self) { try view.setField("tag", to: .string("toolong")) }
            #expect(throws: CallStubError.self) { try view.field("nope") }
            #expect(throws: CallStubError.self) { try view.setField("little", to: .double(1.5)) }
        }
        #expect(bytes[8] == 0x00 && bytes[9] == 0x35, "the array itself changed: shared, not copied")
        // A view must fit in its memory; a read-only view refuses writes.
        try bytes.withUnsafeBytes { buffer in
            #expect(throws: CallStubError.self) { try CRecordView(type, bytes: buffer, at: 1) }
            #expect(throws: CallStubError.self) { try CRecordView(type, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<15])) }
            let readOnly = try CRecordView(type, bytes: buffer)
            #expect(try readOnly.field("wire.port") == .uint(53))
            #expect(throws: CallStubError.self) { try readOnly.setField("little", to: .int(1)) }
        }
    }

    @Test func mappedFilesAreViewedAndWrittenInPlace() throws {
        let scope = try CDeclParser.parse(Self.declarations).scope
        let type = try CDeclParser.parseTypeName("struct le_be", scope: scope)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-mapped-\(UUID().uuidString).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Two records after a 4-byte preamble.
        let first = try CValueSyntax.parse("{1, {2, 3}, 4, \"x\"}", as: type, scope: scope).bytes(as: type)
        let second = try CValueSyntax.parse("{.wire.port = 443}", as: type, scope: scope).bytes(as: type)
        try Data([0xFF, 0xFF, 0xFF, 0xFF] + first + second).write(to: URL(fileURLWithPath: path))

        var view: CRecordView?
        do {
            let file = try CMappedFile(path: path, writable: true)
            #expect(file.count == 44)
            view = try file.view(type, at: 4 + 20)
            #expect(throws: CallStubError.self) { try file.view(type, at: 25) }
        }
        // The view keeps the mapping alive after the file object's last use.
        let kept = try #require(view)
        #expect(try kept.field("wire.port") == .uint(443))
        try kept.setField("wire.length", to: .int(0x01020304))
        view = nil
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(written[28..<32]) == [1, 2, 3, 4], "written through to the file, big-endian")

        let readOnly = try CMappedFile(path: path)
        #expect(throws: CallStubError.self) { try readOnly.view(type, at: 4).setField("little", to: .int(1)) }
        #expect(try readOnly.view(type, at: 4).field("flags") == .uint(4))
        #expect(throws: CallStubError.self) { try CMappedFile(path: "/no/such/file") }
        #expect(throws: CallStubError.self) { try CMappedFile(path: "/tmp") }
    }
}

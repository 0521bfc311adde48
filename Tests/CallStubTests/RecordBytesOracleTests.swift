// Bytes of records against gcc: 500 generated records (bit-fields, packed and aligned
// members, #pragma pack, unions, anonymous members, big-endian records nested in
// little-endian ones), each initialized with random values by one designated
// initializer that gcc compiles too. The bytes CallStub writes for it equal gcc's, and a
// view over gcc's bytes reads every member back as the value written.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct RecordBytesOracleTests {
    static let recordCount = 500

    @Test(arguments: CCompiler.installed.filter { $0.name == "gcc" })
    func encodedBytesEqualGccsAndViewsReadThemBack(_ compiler: CCompiler) throws {
        let header = RandomRecords.header(count: 2 * Self.recordCount, seed: 0x5eed_b17e, bigEndianPercent: 30)
        let parsed = try CDeclParser.parse(header)
        let scope = parsed.scope
        var random = SeededGenerator(seed: 21)
        var initializers: [(type: CQualType, members: [RandomInitializers.Member])] = []
        var program = "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" + header + "\n"
        for (name, type) in try RandomInitializers.initializableRecords(parsed.declarations, count: Self.recordCount) {
            let members = try RandomInitializers.members(of: type, random: &random)
            program += "static \(name) v\(initializers.count) = \(RandomInitializers.text(members));\n"
            initializers.append((type, members))
        }
        try #require(initializers.count == Self.recordCount)
        program += "static void dump(const void *p, size_t n) {\n"
            + "    for (size_t k = 0; k < n; k++) printf(\"%02x\", ((const unsigned char *)p)[k]);\n    printf(\"\\n\");\n}\n"
        program += "int main(void) {\n"
        for index in 0..<Self.recordCount { program += "    dump(&v\(index), sizeof v\(index));\n" }
        program += "    return 0;\n}\n"
        let lines = try compiler.compileAndRun(program).split(separator: "\n").map(String.init)
        try #require(lines.count == Self.recordCount)

        var checkedMembers = 0
        var bigEndianMembers = 0
        for (index, (type, members)) in initializers.enumerated() {
            let gccBytes = stride(from: 0, to: lines[index].count, by: 2).map { offset -> UInt8 in
                let start = lines[index].index(lines[index].startIndex, offsetBy: offset)
                return UInt8(lines[index][start..<lines[index].index(start, offsetBy: 2)], radix: 16)!
            }
            let value = try CValueSyntax.parse(RandomInitializers.text(members), as: type, scope: scope)
            let ours = try value.bytes(as: type)
            #expect(ours == gccBytes, "R\(index): \(type)\n\(RandomInitializers.text(members))")
            guard ours == gccBytes else { continue }
            try gccBytes.withUnsafeBytes { raw in
                let view = try CRecordView(type, bytes: raw)
                let regions = try view.regions()
                for member in members {
                    let read = try view.field(member.path)
                    let region = regions.first { $0.path == member.path }
                    if region?.byteOrder == .big && (region?.scalarSize ?? 1) > 1 { bigEndianMembers += 1 }
                    #expect(Self.matches(read, member.expected), "R\(index).\(member.path): \(read) against \(member.text)")
                    checkedMembers += 1
                }
            }
        }
        print("record bytes: \(Self.recordCount) records, \(checkedMembers) members read back, \(bigEndianMembers) big-endian")
        #expect(checkedMembers > Self.recordCount * 3)
        #expect(bigEndianMembers > 100)
    }

    /// Whether a value read is the expected one (see `RandomInitializers.Member.expected`).
    static func matches(_ value: CValue, _ expected: Any) -> Bool {
        switch value {
        case .int(let number): return (expected as? Int).map { Int64($0) == number } ?? false
        case .uint(let number): return (expected as? Int).map { $0 >= 0 && UInt64($0) == number } ?? false
        case .int128(let number): return (expected as? Int).map { Int128($0) == number } ?? false
        case .uint128(let number): return (expected as? Int).map { $0 >= 0 && UInt128($0) == number } ?? false
        case .bool(let flag): return (expected as? Int) == (flag ? 1 : 0)
        case .float(let number): return (expected as? Double) == Double(number)
        case .double(let number): return (expected as? Double) == number
        case .longDouble(let number): return (expected as? Double) == Double(number)
        case .complexFloat(let real, let imaginary):
            return (expected as? [String: Double]) == ["real": Double(real), "imaginary": Double(imaginary)]
        case .complexDouble(let real, let imaginary):
            return (expected as? [String: Double]) == ["real": real, "imaginary": imaginary]
        case .complexLongDouble(let real, let imaginary):
            return (expected as? [String: Double]) == ["real": Double(real), "imaginary": Double(imaginary)]
        case .pointer(let pointer): return (expected as? String) == "0x" + String(pointer.address, radix: 16)
        case .array(let elements):
            guard let list = expected as? [Any], list.count == elements.count else { return false }
            return zip(elements, list).allSatisfy { matches($0, $1) }
        default: return false
        }
    }
}

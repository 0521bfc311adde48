// CRecord: declared, then defined once; its size and alignment are read without a lock.

import CTypeModel
import Testing

@Suite struct CRecordTests {
    @Test func definedOnceThenSizedWithoutTheDefinition() throws {
        let record = CRecord(kind: .struct, tag: "P")
        #expect(record.definition == nil && record.size == nil && record.alignment == nil && !record.isComplete)
        let fields = [CField(name: "x", type: CQualType(.double)), CField(name: "id", type: CQualType(.int))]
        try record.define(fields: fields)
        #expect(record.isComplete)
        #expect(record.size == 16 && record.alignment == 8)
        #expect(record.size == record.definition?.layout.size)
        #expect(throws: CLayoutError.redefinition("struct P")) { try record.define(fields: fields) }
        #expect(record.definition?.fields == fields)
    }

    /// Many threads racing to define one record: exactly one wins, the others get
    /// `redefinition`, and every reader sees one definition.
    @Test func racingDefinitionsHaveOneWinner() async throws {
        let record = CRecord(kind: .union, tag: "U")
        let wins = await withTaskGroup(of: Bool.self) { group in
            for width in 1...16 {
                group.addTask {
                    let fields = [CField(name: "a", type: CQualType(.array(CQualType(.char), count: width)))]
                    do throws(CLayoutError) {
                        try record.define(fields: fields)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(record.size == record.definition?.layout.size)
    }

    /// An anonymous record that contains itself (corrupt DWARF whose tag cannot be read
    /// made one) printed forever (issue 20, item 3): the printer names the cycle instead.
    @Test func anAnonymousRecordThatContainsItselfPrints() throws {
        let record = CRecord(kind: .struct, tag: nil)
        try record.define(fields: [
            CField(name: "value", type: CQualType(.int)),
            CField(name: "next", type: CQualType(.pointer(CQualType(.record(record))))),
        ])
        let text = CPrinter().print(.record(record))
        #expect(text.contains("struct /* contains itself */ *next;"), "\(text)")
        #expect(CQualType(.pointer(CQualType(.record(record)))).description.contains("contains itself"))
    }
}

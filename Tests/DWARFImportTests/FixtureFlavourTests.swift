// The fixture library compiled in every DWARF flavour (gcc DWARF 5, 4 and strict 2, and
// clang): every function's type imported from DWARF equals the one parsed from the
// fixture's own header, with no difference at all (ABI or not).

import ABILowering
import CDeclParser
import CTestSupport
import CTypeModel
import DWARFImport
import Foundation
import Testing

@Suite struct FixtureFlavourTests {
    @Test(arguments: DWARFFlavour.all)
    func importedTypesEqualTheHeader(_ flavour: DWARFFlavour) throws {
        let source = try String(
            contentsOf: FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.c"), encoding: .utf8)
        let (directory, path) = try buildLibrary(
            source, compiler: flavour.compiler, flags: flavour.flags + ["-I", FixtureLibrary.sourceDirectory.path])
        defer { try? FileManager.default.removeItem(at: directory) }
        let info = try LibraryDebugInfo(libraryPath: path)
        let parsed = try CDeclParser.parse(FixtureLibrary.header)
        var compared = 0
        var differences: [String] = []
        for case .function(let name, let declared) in parsed.declarations {
            let imported = try info.function(symbol: name)
            let found = SignatureComparison.compare(declared: declared, actual: imported.type)
            // The imported header must also read back to the same type.
            let reparsed = try CDeclParser.parse(imported.header(declaring: name), scope: CScope())
            let roundTrip = SignatureComparison.compare(
                declared: try #require(reparsed.scope.function(named: name)), actual: imported.type)
            differences += (found + roundTrip).map { "\(name): \($0)" }
            compared += 1
        }
        #expect(compared > 100)
        #expect(differences.isEmpty, "\(differences.prefix(6))")
    }
}

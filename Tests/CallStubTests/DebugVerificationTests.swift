// Declarations checked against the library's DWARF: wrong ones (records behind pointers
// included) refused before any call with both sides shown, harmless differences kept as warnings (errors under `strict`),
// functions bound with no declaration at all, on glibc (libc6-dbg) and on the fixture.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct DebugVerificationTests {
    @Test func glibcSignaturesAndMismatches() throws {
        let libc = try SharedLibrary("libc.so.6")
        // No declaration: the signature comes from DWARF, types included.
        let div = try libc.function("div")
        guard case .verified(let source) = div.verification else {
            Issue.record("div: \(div.verification)")
            return
        }
        #expect(source.contains("signature taken from it"))
        #expect(try div.call([.int(7), .int(2)]).description == "{3, 1}")
        var argument = try div.makeRecord("div_t")
        try argument.setField("quot", to: .int(1))
        #expect(div.declaration == "div_t div(int numer, int denom);")

        // A wrong result type is refused, naming it.
        do {
            _ = try libc.function("strtol", declaration: "int strtol(const char *, char **, int)")
            Issue.record("a wrong strtol declaration was accepted")
        } catch {
            #expect(error.description.contains("[abi] result: declared int, actual long: 4 bytes against 8"))
            #expect(error.description.contains("actual:   long strtol(const char *nptr, char **endptr, int base);"))
        }
        // A wrong record shows both layouts, pahole style.
        do {
            _ = try libc.function("div", declaration: "typedef struct { long quot; int rem; } div_t; div_t div(int, int);")
            Issue.record("a wrong div_t was accepted")
        } catch {
            let text = error.description
            #expect(text.contains("result: declared div_t, actual div_t: size 16 against 8"))
            #expect(text.contains("member quot"))
            #expect(text.contains("/* size: 16, alignment: 8, members: 2 */"))
            #expect(text.contains("/* size: 8, alignment: 4, members: 2 */"))
        }
        // A record behind a pointer laid out otherwise: the callee would write past it.
        do {
            _ = try libc.function("gmtime_r", declaration: """
                struct tm { int tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_wday, tm_yday, tm_isdst; };
                struct tm *gmtime_r(const long *, struct tm *);
                """)
            Issue.record("a short struct tm was accepted")
        } catch {
            #expect(error.description.contains("[abi] argument 2, pointee: declared struct tm, actual struct tm: size 36 against 56"))
            #expect(error.description.contains("/* size: 36, alignment: 4, members: 9 */"))
        }
        // Signedness is not an ABI difference: a warning, an error when strict.
        let unsignedAbs = try libc.function("abs", declaration: "unsigned abs(unsigned)")
        #expect(unsignedAbs.verificationWarnings.count == 2)
        #expect(throws: CallStubError.self) {
            try libc.function("abs", declaration: "unsigned abs(unsigned)", options: BindingOptions(verification: .strict))
        }
        // Off: not checked, and says so.
        let unchecked = try libc.function("abs", declaration: "int abs(int)", options: BindingOptions(verification: .off))
        #expect(unchecked.verification == .unverified(reason: "verification is off"))
        // Fixed against variadic, and the parameter count.
        #expect(throws: CallStubError.self) { try libc.function("printf", declaration: "int printf(const char *)") }
        #expect(throws: CallStubError.self) { try libc.function("abs", declaration: "int abs(int, int)") }
    }

    @Test(arguments: FixtureLibrary.built)
    func fixtureDeclarationsAgreeWithTheirDWARF(_ fixture: FixtureLibrary) throws {
        let library = try SharedLibrary(fixture.path)
        let parsed = try CDeclParser.parse(FixtureLibrary.header)
        var checked = 0
        for case .function(let name, let type) in parsed.declarations {
            let result = try library.check(name, type: type)
            guard case .verified = result.verification else {
                Issue.record("\(name): \(result.verification)")
                continue
            }
            #expect(result.warnings.isEmpty, "\(name): \(result.warnings)")
            checked += 1
        }
        #expect(checked > 100)
        // Bound with no declaration: a record type from DWARF, callable.
        let made = try library.function("make_NEST")
        #expect(try made.call([.int(1)]).description == "{{1, 2}, {3, 4}}")
        let weigh = try library.function("bits_sum")
        #expect(weigh.parameterCount == 1)
    }
}

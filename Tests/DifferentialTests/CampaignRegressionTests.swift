// Regression cases the campaign found, run through the campaign's own machinery on every
// configuration: each names the bug it pins.

import CDeclParser
import CTestSupport
import CallStub
import Foundation
import Testing

@Suite("Campaign regressions")
struct CampaignRegressionTests {
    static func scalar(_ spelling: String) -> CampaignType { .scalar(CampaignScalar.index(spelling)) }
    static func field(_ spelling: String, _ name: String?, bits: Int? = nil, count: Int? = nil, attributes: [String] = []) -> CampaignField {
        CampaignField(type: scalar(spelling), count: count, bitWidth: bits, name: name, attributes: attributes)
    }
    static func record(_ index: Int, union: Bool = false, _ fields: [CampaignField], attributes: [String] = []) -> CampaignRecord {
        CampaignRecord(index: index, isUnion: union, fields: fields, attributes: attributes, pragmaPack: nil, estimatedSize: 16, style: "regression")
    }

    /// The records and signatures, in the order of the comments.
    static let batch: CampaignBatch = {
        let records = [
            // R0: {INTEGER, SSE} pair for libffi's %r9/%xmm0 overwrite (libffi PR #848).
            record(0, [field("long", "m0"), field("float", "m1")]),
            // R1: an unnamed bit-field ahead of a member (DWARF omits it; verification must not refuse).
            record(1, [field("short", nil, bits: 11), field("int", "m0")]),
            // R2: a packed union with a 16-byte-aligned member (DWARF cannot show `packed`).
            record(2, union: true, [field("unsigned __int128", "m0"), field("long", "m1")], attributes: ["packed"]),
            // R3: over-aligned records passed by value (aligned vector copies in the stub).
            record(3, [field("void *", "m0")], attributes: ["aligned(32)"]),
            record(4, [field("double", "m0"), field("float", "m1", count: 7)], attributes: ["aligned(32)"]),
            // R5: an eightbyte with only unnamed bit-field bits (gcc: INTEGER, clang: padding).
            record(5, [field("unsigned __int128", nil, bits: 65), field("int", "m0")]),
            // R6: {long double _Complex} member fills from padded temporaries.
            record(6, union: true, [field("double", "m0", count: 8), field("long double _Complex", "m2")], attributes: ["packed"]),
            // R8: a packed record member holding an int at offset 1: MEMORY for gcc and clang.
            record(7, [field("int", "x")]),
            record(8, [field("signed char", "m0"), CampaignField(type: .record(7), name: "m1", attributes: ["packed"])]),
            // R9: a union whose upper SSE eightbyte holds a float and a double's bytes: 8 bytes travel, not 4.
            record(9, union: true, [field("double _Complex", "m0"), field("float", "m2", count: 3), field("void *", "m3")]),
        ]
        let doubles = Array(repeating: scalar("double"), count: 8)
        let signatures: [(CampaignType?, [CampaignType], [CampaignType]?)] = [
            // float _Complex after eight doubles: a byval copy, not a widened <2 x float> slot.
            (nil, doubles + [scalar("double"), scalar("float _Complex"), scalar("long")], nil),
            // double _Complex with one vector register left: whole on the stack, %xmm7 for the next double.
            (scalar("double"), Array(doubles.prefix(7)) + [scalar("double _Complex"), scalar("double")], nil),
            // long double _Complex and __int128 on the stack.
            (scalar("long double _Complex"), Array(doubles) + [scalar("long double _Complex"), scalar("int")], nil),
            // libffi PR #848: the second {long, float} has its INTEGER eightbyte in %r9.
            (nil, [scalar("long"), scalar("unsigned short"), scalar("long"), scalar("unsigned long"), .record(0), .record(0)], nil),
            (scalar("short"), [scalar("long"), scalar("unsigned short"), scalar("long"), scalar("void *"), .record(0), scalar("double"), .record(0)], nil),
            // DWARF verification of unnamed bit-fields and packed unions.
            (.record(1), [.record(1), scalar("int")], nil),
            (.record(2), [.record(2), scalar("long")], nil),
            // Over-aligned records through every path, as argument and as result.
            (nil, [scalar("int"), scalar("long"), scalar("char"), scalar("void *"), .record(3), scalar("double"), .record(4)], nil),
            (.record(4), [.record(3), .record(4)], nil),
            // A union whose bytes come from a padded long double _Complex.
            (.record(6), [scalar("double"), .record(6)], nil),
            (.record(8), [scalar("double"), .record(8)], nil),
            (.record(9), [scalar("long"), .record(9), scalar("float")], nil),
        ]
        return CampaignBatch(
            seed: 0x5EED, records: records,
            signatures: signatures.enumerated().map { index, entry in
                CampaignSignature(index: index, result: entry.0, parameters: entry.1, variadicTail: entry.2, template: "regression")
            })
    }()

    @Test("campaign regressions agree with C on every configuration", arguments: CampaignConfiguration.all)
    func regressions(_ configuration: CampaignConfiguration) throws {
        let runner = try BatchRunner(
            batch: Self.batch, batchIndex: 900, campaign: Campaign(
                seed: 0x5EED, count: Self.batch.signatures.count, rerun: "swift test --filter CampaignRegressionTests"),
            configuration: configuration)
        let report = runner.run(only: nil)
        #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
        #expect(report.signatures == Self.batch.signatures.count, "refused: \(report.refusalExamples.values.joined(separator: "\n"))")
        // Every path ran on the JIT; libffi refuses the bit-field, union, packed and over-aligned records.
        #expect(report.pathCalls["jit.raw"] == Self.batch.signatures.count)
        #expect(report.pathCalls["jit.typed"] == Self.batch.signatures.count)
        #expect(report.pathCalls["thunk.typed"] == Self.batch.signatures.count)
        #expect(report.pathCalls["ffi.raw"] == 5)
    }

    /// A direct C call that faults must not take the campaign down: the long run of seed
    /// 20261121 did, at case 261.39 (gcc 12 -O2 faults in its own callee: `va_arg` of a
    /// 16-byte-aligned union passed in two general registers, read with an aligned vector
    /// load; `SEED=20261121 N=100000 CASE=261.39 scripts/campaign` shows it skipped). The
    /// fault depends on the whole batch's code, so the preflight is pinned with a callee
    /// that faults on purpose, between two that do not.
    @Test("the preflight finds a direct C call that crashes, and the cases around it run")
    func preflightFindsCrashes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-preflight-test-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var source = "#include <stdint.h>\n#include <signal.h>\nstatic volatile int calls;\n"
        for index in 0..<3 {
            source += """
                int f\(index)(int x) { calls++; \(index == 1 ? "raise(SIGSEGV); " : "")return x; }
                void cs_make_\(index)(void **slots, uint64_t seed) { *(int *)slots[0] = (int)seed; }
                void cs_drive_\(index)(void *fp, void **slots, void *result) { *(int *)result = ((int (*)(int))fp)(*(int *)slots[0]); }

                """
        }
        let file = directory.appendingPathComponent("crash.c")
        let library = directory.appendingPathComponent("libcrash.so")
        try source.write(to: file, atomically: true, encoding: .utf8)
        let compile = try CTestSupport.run("/usr/bin/cc", ["-shared", "-fPIC", "-o", library.path, file.path])
        try #require(compile.status == 0, "\(compile.output)")
        let crashes = try CampaignPreflight.crashingCases(
            library: library.path, cases: [(0, 7, "f0"), (1, 7, "f1"), (2, 7, "f2")])
        #expect(Array(crashes.keys) == [1])
        #expect(try CampaignPreflight.crashingCases(library: library.path, cases: [(0, 7, "f0"), (2, 7, "f2")]).isEmpty)
    }

    @Test("signatures gcc and clang pass differently are refused with the reason, never called wrongly")
    func compilerDisagreements() throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let library = try SharedLibrary(fixture.path)
        let declarations = [
            "unsigned f(unsigned long, unsigned long, char, unsigned short, unsigned short, unsigned __int128, unsigned int)":
                "argument 6 (__int128) goes to the stack with one integer register left, which gcc gives to argument 7 and clang leaves unused",
            "struct R5 { unsigned __int128 : 65; int m0; }; struct R5 f(struct R5)":
                "has an eightbyte whose only integer data are unnamed bit-fields",
            "struct S { int : 8; float f; }; float f(struct S)":
                "has an eightbyte whose only integer data are unnamed bit-fields",
            "struct R6 { unsigned int m3 : 4; }; struct R39 { signed char m0; struct R6 m1 __attribute__((packed)); short m2; unsigned int m3; }; struct R39 f(void)":
                "has a record member at an offset its alignment does not allow (packed) but no misaligned scalar",
            // Found by the quick campaign's random seed 13723897695978611939 (case 0.102):
            // gcc passes this union in %edi, clang in %xmm0.
            "union R22 { long long : 0; float m0; }; unsigned __int128 f(union R22, long long)":
                "has a union with a zero-width bit-field, which gcc classifies as INTEGER in its eightbyte and clang ignores",
            "union U { char : 0; double m0; float m1[4]; }; double f(union U)":
                "has a union with a zero-width bit-field, which gcc classifies as INTEGER in its eightbyte and clang ignores",
            // gcc: `movl %edi, %eax`; clang: `movl 8(%rsp), %eax` (found reading libffi cifs back).
            "struct R94 { unsigned int f0; short f1[]; }; unsigned f(struct R94)":
                "has a flexible array member, which gcc ignores (passing the rest in registers) and clang passes in memory",
        ]
        for (declaration, reason) in declarations {
            let parsed = try CDeclParser.parse(SharedLibrary.terminatedDeclaration(declaration), scope: .standard)
            let type = try #require(parsed.scope.function(named: "f"))
            // Bound to an existing symbol: the checks are on the signature only.
            do {
                let function = try library.function("echo_int", type: type, options: BindingOptions(backend: .jit, verification: .off))
                Issue.record("bound \(function)")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
            let pointerType = declaration.components(separatedBy: "; ").last!.replacingOccurrences(of: " f(", with: " (*)(")
            do {
                let callback = try Callback(pointerType, scope: parsed.scope, backend: .jit) { _ in .void }
                Issue.record("made \(callback)")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
            }
        }
    }
}

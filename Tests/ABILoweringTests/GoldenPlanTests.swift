// Golden plans: the psABI document's own worked example, and the printed CallPlan of every
// function of the C fixture library, pinned in Golden/fixture-plans.txt. A change in
// lowering shows up as a diff to review. Regenerate with CALLSTUB_UPDATE_GOLDEN=1.

import ABILowering
import CDeclParser
import CTestSupport
import CTypeModel
import Foundation
import Testing

@Suite struct GoldenPlanTests {
    /// AMD64 psABI §3.2.3, Figure 3.6 "Parameter Passing Example" (without its `__m256`
    /// argument, which C declarations here cannot spell).
    @Test func psABIExample() throws {
        let parsed = try CDeclParser.parse("""
            typedef struct { int a, b; double d; } structparm;
            void func(int e, int f, structparm s, int g, int h, long double ld, double m, double n, int i, int j, int k);
            """)
        let function = try #require(parsed.scope.function(named: "func"))
        let plan = X86_64SysV.plan(try ValidatedSignature.validate(function))
        #expect(plan.description == """
            result        void                        void
            argument 1    int           INTEGER       rdi = i32 @0
            argument 2    int           INTEGER       rsi = i32 @0
            argument 3    structparm    INTEGER SSE   rdx = i64 @0, xmm0 = double @8
            argument 4    int           INTEGER       rcx = i32 @0
            argument 5    int           INTEGER       r8 = i32 @0
            argument 6    long double   X87 X87UP     stack+0 = x86_fp80 @0
            argument 7    double        SSE           xmm1 = double @0
            argument 8    double        SSE           xmm2 = double @0
            argument 9    int           INTEGER       r9 = i32 @0
            argument 10   int           INTEGER       stack+16 = i32 @0
            argument 11   int           INTEGER       stack+24 = i32 @0
            x86-64 SysV: stack 32 bytes, vector registers 3
            """)
    }

    @Test func fixturePlans() throws {
        let parsed = try CDeclParser.parse(FixtureLibrary.header)
        var text = ""
        for case .function(let name, let type) in parsed.declarations {
            text += CPrinter().print(.function(name: name, type: type)) + "\n"
            do {
                var tail: [CQualType] = []
                if type.isVariadic { tail = [CQualType(.int), CQualType(.double), CQualType(.pointer(to: .char))] }
                text += X86_64SysV.plan(try ValidatedSignature.validate(type, variadicTail: tail)).description + "\n\n"
            } catch {
                text += "error: \(error)\n\n"
            }
        }
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/fixture-plans.txt")
        if ProcessInfo.processInfo.environment["CALLSTUB_UPDATE_GOLDEN"] != nil {
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(text == expected, "plans differ from Golden/fixture-plans.txt; review and regenerate with CALLSTUB_UPDATE_GOLDEN=1")
    }

    @Test func recordsWithAtomicMembersAreRefused() throws {
        let parsed = try CDeclParser.parse("struct A { int x; struct { _Atomic long y; } inner; }; long f(struct A);")
        let function = try #require(parsed.scope.function(named: "f"))
        #expect(throws: SignatureError(
            position: "argument 1", type: "struct A",
            reason: "member inner.y is _Atomic: gcc and clang pass such records differently by value")) {
            try ValidatedSignature.validate(function)
        }
    }
}

/// The persistent stub cache's key: the same bytes exactly when the lowered shapes are
/// equal (a collision would run one shape's stub for another), and the same whether built
/// from the shape or straight from the plan. Over the fixture's plans and 2,000 random
/// signatures, with variadic tails.
@Suite struct ShapeKeyTests {
    @Test func keysAreEqualExactlyWhenShapesAre() throws {
        var plans: [CallPlan] = []
        for header in [FixtureLibrary.header, RandomSignatures.make(count: 2000, seed: 0x5EED_0019).header] {
            let parsed = try CDeclParser.parse(header)
            for case .function(_, let type) in parsed.declarations {
                for tail in type.isVariadic ? [[], [CQualType(.int)], [CQualType(.double), CQualType(.long)]] : [[]] {
                    guard let signature = try? ValidatedSignature.validate(type, variadicTail: tail) else { continue }
                    plans.append(X86_64SysV.plan(signature))
                }
            }
        }
        #expect(plans.count > 1500)
        var shapeByKey: [[UInt8]: LoweredShape] = [:]
        for plan in plans {
            let key = plan.shapeKeyBytes()
            #expect(key == plan.shape.keyBytes)
            #expect(key.allSatisfy { $0 >= 0x30 && $0 < 0x80 }, "ASCII: the cache keys a dictionary by it as a String")
            if let seen = shapeByKey[key] {
                #expect(seen == plan.shape, "two shapes with one key: \(seen) and \(plan.shape)")
            } else {
                shapeByKey[key] = plan.shape
            }
        }
        #expect(Set(plans.map(\.shape)).count == shapeByKey.count)
    }
}

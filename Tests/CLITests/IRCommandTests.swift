// `callstub ir`: the downcall stub's IR, and with --callback the callback thunk's.

import CTestSupport
import Foundation
import Testing

@Suite struct IRCommandTests {
    func ir(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(ParseCommandTests.binary, ["ir"] + arguments)
    }

    @Test func downcallStub() throws {
        let stub = try ir(["double pow(double, double);"])
        #expect(stub.status == 0)
        #expect(stub.output.contains("define i32 @callstub_stub(ptr %0, ptr %1, ptr %2)"), "\(stub.output)")
        #expect(stub.output.contains("call double"), "\(stub.output)")
    }

    /// A typed callback of scalars and pointers: the thunk has the C signature (after the
    /// trampoline slot, in the static-chain register) and calls the closure itself, read
    /// from the slot, with the result's address (sret) and each slot's address.
    @Test func typedCallbackThunkCallsTheClosure() throws {
        let thunk = try ir(["int cmp(const void *, const void *);", "--callback", "typed"])
        #expect(thunk.status == 0)
        #expect(thunk.output.contains("define i32 @callstub_thunk(ptr nest %0, ptr %1, ptr %2)"), "\(thunk.output)")
        #expect(thunk.output.contains("%8 = load ptr, ptr %0, align 8"), "\(thunk.output)")
        #expect(thunk.output.contains("call swiftcc void %8(ptr sret([16 x i8]) %7, ptr %3, ptr %5, ptr swiftself %10)"), "\(thunk.output)")
    }

    /// Dynamic callbacks, and typed ones taking records, go through a frame entry.
    @Test func dynamicAndRecordCallbackThunksCallAFrameEntry() throws {
        for (declaration, style) in [("int f(int);", "dynamic"), ("struct P { double x, y; }; struct P f(struct P, int);", "typed")] {
            let thunk = try ir([declaration, "--callback", style])
            #expect(thunk.status == 0)
            #expect(thunk.output.contains("call swiftcc void %"), "\(thunk.output)")
            #expect(!thunk.output.contains("sret"), "\(thunk.output)")
        }
        let record = try ir(["struct P { double x, y; }; struct P f(struct P, int);", "--callback", "typed"])
        #expect(record.output.contains("define { double, double } @callstub_thunk(ptr nest %0, double %1, double %2, i32 %3)"), "\(record.output)")
    }

    @Test func variadicCallbacksAreRefused() throws {
        let refused = try ir(["int printf(const char *, ...);", "--callback", "dynamic"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("error: printf is variadic: variadic callbacks are not supported"), "\(refused.output)")
        let errno = try ir(["int f(int);", "--callback", "typed", "--errno"])
        #expect(errno.status != 0)
        #expect(errno.output.contains("--errno applies to downcall stubs"), "\(errno.output)")
    }

    /// Several functions declared: `plan` plans each, in order (the variadic one with
    /// --variadic); `ir` says which one its stub is for; --function chooses.
    @Test func severalFunctionsDeclared() throws {
        let declarations = "double sin(double); int printf(const char *, ...);"
        let plan = try run(ParseCommandTests.binary, ["plan", declarations, "--variadic", "int"])
        #expect(plan.status == 0, "\(plan.output)")
        #expect(plan.output.hasPrefix("double sin(double);\n") && plan.output.contains("\n\nint printf(const char *, ...);\n"), "\(plan.output)")
        #expect(plan.output.contains("variadic 2   int"), "\(plan.output)")
        let one = try run(ParseCommandTests.binary, ["plan", declarations, "--function", "sin"])
        #expect(one.status == 0 && !one.output.contains("printf"), "\(one.output)")
        let stub = try ir(["double sin(double); int abs(int);"])
        #expect(stub.status == 0 && stub.output.contains("note: 2 functions are declared (sin, abs); this is abs's, the last (--function chooses)"), "\(stub.output)")
        #expect(try !ir(["double sin(double); int abs(int);", "--function", "sin"]).output.contains("note:"))
    }
}

// Functions bound from a pointer obtained at run time: the same calls as through the
// library, on both backends; bad pointers and declarations are typed errors.

import CTestSupport
import CallStub
import Testing

@Suite struct AddressBindingTests {
    @Test(arguments: backends) func aFunctionPointerCallsLikeTheSymbol(_ backend: BindingOptions.Backend) throws {
        let libc = try SharedLibrary("libc.so.6")
        let options = BindingOptions(backend: backend)
        let labs = try BoundFunction(address: libc.address(of: "labs"), declaration: "long labs(long)", options: options)
        #expect(try labs.call([.int(-7)]) == .int(7))
        #expect(labs.name == "labs")
        guard case .unverified = labs.verification else { Issue.record("verified?"); return }
        // A type name, and records by value: div_t div(int, int).
        let div = try BoundFunction(
            address: libc.address(of: "div"), declaration: "typedef struct { int quot, rem; } div_t; div_t div(int, int);",
            options: options)
        guard case .record(let result) = try div.call([.int(7), .int(2)]) else { Issue.record("not a record"); return }
        #expect(try result.field("quot") == .int(3) && result.field("rem") == .int(1))
        let snprintf = try BoundFunction(address: libc.address(of: "snprintf"), declaration: "int (*)(char *, unsigned long, const char *, ...)", options: options)
        #expect(try snprintf.call([.null, .uint(0), .string("%d-%s"), .int(42), .string("ab")]) == .int(5))
        // Typed calls take the same fast path as a library binding.
        let typed = try labs.typed((Int.self), returning: Int.self)
        #expect(typed(-9) == 9)
    }

    @Test func badPointersAndDeclarationsAreTypedErrors() throws {
        #expect { try BoundFunction(address: CPointer(address: 0), declaration: "int f(int)") } throws: {
            "\($0)".contains("a NULL function pointer cannot be called")
        }
        let address = try SharedLibrary("libc.so.6").address(of: "abs")
        #expect { try BoundFunction(address: address, declaration: "int x;") } throws: { "\($0)".contains("declares no function") }
        #expect { try BoundFunction(address: address, declaration: "int *") } throws: { "\($0)".contains("is not a function type") }
        #expect(throws: CallStubError.self) { try BoundFunction(address: address, declaration: "int f(") }
        #expect(throws: CallStubError.self) { try BoundFunction(address: address, declaration: "struct S f(void)") }
    }
}

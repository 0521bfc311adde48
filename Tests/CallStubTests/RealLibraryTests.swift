// Real system libraries (glibc's libc and libm), bad input of every kind, and library
// lifetimes: a bound function keeps its library loaded after the library is closed.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct RealLibraryTests {
    @Test func libmAndLibc() throws {
        let libm = try SharedLibrary("libm.so.6")
        let pow = try libm.function("pow", declaration: "double pow(double, double)")
        #expect(pow.backend == .libffi, "adaptive: libffi until the function is called often")
        #expect(pow.fallbackReason == nil)
        let ffiPow = try libm.function("pow", declaration: "double pow(double, double)", options: BindingOptions(backend: .libffi))
        #expect(ffiPow.backend == .libffi)
        #expect(try ffiPow.call([.double(2), .double(10)]) == .double(1024))
        guard case .verified(let source) = pow.verification else {
            Issue.record("pow was not verified: \(pow.verification)")
            return
        }
        #expect(source.contains("/usr/lib/debug/.build-id/"), "libc6-dbg's separate debug file")
        #expect(try pow.call([.double(2), .double(10)]) == .double(1024))
        #expect(try pow.call([.int(2), .int(10)]) == .double(1024))
        let typedPow = try pow.typed((Double, Double).self, returning: Double.self)
        #expect(typedPow(2, 0.5) == 2.0.squareRoot())
        let atan2 = try libm.function("atan2", declaration: "double atan2(double y, double x)")
        #expect(try atan2.call([.double(1), .double(1)]) == .double(Double.pi / 4))

        let frexp = try libm.function("frexp", declaration: "double frexp(double x, int *exponent)")
        var exponent: Int32 = 0
        let typedFrexp = try frexp.typed((Double, UnsafeMutablePointer<Int32>).self, returning: Double.self)
        #expect(typedFrexp(48, &exponent) == 0.75)
        #expect(exponent == 6)

        let libc = try SharedLibrary("libc.so.6")
        let div = try libc.function(
            "div", declaration: "typedef struct { int quot; int rem; } div_t; div_t div(int, int);")
        guard case .record(let quotient) = try div.call([.int(7), .int(2)]) else {
            Issue.record("div returned no record")
            return
        }
        #expect(quotient.description == "{3, 1}")
        #expect(try quotient.field("rem") == .int(1))

        let strtol = try libc.function("strtol", declaration: "long strtol(const char *restrict s, char **restrict end, int base)")
        let text = strdup("  -123xyz")!
        defer { free(text) }
        var end: UnsafeMutablePointer<CChar>? = nil
        let typedStrtol = try strtol.typed(
            (UnsafePointer<CChar>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, Int32).self, returning: Int.self)
        #expect(typedStrtol(text, &end, 10) == -123)
        #expect(end.map { String(cString: $0) } == "xyz")
        #expect(try strtol.call([.string("ff"), .null, .int(16)]) == .int(255))

        let snprintf = try libc.function(
            "snprintf", declaration: "int snprintf(char *restrict s, size_t n, const char *restrict format, ...)")
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        let written = try snprintf.call([
            .pointer(CPointer(buffer)), .int(64), .string("%d|%ld|%.2f|%s|%c"), .int(-42), .int(1 << 40), .double(2.5),
            .string("ok"), .int(65),
        ])
        #expect(written == .int(27))
        #expect(String(cString: buffer) == "-42|1099511627776|2.50|ok|A")
    }

    @Test func badInputIsATypedErrorAndTheProcessSurvives() throws {
        func expectError(_ fragment: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("no error; expected one containing \(fragment)")
            } catch let error as CallStubError {
                #expect(error.description.contains(fragment), "\(error.description)")
            } catch {
                Issue.record("untyped error \(error)")
            }
        }
        let libm = try SharedLibrary("libm.so.6")
        expectError("cannot load library libnothing.so.9") { _ = try SharedLibrary("libnothing.so.9") }
        expectError("/nonexistent/libx.so: cannot open shared object file") { _ = try SharedLibrary("/nonexistent/libx.so") }
        expectError("symbol no_such_function not found in libm.so.6") {
            _ = try libm.function("no_such_function", declaration: "int no_such_function(void)")
        }
        expectError("line 1, column 12: invalid combination of type specifiers") { _ = try libm.function("pow", declaration: "double pow(double double)") }
        expectError("declares sin, not pow") { _ = try libm.function("pow", declaration: "double sin(double)") }
        // cos is an IFUNC: bound through the implementation its resolver picks here.
        #expect(try libm.function("cos").call([.double(0)]) == .double(1))
        expectError("no declaration of syscall, and none from debug info (syscall: cannot be checked against DWARF: the DWARF gives no C type (the code is written in assembly))") {
            _ = try SharedLibrary("libc.so.6").function("syscall")
        }
        expectError("argument 1 (struct P): incomplete type struct P") {
            _ = try libm.function("pow", declaration: "struct P; double pow(struct P, double)")
        }
        expectError("function cannot return an array") {
            _ = try libm.function("pow", declaration: "typedef int A[2]; A pow(double, double);")
        }
        expectError("the libffi backend cannot call this: argument 1 (union U): libffi cannot pass unions") {
            _ = try libm.function("fabs", declaration: "union U { double d; long l; }; double fabs(union U)",
                options: BindingOptions(backend: .libffi, verification: .off))
        }
        let pow = try libm.function("pow", declaration: "double pow(double, double)")
        expectError("pow takes 2 arguments, got 1") { _ = try pow.call([.double(1)]) }
        expectError("pow takes 2 arguments, got 3") { _ = try pow.call([.double(1), .double(2), .double(3)]) }
        expectError("argument 2 (double): expected a number, got a string") { _ = try pow.call([.double(1), .string("x")]) }
        expectError("argument 1 (double): expected a number, got null") { _ = try pow.call([.null, .double(1)]) }
        expectError("argument 1 (double): Swift type Int32 is an integer type") {
            _ = try pow.typed((Int32, Double).self, returning: Double.self)
        }
        expectError("result (double): Swift type Float is Float") { _ = try pow.typed((Double, Double).self, returning: Float.self) }
        expectError("pow takes 2 arguments, got 1") { _ = try pow.typed(Double.self, returning: Double.self) }

        let libc = try SharedLibrary("libc.so.6")
        let div = try libc.function("div", declaration: "typedef struct { int quot; int rem; } div_t; div_t div(int, int);")
        expectError("argument 1 (int): 3000000000 does not fit in int") { _ = try div.call([.int(3_000_000_000), .int(1)]) }
        expectError("argument 2 (int): expected an integer, got the floating value 2.5") { _ = try div.call([.int(1), .double(2.5)]) }
        try libc.declare("struct P2d { double x, y; };")
        let labs = try libc.function(
            "labs", declaration: "long labs(struct P2d)", options: BindingOptions(verification: .off))
        expectError("argument 1 (struct P2d): expected a struct P2d value, got null") { _ = try labs.call([.null]) }
        expectError("argument 1 (struct P2d): expected a struct P2d value, got a struct <anonymous> value") {
            _ = try labs.call([try div.call([.int(1), .int(1)])])
        }
        expectError("struct P2d, field z: struct P2d has no member named z") {
            _ = try libc.makeRecord("struct P2d").field("z")
        }
        expectError("struct P2d, field x: expected a number, got a string") {
            var point = try libc.makeRecord("struct P2d")
            try point.setField("x", to: .string("1"))
        }
        expectError("[abi] result: declared int, actual long: 4 bytes against 8") {
            _ = try libc.function("strtol", declaration: "int strtol(const char *, char **, int)")
        }
        expectError("[abi] parameters: declared fixed, actual variadic") {
            _ = try libc.function("printf", declaration: "int printf(const char *)")
        }
        let printf = try libc.function("printf", declaration: "int printf(const char *, ...)")
        expectError("variadic argument 2 (?): an initializer list has no C type") { _ = try printf.call([.string("%d"), .array([])]) }
        expectError("printf takes at least 1 argument, got 0") { _ = try printf.call([]) }
    }

    /// Closing a library never leaves a dangling function: the function keeps it loaded.
    @Test func boundFunctionsKeepTheirLibraryAlive() throws {
        var libm: SharedLibrary? = try SharedLibrary("libm.so.6")
        let fabs = try libm!.function("fabs", declaration: "double fabs(double)")
        libm!.close()
        #expect(libm!.isClosed)
        #expect(throws: CallStubError.self) { try libm!.function("fabs", declaration: "double fabs(double)") }
        libm = nil
        let root = try fabs.call([.double(-2.5)])
        #expect(root == .double(2.5))
        #expect(fabs.libraryName == "libm.so.6")
    }

    /// Typed handles, variadic ones included, keep the library loaded too, when the
    /// library and the bound function are gone (found by the benchmark suite: a typed handle
    /// jumped into an unloaded library). The backends run one after the other, each on a
    /// copy of its own, so that nothing else maps the same file or address meanwhile.
    @Test func typedHandlesKeepTheirLibraryAlive() throws {
        let fixture = try #require(FixtureLibrary.built.first)
        for backend in backends {
            let copy = FileManager.default.temporaryDirectory
                .appendingPathComponent("callstub-lifetime-\(getpid())-\(backend).so")
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(atPath: fixture.path, toPath: copy.path)
            defer { try? FileManager.default.removeItem(at: copy) }
            var library: SharedLibrary? = try SharedLibrary(
                copy.path, options: BindingOptions(backend: backend, verification: .off))
            let echo = try library!.function("echo_int", declaration: "int echo_int(int)")
                .typed(Int32.self, returning: Int32.self)
            let vsum = try library!.function("vsum_int", declaration: "long vsum_int(int count, ...)")
                .typed((Int32, Int32, Int32).self, returning: Int.self)
            library!.close()
            library = nil
            // RTLD_NOLOAD: a handle only if the library is still loaded.
            let stillLoaded = try #require(
                dlopen(copy.path, RTLD_NOW | RTLD_NOLOAD), "\(backend): the library was unloaded")
            dlclose(stillLoaded)
            #expect(echo(42) == 42)
            #expect(vsum(2, 3, 4) == 11)  // 1·3 + 2·4
        }
    }
}

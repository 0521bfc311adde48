// Typed register calls (RegisterCall.swift): a typed handle of integers, pointers, floats
// and doubles calls the C function itself. The oracle is C: each function below has a
// driver compiled beside it that makes the same call, and the typed handle must return
// what the driver does, on a library built by each installed compiler with -O2 (clang's
// callees read narrow arguments as 32-bit values the caller extended; a variadic callee
// built by gcc reads the vector registers only when %al says so). The same handles made
// on libffi, with errno capture, or for other types must not take the register path.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct RegisterCallTests {
    static let source = """
        #include <stdarg.h>
        #include <stddef.h>
        long widen(short a, signed char b, unsigned short c, unsigned char d, _Bool e) {
            return (long)a * 1000003 + (long)b * 1009 + (long)c * 17 + (long)d * 3 + e;
        }
        long widen_driver(void) { return widen(-2, -3, 65535, 255, 1); }
        double full(long a, double b, int c, float d, void *e, double f, unsigned g, float h,
                    long i, double j, double k, double l, double m, short n) {
            return a + 2 * b + 3 * c + 4 * d + 5 * (double)(size_t)e + 6 * f + 7 * g + 8 * h
                + 9 * i + 10 * j + 11 * k + 12 * l + 13 * m + 14 * n;
        }
        double full_driver(void) {
            return full(-1, 0.5, -7, 0.25f, (void *)64, 1e3, 4000000000u, -1.5f, 1L << 40, -2.5, 3.5, 4.5, 5.5, -32768);
        }
        float scale(float x, int y) { return x * (float)y; }
        float scale_driver(void) { return scale(1.25f, -3); }
        _Bool is_even(int x) { return (x & 1) == 0; }
        signed char negate_char(int x) { return (signed char)-x; }
        unsigned short low_half(unsigned x) { return (unsigned short)x; }
        const char *skip(const char *text, long n) { return text + n; }
        static long stored;
        void store(long x) { stored = x; }
        long stored_value(void) { return stored; }
        double vsum_doubles(int n, ...) {
            va_list list; va_start(list, n);
            double sum = 0; for (int i = 0; i < n; i++) sum += va_arg(list, double) * (i + 1);
            va_end(list); return sum;
        }
        double vsum_doubles_driver(void) { return vsum_doubles(3, 1.5, -2.0, 0.25); }
        long vmixed(int n, ...) {
            va_list list; va_start(list, n);
            long sum = 0;
            for (int i = 0; i < n; i++) sum = sum * 31 + (i % 2 ? (long)(va_arg(list, double) * 4) : va_arg(list, long));
            va_end(list); return sum;
        }
        long vmixed_driver(void) {
            return vmixed(13, 1L, 2.25, 3L, 4.5, 5L, 6.75, -7L, 8.0, 9L, 10.25, 11L, 12.5, 13L);
        }
        long double long_half(long double x) { return x / 2; }
        """

    static let declarations = """
        long widen(short a, signed char b, unsigned short c, unsigned char d, _Bool e);
        long widen_driver(void);
        double full(long a, double b, int c, float d, void *e, double f, unsigned g, float h,
                    long i, double j, double k, double l, double m, short n);
        double full_driver(void);
        float scale(float x, int y);
        float scale_driver(void);
        _Bool is_even(int x);
        signed char negate_char(int x);
        unsigned short low_half(unsigned x);
        const char *skip(const char *text, long n);
        void store(long x);
        long stored_value(void);
        double vsum_doubles(int n, ...);
        double vsum_doubles_driver(void);
        long vmixed(int n, ...);
        long vmixed_driver(void);
        long double long_half(long double x);
        """

    /// The library built by each installed compiler (gcc, clang-19) with -O2.
    static let libraries: [String] = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-register-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("register.c")
        try? Self.source.write(to: source, atomically: true, encoding: .utf8)
        return CCompiler.installed.filter { $0.name != "clang" || CCompiler.installed.count == 1 }.compactMap { compiler in
            let output = directory.appendingPathComponent("libregister-\(compiler.name).so").path
            guard let built = try? run(compiler.path, ["-std=gnu11", "-O2", "-shared", "-fPIC", "-o", output, source.path]),
                built.status == 0
            else { return nil }
            return output
        }
    }()

    func open(_ path: String, _ options: BindingOptions = BindingOptions()) throws -> SharedLibrary {
        let library = try SharedLibrary(path, options: options)
        try library.declare(Self.declarations)
        return library
    }

    @Test func librariesAreBuilt() {
        #expect(Self.libraries.count >= 1)
    }

    @Test(arguments: libraries, [BindingOptions.Backend.auto, .jit])
    func registerCallsAgreeWithC(_ path: String, _ backend: BindingOptions.Backend) throws {
        let library = try open(path, BindingOptions(backend: backend))
        func driver<R: CResultConvertible>(_ name: String, _ type: R.Type) throws -> R {
            try library.function(name).typed(returning: R.self)()
        }

        // Narrow integers extended by the caller: clang's callee reads them as 32 bits.
        let widen = try library.function("widen").typed((Int16, Int8, UInt16, UInt8, Bool).self, returning: Int.self)
        #expect(widen.callsFunctionDirectly)
        #expect(widen(-2, -3, 65535, 255, true) == (try driver("widen_driver", Int.self)))

        // All six integer and eight vector registers, interleaved.
        let full = try library.function("full").typed(
            (Int, Double, Int32, Float, UnsafeRawPointer?, Double, UInt32, Float, Int, Double, Double, Double, Double, Int16).self,
            returning: Double.self)
        #expect(full.callsFunctionDirectly)
        let fullResult = full(-1, 0.5, -7, 0.25, UnsafeRawPointer(bitPattern: 64), 1e3, 4_000_000_000, -1.5, 1 << 40, -2.5, 3.5, 4.5, 5.5, -32768)
        #expect(fullResult == (try driver("full_driver", Double.self)))

        // float in and out, narrow and _Bool results, pointers, void.
        let scale = try library.function("scale").typed((Float, Int32).self, returning: Float.self)
        #expect(scale.callsFunctionDirectly)
        #expect(scale(1.25, -3) == (try driver("scale_driver", Float.self)))
        let isEven = try library.function("is_even").typed(Int32.self, returning: Bool.self)
        #expect(isEven(4) && !isEven(7))
        let negate = try library.function("negate_char").typed(Int32.self, returning: Int8.self)
        #expect(negate(100) == -100 && negate(-128) == -128)
        let lowHalf = try library.function("low_half").typed(UInt32.self, returning: UInt16.self)
        #expect(lowHalf(0x1234_FFFE) == 0xFFFE)
        let skip = try library.function("skip").typed((UnsafePointer<CChar>?, Int).self, returning: UnsafePointer<CChar>?.self)
        #expect(skip.callsFunctionDirectly)
        "callstub".withCString { text in #expect(skip(text, 4).map { String(cString: $0) } == "stub") }
        let store = try library.function("store").typed(Int.self, returning: Void.self)
        #expect(store.callsFunctionDirectly)
        store(-77)
        #expect(try driver("stored_value", Int.self) == -77)

        // Variadic: %al carries the vector register count (gcc's callee skips saving the
        // vector registers when it is 0, so a wrong %al loses the doubles).
        let vsum = try library.function("vsum_doubles").typed((Int32, Double, Double, Double).self, returning: Double.self)
        #expect(vsum.callsFunctionDirectly)
        #expect(vsum(3, 1.5, -2.0, 0.25) == (try driver("vsum_doubles_driver", Double.self)))
        let vmixed = try library.function("vmixed").typed(
            (Int32, Int, Double, Int, Double, Int, Double, Int, Double, Int, Double, Int, Double, Int).self, returning: Int.self)
        #expect(!vmixed.callsFunctionDirectly, "seven integer arguments: one goes on the stack")
        #expect(vmixed(13, 1, 2.25, 3, 4.5, 5, 6.75, -7, 8.0, 9, 10.25, 11, 12.5, 13) == (try driver("vmixed_driver", Int.self)))
        let vmixedShort = try library.function("vmixed").typed((Int32, Int, Double, Int, Double).self, returning: Int.self)
        #expect(vmixedShort.callsFunctionDirectly)
        #expect(vmixedShort(4, 1, 2.25, 3, 4.5) == ((1 * 31 + 9) * 31 + 3) * 31 + 18)
    }

    @Test(arguments: libraries)
    func otherHandlesKeepTheirPath(_ path: String) throws {
        // libffi asked for: the handle calls through libffi.
        let viaFFI = try open(path, BindingOptions(backend: .libffi)).function("widen")
            .typed((Int16, Int8, UInt16, UInt8, Bool).self, returning: Int.self)
        #expect(!viaFFI.callsFunctionDirectly)
        #expect(viaFFI(-2, -3, 65535, 255, true) == -2 * 1_000_003 - 3 * 1009 + 65535 * 17 + 255 * 3 + 1)
        // errno captured: the stub reads it right after the call.
        var capturing = BindingOptions(backend: .jit)
        capturing.capturesErrno = true
        let withErrno = try open(path, capturing).function("scale").typed((Float, Int32).self, returning: Float.self)
        #expect(!withErrno.callsFunctionDirectly)
        #expect(withErrno(2, 3) == 6)
        let library = try open(path)
        // A String argument lives only in its own scope; long double travels on the stack.
        let skipString = try library.function("skip").typed((String, Int).self, returning: UnsafePointer<CChar>?.self)
        #expect(!skipString.callsFunctionDirectly)
        let half = try library.function("long_half").typed(Float80.self, returning: Float80.self)
        #expect(!half.callsFunctionDirectly)
        #expect(half(3) == 1.5)
    }
}

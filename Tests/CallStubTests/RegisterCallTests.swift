// Typed register calls (RegisterCall.swift): a typed handle of integers, pointers, floats
// and doubles calls the C function itself; and register callbacks (RegisterCallback.swift),
// whose closure C calls with its registers as they are. The oracle is C: each function below has a
// driver compiled beside it that makes the same call, and the typed handle must return
// what the driver does, on a library built by each installed compiler with -O2 (clang's
// callees read narrow arguments as 32-bit values the caller extended; a variadic callee
// built by gcc reads the vector registers only when %al says so). The same handles made
// on libffi, with errno capture, or for other types must not take the register path.

import CTestSupport
import CallStub
import Foundation
import Synchronization
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
        /* The %al its caller set: the vector register count of a variadic call (psABI 3.5.7). */
        __attribute__((naked)) long vector_count(int n, ...) { __asm__("movzbl %al, %eax; ret"); }
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
        long double drive_long_double(long double (*f)(long double)) { return f(3); }
        typedef double (*vectors_callback)(long, double, int, float, void *, double, float,
                                           double, double, double, double, short);
        double drive_vectors(vectors_callback f) {
            return f(-1, 0.5, -7, 0.25f, (void *)64, 1e3, -1.5f, -2.5, 3.5, 4.5, 5.5, -32768);
        }
        typedef long (*integers_callback)(long, int, void *, unsigned, signed char, unsigned short);
        long drive_integers(integers_callback f) { return f(1L << 40, -7, (void *)64, 4000000000u, -5, 65000); }
        int drive_narrow(signed char (*f)(short, unsigned char, _Bool)) { return f(-2, 200, 1) + 1000; }
        unsigned drive_ushort(unsigned short (*f)(unsigned)) { return f(0x1234FFFEu) + 1u; }
        float drive_float(float (*f)(float, int)) { return f(1.25f, -3) * 2; }
        _Bool drive_bool(_Bool (*f)(int)) { return f(4) && !f(7); }
        void *drive_pointer(void *(*f)(void *, long)) { return f((void *)0x1000, 8); }
        long drive_void(void (*f)(long)) { f(42); return 1; }
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
        long vector_count(int n, ...);
        long vmixed(int n, ...);
        long vmixed_driver(void);
        long double long_half(long double x);
        long double drive_long_double(long double (*f)(long double));
        typedef double (*vectors_callback)(long, double, int, float, void *, double, float,
                                           double, double, double, double, short);
        double drive_vectors(vectors_callback f);
        typedef long (*integers_callback)(long, int, void *, unsigned, signed char, unsigned short);
        long drive_integers(integers_callback f);
        int drive_narrow(signed char (*f)(short, unsigned char, _Bool));
        unsigned drive_ushort(unsigned short (*f)(unsigned));
        float drive_float(float (*f)(float, int));
        _Bool drive_bool(_Bool (*f)(int));
        void *drive_pointer(void *(*f)(void *, long));
        long drive_void(void (*f)(long));
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

    @Test(arguments: libraries, [BindingOptions.Backend.auto, fastBackend])
    func registerCallsAgreeWithC(_ path: String, _ backend: BindingOptions.Backend) throws {
        let library = try open(path, BindingOptions(backend: backend))
        // The C driver's result read back through a raw call (the stub or libffi, the result
        // buffer), not through a register call as the handles under test read theirs: the
        // same path on both sides would agree however it read the result register.
        func driver<R: CScalarConvertible>(_ name: String, _ type: R.Type) throws -> R {
            let function = try library.function(name)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(16, function.resultBufferSize), alignment: 16)
            defer { buffer.deallocate() }
            var noArguments: UnsafeMutableRawPointer? = nil
            withUnsafePointer(to: &noArguments) { function.invoke(arguments: $0, result: buffer) }
            return buffer.load(as: R.self)
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
        // %al itself, as the callee found it (a callee that saves the vector registers
        // whenever %al is not 0 passes the test above with any %al but 0).
        let twoVectors = try library.function("vector_count").typed((Int32, Double, Int, Double).self, returning: Int.self)
        #expect(twoVectors.callsFunctionDirectly)
        #expect(twoVectors(3, 1.5, 7, 2.5) == 2)
        let noVector = try library.function("vector_count").typed((Int32, Int).self, returning: Int.self)
        #expect(noVector(1, 7) == 0)
        let vmixed = try library.function("vmixed").typed(
            (Int32, Int, Double, Int, Double, Int, Double, Int, Double, Int, Double, Int, Double, Int).self, returning: Int.self)
        #expect(!vmixed.callsFunctionDirectly, "seven integer arguments: one goes on the stack")
        #expect(vmixed(13, 1, 2.25, 3, 4.5, 5, 6.75, -7, 8.0, 9, 10.25, 11, 12.5, 13) == (try driver("vmixed_driver", Int.self)))
        let vmixedShort = try library.function("vmixed").typed((Int32, Int, Double, Int, Double).self, returning: Int.self)
        #expect(vmixedShort.callsFunctionDirectly)
        #expect(vmixedShort(4, 1, 2.25, 3, 4.5) == ((1 * 31 + 9) * 31 + 3) * 31 + 18)
    }

    /// Register callbacks: C (built by each compiler with -O2) calls the closure with the
    /// arguments in its registers and reads the result from %rax or %xmm0. clang's caller
    /// of `drive_narrow` adds to the `signed char` result as a 32-bit value, so it must come
    /// back extended.
    @Test(arguments: libraries, [BindingOptions.Backend.auto, fastBackend])
    func registerCallbacksAgreeWithC(_ path: String, _ backend: BindingOptions.Backend) throws {
        let library = try open(path, BindingOptions(backend: backend))
        // All eight vector registers with four integers between them, then all six integer ones.
        typealias Vectors = (Int, Double, Int32, Float, UnsafeRawPointer?, Double, Float, Double, Double, Double, Double, Int16)
        let vectors = try Callback.typed("vectors_callback", Vectors.self, returning: Double.self, scope: library.declarations, backend: backend) {
            a, b, c, d, e, f, g, h, i, j, k, l in
            let integers: [Int] = [a, Int(c), Int(bitPattern: UInt(bitPattern: e)), Int(l)]
            let floating: [Double] = [b, Double(d), f, Double(g), h, i, j, k]
            return integers == [-1, -7, 64, -32768] && floating == [0.5, 0.25, 1e3, -1.5, -2.5, 3.5, 4.5, 5.5] ? 1 : -1
        }
        #expect(vectors.callsClosureDirectly == !goesThroughLibffi(backend))
        #expect(try library.function("drive_vectors").typed(Callback.self, returning: Double.self)(vectors) == 1)
        typealias Integers = (Int, Int32, UnsafeRawPointer?, UInt32, Int8, UInt16)
        let integers = try Callback.typed("integers_callback", Integers.self, returning: Int.self, scope: library.declarations, backend: backend) {
            a, b, c, d, e, f in
            [a, Int(b), Int(bitPattern: UInt(bitPattern: c)), Int(d), Int(e), Int(f)] == [1 << 40, -7, 64, 4_000_000_000, -5, 65000] ? 1 : -1
        }
        #expect(integers.callsClosureDirectly == !goesThroughLibffi(backend))
        #expect(try library.function("drive_integers").typed(Callback.self, returning: Int.self)(integers) == 1)

        let narrow = try Callback.typed("signed char (*)(short, unsigned char, _Bool)", (Int16, UInt8, Bool).self, returning: Int8.self, backend: backend) {
            a, b, c in a == -2 && b == 200 && c ? -100 : 0
        }
        #expect(narrow.callsClosureDirectly == !goesThroughLibffi(backend))
        #expect(try library.function("drive_narrow").typed(Callback.self, returning: Int32.self)(narrow) == 900)
        let ushort = try Callback.typed("unsigned short (*)(unsigned)", UInt32.self, returning: UInt16.self, backend: backend) {
            UInt16(truncatingIfNeeded: $0)
        }
        #expect(try library.function("drive_ushort").typed(Callback.self, returning: UInt32.self)(ushort) == 0xFFFF)
        let float = try Callback.typed("float (*)(float, int)", (Float, Int32).self, returning: Float.self, backend: backend) {
            $0 * Float($1)
        }
        #expect(try library.function("drive_float").typed(Callback.self, returning: Float.self)(float) == -7.5)
        let even = try Callback.typed("_Bool (*)(int)", Int32.self, returning: Bool.self, backend: backend) { $0 % 2 == 0 }
        #expect(try library.function("drive_bool").typed(Callback.self, returning: Bool.self)(even))
        let offset = try Callback.typed("void *(*)(void *, long)", (UnsafeRawPointer?, Int).self, returning: UnsafeRawPointer?.self, backend: backend) {
            pointer, offset in pointer.map { $0 + offset }
        }
        #expect(try library.function("drive_pointer").typed(Callback.self, returning: UnsafeRawPointer?.self)(offset) == UnsafeRawPointer(bitPattern: 0x1008))
        let seen = Mutex<Int>(0)
        let record = try Callback.typed("void (*)(long)", Int.self, returning: CVoid.self, backend: backend) { value in
            seen.withLock { $0 = value }
            return CVoid()
        }
        #expect(record.callsClosureDirectly == !goesThroughLibffi(backend))
        #expect(try library.function("drive_void").typed(Callback.self, returning: Int.self)(record) == 1)
        #expect(seen.withLock { $0 } == 42)
    }

    @Test(arguments: libraries)
    func otherHandlesKeepTheirPath(_ path: String) throws {
        // libffi asked for: the handle calls through libffi.
        let viaFFI = try open(path, BindingOptions(backend: .libffi)).function("widen")
            .typed((Int16, Int8, UInt16, UInt8, Bool).self, returning: Int.self)
        #expect(!viaFFI.callsFunctionDirectly)
        #expect(viaFFI(-2, -3, 65535, 255, true) == -2 * 1_000_003 - 3 * 1009 + 65535 * 17 + 255 * 3 + 1)
        // errno captured: the stub reads it right after the call.
        var capturing = BindingOptions(backend: fastBackend)
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
        // Callbacks: on libffi, or of a type that does not travel in registers.
        let viaClosure = try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: .libffi) { $0 }
        #expect(!viaClosure.callsClosureDirectly)
        let wide = try Callback.typed("long double (*)(long double)", Float80.self, returning: Float80.self) { $0 / 2 }
        #expect(!wide.callsClosureDirectly)
        #expect(try library.function("drive_long_double").typed(Callback.self, returning: Float80.self)(wide) == 1.5)
    }
}

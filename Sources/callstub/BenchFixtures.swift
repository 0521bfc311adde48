// The benchmark's built-in fixtures: a small C library compiled at run time (-O2) with the
// matrix's functions and, for each, a C driver that calls it through a volatile function
// pointer in a timed loop: the floor every other path is compared with.

import Foundation

enum BenchFixtures {
    static let source = #"""
        #include <stdarg.h>
        #include <time.h>

        int f0(void) { return 42; }
        int add2(int a, int b) { return a + b; }
        long sum6(long a, long b, long c, long d, long e, long f) { return a + b + c + d + e + f; }
        double fma3(double a, double b, double c) { return a * b + c; }
        double mixed8(int a, double b, long c, float d, int e, double f, short g, double h) {
            return a + b + c + d + e + f + g + h;
        }
        void *ptr3(void *a, void *b, void *c) { return (char *)a + ((char *)c - (char *)b); }
        struct II { int a, b; };
        int ii(struct II s) { return s.a + s.b; }
        /* dd2 and l4 as gcc -O2 writes them by default vectorize their members: dd2 stores
         * its register arguments as two 8-byte halves and reloads them as one 16-byte
         * vector, l4 copies its argument (written by every caller as four 8-byte stores)
         * with 16-byte loads. Both loads wait for the stores to retire (store forwarding
         * fails), which cost more than the call itself (docs/benchmarks.md, "Record
         * rows"). Member by member, each value moves as it was written. */
        #define MEMBERWISE __attribute__((optimize("no-tree-slp-vectorize")))
        struct DD { double a, b; };
        MEMBERWISE struct DD dd2(struct DD x, struct DD y) { struct DD r = { x.a + y.a, x.b + y.b }; return r; }
        struct L4 { long a, b, c, d; };
        MEMBERWISE struct L4 l4(struct L4 s) { struct L4 r = { s.a + 1, s.b, s.c, s.d }; return r; }
        struct FID { float a; int b; double c; };
        double fid(struct FID s) { return s.a + s.b + s.c; }
        int vsum(int n, ...) {
            va_list list;
            va_start(list, n);
            int sum = 0;
            for (int k = 0; k < n; k++) sum += va_arg(list, int);
            va_end(list);
            return sum;
        }

        static double now(void) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            return t.tv_sec * 1e9 + t.tv_nsec;
        }
        /* Direct calls through a volatile function pointer: nanoseconds for n calls. */
        #define DRIVER(name, type, call, sinktype) \
            double direct_##name(long n) { \
                type volatile fp = name; sinktype volatile sink; double start = now(); \
                for (long i = 0; i < n; i++) sink = call; \
                (void)sink; return now() - start; }
        typedef int (*F0)(void);                 DRIVER(f0, F0, fp(), int)
        typedef int (*ADD2)(int, int);           DRIVER(add2, ADD2, fp((int)i, 2), int)
        typedef long (*SUM6)(long, long, long, long, long, long);
        DRIVER(sum6, SUM6, fp(i, 1, 2, 3, 4, 5), long)
        typedef double (*FMA3)(double, double, double); DRIVER(fma3, FMA3, fp((double)i, 1.5, 2.5), double)
        typedef double (*MIXED8)(int, double, long, float, int, double, short, double);
        DRIVER(mixed8, MIXED8, fp((int)i, 1.5, 2, 2.5f, 3, 3.5, 4, 4.5), double)
        typedef void *(*PTR3)(void *, void *, void *); DRIVER(ptr3, PTR3, fp((void *)i, (void *)8, (void *)16), void *)
        typedef int (*II_)(struct II); DRIVER(ii, II_, fp((struct II){ (int)i, 2 }), int)
        typedef struct DD (*DD2)(struct DD, struct DD);
        DRIVER(dd2, DD2, fp((struct DD){ (double)i, 1 }, (struct DD){ 2, 3 }).a, double)
        /* The argument prepared in memory, as CallStub's paths have it: built each time
         * from `i`, its four 8-byte stores would be copied out with 16-byte loads. */
        static struct L4 l4_argument = { 1, 2, 3, 4 };
        typedef struct L4 (*L4_)(struct L4); DRIVER(l4, L4_, fp(l4_argument).a, long)
        typedef double (*FID_)(struct FID); DRIVER(fid, FID_, fp((struct FID){ 1.5f, (int)i, 2.5 }), double)
        typedef int (*VSUM)(int, ...); DRIVER(vsum, VSUM, fp(3, (int)i, 2, 3), int)

        /* C calling the C API n times: callstub_call(function, result, args), or with a
         * variadic tail callstub_call_variadic(function, types, result, args). */
        typedef int (*CALLSTUB_CALL)(void *, void *, void **);
        typedef int (*CALLSTUB_CALL_VARIADIC)(void *, const char *, void *, void **);
        double capi_loop(long n, void *call, void *function, void *result, void **args, const char *types) {
            double start = now();
            if (types) {
                CALLSTUB_CALL_VARIADIC volatile variadic = (CALLSTUB_CALL_VARIADIC)call;
                for (long i = 0; i < n; i++) variadic(function, types, result, args);
            } else {
                CALLSTUB_CALL volatile fixed = (CALLSTUB_CALL)call;
                for (long i = 0; i < n; i++) fixed(function, result, args);
            }
            return now() - start;
        }

        /* C calling libffi's drop-in callstub_ffi_call n times on a cif (refilling the first
         * `count` entries of the argument array each time, as the ffi_call column does where
         * ffi_call writes into it): nanoseconds. */
        typedef void (*CALLSTUB_FFI_CALL)(void *, void *, void *, void **);
        double dropin_loop(long n, void *call, void *cif, void *fn, void *result, void **args, unsigned count) {
            void *saved[16];
            for (unsigned k = 0; k < count && k < 16; k++) saved[k] = args[k];
            CALLSTUB_FFI_CALL volatile dropin = (CALLSTUB_FFI_CALL)call;
            double start = now();
            if (count == 0)
                for (long i = 0; i < n; i++) dropin(cif, fn, result, args);
            else
                for (long i = 0; i < n; i++) {
                    for (unsigned k = 0; k < count && k < 16; k++) args[k] = saved[k];
                    dropin(cif, fn, result, args);
                }
            return now() - start;
        }

        /* C calling a callback n times: nanoseconds. */
        double callback_loop(int (*volatile f)(int), long n) {
            int volatile sink; double start = now();
            for (long i = 0; i < n; i++) sink = f((int)i);
            (void)sink; return now() - start;
        }
        """#

    /// The declarations CallStub binds the fixtures with.
    static let header = """
        struct II { int a, b; };
        struct DD { double a, b; };
        struct L4 { long a, b, c, d; };
        struct FID { float a; int b; double c; };
        int f0(void);
        int add2(int a, int b);
        long sum6(long a, long b, long c, long d, long e, long f);
        double fma3(double a, double b, double c);
        double mixed8(int a, double b, long c, float d, int e, double f, short g, double h);
        void *ptr3(void *a, void *b, void *c);
        int ii(struct II s);
        struct DD dd2(struct DD x, struct DD y);
        struct L4 l4(struct L4 s);
        double fid(struct FID s);
        int vsum(int n, ...);
        """

    enum BuildError: Error, CustomStringConvertible {
        case noCompiler
        case failed(String)
        var description: String {
            switch self {
            case .noCompiler: return "no C compiler found (cc, gcc or clang-19): scripts/setup.sh installs gcc"
            case .failed(let output): return "a benchmark program did not compile:\n\(output)"
            }
        }
    }

    /// Names a fixture library a parent process built for its children.
    static let builtVariable = "CALLSTUB_BENCH_FIXTURE"

    /// Compiles the fixture library into a temporary directory and returns its path.
    static func build() throws -> String {
        // A library already built (by the parent of a run under callgrind, where the child
        // cannot start the compiler, or of the matrix's processes).
        if let built = ProcessInfo.processInfo.environment[builtVariable], FileManager.default.fileExists(atPath: built) {
            return built
        }
        return try compile(source, named: "libcallstub-bench.so", flags: ["-O2", "-shared", "-fPIC"])
    }

    /// Compiles C `source` with the system C compiler into `name` in this run's temporary
    /// directory and returns its path.
    static func compile(_ source: String, named name: String, flags: [String]) throws -> String {
        let compilers = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang-19"]
        guard let compiler = compilers.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BuildError.noCompiler
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name + ".c")
        let output = directory.appendingPathComponent(name)
        try source.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = flags + ["-o", output.path, file.path]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let diagnostics = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BuildError.failed(String(decoding: diagnostics, as: UTF8.self)) }
        return output.path
    }
}

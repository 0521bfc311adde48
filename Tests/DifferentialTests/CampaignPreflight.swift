// The oracle's own check: before a batch runs in the test process, a separate program
// makes every case's direct C call (cs_make_N, then cs_drive_N with the callee) so that
// a C compiler that crashes on its own call cannot take the campaign down with it.
// Found by the long run: gcc 12 at -O2 reads `va_arg(ap, union { long double; char; … })`
// (a 16-byte-aligned union passed in two general registers) from the register save
// area with an aligned vector load at an 8-byte-aligned address, and faults.
// Such cases are skipped and counted, with their declarations; nothing else about them
// can be compared, since every caller faults in the same callee.

import CTestSupport
import Foundation
import Locks

enum CampaignPreflight {
    /// The driver: reads "index seed name" lines, prints "case index" before each call
    /// (unbuffered) and "done" at the end, so a crash names the case that caused it.
    static let source = #"""
        #include <dlfcn.h>
        #include <inttypes.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>

        typedef void (*make_fn)(void **, uint64_t);
        typedef void (*drive_fn)(void *, void **, void *);
        typedef void (*reset_fn)(void);

        int main(int argc, char **argv) {
            if (argc != 2) return 2;
            void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
            if (!library) { printf("dlopen: %s\n", dlerror()); return 2; }
            reset_fn reset = (reset_fn)dlsym(library, "cs_log_reset");
            /* 24 argument slots of 512 bytes and a result, 64-byte aligned: larger than any generated type. */
            void *slots[24];
            for (int k = 0; k < 24; k++) slots[k] = aligned_alloc(64, 512);
            void *result = aligned_alloc(64, 1024);
            int index;
            uint64_t seed;
            char name[64], symbol[96];
            setvbuf(stdout, NULL, _IONBF, 0);
            while (scanf("%d %" SCNu64 " %63s", &index, &seed, name) == 3) {
                snprintf(symbol, sizeof symbol, "cs_make_%d", index);
                make_fn make = (make_fn)dlsym(library, symbol);
                snprintf(symbol, sizeof symbol, "cs_drive_%d", index);
                drive_fn drive = (drive_fn)dlsym(library, symbol);
                void *callee = dlsym(library, name);
                if (!make || !drive || !callee) continue;
                printf("case %d\n", index);
                if (reset) reset();
                make(slots, seed);
                drive(callee, slots, result);
            }
            printf("done\n");
            return 0;
        }
        """#

    /// The driver, built once per process with the system C compiler.
    private static let built = Lock<Result<String, OracleError>?>(nil)

    static func driver() throws -> String {
        try built.withLock { (state) throws -> String in
            if let state { return try state.get() }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-preflight-\(getpid())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent("preflight.c")
            let program = directory.appendingPathComponent("preflight")
            try source.write(to: file, atomically: true, encoding: .utf8)
            let compile = try CTestSupport.run("/usr/bin/cc", ["-O1", "-o", program.path, file.path, "-ldl"])
            let result: Result<String, OracleError> = compile.status == 0
                ? .success(program.path) : .failure(.compileFailed(compiler: "cc (preflight)", output: compile.output))
            state = result
            return try result.get()
        }
    }

    /// The indices of the cases whose direct C call does not return, with how it ended.
    static func crashingCases(library: String, cases: [(index: Int, seed: UInt64, name: String)]) throws -> [Int: String] {
        let program = try driver()
        var crashes: [Int: String] = [:]
        var remaining = cases[...]
        while !remaining.isEmpty {
            let input = remaining.map { "\($0.index) \($0.seed) \($0.name)" }.joined(separator: "\n") + "\n"
            let outcome = try CTestSupport.run(program, [library], input: input)
            let lines = outcome.output.split(separator: "\n")
            if outcome.status == 0, lines.last == "done" { break }
            // The last case started is the one that did not return.
            guard let last = lines.last(where: { $0.hasPrefix("case ") }), let index = Int(last.dropFirst(5)),
                let position = remaining.firstIndex(where: { $0.index == index })
            else {
                throw OracleError.runFailed(compiler: "the preflight of \(library)", output: String(outcome.output.suffix(2000)))
            }
            crashes[index] = "status \(outcome.status)"
            remaining = remaining[(position + 1)...]
        }
        return crashes
    }
}

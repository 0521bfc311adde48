// `callstub bench --peers`: libffi 3.8's reusable call plans (`ffi_call_plan_invoke`, the
// fastest slow path libffi offers) as a peer column. Debian 12 has libffi 3.4.4, without
// plans, so 3.8 is built from the release tarball in the peers directory
// (`$CALLSTUB_PEERS_DIR`, else `../shared/peers` from the working directory) into
// `.build/peers/` the first time, and a small C driver linked against it (never into a
// process that links Debian's libffi) times the matrix's fixture functions through plans.
// Without the tarball or the autotools the column is skipped with a note.

import Foundation

enum BenchLibFFIPlans {
    static let version = "3.8.0"

    /// The runner of the plans' driver (built now if need be), or a note saying why
    /// there is no column.
    static func prepare(
        library: String, cases: [String], calls: Int, repetitions: Int, progress: (String) -> Void
    ) -> Result<BenchPeers.Runner, PeerNote> {
        let prefix: String
        switch build(progress: progress) {
        case .success(let built): prefix = built
        case .failure(let note): return .failure(note)
        }
        let directory = URL(fileURLWithPath: library).deletingLastPathComponent()
        let source = directory.appendingPathComponent("peer-ffi-plan.c").path
        let driver = directory.appendingPathComponent("peer-ffi-plan").path
        do { try driverSource.write(toFile: source, atomically: true, encoding: .utf8) } catch {
            return .failure(PeerNote("cannot write \(source)"))
        }
        let compiled = BenchPeers.run([
            "cc", "-O2", "-I", "\(prefix)/include", "-o", driver, source, "-L", "\(prefix)/lib", "-lffi",
            "-Wl,-rpath,\(prefix)/lib", "-ldl",
        ])
        guard compiled.status == 0 else { return .failure(PeerNote("the driver did not compile: \(compiled.errors)")) }
        return .success(BenchPeers.Runner(
            name: "libffi \(version) plans", arguments: [driver, library, String(calls), String(repetitions), cases.joined(separator: ",")]))
    }

    /// Why the column is missing.
    struct PeerNote: Error {
        let text: String
        init(_ reason: String) { text = "peer libffi \(BenchLibFFIPlans.version) plans: \(reason)" }
    }

    /// The install prefix of libffi 3.8, built now if it is not there yet.
    static func build(progress: (String) -> Void) -> Result<String, PeerNote> {
        let here = FileManager.default.currentDirectoryPath
        let prefix = here + "/.build/peers/libffi-\(version)"
        if FileManager.default.fileExists(atPath: prefix + "/lib/libffi.so.8") { return .success(prefix) }
        let peers = ProcessInfo.processInfo.environment["CALLSTUB_PEERS_DIR"] ?? here + "/../shared/peers"
        let tarball = "\(peers)/libffi-\(version).tar.gz"
        guard FileManager.default.fileExists(atPath: tarball) else {
            return .failure(PeerNote("no \(tarball) (CALLSTUB_PEERS_DIR names the peers directory)"))
        }
        // (libffi's configure.ac uses LT_SYS_SYMBOL_USCORE, from libltdl-dev's ltdl.m4.)
        let missing = ["autoreconf", "libtoolize", "make", "makeinfo"].filter { BenchPeers.run([$0, "--version"]).status != 0 }
            + (FileManager.default.fileExists(atPath: "/usr/share/aclocal/ltdl.m4") ? [] : ["ltdl.m4"])
        guard missing.isEmpty else {
            return .failure(PeerNote(
                "\(missing.joined(separator: ", ")) missing to build it (scripts/setup.sh installs autoconf automake libtool libltdl-dev texinfo)"))
        }
        progress("peer: building libffi \(version) into \(prefix) (about a minute)")
        let work = here + "/.build/peers/build"
        let log = here + "/.build/peers/libffi-\(version).log"
        try? FileManager.default.removeItem(atPath: work)
        try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(work)'
            tar xzf '\(tarball)'
            cd libffi-\(version)
            ./autogen.sh
            ./configure --prefix='\(prefix)' --disable-docs
            make -j2
            make install
            """
        let built = BenchPeers.run(["bash", "-c", "(\(script)) > '\(log)' 2>&1"])
        try? FileManager.default.removeItem(atPath: work)
        guard built.status == 0, FileManager.default.fileExists(atPath: prefix + "/lib/libffi.so.8") else {
            return .failure(PeerNote("building it failed (status \(built.status)), see \(log)"))
        }
        return .success(prefix)
    }

    /// The driver: every case's cif and plan prepared once, each call checked against what
    /// C computes, then the timed loops, case by case in turns; prints peer.py's JSON.
    static let driverSource = #"""
        /* callstub bench --peers: the fixture functions through libffi 3.8 call plans. */
        #include <dlfcn.h>
        #include <ffi.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>

        struct II { int a, b; };
        struct DD { double a, b; };
        struct L4 { long a, b, c, d; };
        struct FID { float a; int b; double c; };

        typedef struct {
            const char *name;
            ffi_cif cif;
            ffi_call_plan *plan;
            void (*fn)(void);
            void *arguments[8];
            union { ffi_arg word; double real; void *pointer; struct DD dd; struct L4 l4; } result;
        } Case;

        static ffi_type *ii_elements[] = {&ffi_type_sint, &ffi_type_sint, NULL};
        static ffi_type *dd_elements[] = {&ffi_type_double, &ffi_type_double, NULL};
        static ffi_type *l4_elements[] = {&ffi_type_slong, &ffi_type_slong, &ffi_type_slong, &ffi_type_slong, NULL};
        static ffi_type *fid_elements[] = {&ffi_type_float, &ffi_type_sint, &ffi_type_double, NULL};
        static ffi_type ii_type = {0, 0, FFI_TYPE_STRUCT, ii_elements};
        static ffi_type dd_type = {0, 0, FFI_TYPE_STRUCT, dd_elements};
        static ffi_type l4_type = {0, 0, FFI_TYPE_STRUCT, l4_elements};
        static ffi_type fid_type = {0, 0, FFI_TYPE_STRUCT, fid_elements};

        static int i1 = 1, i2 = 2, i3 = 3, n3 = 3;
        static long l0 = 0, l1 = 1, l2 = 2, l3 = 3, l4v = 4, l5 = 5;
        static double d1 = 1.0, d15 = 1.5, d25 = 2.5, d35 = 3.5, d45 = 4.5;
        static float f25 = 2.5f;
        static short s4 = 4;
        static void *p8 = (void *)8, *p16 = (void *)16;
        static struct II sII = {1, 2};
        static struct DD sDD = {1, 2};
        static struct L4 sL4 = {1, 2, 3, 4};
        static struct FID sFID = {1.5f, 2, 2.5};

        static double now(void) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            return t.tv_sec * 1e9 + t.tv_nsec;
        }

        static int prepare(Case *c, void *library, const char *name) {
            c->name = name;
            c->fn = (void (*)(void))dlsym(library, name);
            if (c->fn == NULL) return 0;
            ffi_type **types = calloc(8, sizeof *types);
            ffi_status status = FFI_BAD_TYPEDEF;
            void **a = c->arguments;
        #define ARGS(...) do { void *values[] = {__VA_ARGS__}; memcpy(a, values, sizeof values); } while (0)
            if (!strcmp(name, "f0")) {
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 0, &ffi_type_sint, types);
            } else if (!strcmp(name, "add2")) {
                types[0] = types[1] = &ffi_type_sint; ARGS(&i1, &i2);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, types);
            } else if (!strcmp(name, "sum6")) {
                for (int i = 0; i < 6; i++) types[i] = &ffi_type_slong;
                ARGS(&l0, &l1, &l2, &l3, &l4v, &l5);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 6, &ffi_type_slong, types);
            } else if (!strcmp(name, "fma3")) {
                types[0] = types[1] = types[2] = &ffi_type_double; ARGS(&d1, &d15, &d25);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 3, &ffi_type_double, types);
            } else if (!strcmp(name, "mixed8")) {
                ffi_type *m[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_slong, &ffi_type_float,
                                 &ffi_type_sint, &ffi_type_double, &ffi_type_sshort, &ffi_type_double};
                memcpy(types, m, sizeof m);
                ARGS(&i1, &d15, &l2, &f25, &i3, &d35, &s4, &d45);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 8, &ffi_type_double, types);
            } else if (!strcmp(name, "ptr3")) {
                types[0] = types[1] = types[2] = &ffi_type_pointer; ARGS(&p8, &p8, &p16);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 3, &ffi_type_pointer, types);
            } else if (!strcmp(name, "ii")) {
                types[0] = &ii_type; ARGS(&sII);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, types);
            } else if (!strcmp(name, "dd2")) {
                types[0] = types[1] = &dd_type; ARGS(&sDD, &sDD);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 2, &dd_type, types);
            } else if (!strcmp(name, "l4")) {
                types[0] = &l4_type; ARGS(&sL4);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 1, &l4_type, types);
            } else if (!strcmp(name, "fid")) {
                types[0] = &fid_type; ARGS(&sFID);
                status = ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 1, &ffi_type_double, types);
            } else if (!strcmp(name, "vsum")) {
                types[0] = types[1] = types[2] = types[3] = &ffi_type_sint; ARGS(&n3, &i1, &i2, &i3);
                status = ffi_prep_cif_var(&c->cif, FFI_DEFAULT_ABI, 1, 4, &ffi_type_sint, types);
            } else {
                return 0;
            }
        #undef ARGS
            if (status != FFI_OK) { fprintf(stderr, "ffi_prep_cif failed for %s\n", name); exit(1); }
            c->plan = ffi_call_plan_alloc(&c->cif);
            if (c->plan == NULL) { fprintf(stderr, "ffi_call_plan_alloc failed for %s\n", name); exit(1); }
            return 1;
        }

        /* Whether the call computed what C computes. */
        static int correct(Case *c) {
            memset(&c->result, 0, sizeof c->result);
            ffi_call_plan_invoke(c->plan, c->fn, &c->result, c->arguments);
            const char *n = c->name;
            if (!strcmp(n, "f0")) return (int)c->result.word == 42;
            if (!strcmp(n, "add2")) return (int)c->result.word == 3;
            if (!strcmp(n, "sum6")) return (long)c->result.word == 15;
            if (!strcmp(n, "fma3")) return c->result.real == 4.0;
            if (!strcmp(n, "mixed8")) return c->result.real == 22.0;
            if (!strcmp(n, "ptr3")) return c->result.pointer == (void *)16;
            if (!strcmp(n, "ii")) return (int)c->result.word == 3;
            if (!strcmp(n, "dd2")) return c->result.dd.b == 4.0;
            if (!strcmp(n, "l4")) return c->result.l4.a == 2;
            if (!strcmp(n, "fid")) return c->result.real == 6.0;
            if (!strcmp(n, "vsum")) return (int)c->result.word == 6;
            return 0;
        }

        static void loop(Case *c, long calls) {
            for (long i = 0; i < calls; i++) ffi_call_plan_invoke(c->plan, c->fn, &c->result, c->arguments);
        }

        int main(int argc, char **argv) {
            if (argc != 5) { fprintf(stderr, "usage: %s LIBRARY CALLS REPETITIONS CASES\n", argv[0]); return 2; }
            void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
            if (library == NULL) { fprintf(stderr, "%s\n", dlerror()); return 1; }
            long calls = atol(argv[2]);
            int repetitions = atoi(argv[3]);
            Case cases[16];
            int count = 0;
            for (char *name = strtok(argv[4], ","); name != NULL && count < 16; name = strtok(NULL, ",")) {
                if (!prepare(&cases[count], library, name)) continue;
                if (!correct(&cases[count])) { fprintf(stderr, "libffi plan: %s computed a wrong result\n", name); return 1; }
                count++;
            }
            for (int c = 0; c < count; c++) loop(&cases[c], calls / 10 + 1);  /* warm up */
            double *samples = calloc((size_t)count * repetitions, sizeof *samples);
            for (int r = 0; r < repetitions; r++) {
                for (int c = 0; c < count; c++) {
                    double start = now();
                    loop(&cases[c], calls);
                    samples[c * repetitions + r] = (now() - start) / calls;
                }
            }
            printf("{\"columns\": [{\"name\": \"libffi 3.8 plan\", \"version\": \"libffi 3.8.0 ffi_call_plan_invoke\", \"samples\": {");
            for (int c = 0; c < count; c++) {
                printf("%s\"%s\": [", c ? ", " : "", cases[c].name);
                for (int r = 0; r < repetitions; r++) printf("%s%.4f", r ? ", " : "", samples[c * repetitions + r]);
                printf("]");
            }
            printf("}}]}\n");
            return 0;
        }
        """#
}

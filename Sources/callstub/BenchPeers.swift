// `callstub bench --peers`: the matrix's fixture functions called through other FFIs
// installed on the machine (Python's ctypes and cffi, this repository's Python package,
// LuaJIT's FFI, libffi 3.8's call plans), their columns marked as peers. The driver
// scripts are written out next to the fixture library; each checks that every call
// computes what C computes before timing it, and prints every repetition's ns per call as
// JSON. Each peer runs once after each of the matrix's processes (BenchRounds.swift). The
// Python columns share one interpreter and take turns case by case, so that a slow phase
// of the machine slows all of them alike and their ratios hold.

import Foundation

/// One peer FFI's figures over the matrix.
struct PeerFigures: Encodable {
    /// The column name, `peer: …`.
    let column: String
    /// What ran, for instance `cffi 2.0.0 ABI mode (Python 3.11.7)`.
    let version: String
    let median: [String: Double]
    let spread: [String: Double]
}

enum BenchPeers {
    struct Peer {
        let name: String
        let command: [String]
        /// What the script is told to run, before the common arguments (peer.py's FFI).
        let scriptArguments: [String]
        /// A command that succeeds when the peer is installed.
        let probe: [String]
        let script: String
        let scriptName: String
        /// Peers much slower than a native call run fewer calls per repetition.
        let callDivisor: Int
    }

    /// The Python peers' interpreter: CALLSTUB_PYTHON (scripts/main --peers sets it to the
    /// environment python/ is installed in, which also sees Debian's cffi), or python3.
    static let python = ProcessInfo.processInfo.environment["CALLSTUB_PYTHON"] ?? "python3"

    static let peers: [Peer] = [
        // ctypes, cffi and the Python package of this repository (python/): one process,
        // one column each; the ones that do not import are noted.
        Peer(name: "Python", command: [python], scriptArguments: ["ctypes,cffi,callstub"],
             probe: [python, "-c", "import ctypes"], script: pythonScript, scriptName: "peer.py", callDivisor: 10),
        Peer(name: "LuaJIT", command: ["luajit"], scriptArguments: [], probe: ["luajit", "-v"],
             script: luaScript, scriptName: "peer.lua", callDivisor: 1),
    ]

    /// A peer ready to measure: the command that runs it once, in a process of its own,
    /// and prints a `Report`.
    struct Runner {
        let name: String
        let arguments: [String]
    }

    /// The installed peers' runners over `cases`, each process doing `repetitions`; the
    /// peers not installed, or that cannot be prepared, are returned as notes instead.
    static func prepare(
        library: String, cases: [String], calls: Int, repetitions: Int, progress: (String) -> Void
    ) -> (runners: [Runner], notes: [String]) {
        let directory = URL(fileURLWithPath: library).deletingLastPathComponent()
        let headerFile = directory.appendingPathComponent("bench.h")
        var runners: [Runner] = []
        var notes: [String] = []
        do {
            try BenchFixtures.header.write(to: headerFile, atomically: true, encoding: .utf8)
        } catch {
            return ([], ["peers: cannot write \(headerFile.path): \(error.localizedDescription)"])
        }
        for peer in peers {
            guard run(peer.probe).status == 0 else {
                notes.append("peer \(peer.name): not installed (`\(peer.probe.joined(separator: " "))` failed)")
                continue
            }
            let script = directory.appendingPathComponent(peer.scriptName)
            do {
                try peer.script.write(to: script, atomically: true, encoding: .utf8)
            } catch {
                notes.append("peer \(peer.name): cannot write \(script.path)")
                continue
            }
            runners.append(Runner(name: peer.name, arguments: peer.command + [script.path] + peer.scriptArguments + [
                library, headerFile.path, String(max(1, calls / peer.callDivisor)), String(repetitions),
                cases.joined(separator: ","),
            ]))
        }
        // libffi 3.8's call plans: the strongest slow path, built from its release tarball.
        switch BenchLibFFIPlans.prepare(library: library, cases: cases, calls: calls, repetitions: repetitions, progress: progress) {
        case .success(let runner): runners.append(runner)
        case .failure(let note): notes.append(note.text)
        }
        return (runners, notes)
    }

    /// Runs each runner once, adding its columns' samples to `pool`. A runner that fails
    /// leaves a note and is not run again.
    static func round(_ runners: inout [Runner], into pool: inout SamplePool, notes: inout [String], progress: (String) -> Void) {
        var failed: Set<String> = []
        for runner in runners {
            progress("peer: \(runner.name)")
            let outcome = run(runner.arguments)
            guard outcome.status == 0, let report = try? JSONDecoder().decode(Report.self, from: Data(outcome.output.utf8))
            else {
                let reason = outcome.errors.trimmingCharacters(in: .whitespacesAndNewlines)
                notes.append("peer \(runner.name): failed (\(reason.isEmpty ? "status \(outcome.status)" : reason))")
                failed.insert(runner.name)
                continue
            }
            // (The same FFIs are missing in every round.)
            for missing in report.missing ?? [] where !notes.contains("peer \(missing)") { notes.append("peer \(missing)") }
            report.columns.forEach { pool.add($0) }
        }
        runners.removeAll { failed.contains($0.name) }
    }

    /// A script's output: a column per FFI it ran, and the FFIs that were not there
    /// (`missing`, "name: reason").
    struct Report: Codable {
        let columns: [Column]
        let missing: [String]?
    }

    struct Column: Codable {
        let name: String
        let version: String
        let samples: [String: [Double]]
    }

    /// Runs a command found on PATH; standard error goes to a file so that neither pipe fills.
    static func run(_ arguments: [String], environment: [String: String] = [:]) -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let output = Pipe()
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-peer-\(getpid()).err")
        defer { try? FileManager.default.removeItem(at: errorFile) }
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil),
            let errorHandle = try? FileHandle(forWritingTo: errorFile)
        else { return (-1, "", "cannot write \(errorFile.path)") }
        process.standardOutput = output
        process.standardError = errorHandle
        do { try process.run() } catch { return (-1, "", error.localizedDescription) }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? errorHandle.close()
        let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), errors)
    }

    static let pythonScript = #"""
        # callstub bench --peers: the fixture functions called through Python's ctypes and cffi
        # and this repository's callstub package (stubs compiled when bound: eager=True).
        # argv: FFIs (comma-separated, of ctypes, cffi, callstub), library path, header file,
        # calls, repetitions, case names (comma-separated). Prints one JSON object: per FFI
        # (a column) its version and per case the ns per call of every repetition, and the FFIs
        # that did not import. Each call is a statement in a timeit loop, so the interpreter's
        # own statement and call dispatch are part of every figure, as they are for any user.
        # The FFIs take turns within each repetition and case, so that they share the
        # machine's slow and fast phases alike.
        import json, sys, timeit

        ffis, path, header_file, calls, repetitions, wanted = sys.argv[1:7]
        calls, repetitions, wanted = int(calls), int(repetitions), wanted.split(",")
        header = open(header_file).read()
        python = "Python %d.%d.%d" % sys.version_info[:3]

        # The statement per case, and the values it uses, named in each FFI's scope.
        statements = {
            "f0": "f0()", "add2": "add2(1, 2)", "sum6": "sum6(0, 1, 2, 3, 4, 5)",
            "fma3": "fma3(1.0, 1.5, 2.5)", "mixed8": "mixed8(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5)",
            "ptr3": "ptr3(p8, p8, p16)", "ii": "ii(s_ii)", "dd2": "dd2(s_dd, s_dd)", "l4": "l4(s_l4)",
            "fid": "fid(s_fid)", "vsum": "vsum(3, v1, v2, v3)",
        }

        def with_ctypes():
            import ctypes as C
            lib = C.CDLL(path)
            class II(C.Structure): _fields_ = [("a", C.c_int), ("b", C.c_int)]
            class DD(C.Structure): _fields_ = [("a", C.c_double), ("b", C.c_double)]
            class L4(C.Structure): _fields_ = [(n, C.c_long) for n in "abcd"]
            class FID(C.Structure): _fields_ = [("a", C.c_float), ("b", C.c_int), ("c", C.c_double)]
            def bind(name, result, *arguments):
                function = getattr(lib, name)
                function.restype = result
                function.argtypes = list(arguments)
                return function
            scope = {
                "f0": bind("f0", C.c_int), "add2": bind("add2", C.c_int, C.c_int, C.c_int),
                "sum6": bind("sum6", C.c_long, *[C.c_long] * 6),
                "fma3": bind("fma3", C.c_double, *[C.c_double] * 3),
                "mixed8": bind("mixed8", C.c_double, C.c_int, C.c_double, C.c_long, C.c_float, C.c_int,
                               C.c_double, C.c_short, C.c_double),
                "ptr3": bind("ptr3", C.c_void_p, *[C.c_void_p] * 3),
                "ii": bind("ii", C.c_int, II), "dd2": bind("dd2", DD, DD, DD), "l4": bind("l4", L4, L4),
                "fid": bind("fid", C.c_double, FID),
                "p8": 8, "p16": 16, "s_ii": II(1, 2), "s_dd": DD(1, 2), "s_l4": L4(1, 2, 3, 4),
                "s_fid": FID(1.5, 2, 2.5),
                # Variadic: ctypes passes the fixed argument by argtypes, the others as given.
                "v1": C.c_int(1), "v2": C.c_int(2), "v3": C.c_int(3),
            }
            vsum = lib.vsum
            vsum.restype = C.c_int
            vsum.argtypes = [C.c_int]
            scope["vsum"] = vsum
            scope["address"] = lambda pointer: pointer
            return "ctypes", "ctypes (%s)" % python, scope

        def with_cffi():
            import cffi
            ffi = cffi.FFI()
            ffi.cdef(header)
            lib = ffi.dlopen(path)
            scope = {name: getattr(lib, name) for name in statements}
            scope.update({
                "p8": ffi.cast("void *", 8), "p16": ffi.cast("void *", 16),
                "s_ii": ffi.new("struct II *", [1, 2])[0], "s_dd": ffi.new("struct DD *", [1, 2])[0],
                "s_l4": ffi.new("struct L4 *", [1, 2, 3, 4])[0], "s_fid": ffi.new("struct FID *", [1.5, 2, 2.5])[0],
                # Variadic arguments must be cdata of their C type.
                "v1": ffi.cast("int", 1), "v2": ffi.cast("int", 2), "v3": ffi.cast("int", 3),
                "address": lambda pointer: int(ffi.cast("uintptr_t", pointer)),
            })
            return "cffi", "cffi %s ABI mode (%s)" % (cffi.__version__, python), scope

        def with_callstub():
            import callstub
            lib = callstub.CDLL(path, eager=True)
            lib.cdef(header)
            scope = {name: getattr(lib, name) for name in statements}
            scope.update({
                "p8": 8, "p16": 16, "v1": 1, "v2": 2, "v3": 3, "address": lambda pointer: pointer,
                "s_ii": lib.record("struct II")((1, 2)), "s_dd": lib.record("struct DD")((1, 2)),
                "s_l4": lib.record("struct L4")((1, 2, 3, 4)), "s_fid": lib.record("struct FID")((1.5, 2, 2.5)),
            })
            version = "callstub %s, eager JIT stubs (%s)" % (callstub._native.library_version, python)
            return "callstub (Python)", version, scope

        # Each function must compute what C computes before it is timed.
        checks = {
            "f0": ("f0()", 42), "add2": ("add2(1, 2)", 3), "sum6": ("sum6(0, 1, 2, 3, 4, 5)", 15),
            "fma3": ("fma3(1.0, 1.5, 2.5)", 4.0), "mixed8": ("mixed8(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5)", 22.0),
            "ptr3": ("address(ptr3(p8, p8, p16))", 16), "ii": ("ii(s_ii)", 3), "dd2": ("dd2(s_dd, s_dd).b", 4.0),
            "l4": ("l4(s_l4).a", 2), "fid": ("fid(s_fid)", 6.0), "vsum": ("vsum(3, v1, v2, v3)", 6),
        }
        setups = {"ctypes": with_ctypes, "cffi": with_cffi, "callstub": with_callstub}
        columns, missing = [], []
        for ffi_name in ffis.split(","):
            try:
                name, version, scope = setups[ffi_name]()
            except ImportError as error:
                missing.append("%s: not installed (%s)" % (ffi_name, error))
                continue
            for case in wanted:
                if case in checks:
                    got = eval(checks[case][0], scope)
                    if got != checks[case][1]:
                        sys.exit("%s: %s gave %r, expected %r" % (name, checks[case][0], got, checks[case][1]))
            timers = {case: timeit.Timer(statements[case], globals=scope) for case in wanted if case in statements}
            for timer in timers.values():
                timer.timeit(number=max(1, calls // 10))  # warm up
            columns.append({"name": name, "version": version, "timers": timers, "samples": {case: [] for case in timers}})

        for _ in range(repetitions):
            for case in wanted:
                for column in columns:
                    if case in column["timers"]:
                        column["samples"][case].append(column["timers"][case].timeit(number=calls) * 1e9 / calls)
        for column in columns:
            del column["timers"]
        print(json.dumps({"columns": columns, "missing": missing}))
        """#

    static let luaScript = #"""
        -- callstub bench --peers: the fixture functions called through LuaJIT's FFI.
        -- arg: library path, header file, calls, repetitions, case names (comma-separated).
        -- Prints one JSON object like peer.py's: LuaJIT's column, and the fixture's own C driver loop
        -- (`direct_<case>`, the matrix's direct column) timed in this process, so that LuaJIT can be
        -- read against a direct call in its own process as well as against the matrix's. Each case is
        -- a loop LuaJIT's trace compiler turns into machine code with the C call inlined, as it does
        -- for any user's hot loop.
        local ffi = require("ffi")
        local path, headerFile, calls, repetitions, wanted = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5]
        local file = assert(io.open(headerFile))
        ffi.cdef(file:read("*a"))
        file:close()
        ffi.cdef("struct callstub_timespec { long sec, nsec; }; int clock_gettime(int, struct callstub_timespec *);")
        local lib = ffi.load(path)
        local C = ffi.C
        -- The C drivers: n direct calls through a volatile function pointer, in nanoseconds.
        for name in wanted:gmatch("[^,]+") do ffi.cdef("double direct_" .. name .. "(long n);") end
        local clock = ffi.new("struct callstub_timespec")
        local function now()
          C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
          return tonumber(clock.sec) * 1e9 + tonumber(clock.nsec)
        end

        local p8, p16 = ffi.cast("void *", 8), ffi.cast("void *", 16)
        local sII, sDD = ffi.new("struct II", 1, 2), ffi.new("struct DD", 1, 2)
        local sL4, sFID = ffi.new("struct L4", 1, 2, 3, 4), ffi.new("struct FID", 1.5, 2, 2.5)
        local int = ffi.typeof("int")
        -- Variadic arguments take their C type from cdata (a Lua number would go as a double).
        local v1, v2, v3 = int(1), int(2), int(3)

        -- Per case: the timed loop and a check that the call computes what C computes.
        local cases = {
          f0 = { function(n) for _ = 1, n do lib.f0() end end, function() return lib.f0() == 42 end },
          add2 = { function(n) for _ = 1, n do lib.add2(1, 2) end end, function() return lib.add2(1, 2) == 3 end },
          sum6 = { function(n) for _ = 1, n do lib.sum6(0, 1, 2, 3, 4, 5) end end,
                   function() return lib.sum6(0, 1, 2, 3, 4, 5) == 15 end },
          fma3 = { function(n) for _ = 1, n do lib.fma3(1.0, 1.5, 2.5) end end,
                   function() return lib.fma3(1.0, 1.5, 2.5) == 4.0 end },
          mixed8 = { function(n) for _ = 1, n do lib.mixed8(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5) end end,
                     function() return lib.mixed8(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5) == 22.0 end },
          ptr3 = { function(n) for _ = 1, n do lib.ptr3(p8, p8, p16) end end,
                   function() return tonumber(ffi.cast("uintptr_t", lib.ptr3(p8, p8, p16))) == 16 end },
          ii = { function(n) for _ = 1, n do lib.ii(sII) end end, function() return lib.ii(sII) == 3 end },
          dd2 = { function(n) for _ = 1, n do lib.dd2(sDD, sDD) end end, function() return lib.dd2(sDD, sDD).b == 4.0 end },
          l4 = { function(n) for _ = 1, n do lib.l4(sL4) end end, function() return tonumber(lib.l4(sL4).a) == 2 end },
          fid = { function(n) for _ = 1, n do lib.fid(sFID) end end, function() return lib.fid(sFID) == 6.0 end },
          vsum = { function(n) for _ = 1, n do lib.vsum(3, v1, v2, v3) end end,
                   function() return lib.vsum(3, v1, v2, v3) == 6 end },
        }

        local names = {}
        for name in wanted:gmatch("[^,]+") do
          if cases[name] then
            if not cases[name][2]() then io.stderr:write("luajit: " .. name .. " computed a wrong result\n"); os.exit(1) end
            names[#names + 1] = name
          end
        end
        for _, name in ipairs(names) do cases[name][1](math.max(1, math.floor(calls / 10))) end  -- warm up (and compile)
        local samples, direct = {}, {}
        for _, name in ipairs(names) do samples[name], direct[name] = {}, {} end
        -- The C driver takes turns with LuaJIT's loop, case by case, so that a slow phase of the
        -- machine slows both alike.
        for _ = 1, repetitions do
          for _, name in ipairs(names) do
            local start = now()
            cases[name][1](calls)
            table.insert(samples[name], (now() - start) / calls)
            table.insert(direct[name], lib["direct_" .. name](calls) / calls)
          end
        end
        local function column(label, version, values)
          local parts = {}
          for _, name in ipairs(names) do
            parts[#parts + 1] = string.format('"%s": [%s]', name, table.concat(values[name], ", "))
          end
          return string.format('{"name": "%s", "version": "%s", "samples": {%s}}', label, version, table.concat(parts, ", "))
        end
        print(string.format('{"columns": [%s, %s]}', column("LuaJIT", jit.version .. " FFI", samples),
                            column("direct in LuaJIT", "the C driver loop, called once from LuaJIT", direct)))
        """#
}

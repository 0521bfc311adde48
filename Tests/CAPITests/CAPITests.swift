// The C API from C (issue 15): C programs compiled by gcc and clang-19 against
// include/callstub.h and the libCallStubC.so that `swift build` makes beside the tests.
// Each program compares CallStub's answers with the C compiler's own calls.

import CTestSupport
import Foundation
import Testing

/// Skipped under `--sanitize`: the C programs are not instrumented, and an instrumented
/// libCallStubC.so cannot be loaded by a program without the sanitizer's runtime.
@Suite(.enabled(if: !Sanitizers.active)) struct CAPITests {
    static let repository = FixtureLibrary.sourceDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let include = repository.appendingPathComponent("include")

    /// The directory of the built libCallStubC.so: the test bundle's (SwiftPM builds every
    /// product with the tests).
    static let libraryDirectory: URL = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        return [bundle, bundle.deletingLastPathComponent()].first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("libCallStubC.so").path)
        } ?? bundle
    }()

    static var compilers: [CCompiler] { CCompiler.installed.filter { $0.name != "clang" } }

    /// Compiles `sources` into a program linked with libCallStubC.so (and `extra`), or
    /// records the compiler's output.
    static func build(
        _ sources: [String], compiler: CCompiler, in directory: URL, extra: [String] = []
    ) throws -> String {
        let library = libraryDirectory.appendingPathComponent("libCallStubC.so")
        try #require(
            FileManager.default.fileExists(atPath: library.path),
            "no \(library.path): build the C API product (swift build, or swift build --product CallStubC)")
        let output = directory.appendingPathComponent("program-\(compiler.name)").path
        let arguments =
            ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread", "-I", include.path] + sources + extra
            + ["-L", libraryDirectory.path, "-lCallStubC", "-Wl,-rpath," + libraryDirectory.path, "-lm", "-o", output]
        let compile = try run(compiler.path, arguments)
        try #require(compile.status == 0, "\(compiler.name) failed:\n\(compile.output.prefix(4000))")
        return output
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-capi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("every entry point, against the compiler's own calls", arguments: FixtureLibrary.built)
    func everyEntryPoint(fixture: FixtureLibrary) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/entry_points.c").path
        let fixtureDirectory = URL(fileURLWithPath: fixture.path).deletingLastPathComponent().path
        let executable = try Self.build(
            [program], compiler: fixture.compiler, in: directory,
            extra: ["-Wno-pedantic", "-I", FixtureLibrary.sourceDirectory.path, fixture.path, "-Wl,-rpath," + fixtureDirectory, "-lffi"])
        let outcome = try run(executable, [fixture.path])
        #expect(outcome.status == 0, "\(outcome.output.suffix(4000))")
        let summary = try #require(outcome.output.split(separator: "\n").last.map(String.init))
        #expect(summary.hasSuffix(" checks, 0 failed"), "\(outcome.output.suffix(4000))")
        let count = Int(summary.split(separator: " ").first ?? "") ?? 0
        #expect(count >= 190, "only \(count) checks ran")
    }

    /// A program that exits while tier-up compiles run in the background ends normally:
    /// LLVM is not used once exit has begun (LLVMBackend/ExitGate.swift). Before the gate,
    /// runs crashed now and then in LLVM's destructors (this test failed in both modes);
    /// each mode runs 15 times.
    @Test(arguments: ["main", "thread"])
    func exitingWhileStubsCompileEndsNormally(_ mode: String) throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/exit_during_compiles.c").path
        let executable = try Self.build([program], compiler: fixture.compiler, in: directory)
        for _ in 0..<15 {
            // Without the persistent stub cache, which would serve the stubs without compiling.
            let outcome = try run(executable, [fixture.path, mode], environment: ["CALLSTUB_STUB_CACHE": "off"])
            #expect(outcome.status == 0, "\(outcome.output.suffix(4000))")
            #expect(outcome.output.hasPrefix("10 tier-ups queued"), "\(outcome.output.suffix(4000))")
            if outcome.status != 0 { break }
        }
    }

    /// libLLVM is loaded on the first compile only: calls through libffi (and the automatic
    /// backend's first calls) leave it unmapped; without it, JIT bindings fail naming why
    /// and libffi calls go on.
    @Test(arguments: ["ffi", "missing"])
    func libLLVMIsLoadedOnFirstCompileOnly(_ mode: String) throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/lazy_llvm.c").path
        let executable = try Self.build([program], compiler: fixture.compiler, in: directory)
        // Without the persistent stub cache, which would serve the JIT binding without LLVM.
        var environment = ["CALLSTUB_STUB_CACHE": "off"]
        if mode == "missing" { environment["CALLSTUB_LLVM_LIBRARY"] = directory.appendingPathComponent("no-libLLVM.so").path }
        let outcome = try run(executable, [fixture.path, mode], environment: environment)
        #expect(outcome.status == 0, "\(outcome.output.suffix(4000))")
        #expect(outcome.output.hasSuffix("0 failed\n"), "\(outcome.output.suffix(4000))")
    }

    /// A process denied executable memory (a seccomp filter like systemd's
    /// MemoryDenyWriteExecute, or PR_SET_MDWE from the start or after a JIT binding):
    /// every binding and callback goes on through libffi, JIT bindings and callbacks fail
    /// naming the denial at once (2,000 attempts grow the process by less than 64 pages),
    /// libLLVM is never loaded when the denial came first, and nothing is printed (LLVM's
    /// own reporter would write each failure to stderr).
    @Test(arguments: ["seccomp", "mdwe", "later"])
    func deniedExecutableMemoryFallsBackOnce(_ mode: String) throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/denied_executable_memory.c").path
        let executable = try Self.build([program], compiler: fixture.compiler, in: directory, extra: ["-I", FixtureLibrary.sourceDirectory.path])
        // Without the persistent stub cache, so that JIT bindings would compile.
        let outcome = try run(executable, [fixture.path, mode], environment: ["CALLSTUB_STUB_CACHE": "off"])
        if outcome.status == 77 && mode != "seccomp" { return }  // a kernel before 6.3: no PR_SET_MDWE
        #expect(outcome.status == 0 && outcome.output == "0 failed\n", "\(outcome.output.suffix(4000))")
    }

    /// Where executable memory is denied, stubs already in the persistent cache still run:
    /// their files are mapped read+execute, which such policies allow (as for shared
    /// libraries). The program runs under systemd's seccomp filter after a run without it
    /// wrote the stub; a shape not in the cache is refused (deniedExecutableMemoryFallsBackOnce).
    @Test func cachedStubsRunWhereExecutableMemoryIsDenied() throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/stub_cache.c").path
        let executable = try Self.build([program], compiler: fixture.compiler, in: directory)
        let deny = directory.appendingPathComponent("deny_executable_memory").path
        let wrapper = FixtureLibrary.sourceDirectory.appendingPathComponent("deny_executable_memory.c").path
        let compiled = try run(fixture.compiler.path, ["-o", deny, wrapper])
        try #require(compiled.status == 0, "\(compiled.output)")
        let environment = ["CALLSTUB_STUB_CACHE": directory.appendingPathComponent("stubs").path]
        let first = try run(executable, [fixture.path], environment: environment)
        #expect(first.status == 0 && first.output.hasPrefix("llvm=1 sum=14 status=0"), "\(first.output)")
        let denied = try run(deny, ["seccomp", executable, fixture.path], environment: environment)
        #expect(denied.status == 0 && denied.output.hasPrefix("llvm=0 sum=14 status=0"), "\(denied.output)")
        // And after refusals: the cached shape does not depend on what was bound first.
        let refusing = Self.repository.appendingPathComponent("Tests/CAPITests/C/denied_executable_memory.c").path
        // Each program in a directory of its own (`build` names the output by compiler).
        let refusingDirectory = directory.appendingPathComponent("refusing"), lazyDirectory = directory.appendingPathComponent("lazy")
        for made in [refusingDirectory, lazyDirectory] { try FileManager.default.createDirectory(at: made, withIntermediateDirectories: true) }
        let refusingExecutable = try Self.build(
            [refusing], compiler: fixture.compiler, in: refusingDirectory, extra: ["-I", FixtureLibrary.sourceDirectory.path])
        let lazy = Self.repository.appendingPathComponent("Tests/CAPITests/C/lazy_llvm.c").path
        let compiling = try Self.build([lazy], compiler: fixture.compiler, in: lazyDirectory)
        // A cache of its own, holding isum2's stub only (isum3's, above, must be refused).
        let isum2Only = ["CALLSTUB_STUB_CACHE": directory.appendingPathComponent("isum2-stubs").path]
        _ = try run(compiling, [fixture.path, "ffi"], environment: isum2Only)  // writes isum2's stub
        let afterRefusals = try run(refusingExecutable, [fixture.path, "cached"], environment: isum2Only)
        #expect(afterRefusals.status == 0 && afterRefusals.output == "0 failed\n", "\(afterRefusals.output)")
    }

    /// The persistent stub cache: the first process compiles and writes the stub, later
    /// ones run it without loading libLLVM; damaged, foreign or exposed files are ignored
    /// and replaced, an exposed directory is not used, concurrent writers leave whole files.
    @Test func stubsPersistAcrossProcessesSafely() throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/stub_cache.c").path
        let executable = try Self.build([program], compiler: fixture.compiler, in: directory)
        let cache = directory.appendingPathComponent("cache/stubs").path
        /// One run: whether it loaded libLLVM (the result is checked every time).
        func loadsLLVM(_ comment: Comment, setting: String = cache) throws -> Bool {
            let outcome = try run(executable, [fixture.path], environment: ["CALLSTUB_STUB_CACHE": setting])
            #expect(outcome.status == 0 && outcome.output.contains("sum=14 status=0"), "\(comment): \(outcome.output)")
            return outcome.output.contains("llvm=1")
        }
        func files() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).sorted().map { cache + "/" + $0 }
        }
        #expect(try loadsLLVM("a first run compiles"))
        let written = try #require(files().first)
        #expect(files().count == 1 && written.hasSuffix(".stub"))
        #expect(try !loadsLLVM("a second run finds the stub"))
        let mode = { (path: String) in ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1 }
        #expect(mode(written) == 0o600 && mode(cache) == 0o700)

        // Damaged files: a flipped byte in the code, cut short, emptied, another key.
        let good = try Data(contentsOf: URL(fileURLWithPath: written))
        var flipped = good
        flipped[flipped.count - 3] ^= 0x40
        var otherKey = good
        otherKey[30] ^= 0x01
        for (damaged, what) in [(flipped, "a flipped code byte"), (good.prefix(good.count / 2), "a cut file"), (Data(), "an empty file"), (otherKey, "another key")] {
            try damaged.write(to: URL(fileURLWithPath: written))
            #expect(try loadsLLVM("\(what) is not used"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: written)) == good, "\(what) is replaced by a whole file")
            #expect(try !loadsLLVM("after \(what), the replaced file is used"))
        }
        // A file others can write, a link, a file of another user: not trusted.
        chmod(written, 0o666)
        #expect(try loadsLLVM("a file writable by others is not used"))
        #expect(mode(written) == 0o600)
        let target = directory.appendingPathComponent("elsewhere.stub").path
        try FileManager.default.moveItem(atPath: written, toPath: target)
        try FileManager.default.createSymbolicLink(atPath: written, withDestinationPath: target)
        #expect(try loadsLLVM("a symbolic link is not followed"))
        if geteuid() == 0 {
            chown(written, 65534, 65534)
            #expect(try loadsLLVM("a file of another user is not used"))
        }
        // A directory others can write is not used at all; `off` turns the cache off.
        chmod(cache, 0o777)
        #expect(try loadsLLVM("an exposed directory is not used"))
        #expect(try loadsLLVM("an exposed directory is not used, twice"))
        chmod(cache, 0o700)
        let offDirectory = directory.appendingPathComponent("unused").path
        #expect(try loadsLLVM("CALLSTUB_STUB_CACHE=off", setting: "off"))
        #expect(!FileManager.default.fileExists(atPath: offDirectory))

        // Eight processes writing the same stub at once into an empty directory.
        for file in files() { try FileManager.default.removeItem(atPath: file) }
        let processes = (0..<8).map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [fixture.path]
            process.environment = ProcessInfo.processInfo.environment.merging(["CALLSTUB_STUB_CACHE": cache]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            return process
        }
        for process in processes { try process.run() }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        #expect(files().count == 1 && files()[0].hasSuffix(".stub"), "\(files())")
        #expect(try Data(contentsOf: URL(fileURLWithPath: files()[0])) == good)
        #expect(try !loadsLLVM("after concurrent writers"))
    }

    /// A cache directory on a file system mounted `noexec`: stub files cannot be mapped
    /// executable, so their bytes are copied into pages of their own; later runs still use
    /// them without libLLVM. Needs a tmpfs mount: run as root where mounting is allowed
    /// (elsewhere the test ends at the mount).
    @Test(.enabled(if: geteuid() == 0)) func stubsOnANoexecFileSystemAreCopied() throws {
        let fixture = try #require(FixtureLibrary.built.first)
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let program = Self.repository.appendingPathComponent("Tests/CAPITests/C/stub_cache.c").path
        let executable = try Self.build([program], compiler: fixture.compiler, in: directory)
        let mountPoint = directory.appendingPathComponent("noexec").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard try run("/bin/mount", ["-t", "tmpfs", "-o", "noexec,mode=0700", "tmpfs", mountPoint]).status == 0 else { return }
        defer { _ = try? run("/bin/umount", [mountPoint]) }
        func loadsLLVM(_ comment: Comment) throws -> Bool {
            let outcome = try run(executable, [fixture.path], environment: ["CALLSTUB_STUB_CACHE": mountPoint + "/stubs"])
            #expect(outcome.status == 0 && outcome.output.contains("sum=14 status=0"), "\(comment): \(outcome.output)")
            return outcome.output.contains("llvm=1")
        }
        #expect(try loadsLLVM("a first run compiles"))
        #expect(try !loadsLLVM("a second run copies the stub it cannot map"))
        #expect(try !loadsLLVM("and a third"))
    }

    /// The program of docs/c-api.md, as printed there.
    @Test func documentedExampleRuns() throws {
        let page = try String(contentsOf: Self.repository.appendingPathComponent("docs/c-api.md"), encoding: .utf8)
        let start = try #require(page.range(of: "```c\n"))
        let end = try #require(page.range(of: "```", range: start.upperBound..<page.endIndex))
        let source = String(page[start.upperBound..<end.lowerBound])
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("example.c")
        try source.write(to: file, atomically: true, encoding: .utf8)
        let hasLibcDebugInfo = FileManager.default.fileExists(atPath: "/usr/lib/debug/.build-id")
        for compiler in Self.compilers {
            let executable = try Self.build([file.path], compiler: compiler, in: directory)
            let outcome = try run(executable, [])
            #expect(outcome.status == 0, "\(compiler): \(outcome.output)")
            for line in ["pow(2, 10) = 1024", "div(17, 5) = {3, 2}", "sorted: 1 3 5 7 9 ("] {
                #expect(outcome.output.contains(line), "\(compiler): no '\(line)' in:\n\(outcome.output)")
            }
            if hasLibcDebugInfo {
                #expect(outcome.output.contains("CALLSTUB_ERROR_MISMATCH"), "\(outcome.output)")
                #expect(outcome.output.contains("declared: double abs(double);"), "\(outcome.output)")
            }
        }
    }

    /// The header compiles as C99 (pedantic) and as C++ (11 and 17), with every warning on.
    @Test func headerCompilesAsCAndCPlusPlus() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("use.c")
        try """
            #include <callstub.h>
            #include <callstub_ffi.h>
            int main(void) { callstub_library *l = 0; return callstub_library_open(0, &l) == CALLSTUB_OK; }

            """.write(to: file, atomically: true, encoding: .utf8)
        var runs: [(String, [String])] = [("/usr/bin/gcc", ["-std=c99", "-pedantic"]), ("/usr/bin/gcc", ["-std=c11"])]
        for compiler in ["/usr/bin/g++", "/usr/bin/clang++-19"] where FileManager.default.isExecutableFile(atPath: compiler) {
            runs += [(compiler, ["-x", "c++", "-std=c++11"]), (compiler, ["-x", "c++", "-std=c++17"])]
        }
        for (compiler, flags) in runs {
            let outcome = try run(
                compiler, flags + ["-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", Self.include.path, file.path])
            #expect(outcome.status == 0, "\(compiler) \(flags): \(outcome.output)")
        }
    }
}

// The C fixture library (Tests/Fixtures/callstub_fixture.c), compiled with -g once per
// test process by each installed compiler, and its header text for declaration sets.

import Foundation

/// The fixture library built by one compiler.
public struct FixtureLibrary: Sendable, CustomStringConvertible {
    public let compiler: CCompiler
    /// Path of the built shared object.
    public let path: String

    public var description: String { "fixture(\(compiler.name))" }

    /// The directory holding the fixture sources.
    public static let sourceDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The header: declarations CallStub reads (no preprocessor lines).
    public static let header: String = {
        (try? String(contentsOf: sourceDirectory.appendingPathComponent("callstub_fixture.h"), encoding: .utf8)) ?? ""
    }()

    /// The fixture built by gcc and by Debian's clang-19, where installed (the Swift
    /// toolchain's clang is left out: same front end, and it would double the runs).
    public static let built: [FixtureLibrary] = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-fixture-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var libraries: [FixtureLibrary] = []
        for compiler in CCompiler.installed where compiler.name != "clang" || CCompiler.installed.count == 1 {
            let output = directory.appendingPathComponent("libfixture-\(compiler.name).so")
            let source = sourceDirectory.appendingPathComponent("callstub_fixture.c")
            guard let result = try? run(
                compiler.path,
                ["-std=gnu11", "-g", "-O1", "-shared", "-fPIC", "-I", sourceDirectory.path, "-o", output.path, source.path, "-lpthread"]),
                result.status == 0
            else { continue }
            libraries.append(FixtureLibrary(compiler: compiler, path: output.path))
        }
        return libraries
    }()

    /// Why `build` failed: the compiler's output, or no gcc.
    public struct BuildFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The fixture built by gcc with `flags` (-g, -gctf, -O2…) into `directory` as `name`;
    /// returns its path.
    public static func build(gccFlags flags: [String], in directory: URL, name: String) throws -> String {
        guard let gcc = CCompiler.installed.first(where: { $0.name == "gcc" }) else { throw BuildFailure(description: "no gcc") }
        let library = directory.appendingPathComponent(name).path
        let source = sourceDirectory.appendingPathComponent("callstub_fixture.c").path
        let result = try run(
            gcc.path, ["-std=gnu11", "-w", "-O1", "-shared", "-fPIC", "-I", sourceDirectory.path] + flags
                + ["-o", library, source, "-lpthread"])
        guard result.status == 0 else { throw BuildFailure(description: result.output) }
        return library
    }
}

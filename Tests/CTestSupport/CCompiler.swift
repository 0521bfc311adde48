// Runs the C compilers installed on the machine, the oracle of the tests: compile a C
// program, run it, and return what it printed.

import Foundation

/// A C compiler the tests can ask.
public struct CCompiler: Sendable, CustomStringConvertible {
    public let name: String
    public let path: String

    public var description: String { name }

    /// gcc (`cc`) and every clang found: Debian's clang-19 and the Swift toolchain's clang.
    public static let installed: [CCompiler] = {
        var found: [CCompiler] = []
        var seen: Set<String> = []
        for (name, candidates) in [
            ("gcc", ["/usr/bin/gcc", "/usr/bin/cc"]),
            ("clang-19", ["/usr/bin/clang-19", "/usr/lib/llvm-19/bin/clang"]),
            ("clang", [which("clang")].compactMap { $0 }),
        ] {
            guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { continue }
            let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent()).standardizedFileURL.path } ?? path
            guard seen.insert(real).inserted else { continue }
            found.append(CCompiler(name: name, path: path))
        }
        return found
    }()

    /// Compiles `source` as C11 with GNU extensions and runs it; returns its standard output.
    public func compileAndRun(_ source: String, flags: [String] = []) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sourceFile = directory.appendingPathComponent("probe.c")
        let binary = directory.appendingPathComponent("probe")
        try source.write(to: sourceFile, atomically: true, encoding: .utf8)
        let compile = try run(path, ["-std=gnu11", "-w", "-O0"] + flags + ["-o", binary.path, sourceFile.path])
        guard compile.status == 0 else {
            throw OracleError.compileFailed(compiler: name, output: String(compile.output.prefix(4000)))
        }
        let execution = try run(binary.path, [])
        guard execution.status == 0 else { throw OracleError.runFailed(compiler: name, output: String(execution.output.prefix(4000))) }
        return execution.output
    }
}

public enum OracleError: Error, CustomStringConvertible {
    case compileFailed(compiler: String, output: String)
    case runFailed(compiler: String, output: String)

    public var description: String {
        switch self {
        case .compileFailed(let compiler, let output): return "\(compiler) failed to compile the probe:\n\(output)"
        case .runFailed(let compiler, let output): return "probe built by \(compiler) failed:\n\(output)"
        }
    }
}

/// Runs a program to completion; standard output and error are returned together.
public func run(
    _ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    if let input {
        let inputPipe = Pipe()
        process.standardInput = inputPipe
        try process.run()
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

private func which(_ name: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

// The `callstub` command-line tool: subcommands over the CallStub library.

import ArgumentParser
import CallStub
import Foundation

/// Every command names itself (`commandName`): ArgumentParser otherwise derives the name
/// from the type's, through a search of every protocol conformance in the process that
/// was 70% of the instructions of `callstub --help` (docs/benchmarks.md#start-up).
@main
struct CallStubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callstub",
        abstract: "Call C functions whose signatures are known only at run time.",
        version: CallStubVersion.current,
        subcommands: [
            Bench.self, Call.self, Signature.self, Check.self, Plan.self, IR.self, Parse.self, View.self, Encode.self, Types.self,
        ]
    )

    /// Runs the command line. Every error exits with status 1, as the README says, usage
    /// errors included (ArgumentParser gives those 64, EX_USAGE), and every error message
    /// starts `error:`; `--help` and `--version` exit 0.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
            if !message.isEmpty { printError(message) }
            exit(withError: ExitCode.failure)
        }
    }
}

/// Writes to standard error.
func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// The contents of the file at `path`, or nil when it cannot be read. Reads to the end
/// rather than by the size `stat` gives, so that pipes and process substitutions
/// (`--file <(…)`, `/dev/stdin`) read whole; FileManager's `contents(atPath:)` gives nil
/// for them.
func readInputFile(_ path: String) -> Data? {
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR, let handle = FileHandle(forReadingAtPath: path) else {
        return nil
    }
    defer { try? handle.close() }
    return try? handle.readToEnd() ?? Data()
}

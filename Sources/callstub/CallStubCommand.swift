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
        subcommands: [Bench.self, Call.self, Signature.self, Check.self, Plan.self, IR.self, Parse.self]
    )
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

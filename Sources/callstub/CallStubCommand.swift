// The `callstub` command-line tool: subcommands over the CallStub library.

import ArgumentParser
import CallStub
import Foundation

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

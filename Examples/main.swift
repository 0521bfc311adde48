// callstub-examples: the README's Swift examples and the callback lifetimes it promises,
// compiled in release mode and run by scripts/test (the optimiser is free to end an
// object's life at its last use there, which a debug build never does). Each example is
// the README's block verbatim (Tests/CLITests/ExamplesTests.swift checks that), with
// what it leaves implicit made real around it; each stops the program when its result is
// not what the README says.

import Foundation

// `callstub-examples late-call`: a call through a freed callback, which must stop the
// program naming it (scripts/test expects that).
if CommandLine.arguments.dropFirst().first == "late-call" { lateCallThroughAFreedCallback() }

let examples: [(name: String, run: () throws -> Void)] = [
    ("README: calling styles and records", callingStyles),
    ("README: qsort with a Swift closure", qsortWithASwiftClosure),
    ("README: the parser on its own", parserOnItsOwn),
    ("lifetimes: an inline temporary callback", { try inlineTemporaryCallback() }),
    ("lifetimes: a callback stored in a C struct", callbackStoredInACStruct),
    ("lifetimes: a handler the library keeps", handlerTheLibraryKeeps),
]
for (name, run) in examples {
    do {
        try run()
        print("ok: \(name)")
    } catch {
        print("error: \(name): \(error)")
        exit(1)
    }
}

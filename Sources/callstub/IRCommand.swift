// `callstub ir`: the LLVM IR of the downcall stub CallStub generates for a declaration.

import ArgumentParser
import CallStub
import Foundation

struct IR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ir",
        abstract: "Print the LLVM IR of the downcall stub for a C function declaration.",
        discussion: """
            The stub has libffi's avalue shape, void stub(void *fn, void **args, void *result):
            it loads each argument's pieces from args[i], calls fn with the lowering of
            `callstub plan`, and stores the result's pieces into result.

              callstub ir 'struct P { double x, y; }; struct P add(struct P, struct P);'
            """
    )

    @Argument(help: "C declarations including the function's prototype.")
    var declarations: String

    @Option(name: .long, help: "The function (default: the last function declared).")
    var function: String?

    @Option(name: .long, help: "The C types of a variadic call's extra arguments, comma-separated.")
    var variadic: String?

    @Flag(name: .long, help: "Capture errno around the call.")
    var errno = false

    func run() throws {
        let signature = try Plan.signature(declarations: declarations, function: function, variadic: variadic)
        print(downcallStubIR(for: X86_64SysV.plan(signature.1), capturesErrno: errno), terminator: "")
    }
}

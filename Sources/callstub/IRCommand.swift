// `callstub ir`: the LLVM IR of the downcall stub (or, with --callback, the upcall thunk)
// CallStub generates for a declaration.

import ArgumentParser
import CallStub
import Foundation

struct IR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ir",
        abstract: "Print the LLVM IR of the downcall stub (or callback thunk) for a C function declaration.",
        discussion: """
            The stub has libffi's avalue shape, void stub(void *fn, void **args, void *result):
            it loads each argument's pieces from args[i], calls fn with the lowering of
            `callstub plan`, and stores the result's pieces into result.

              callstub ir 'struct P { double x, y; }; struct P add(struct P, struct P);'

            With --callback, the thunk a Callback of that signature gets instead: a C
            function of exactly that signature, spilling each argument into a slot and
            calling the Swift closure (its address and context show as 0). A typed callback
            of scalars and pointers is called itself, with the slots' addresses; a dynamic
            one, or one taking or returning records, through a frame entry (args, result).

              callstub ir 'int cmp(const void *, const void *);' --callback typed
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

    enum CallbackStyle: String, ExpressibleByArgument, CaseIterable {
        case typed, dynamic
    }

    @Option(name: .long, help: "Print the callback thunk for a typed or dynamic Callback of the function's type instead.")
    var callback: CallbackStyle?

    func validate() throws {
        if callback != nil, variadic != nil { throw ValidationError("--callback: variadic callbacks are not supported") }
        if callback != nil, errno { throw ValidationError("--errno applies to downcall stubs, not to callbacks") }
    }

    func run() throws {
        let (functions, scope) = try Plan.declaredFunctions(declarations)
        guard let (name, type) = function.map({ wanted in functions.first { $0.name == wanted } }) ?? functions.last else {
            throw Plan.noFunction(named: function)
        }
        if function == nil, functions.count > 1 {
            printError("note: \(functions.count) functions are declared (\(functions.map(\.name).joined(separator: ", "))); this is \(name)'s, the last (--function chooses)")
        }
        let signature = try Plan.validated(type, scope: scope, variadic: variadic)
        let plan = X86_64SysV.plan(signature)
        if callback != nil, signature.function.isVariadic {
            printError("error: \(name) is variadic: variadic callbacks are not supported")
            throw ExitCode.failure
        }
        do throws(CallStubError) {
            if let callback {
                print(try upcallThunkIR(for: plan, typed: callback == .typed), terminator: "")
            } else {
                print(try downcallStubIR(for: plan, capturesErrno: errno), terminator: "")
            }
        } catch {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}

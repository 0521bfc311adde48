// `callstub plan`: how a C function is called under x86-64 System V, as CallStub's fast
// path will call it: each argument's eightbyte classes, registers and stack slots.

import ArgumentParser
import CallStub
import Foundation

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the CallPlan (x86-64 SysV lowering) of a C function declaration.",
        discussion: """
            DECLS holds C declarations ending with (or including) the function's prototype.
            Each row shows an argument or the result: its C type, the psABI eightbyte
            classes, and where each piece travels (rdi…r9, xmm0…xmm7, stack+offset; the
            result in rax/rdx, xmm0/xmm1, st0/st1, or sret memory).

              callstub plan 'struct P { double x, y; }; struct P add(struct P, struct P);'
              callstub plan 'int printf(const char *, ...);' --variadic 'int, double'
            """
    )

    @Argument(help: "C declarations including the function's prototype.")
    var declarations: String

    @Option(name: .long, help: "The function to plan (default: every function declared, in order).")
    var function: String?

    @Option(name: .long, help: "The C types of a variadic call's extra arguments, comma-separated.")
    var variadic: String?

    @Flag(name: .long, help: "Also say which backends can call it, and why not.")
    var explain = false

    func run() throws {
        let (functions, scope) = try Self.declaredFunctions(declarations)
        let chosen = functions.filter { function == nil || $0.name == function }
        guard !chosen.isEmpty else { throw Self.noFunction(named: function) }
        for (index, (name, type)) in chosen.enumerated() {
            let signature = try Self.validated(type, scope: scope, variadic: type.isVariadic ? variadic : nil)
            if index > 0 { print() }
            print(CPrinter().print(.function(name: name, type: signature.function)))
            print(X86_64SysV.plan(signature))
            if explain {
                for line in BackendExplanation(for: signature).lines { print(line) }
            }
        }
    }

    /// The functions `declarations` declares, each once with its last declared type, in
    /// the order of those last declarations, and the scope they were read in. Prints a
    /// parse error and exits with status 1.
    static func declaredFunctions(_ declarations: String) throws -> (functions: [(name: String, type: CFunctionType)], scope: CScope) {
        let result: CParseResult
        do {
            result = try CDeclParser.parse(SharedLibrary.terminatedDeclaration(declarations))
        } catch {
            printError("error: " + error.rendered)
            throw ExitCode.failure
        }
        var functions: [(name: String, type: CFunctionType)] = []
        for case .function(let name, let type) in result.declarations {
            functions.removeAll { $0.name == name }
            functions.append((name, type))
        }
        return (functions, result.scope)
    }

    /// Prints that no (such) function is declared; the error to throw.
    static func noFunction(named name: String?) -> ExitCode {
        printError("error: " + (name.map { "no function named \($0) is declared" } ?? "no function is declared"))
        return ExitCode.failure
    }

    /// `type` validated, with `variadic`'s comma-separated C types as its variadic tail.
    /// Prints any error and exits with status 1.
    static func validated(_ type: CFunctionType, scope: CScope, variadic: String?) throws -> ValidatedSignature {
        var tail: [CQualType] = []
        for text in (variadic ?? "").split(separator: ",") {
            do {
                tail.append(try CDeclParser.parseTypeName(String(text), scope: scope))
            } catch {
                printError("error: --variadic: " + error.rendered)
                throw ExitCode.failure
            }
        }
        do {
            return try ValidatedSignature.validate(type, variadicTail: tail)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

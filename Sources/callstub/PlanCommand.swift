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
        let signatures = try Self.signatures(declarations: declarations, function: function, variadic: variadic)
        for (index, (name, signature)) in signatures.enumerated() {
            if index > 0 { print() }
            print(CPrinter().print(.function(name: name, type: signature.function)))
            print(X86_64SysV.plan(signature))
            if explain {
                for line in BackendExplanation(for: signature).lines { print(line) }
            }
        }
    }

    /// Every declared function's signature (`function`'s alone when given), validated;
    /// `variadic` gives the variadic ones their extra arguments. Prints any error and
    /// exits with status 1.
    static func signatures(
        declarations: String, function: String?, variadic: String?
    ) throws -> [(String, ValidatedSignature)] {
        let result: CParseResult
        do {
            result = try CDeclParser.parse(SharedLibrary.terminatedDeclaration(declarations))
        } catch {
            printError("error: " + error.rendered)
            throw ExitCode.failure
        }
        var names: [String] = []
        for case .function(let name, _) in result.declarations where !names.contains(name) { names.append(name) }
        if let function { names = names.filter { $0 == function } }
        guard !names.isEmpty else {
            printError("error: " + (function.map { "no function named \($0) is declared" } ?? "no function is declared"))
            throw ExitCode.failure
        }
        return try names.map { name in
            let isVariadic = result.scope.function(named: name)?.isVariadic ?? false
            return try signature(declarations: declarations, function: name, variadic: isVariadic ? variadic : nil)
        }
    }

    /// Parses the declarations and validates the chosen function's signature, printing
    /// any error and exiting with status 1.
    static func signature(declarations: String, function: String?, variadic: String?) throws -> (String, ValidatedSignature) {
        let result: CParseResult
        do {
            result = try CDeclParser.parse(SharedLibrary.terminatedDeclaration(declarations))
        } catch {
            printError("error: " + error.rendered)
            throw ExitCode.failure
        }
        let functions = result.declarations.compactMap { entry -> (String, CFunctionType)? in
            if case .function(let name, let type) = entry { return (name, type) }
            return nil
        }
        guard let (name, type) = function.map({ wanted in functions.last { $0.0 == wanted } }) ?? functions.last else {
            printError("error: " + (function.map { "no function named \($0) is declared" } ?? "no function is declared"))
            throw ExitCode.failure
        }
        var tail: [CQualType] = []
        for text in (variadic ?? "").split(separator: ",") {
            do {
                tail.append(try CDeclParser.parseTypeName(String(text), scope: result.scope))
            } catch {
                printError("error: --variadic: " + error.rendered)
                throw ExitCode.failure
            }
        }
        do {
            return (name, try ValidatedSignature.validate(type, variadicTail: tail))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

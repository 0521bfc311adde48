// `callstub signature` and `callstub check`: what a library's type info (DWARF, else CTF)
// says a function is, and whether declarations agree with it.

import ArgumentParser
import CallStub
import Foundation

struct Signature: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signature",
        abstract: "Print a function's signature as the library's debug info gives it.",
        discussion: """
            Prints a C header: the typedefs, structs, unions and enums the signature uses,
            then the prototype, and (on standard error) where the types came from: DWARF,
            else compact type info (CTF) from the library's .ctf section, LIB.ctf beside it
            or the types cache (CALLSTUB_DEBUG_INFO=off skips DWARF).

              callstub signature libc.so.6 div
            """
    )

    @Argument(help: "The library: a file name the dynamic linker finds, or a path.")
    var library: String

    @Argument(help: "The function's symbol name.")
    var function: String

    func run() throws {
        do throws(CallStubError) {
            let shared = try SharedLibrary(library)
            let signature = try shared.signature(function)
            print(signature.header, terminator: "")
            printError("from \(signature.source), \(signature.foundBy), defined as \(signature.definitionName)")
        } catch {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check C declarations against a library's debug info.",
        discussion: """
            Every function the declarations declare is looked up in the library's DWARF (else
            its CTF) and compared: differences that change the call fail the check; the others are
            warnings (failures with --strict). Functions without debug info are listed as
            not checked; when nothing could be checked the command fails (status 1).

              callstub check libc.so.6 --file glibc.h
              callstub check libz.so.1 --include zlib.h
            """
    )

    @Argument(help: "The library: a file name the dynamic linker finds, or a path.")
    var library: String

    @Option(name: .long, help: "The declarations to check ('-' for standard input).")
    var file: String?

    @OptionGroup(title: "Declarations")
    var sources: DeclarationSources

    @Flag(name: .long, help: "Treat every difference as a failure.")
    var strict = false

    func validate() throws {
        guard file != nil || !sources.isEmpty else { throw ValidationError("give the declarations: --file, --header or --include") }
    }

    func run() throws {
        var texts: [String] = []
        if let file {
            if file == "-" {
                texts.append(String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
            } else {
                guard let data = readInputFile(file) else {
                    printError("error: cannot read \(file)")
                    throw ExitCode.failure
                }
                texts.append(String(decoding: data, as: UTF8.self))
            }
        }
        let shared: SharedLibrary
        var declarations: [CDeclaration] = []
        var scope = CScope.standard
        do {
            shared = try SharedLibrary(library)
            for text in try texts + sources.texts() {
                let result = try CDeclParser.parse(text, scope: scope)
                declarations += result.declarations
                scope = result.scope
            }
        } catch let error as CallStubError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        } catch let error as CParseError {
            printError("error: " + error.rendered)
            throw ExitCode.failure
        }
        if case .success(let source) = shared.debugInfoSource { printError("checking against \(source)") }
        var failures = 0
        var checked = 0
        var skipped = 0
        for case .function(let name, let type) in declarations {
            guard case .external(let symbol)? = scope.linkage(of: name) else {
                print("skipped  \(name): declared static (no symbol)")
                continue
            }
            checked += 1
            let label = symbol == name ? name : "\(name) (symbol \(symbol))"
            do {
                let result = try shared.check(name, type: type, declarations: scope, policy: strict ? .strict : .abi)
                switch result.verification {
                case .verified:
                    print("ok       \(label)")
                case .unverified(let reason):
                    skipped += 1
                    print("skipped  \(label): \(reason)")
                }
                for warning in result.warnings { print("  warning: \(warning)") }
            } catch {
                failures += 1
                print("FAILED   \(label)")
                print(error.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
        }
        print("\(checked) declarations, \(failures) failed" + (skipped > 0 ? ", \(skipped) not checked" : ""))
        if failures > 0 { throw ExitCode.failure }
        // A check that checked nothing (no debug info, no declared function) must not
        // pass for one that found no difference.
        if checked == skipped {
            printError("error: nothing could be checked: \(checked == 0 ? "the declarations declare no function of the library" : "no declaration has debug info to compare with")")
            throw ExitCode.failure
        }
    }
}

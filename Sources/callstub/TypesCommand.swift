// `callstub types export` and `callstub types embed`: a library's types written as compact
// type info (CTF) from its DWARF, as a file or as the `.ctf` section of a copy of it.

import ArgumentParser
import CallStub
import Foundation

struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "Write a library's types as compact type info (CTF) from its DWARF.",
        discussion: """
            CallStub checks declarations against a library's DWARF, else against CTF: the
            library's .ctf section, a file LIB.ctf beside it, or BUILD-ID.ctf in the types
            cache (~/.cache/callstub/types, or $CALLSTUB_TYPES_DIR). These commands write it
            from the DWARF of a machine with the debug package installed.

              callstub types export /usr/lib/x86_64-linux-gnu/libgsl.so.27
              callstub types embed /usr/lib/x86_64-linux-gnu/libgsl.so.27 -o /tmp/libgsl.so.27
            """,
        subcommands: [TypesExport.self, TypesEmbed.self]
    )
}

/// What `export` and `embed` share: the library and the export, with its summary.
struct ExportedLibrary: ParsableArguments {
    @Argument(help: "The library: a path, or a file name the dynamic linker finds.")
    var library: String

    @Flag(name: .long, help: "List the exported symbols left out, and why.")
    var verbose = false

    /// The library's path (a bare name is resolved by loading it).
    func path() throws(CallStubError) -> String {
        if library.contains("/") { return library }
        let shared = try SharedLibrary(library)
        guard let path = shared.path else { throw .debugInfo("\(library): the library's file is unknown") }
        return path
    }

    func export(from path: String) throws(CallStubError) -> LibraryTypes.Export {
        let export = try LibraryTypes.export(libraryPath: path)
        var summary = "\(export.functions) functions, \(export.objects) data objects, \(export.ctf.count) bytes of CTF from \(export.source)"
        if !export.omitted.isEmpty { summary += "; \(export.omitted.count) symbols left out" + (verbose ? ":" : " (--verbose lists them)") }
        printError(summary)
        if verbose { for omission in export.omitted { printError("  \(omission)") } }
        return export
    }
}

struct TypesExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the CTF of a library's exported functions and data objects.",
        discussion: """
            Without -o, the file goes to the types cache under the library's build-id,
            where CallStub finds it for that exact build of the library.
            """
    )

    @OptionGroup var exported: ExportedLibrary

    @Option(name: .shortAndLong, help: "The file to write ('-' for standard output).")
    var output: String?

    func run() throws {
        do throws(CallStubError) {
            let path = try exported.path()
            let export = try exported.export(from: path)
            if output == "-" {
                FileHandle.standardOutput.write(Data(export.ctf))
            } else {
                printError("wrote \(try LibraryTypes.store(export.ctf, forLibrary: path, to: output))")
            }
        } catch {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}

struct TypesEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write a copy of a library with the CTF of its types as its .ctf section.",
        discussion: """
            The copy is the library with one section added (by objcopy): it loads and runs
            as the original does, and CallStub checks calls into it without debug packages.
            """
    )

    @OptionGroup var exported: ExportedLibrary

    @Option(name: .shortAndLong, help: "The library file to write.")
    var output: String

    func run() throws {
        do throws(CallStubError) {
            let path = try exported.path()
            let export = try exported.export(from: path)
            try LibraryTypes.embed(export.ctf, inLibrary: path, output: output)
            printError("wrote \(output)")
        } catch {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}

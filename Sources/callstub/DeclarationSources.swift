// Where a command's C declarations come from: header files read as they are, and real
// headers run through the system C preprocessor (--include, with -D and -I passed on).

import ArgumentParser
import CallStub
import Foundation

struct DeclarationSources: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A file of declarations to read first (repeatable); preprocessed with --cpp.", valueName: "file"))
    var header: [String] = []

    @Option(name: .long, help: ArgumentHelp("A C header to preprocess and read (repeatable): a name as in #include <…> (zlib.h) or a path.", valueName: "header"))
    var include: [String] = []

    @Option(name: .customShort("D", allowingJoined: true), help: ArgumentHelp("A macro for the preprocessor: NAME or NAME=VALUE (repeatable).", valueName: "macro"))
    var define: [String] = []

    @Option(name: .customShort("I", allowingJoined: true), help: ArgumentHelp("A directory the preprocessor searches for headers (repeatable).", valueName: "dir"))
    var includePath: [String] = []

    @Flag(name: .long, help: "Run --header files through the C preprocessor too.")
    var cpp = false

    @Option(name: .long, help: ArgumentHelp("The C compiler driver that preprocesses (looked up on PATH).", valueName: "command"))
    var preprocessor = "cc"

    var isEmpty: Bool { header.isEmpty && include.isEmpty }

    var preprocessorOptions: CPreprocessorOptions {
        CPreprocessorOptions(command: preprocessor, defines: define, includePaths: includePath)
    }

    /// The declaration texts in order: each --header file (preprocessed with --cpp), then
    /// the --include headers preprocessed together.
    func texts() throws -> [String] {
        var texts: [String] = []
        if cpp {
            if !header.isEmpty { texts.append(try CPreprocessor.preprocess(including: header, options: preprocessorOptions)) }
        } else {
            for path in header {
                guard let data = readInputFile(path) else {
                    printError("error: cannot read header \(path)")
                    throw ExitCode.failure
                }
                texts.append(String(decoding: data, as: UTF8.self))
            }
        }
        if !include.isEmpty { texts.append(try CPreprocessor.preprocess(including: include, options: preprocessorOptions)) }
        return texts
    }

    /// Declares every text in `library`'s set; the parser's warnings go to standard error.
    func declare(into library: SharedLibrary) throws {
        for text in try texts() {
            for warning in try library.declare(text) { printError(warning.rendered(in: text)) }
        }
    }
}

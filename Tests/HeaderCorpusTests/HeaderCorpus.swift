// The header corpus: every public header of the -dev packages the tests install (glibc,
// GSL, zlib, sqlite3, libxml2, OpenSSL, Lua), preprocessed by gcc or clang-19 through
// CPreprocessor and parsed. Headers that the compiler itself cannot compile alone (they
// expect another header first) are set aside, not counted.

import CDeclParser
import CTestSupport
import CallStub
import Foundation

struct CorpusHeader: Sendable {
    /// The Debian package that installs it.
    var package: String
    /// The name as in `#include <…>`.
    var name: String
}

enum CorpusOutcome: Sendable {
    case parsed(CParseResult)
    case failed(String)
    /// The compiler rejects `#include <header>` alone.
    case notSelfContained
}

struct CorpusRun: Sendable {
    var compiler: String
    var outcomes: [(header: CorpusHeader, outcome: CorpusOutcome)]

    var parsedCount: Int { outcomes.filter { if case .parsed = $0.outcome { true } else { false } }.count }
    var failures: [(header: CorpusHeader, message: String)] {
        outcomes.compactMap { if case .failed(let message) = $0.outcome { ($0.header, message) } else { nil } }
    }
    var setAside: Int { outcomes.filter { if case .notSelfContained = $0.outcome { true } else { false } }.count }
    var rate: Double { Double(parsedCount) / Double(max(1, parsedCount + failures.count)) }

    var summary: String {
        var lines = ["\(compiler): \(parsedCount) of \(parsedCount + failures.count) headers parse (\(String(format: "%.1f", rate * 100))%), \(setAside) not self-contained set aside"]
        for (header, message) in failures { lines.append("  \(header.name): \(message)") }
        return lines.joined(separator: "\n")
    }
}

enum HeaderCorpus {
    static let packages = ["libc6-dev", "libgsl-dev", "zlib1g-dev", "libsqlite3-dev", "libxml2-dev", "libssl-dev", "liblua5.4-dev"]
    static let includePaths = ["/usr/include/libxml2", "/usr/include/lua5.4"]
    private static let roots = ["/usr/include/x86_64-linux-gnu/", "/usr/include/libxml2/", "/usr/include/lua5.4/", "/usr/include/"]

    /// The public headers of `packages`: internal `bits/` and `gnu/` headers, which say
    /// themselves they are never to be included directly, are left out.
    static let headers: [CorpusHeader] = {
        var found: [String: CorpusHeader] = [:]
        for package in packages {
            guard let listing = try? CTestSupport.run("/usr/bin/dpkg", ["-L", package]), listing.status == 0 else { continue }
            for path in listing.output.split(separator: "\n").map(String.init)
            where path.hasSuffix(".h") && !path.contains("/bits/") && !path.contains("/gnu/") {
                guard let root = roots.first(where: { path.hasPrefix($0) }) else { continue }
                let name = String(path.dropFirst(root.count))
                if found[name] == nil { found[name] = CorpusHeader(package: package, name: name) }
            }
        }
        return found.values.sorted { $0.name < $1.name }
    }()

    /// gcc's output is read as `-E -P` gives it; clang's with line markers and under
    /// `_GNU_SOURCE` (more of glibc: transparent unions, `_Float` types, asm labels).
    static func preprocessorOptions(_ compiler: String) -> CPreprocessorOptions {
        compiler == "gcc"
            ? CPreprocessorOptions(command: compiler, includePaths: includePaths)
            : CPreprocessorOptions(command: compiler, defines: ["_GNU_SOURCE"], includePaths: includePaths, keepsLineMarkers: true)
    }

    /// Preprocesses and parses every header, one per processor at a time.
    static func parseAll(compiler: String) -> CorpusRun {
        let outcomes = concurrentMap(headers) { outcome(of: $0, compiler: compiler) }
        return CorpusRun(compiler: compiler, outcomes: zip(headers, outcomes).map { ($0, $1) })
    }

    static func outcome(of header: CorpusHeader, compiler: String) -> CorpusOutcome {
        let text: String
        do {
            text = try CPreprocessor.preprocess(including: [header.name], options: preprocessorOptions(compiler))
        } catch {
            return .notSelfContained
        }
        do {
            return .parsed(try CDeclParser.parse(text))
        } catch {
            // Set aside only what the compiler itself refuses to compile alone.
            let check = try? CTestSupport.run(
                "/usr/bin/env", [compiler, "-fsyntax-only", "-x", "c", "-"] + includePaths.map { "-I" + $0 }
                    + preprocessorOptions(compiler).defines.map { "-D" + $0 },
                input: "#include <\(header.name)>\n")
            if check?.status != 0 { return .notSelfContained }
            return .failed(error.description)
        }
    }

    /// gcc's run, shared by the tests that read the parsed corpus.
    static let gcc = parseAll(compiler: "gcc")
}

// Real headers as the oracle: the installed -dev packages' headers parse with gcc's and
// clang's preprocessed output; every function they declare that glibc or GSL exports
// agrees with the library's DWARF; every record they define has the layout gcc gives it.

import CDeclParser
import CTestSupport
import CTypeModel
import CallStub
import Foundation
import Testing

@Suite(.serialized) struct HeaderCorpusTests {
    @Test("≥ 95% of the corpus parses", arguments: ["gcc", "clang-19"])
    func corpusParses(compiler: String) throws {
        try #require(!HeaderCorpus.headers.isEmpty, "no headers: scripts/setup.sh installs \(HeaderCorpus.packages)")
        let run = compiler == "gcc" ? HeaderCorpus.gcc : HeaderCorpus.parseAll(compiler: compiler)
        print(run.summary)
        #expect(run.parsedCount + run.failures.count >= 500, "\(run.summary)")
        #expect(run.rate >= 0.95, "\(run.summary)")
    }

    /// glibc's headers against libc.so.6 and libm.so.6, GSL's against libgsl.so.27, each
    /// symbol once: 0 ABI differences allowed. Functions the library does not export, or
    /// whose DWARF it lacks (IFUNCs), are counted as not checked.
    @Test func prototypesAgreeWithDWARF() throws {
        let libraries: [String: [SharedLibrary]] = [
            "libc6-dev": [try SharedLibrary("libc.so.6"), try SharedLibrary("libm.so.6")],
            "libgsl-dev": [try SharedLibrary("libgsl.so.27")],
        ]
        var seen: Set<String> = []
        var verified: [String: Int] = [:]
        var notChecked = 0
        var failures: [String] = []
        for (header, outcome) in HeaderCorpus.gcc.outcomes {
            guard let candidates = libraries[header.package], case .parsed(let result) = outcome else { continue }
            for case .function(let name, let type) in result.declarations {
                guard case .external(let symbol)? = result.scope.linkage(of: name), seen.insert(symbol).inserted else { continue }
                guard let library = candidates.first(where: { (try? $0.address(of: symbol)) != nil }) else {
                    notChecked += 1
                    continue
                }
                do {
                    let check = try library.check(name, type: type, declarations: result.scope, policy: .abi)
                    if case .verified = check.verification { verified[library.name, default: 0] += 1 } else { notChecked += 1 }
                } catch {
                    failures.append("\(header.name): \(name): \(error)")
                }
            }
        }
        print("DWARF: verified \(verified.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \(notChecked) not checked; \(failures.count) ABI differences")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(verified["libc.so.6", default: 0] >= 1000)
        #expect(verified["libm.so.6", default: 0] >= 60)
        #expect(verified["libgsl.so.27", default: 0] >= 5000)
    }

    /// Every record of the gcc-parsed corpus (tagged, or named by a typedef), each once,
    /// against gcc's sizeof, _Alignof and member offsets, compiled with its own header.
    @Test func recordLayoutsAgreeWithGCC() throws {
        let gcc = try #require(CCompiler.installed.first { $0.name == "gcc" })
        var seen: Set<String> = []
        var pending: [(header: String, probe: LayoutProbe.Probe)] = []
        var recordCount = 0
        for (header, outcome) in HeaderCorpus.gcc.outcomes {
            guard case .parsed(let result) = outcome else { continue }
            var named: [(record: CRecord, type: String, tag: String, alignment: Int?)] = []
            for declaration in result.declarations {
                switch declaration {
                case .record(let record):
                    guard let tag = record.tag, record.isComplete, seen.insert("\(record.kind.rawValue) \(tag)").inserted else { continue }
                    named.append((record, "\(record.kind.rawValue) \(tag)", tag, nil))
                case .typedef(let alias):
                    guard case .record(let record) = alias.underlying.type, record.tag == nil, record.isComplete,
                        seen.insert(alias.name).inserted
                    else { continue }
                    named.append((record, alias.name, alias.name, try? CQualType(.typedef(alias)).layout().alignment))
                default:
                    continue
                }
            }
            guard !named.isEmpty else { continue }
            recordCount += named.count
            pending.append((header.name, LayoutProbe.make(named: named)))
        }
        let failures = concurrentMap(pending) { header, probe -> String? in
            let program = "#include <\(header)>\n" + probe.program
            do {
                let output = try gcc.compileAndRun(program, flags: HeaderCorpus.includePaths.map { "-I" + $0 })
                let lines = output.split(separator: "\n").map(String.init)
                let differences = zip(lines, probe.expected).filter { $0 != $1 }.map { "gcc \($0), engine \($1)" }
                return lines.count == probe.expected.count && differences.isEmpty
                    ? nil : "\(header): \(differences.prefix(5).joined(separator: "; "))"
            } catch {
                return "\(header): \(String("\(error)".prefix(600)))"
            }
        }.compactMap { $0 }
        print("layouts: \(recordCount) records from \(pending.count) headers probed, \(failures.count) headers differ")
        #expect(recordCount >= 500)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}

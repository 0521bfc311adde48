// Fuzzing the debug-info reader end to end (issue 20): the fixture library, built with
// DWARF 2, 4 and 5 by gcc (and DWARF 5 by clang-19, whose strx/addrx forms differ), is
// damaged and loaded; every function's signature is asked for and every declaration of
// the fixture header checked. Each answer must be a value or a typed error.
//
// Attribute-aware: each unit header field, abbreviation code and attribute value is
// overwritten with edge patterns (0, all ones, 0x80000000, just past its section's end).
// Random: seeded bytes anywhere in the debug sections, the ELF header and the section
// headers. CI runs a seeded sample; CALLSTUB_FUZZ_CASES=all (or a number) runs more,
// CALLSTUB_FUZZ_SHARD=k/n runs the k-th of n slices of them (a process per slice: each
// case's self-referencing records stay allocated, see docs/robustness.md),
// CALLSTUB_FUZZ_SEED picks another sample, CALLSTUB_FUZZ_VERBOSE=1 prints each case
// before it runs (with one worker, so the last line names a case that crashed).

import CDeclParser
import CTestSupport
import CTypeModel
import CallStub
import Foundation
import Testing

@Suite struct DebugInfoFuzzTests {
    /// The fixture built each way, with its damage targets.
    static let targets: [(name: String, target: DamageTarget)] = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-fuzz-builds-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = FixtureLibrary.sourceDirectory.appendingPathComponent("callstub_fixture.c").path
        var builds: [(String, String, [String])] = []
        if let gcc = CCompiler.installed.first(where: { $0.name == "gcc" }) {
            builds += [2, 4, 5].map { ("gcc-dwarf\($0)", gcc.path, ["-gdwarf-\($0)"]) }
        }
        if let clang = CCompiler.installed.first(where: { $0.name == "clang-19" }) {
            builds.append(("clang-19-dwarf5", clang.path, ["-gdwarf-5"]))
        }
        return builds.compactMap { name, compiler, flags in
            let output = directory.appendingPathComponent("libfixture-\(name).so").path
            let arguments = ["-std=gnu11", "-g", "-O1", "-shared", "-fPIC", "-I", FixtureLibrary.sourceDirectory.path]
                + flags + ["-o", output, source, "-lpthread"]
            guard (try? CTestSupport.run(compiler, arguments))?.status == 0, let target = try? DamageTarget(path: output) else {
                return nil
            }
            return (name, target)
        }
    }()

    /// The fixture header's functions, with their declared types.
    static let declarations: (scope: CScope, functions: [(name: String, type: CFunctionType)]) = {
        guard let parsed = try? CDeclParser.parse(FixtureLibrary.header) else { return (CScope(), []) }
        var functions: [(String, CFunctionType)] = []
        for declaration in parsed.declarations {
            if case .function(let name, let type) = declaration, !functions.contains(where: { $0.0 == name }) {
                functions.append((name, type))
            }
        }
        return (parsed.scope, functions)
    }()

    enum Damage: Sendable, CustomStringConvertible {
        case field(build: Int, field: Int, pattern: EdgePattern)
        case random(build: Int, seed: UInt64)

        var description: String {
            switch self {
            case .field(let build, let field, let pattern):
                let target = DebugInfoFuzzTests.targets[build]
                return "\(target.name): \(target.target.fields[field].label) = \(pattern.rawValue)"
            case .random(let build, let seed): return "\(DebugInfoFuzzTests.targets[build].name): random damage, seed \(seed)"
            }
        }

        /// The damaged file's bytes.
        func bytes() -> Data {
            switch self {
            case .field(let build, let field, let pattern):
                let target = DebugInfoFuzzTests.targets[build].target
                var bytes = target.bytes
                let place = target.fields[field]
                bytes.replaceSubrange(place.offset..<(place.offset + place.size), with: pattern.bytes(for: place))
                return bytes
            case .random(let build, let seed):
                let target = DebugInfoFuzzTests.targets[build].target
                var random = SeededGenerator(seed: seed)
                var bytes = target.bytes
                // The debug sections (in file order: a dictionary's order changes with the
                // process's hash seed, and with it which region a seed damaged, so a failing
                // seed did not fail again), the ELF header (64 bytes) and the section header table.
                var regions = target.sections.filter { $0.key.hasPrefix(".debug_") }.map { ($0.value.offset, $0.value.size) }
                    .sorted { $0.0 < $1.0 }
                let sectionHeaders = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self) })
                regions += [(0, 64), (sectionHeaders, bytes.count - sectionHeaders)]
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    let (start, size) = regions.randomElement(using: &random)!
                    let position = start + Int.random(in: 0..<max(size, 1), using: &random)
                    if position < bytes.count { bytes[position] = UInt8.random(in: 0...255, using: &random) }
                }
                return bytes
            }
        }
    }

    /// What the damaged library answered, function by function: the check's outcome (the
    /// signature `check` read from DWARF, compared with the declaration), or its error.
    static func answers(_ path: String) -> [String] {
        let library: SharedLibrary
        do throws(CallStubError) { library = try SharedLibrary(path) } catch { return ["library: \(error.description)"] }
        defer { library.close() }
        let (scope, functions) = declarations
        return functions.map { name, type in
            let answer: String
            do throws(CallStubError) {
                let (verification, warnings) = try library.check(name, type: type, declarations: scope)
                answer = "\(verification); \(warnings.map(\.description))"
            } catch {
                answer = "error: \(error.description)"
            }
            // The library's path is in the answers; the damaged copies have other names.
            return "\(name): " + answer.replacingOccurrences(of: path, with: "<library>")
        }
    }

    enum Outcome: Sendable { case unchanged, changed, refusedLibrary }

    /// Runs `damages`, each on its own copy of the library; counts how the answers compare
    /// with the undamaged build's.
    static func outcomes(_ damages: [Damage]) throws -> [Outcome] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let baselines = targets.map { answers($0.target.path) }
        let verbose = ProcessInfo.processInfo.environment["CALLSTUB_FUZZ_VERBOSE"] == "1"
        let work = Array(damages.enumerated())
        let one: @Sendable ((offset: Int, element: Damage)) -> Outcome = { work in
            let (index, damage) = work
            if verbose { FileHandle.standardError.write(Data("fuzz case \(index): \(damage)\n".utf8)) }
            let path = directory.appendingPathComponent("case-\(index).so").path
            guard (try? damage.bytes().write(to: URL(fileURLWithPath: path))) != nil else { return .refusedLibrary }
            defer { try? FileManager.default.removeItem(atPath: path) }
            let found = answers(path)
            let build: Int
            switch damage {
            case .field(let number, _, _), .random(let number, _): build = number
            }
            if found.count == 1 && found[0].hasPrefix("library: ") { return .refusedLibrary }
            return found == baselines[build] ? .unchanged : .changed
        }
        return verbose ? work.map(one) : concurrentMap(work, one)
    }

    /// How many cases to run: CALLSTUB_FUZZ_CASES (a number, or `all`), else `ci` (a
    /// tenth of it under a sanitizer, where each case costs ten times as much).
    static func caseCount(ci: Int, all: Int) -> Int {
        switch ProcessInfo.processInfo.environment["CALLSTUB_FUZZ_CASES"] {
        case "all"?: return all
        case let text?: return Int(text).map { min($0, all) } ?? ci
        case nil: return min(Sanitizers.active ? ci / 10 : ci, all)
        }
    }

    /// The cases of this process's slice (CALLSTUB_FUZZ_SHARD=k/n: every n-th from the k-th).
    static func shard<Element>(_ cases: [Element]) -> [Element] {
        guard let text = ProcessInfo.processInfo.environment["CALLSTUB_FUZZ_SHARD"],
            let slash = text.firstIndex(of: "/"), let index = Int(text[..<slash]),
            let count = Int(text[text.index(after: slash)...]), count > 0, (0..<count).contains(index)
        else { return cases }
        return cases.enumerated().filter { $0.offset % count == index }.map(\.element)
    }

    static var seed: UInt64 { ProcessInfo.processInfo.environment["CALLSTUB_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xD1E_F022 }

    static func summary(_ outcomes: [Outcome]) -> String {
        let unchanged = outcomes.filter { $0 == .unchanged }.count
        let changed = outcomes.filter { $0 == .changed }.count
        return "\(outcomes.count) cases, 0 crashes: \(changed) changed the answers, \(unchanged) did not, "
            + "\(outcomes.count - changed - unchanged) made the library unloadable"
    }

    @Test func targetsAreFoundInEveryBuild() throws {
        try #require(Self.targets.count >= 3, "the fixture did not build with DWARF 2, 4 and 5")
        for (name, target) in Self.targets {
            // Thousands of attributes; the compile unit's low_pc is an 8-byte address.
            #expect(target.fields.count > 3000, "\(name): \(target.fields.count) fields")
            let lowPC = try #require(target.fields.first { $0.label.hasSuffix(" DW_AT_low_pc") }, "\(name)")
            #expect(lowPC.size == 8 || name.hasPrefix("clang"), "\(name): \(lowPC)")
        }
        // The undamaged builds import every fixture function and agree with the header.
        for (name, target) in Self.targets {
            let answers = Self.answers(target.path)
            #expect(answers.count == Self.declarations.functions.count && answers.count > 100)
            let failures = answers.filter { $0.contains("error: ") }
            #expect(failures.isEmpty, "\(name): \(failures.prefix(3))")
        }
    }

    @Test func attributeValuesOverwrittenWithEdgePatterns() throws {
        var all: [Damage] = []
        for (build, entry) in Self.targets.enumerated() {
            for field in entry.target.fields.indices {
                for pattern in EdgePattern.allCases { all.append(.field(build: build, field: field, pattern: pattern)) }
            }
        }
        var random = SeededGenerator(seed: Self.seed)
        let count = Self.caseCount(ci: 2_000, all: all.count)
        let chosen = Self.shard(count == all.count ? all : Array(all.shuffled(using: &random).prefix(count)))
        let outcomes = try Self.outcomes(chosen)
        let summary = "attribute-aware DWARF damage (of \(all.count) possible): " + Self.summary(outcomes)
        print(summary)
        // The damage reaches the reader: a sample that changed nothing would test nothing.
        #expect(outcomes.filter { $0 == .changed }.count >= chosen.count / 20, "\(summary)")
    }

    @Test func randomDamageToDebugSectionsAndHeaders() throws {
        let count = Self.caseCount(ci: 400, all: 50_000)
        let damages = Self.shard((0..<count).map { Damage.random(build: $0 % Self.targets.count, seed: Self.seed &+ UInt64($0)) })
        let outcomes = try Self.outcomes(damages)
        let summary = "random damage to debug sections and ELF headers: " + Self.summary(outcomes)
        print(summary)
        #expect(outcomes.filter { $0 == .changed }.count >= damages.count / 20, "\(summary)")
    }
}

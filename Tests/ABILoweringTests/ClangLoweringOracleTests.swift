// clang as the lowering oracle: thousands of seeded random signatures are compiled with
// `clang -O0 -S -emit-llvm`; the parameter and result lowering clang chose (coerced
// types, byval, sret, signext/zeroext) is replayed through LLVM's x86-64 register
// assignment and compared with the CallPlan's registers and stack slots: 0 differences.

import ABILowering
import CDeclParser
import CTestSupport
import CTypeModel
import Foundation
import Testing

@Suite struct ClangLoweringOracleTests {
    static let clang: CCompiler? = CCompiler.installed.first { $0.name.hasPrefix("clang") }

    /// Signatures per compiled file, and files: 2,400 signatures in all.
    static let batches = 12
    static let perBatch = 200

    @Test(.enabled(if: clang != nil), arguments: 0..<batches)
    func planAgreesWithClang(batch: Int) throws {
        let seed: UInt64 = 0xAB1_0000 + UInt64(batch)
        let corpus = RandomSignatures.make(count: Self.perBatch, seed: seed)
        if let directory = ProcessInfo.processInfo.environment["CALLSTUB_DUMP_SIGNATURES"] {
            try corpus.source.write(toFile: "\(directory)/signatures-\(String(seed, radix: 16)).c", atomically: true, encoding: .utf8)
        }
        let parsed = try CDeclParser.parse(corpus.header)
        let ir = try Self.emitIR(corpus.source)
        let defines = Self.defineLines(ir)
        var mismatches: [String] = []
        var refused = 0
        for name in corpus.functionNames {
            guard let type = parsed.scope.function(named: name) else {
                mismatches.append("\(name): not parsed")
                continue
            }
            guard let line = defines[name] else {
                mismatches.append("\(name): no define line")
                continue
            }
            let signature: ValidatedSignature
            do throws(SignatureError) {
                signature = try ValidatedSignature.validate(type)
            } catch {
                guard error.reason.contains("_Atomic") else { throw error }
                refused += 1  // records with _Atomic members: gcc and clang disagree, refused by design
                continue
            }
            let plan = X86_64SysV.plan(signature)
            let expected = try ClangSignature(line: line, scope: parsed.scope).placements()
            let actual = PlanPlacements.of(plan)
            if expected != actual {
                let declaration = CPrinter().print(.function(name: name, type: type))
                mismatches.append("\(declaration)\n  clang: \(expected)\n  plan:  \(actual)\n  \(line)\n\(plan)")
            }
        }
        #expect(refused * 10 < corpus.functionNames.count, "\(refused) signatures refused")
        #expect(mismatches.isEmpty, "seed \(String(seed, radix: 16)): \(mismatches.count) of \(corpus.functionNames.count) differ\n\(mismatches.prefix(5).joined(separator: "\n\n"))")
    }

    static func emitIR(_ source: String) throws -> String {
        let clang = try #require(Self.clang)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-lowering-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("signatures.c")
        let output = directory.appendingPathComponent("signatures.ll")
        try source.write(to: file, atomically: true, encoding: .utf8)
        let result = try run(clang.path, ["-std=gnu11", "-w", "-O0", "-S", "-emit-llvm", "-o", output.path, file.path])
        guard result.status == 0 else { throw OracleError.compileFailed(compiler: clang.name, output: String(result.output.prefix(3000))) }
        return try String(contentsOf: output, encoding: .utf8)
    }

    /// `define` lines by function name.
    static func defineLines(_ ir: String) -> [String: String] {
        var lines: [String: String] = [:]
        for line in ir.split(separator: "\n") where line.hasPrefix("define ") {
            guard let at = line.range(of: " @"), let open = line[at.upperBound...].firstIndex(of: "(") else { continue }
            lines[String(line[at.upperBound..<open])] = String(line)
        }
        return lines
    }
}

// MARK: - Placements: where each piece of every argument and the result travels

/// A comparable description of a lowering: result locations, then every argument's
/// register pieces and stack ranges (contiguous stack ranges merged).
struct Placements: Equatable, CustomStringConvertible {
    var result: [String]
    var arguments: [String]

    var description: String { "ret[\(result.joined(separator: " "))] args[\(arguments.joined(separator: " "))]" }

    /// Merges adjacent `stack+offset:length` tokens into runs.
    static func mergingStack(_ tokens: [String]) -> [String] {
        var merged: [String] = []
        for token in tokens {
            if let (offset, length) = stackRange(token), let last = merged.last, let (lastOffset, lastLength) = stackRange(last),
                lastOffset + lastLength == offset
            {
                merged[merged.count - 1] = "stack+\(lastOffset):\(lastLength + length)"
            } else {
                merged.append(token)
            }
        }
        return merged
    }

    static func stackRange(_ token: String) -> (Int, Int)? {
        guard token.hasPrefix("stack+") else { return nil }
        let parts = token.dropFirst(6).split(separator: ":")
        guard parts.count == 2, let offset = Int(parts[0]), let length = Int(parts[1]) else { return nil }
        return (offset, length)
    }
}

enum PlanPlacements {
    static func of(_ plan: CallPlan) -> Placements {
        var result: [String] = []
        switch plan.result {
        case .void, .ignored: result = ["void"]
        case .sret: result = ["sret"]
        case .direct(let pieces): result = pieces.flatMap { tokens($0, isResult: true) }
        }
        var arguments: [String] = []
        if case .sret = plan.result { arguments.append("rdi:sret") }
        for argument in plan.arguments {
            switch argument.lowering {
            case .ignored: continue
            case .stackCopy(let offset, let size, _): arguments.append("stack+\(offset):\(alignUp(size, 8))")
            case .direct(let pieces):
                // clang spells an __int128 in registers as two i64 parameters.
                arguments += pieces.flatMap { tokens($0, isResult: false) }
            }
        }
        return Placements(result: result, arguments: Placements.mergingStack(arguments))
    }

    static func tokens(_ piece: Piece, isResult: Bool) -> [String] {
        if case .gpr(let index, _) = piece.location, piece.kind == .int128 {
            let names = isResult ? ["rax", "rdx"] : ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
            return [names[index], names[index + 1]]
        }
        return [token(piece, isResult: isResult)]
    }

    static func token(_ piece: Piece, isResult: Bool) -> String {
        let ext = piece.extension_ == .none ? "" : ":\(piece.extension_.rawValue)"
        switch piece.location {
        case .gpr(let index, _):
            let names = isResult ? ["rax", "rdx"] : ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
            return names[index] + ext
        case .xmm(let index): return "xmm\(index):\(piece.kind.irType)"
        case .x87(let index): return "st\(index)"
        case .stack(let offset):
            let length = piece.kind == .x87 || piece.kind == .int128 ? 16 : 8
            return "stack+\(offset):\(length)"
        }
    }
}

// MARK: - clang's side: the define line replayed through LLVM's register assignment

struct ClangSignature {
    var returnText: String
    var parameters: [String]
    var scope: CScope

    init(line: String, scope: CScope) throws {
        self.scope = scope
        guard let at = line.range(of: " @"), let open = line[at.upperBound...].firstIndex(of: "("),
            let close = line.lastIndex(of: ")")
        else { throw OracleError.runFailed(compiler: "clang", output: "unreadable define line: \(line)") }
        var head = String(line[line.startIndex..<at.lowerBound]).dropFirst("define ".count)
        for word in ["dso_local ", "noundef ", "internal "] { head = Substring(head.replacingOccurrences(of: word, with: "")) }
        returnText = head.trimmingCharacters(in: .whitespaces)
        parameters = Self.splitTopLevel(String(line[line.index(after: open)..<close]))
    }

    static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for character in text {
            if "({<[".contains(character) { depth += 1 }
            if ")}>]".contains(character) { depth -= 1 }
            if character == "," && depth == 0 {
                parts.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { parts.append(current.trimmingCharacters(in: .whitespaces)) }
        return parts
    }

    func placements() throws -> Placements {
        var freeGPR = 0
        var freeXMM = 0
        var stack = 0
        var arguments: [String] = []
        func stackSlot(_ size: Int, _ alignment: Int) -> String {
            let offset = alignUp(stack, max(8, alignment))
            stack = offset + alignUp(size, 8)
            return "stack+\(offset):\(alignUp(size, 8))"
        }
        let gprNames = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
        for parameter in parameters {
            let ext = parameter.contains("signext") ? ":signext" : parameter.contains("zeroext") ? ":zeroext" : ""
            if parameter.contains(" sret(") {
                arguments.append("rdi:sret")
                freeGPR += 1
                continue
            }
            if let byval = parameter.range(of: "byval(") {
                let typeName = String(parameter[byval.upperBound...].prefix { $0 != ")" })
                let align = Int(parameter.components(separatedBy: " align ").last?.prefix { $0.isNumber } ?? "8") ?? 8
                arguments.append(stackSlot(try byvalSize(typeName), align))
                continue
            }
            let type = Self.irType(of: parameter)
            switch type {
            case "float", "double", "<2 x float>":
                if freeXMM < 8 {
                    arguments.append("xmm\(freeXMM):\(type)")
                    freeXMM += 1
                } else {
                    arguments.append(stackSlot(8, 8))
                }
            case "x86_fp80":
                arguments.append(stackSlot(16, 16))
            case "i128":
                if freeGPR <= 4 {
                    arguments.append("\(gprNames[freeGPR])+\(gprNames[freeGPR + 1])")
                    freeGPR += 2
                } else {
                    arguments.append(stackSlot(16, 16))
                }
            default:  // iN, ptr
                if freeGPR < 6 {
                    arguments.append(gprNames[freeGPR] + ext)
                    freeGPR += 1
                } else {
                    arguments.append(stackSlot(8, 8))
                }
            }
        }
        return Placements(result: resultPlacements(), arguments: Placements.mergingStack(arguments))
    }

    /// The type of a parameter, attributes and name removed.
    static func irType(of parameter: String) -> String {
        var text = parameter
        for word in ["noundef ", "signext ", "zeroext ", "nonnull ", "readonly ", "nocapture "] {
            text = text.replacingOccurrences(of: word, with: "")
        }
        if let percent = text.range(of: " %", options: .backwards) { text = String(text[..<percent.lowerBound]) }
        return text.trimmingCharacters(in: .whitespaces)
    }

    func resultPlacements() -> [String] {
        if parameters.contains(where: { $0.contains(" sret(") }) { return ["sret"] }
        var text = returnText
        let ext = text.contains("signext") ? ":signext" : text.contains("zeroext") ? ":zeroext" : ""
        for word in ["signext ", "zeroext ", "noundef ", "nonnull "] { text = text.replacingOccurrences(of: word, with: "") }
        text = text.trimmingCharacters(in: .whitespaces)
        if text == "void" { return ["void"] }
        var parts = [text]
        if text.hasPrefix("{") { parts = Self.splitTopLevel(String(text.dropFirst().dropLast())) }
        var gpr = 0
        var xmm = 0
        var st = 0
        return parts.map { part in
            switch part {
            case "float", "double", "<2 x float>":
                defer { xmm += 1 }
                return "xmm\(xmm):\(part)"
            case "x86_fp80":
                defer { st += 1 }
                return "st\(st)"
            case "i128":
                gpr += 2
                return "rax+rdx"
            default:
                defer { gpr += 1 }
                return ["rax", "rdx"][gpr] + (parts.count == 1 ? ext : "")
            }
        }
    }

    func byvalSize(_ typeName: String) throws -> Int {
        if typeName == "{ x86_fp80, x86_fp80 }" { return 32 }
        if typeName == "{ double, double }" { return 16 }
        if typeName == "{ float, float }" { return 8 }
        for prefix in ["%struct.", "%union."] where typeName.hasPrefix(prefix) {
            let tag = String(typeName.dropFirst(prefix.count))
            if let record = scope.record(tagged: tag), let size = record.definition?.layout.size { return size }
        }
        throw OracleError.runFailed(compiler: "clang", output: "unknown byval type \(typeName)")
    }
}

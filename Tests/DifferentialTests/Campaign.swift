// The campaign runner: builds each batch's library with one of the configurations (gcc
// and clang, -O0 and -O2), binds every function on the JIT and on libffi, and calls each
// through every path — raw, typed, dynamic, and as a callback through a thunk and a libffi
// closure — comparing the bytes the callee logged and the result with the direct C call,
// with guard bytes around every result buffer.

import CTestSupport
import CTypeModel
import CallStub
import Foundation
import Locks
import Synchronization

/// A compiler and optimisation level that builds a batch's library.
struct CampaignConfiguration: Sendable, CustomStringConvertible {
    let compiler: CCompiler
    let optimization: String
    var description: String { "\(compiler.name) \(optimization)" }

    /// gcc and Debian's clang-19 (or whichever compilers are installed), at -O0 and -O2.
    static let all: [CampaignConfiguration] = {
        let compilers = CCompiler.installed.filter { $0.name != "clang" || CCompiler.installed.count == 1 }
        return compilers.flatMap { compiler in ["-O0", "-O2"].map { CampaignConfiguration(compiler: compiler, optimization: $0) } }
    }()
}

/// Counts of one category: signatures executed, failed, and refused by a binding.
struct CampaignTally: Sendable {
    var executed = 0
    var failed = 0
    var refused = 0
}

/// What a campaign did: per-category tallies, path counts, refusals and reproducers.
struct CampaignReport: Sendable {
    var signatures = 0
    var callbackShapes = 0
    /// Cases whose direct C call was inconsistent where gcc and clang differ (skipped).
    var compilerDisagreements = 0
    /// Cases where libffi's own ffi_call, on the same cif, disagreed with the C compiler
    /// (libffi's bugs, reported, not failures), with the first few described.
    var libffiDisagreements = 0
    var libffiExamples: [String] = []
    /// Cases whose direct C call crashed (the C compiler's own bug; skipped), described.
    var oracleCrashes: [String] = []
    var pathCalls: [String: Int] = [:]
    var categories: [String: CampaignTally] = [:]
    var refusals: [String: Int] = [:]
    /// One full message per refusal group.
    var refusalExamples: [String: String] = [:]
    var failures: [String] = []
    var seconds = 0.0

    mutating func merge(_ other: CampaignReport) {
        signatures += other.signatures
        callbackShapes += other.callbackShapes
        compilerDisagreements += other.compilerDisagreements
        libffiDisagreements += other.libffiDisagreements
        libffiExamples += other.libffiExamples.prefix(max(0, 5 - libffiExamples.count))
        oracleCrashes += other.oracleCrashes
        pathCalls.merge(other.pathCalls, uniquingKeysWith: +)
        for (key, tally) in other.categories {
            categories[key, default: CampaignTally()].executed += tally.executed
            categories[key, default: CampaignTally()].failed += tally.failed
            categories[key, default: CampaignTally()].refused += tally.refused
        }
        refusals.merge(other.refusals, uniquingKeysWith: +)
        refusalExamples.merge(other.refusalExamples) { old, _ in old }
        failures += other.failures
    }

    var summary: String {
        var lines = ["\(signatures) signatures, \(callbackShapes) callback shapes, \(failures.count) failures, \(compilerDisagreements) skipped (C compiler inconsistent), \(oracleCrashes.count) skipped (the C compiler's own call crashed), \(String(format: "%.1f", seconds)) s"]
        lines += oracleCrashes.prefix(20).map { "  direct C call crashed: \($0)" }
        if libffiDisagreements > 0 {
            lines.append("libffi's own ffi_call disagreed with the C compiler on \(libffiDisagreements) signatures (not CallStub's; for example):")
            lines += libffiExamples.map { "  " + $0.replacingOccurrences(of: "\n", with: "\n  ") }
        }
        lines.append("calls per path: " + pathCalls.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        lines.append(String(repeating: " ", count: 36) + "executed  failed  refused")
        for (key, tally) in categories.sorted(by: { $0.key < $1.key }) {
            lines.append(key.padding(toLength: 36, withPad: " ", startingAt: 0)
                + String(format: "%8d %7d %8d", tally.executed, tally.failed, tally.refused))
        }
        for (reason, count) in refusals.sorted(by: { $0.value > $1.value }) {
            lines.append("refused \(count)×: \(reason)")
            if let example = refusalExamples[reason], example.count > reason.count {
                lines.append("  for example: " + example.replacingOccurrences(of: "\n", with: "\n  "))
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Buffers for a call's arguments in libffi's `avalue` layout, and masks beside them.
final class ArgumentFrame {
    let layouts: [CTypeLayout]
    let slots: UnsafeMutablePointer<UnsafeMutableRawPointer?>

    init(_ layouts: [CTypeLayout]) {
        self.layouts = layouts
        slots = .allocate(capacity: max(layouts.count, 1))
        for (index, layout) in layouts.enumerated() {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(layout.size, 16), alignment: max(layout.alignment, 16))
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: max(layout.size, 16))
            slots[index] = buffer
        }
    }

    func slot(_ index: Int) -> UnsafeMutableRawPointer { slots[index]! }

    /// Every argument's bytes, concatenated in order (as the callees log them).
    var bytes: [UInt8] {
        layouts.indices.flatMap { Array(UnsafeRawBufferPointer(start: slot($0), count: layouts[$0].size)) }
    }

    deinit {
        for index in layouts.indices { slots[index]?.deallocate() }
        slots.deallocate()
    }
}

/// A result buffer with guard bytes on both sides.
struct GuardedBuffer {
    static let guardSize = 32
    static let guardByte: UInt8 = 0xA5
    var storage: [UInt8]
    let window: Int

    init(window: Int) {
        self.window = window
        storage = [UInt8](repeating: Self.guardByte, count: window + 2 * Self.guardSize)
        for index in 0..<window { storage[Self.guardSize + index] = 0 }
    }

    mutating func withPointer<R>(_ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBytes { try body($0.baseAddress! + Self.guardSize) }
    }

    func contents(_ count: Int) -> [UInt8] { Array(storage[Self.guardSize..<(Self.guardSize + count)]) }

    /// Where a guard byte was overwritten, if anywhere.
    var overwrite: String? {
        for index in 0..<Self.guardSize where storage[index] != Self.guardByte { return "wrote \(Self.guardSize - index) bytes before the result buffer" }
        for index in (Self.guardSize + window)..<storage.count where storage[index] != Self.guardByte {
            return "wrote past the \(window)-byte result buffer (byte \(index - Self.guardSize))"
        }
        return nil
    }
}

typealias CampaignMake = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt64) -> Void
typealias CampaignMask = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer) -> Void
typealias CampaignDrive = @convention(c) (UnsafeRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UnsafeMutableRawPointer) -> Void
typealias CampaignLogBuffer = @convention(c) () -> UnsafeRawPointer
typealias CampaignLogSize = @convention(c) () -> Int
typealias CampaignLogReset = @convention(c) () -> Void

/// Where a campaign case lives: reruns name it.
struct CampaignCase: Hashable, Sendable, CustomStringConvertible {
    var batch: Int
    /// nil: the whole batch.
    var index: Int?
    var description: String { index.map { "\(batch).\($0)" } ?? "\(batch)" }

    init(batch: Int, index: Int?) {
        self.batch = batch
        self.index = index
    }

    /// `b.i` (one case) or `b` (one batch).
    init?(_ text: String) {
        let parts = text.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 1 || parts.count == 2 else { return nil }
        self.init(batch: parts[0], index: parts.count == 2 ? parts[1] : nil)
    }
}

struct CampaignError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

struct Campaign: Sendable {
    var seed: UInt64
    var count: Int
    var batchSize = 250
    var profile = CampaignProfile.full
    /// Only this case, for reruns.
    var only: CampaignCase?
    /// The command that reruns a case, when it is not `scripts/campaign` (hand-made batches).
    var rerun: String?

    static func batchSeed(_ seed: UInt64, _ batch: Int) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (UInt64(batch) &* 0x9E37_79B9_7F4A_7C15))
        return generator.next()
    }

    /// Runs the batches, as many at once as there are processors (each batch has its own
    /// library; binding, compiling and calling from several threads is part of the test).
    func run(log: @escaping @Sendable (String) -> Void) throws -> CampaignReport {
        let start = Date()
        let batches = (count + batchSize - 1) / batchSize
        let configurations = CampaignConfiguration.all
        let state = Lock((report: CampaignReport(), done: 0, error: String?.none))
        let width = only == nil ? max(1, ProcessInfo.processInfo.activeProcessorCount) : 1
        let campaign = self
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: width) { _ in
            // Each lane takes the next batch: -O2 batches take longer to build.
            while case let batchIndex = next.wrappingAdd(1, ordering: .relaxed).oldValue, batchIndex < batches {
                if let only = campaign.only, only.batch != batchIndex { continue }
                let size = min(campaign.batchSize, campaign.count - batchIndex * campaign.batchSize)
                let batch = CampaignGenerator.make(count: size, seed: Self.batchSeed(campaign.seed, batchIndex), profile: campaign.profile)
                let configuration = configurations[batchIndex % configurations.count]
                do {
                    let runner = try BatchRunner(batch: batch, batchIndex: batchIndex, campaign: campaign, configuration: configuration)
                    let batchReport = runner.run(only: campaign.only.flatMap(\.index))
                    let line = state.withLock { state in
                        state.report.merge(batchReport)
                        state.done += 1
                        return "batch \(batchIndex) (\(configuration)), \(state.done)/\(batches) done: \(state.report.signatures) signatures, \(state.report.failures.count) failures, \(Int(Date().timeIntervalSince(start))) s"
                    }
                    if batches > 1 { log(line) }
                } catch {
                    let message = "batch \(batchIndex) (\(configuration)) did not run: \(error)"
                    state.withLock { $0.error = message }
                    log(message)
                }
            }
        }
        var (report, _, error) = state.withLock { $0 }
        if let error { throw CampaignError(message: error) }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }
}

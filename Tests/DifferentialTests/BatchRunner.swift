// One batch of the campaign: its library built by one configuration, every signature
// bound on both backends and called through every path, each compared with the oracle.

import CTestSupport
import CTypeModel
import CallStub
import CallStubC
import Foundation

/// What one path produced: the bytes the callee logged and the result's bytes.
struct PathOutcome {
    var path: String
    var log: [UInt8] = []
    var result: [UInt8] = []
    var problem: String?
    /// The path refused the call with a typed error (a backend's known limit).
    var refusal: String?
}

final class BatchRunner {
    /// CALLSTUB_CAMPAIGN_TRACE=1 names each case before it runs.
    static let traces = ProcessInfo.processInfo.environment["CALLSTUB_CAMPAIGN_TRACE"] == "1"
    let batch: CampaignBatch
    let batchIndex: Int
    let campaign: Campaign
    let configuration: CampaignConfiguration
    let directory: URL
    let library: SharedLibrary
    private let logBuffer: CampaignLogBuffer
    private let logSize: CampaignLogSize
    private let logReset: CampaignLogReset
    private let x87Used: @convention(c) () -> Int32
    private let x87Reset: @convention(c) () -> Void
    /// The batch library opened through the C API (callstub_library_open), and the batch's
    /// C drivers of the C API (CampaignFFI.swift).
    private let capiLibrary: UnsafeMutableRawPointer
    private let capi: CampaignCAPIDrivers
    private var typeCache: [CampaignType: CQualType] = [:]
    private var keepDirectory = false
    /// Cases whose direct C call crashed in the preflight (see CampaignPreflight).
    let oracleCrashes: [Int: String]

    init(batch: CampaignBatch, batchIndex: Int, campaign: Campaign, configuration: CampaignConfiguration) throws {
        self.batch = batch
        self.batchIndex = batchIndex
        self.campaign = campaign
        self.configuration = configuration
        // A directory (and so a library, with its own log) per runner: runners may run in parallel.
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "callstub-campaign-\(getpid())-\(batchIndex)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("batch.c")
        let object = directory.appendingPathComponent("libbatch.so")
        try batch.librarySource.write(to: source, atomically: true, encoding: .utf8)
        let compile = try CTestSupport.run(
            configuration.compiler.path,
            ["-std=gnu11", "-w", "-g", configuration.optimization, "-shared", "-fPIC", "-o", object.path, source.path, "-lffi"])
        guard compile.status == 0 else {
            throw OracleError.compileFailed(compiler: configuration.description, output: String(compile.output.prefix(4000)))
        }
        oracleCrashes = try CampaignPreflight.crashingCases(
            library: object.path,
            cases: batch.signatures.map { ($0.index, Self.caseSeed(batch, $0), $0.name) })
        let library = try SharedLibrary(object.path)
        self.library = library
        try library.declare(batch.header)
        func function<T>(_ name: String, _ type: T.Type) throws -> T {
            unsafeBitCast(try library.address(of: name).raw!, to: T.self)
        }
        logBuffer = try function("cs_log_buffer", CampaignLogBuffer.self)
        logSize = try function("cs_log_size", CampaignLogSize.self)
        logReset = try function("cs_log_reset", CampaignLogReset.self)
        x87Used = try function("cs_x87_used", (@convention(c) () -> Int32).self)
        x87Reset = try function("cs_x87_reset", (@convention(c) () -> Void).self)
        capi = CampaignCAPIDrivers(
            call: try function("cs_capi_call", CampaignCAPIDrivers.Call.self),
            callVariadic: try function("cs_capi_call_variadic", CampaignCAPIDrivers.CallVariadic.self),
            ffiCall: try function("cs_capi_ffi_call", CampaignCAPIDrivers.FFICall.self),
            plan: try function("cs_capi_plan", CampaignCAPIDrivers.Plan.self),
            libffi: try function("cs_libffi_call", CampaignCAPIDrivers.LibFFI.self))
        var opened: UnsafeMutableRawPointer?
        guard callstub_library_open(object.path, &opened) == 0, let opened,
            callstub_library_declare(opened, batch.header) == 0
        else { throw CampaignError(message: "C API: \(String(cString: callstub_last_error()))") }
        capiLibrary = opened
    }

    deinit {
        callstub_library_close(capiLibrary)
        if !keepDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// The seed of a case's argument values.
    static func caseSeed(_ batch: CampaignBatch, _ signature: CampaignSignature) -> UInt64 {
        batch.seed ^ UInt64(signature.index + 1) &* 0xD134_2543_DE82_EF95
    }

    func type(_ type: CampaignType) throws -> CQualType {
        if let known = typeCache[type] { return known }
        let parsed = try library.type(batch.spelling(type))
        typeCache[type] = parsed
        return parsed
    }

    private var currentLog: [UInt8] {
        Array(UnsafeRawBufferPointer(start: logBuffer(), count: min(logSize(), 1 << 16)))
    }

    // MARK: - Categories

    func categories(of signature: CampaignSignature, resultSize: Int) -> [String] {
        var names: Set<String> = ["all", "template: \(signature.template.split(separator: " ").prefix(2).joined(separator: " "))"]
        if signature.template.hasPrefix("integer registers") || signature.template.hasPrefix("vector registers") {
            names.insert("boundary: \(signature.template)")
        }
        names.insert("arity: " + (signature.parameters.count <= 6 ? "0–6" : signature.parameters.count <= 10 ? "7–10" : "11–16"))
        switch signature.result {
        case nil: names.insert("result: void")
        case .scalar: names.insert("result: scalar")
        case .record: names.insert(resultSize > 16 ? "result: record in memory (sret)" : "result: record in registers")
        }
        var visited: Set<Int> = []
        func visit(_ type: CampaignType, top: Bool) {
            switch type {
            case .scalar(let index):
                let scalar = CampaignScalar.all[index]
                switch scalar.kind {
                case .longDouble: names.insert("scalar: long double")
                case .complex: names.insert("scalar: _Complex")
                case .integer(16): names.insert("scalar: __int128")
                case .bool: names.insert("scalar: _Bool")
                case .integer(let bytes) where bytes < 4: names.insert("scalar: char/short")
                default: break
                }
            case .record(let index):
                let record = batch.records[index]
                if top {
                    names.insert(record.isUnion ? "record: union" : "record: struct")
                    if record.style.hasPrefix("pair") { names.insert("eightbytes: \(record.style)") }
                    if record.style == "single field" { names.insert("record: single field") }
                    for word in ["packed", "aligned", "pack(", "bit-fields"] where record.style.contains(word) {
                        names.insert("record: \(word.trimmingCharacters(in: CharacterSet(charactersIn: "(")))")
                    }
                }
                guard visited.insert(index).inserted else { return }
                if record.fields.contains(where: { $0.type.isRecord }) { names.insert("record: nested") }
                if record.fields.contains(where: { $0.count != nil }) { names.insert("record: with arrays") }
                for field in record.fields { visit(field.type, top: false) }
            }
        }
        for type in signature.parameters + (signature.variadicTail ?? []) { visit(type, top: true) }
        if let result = signature.result { visit(result, top: true) }
        if signature.isVariadic {
            names.insert("variadic")
            if signature.variadicTail!.contains(where: \.isRecord) { names.insert("variadic: record in tail") }
        }
        return names.sorted()
    }

    // MARK: - Running

    func run(only: Int?) -> CampaignReport {
        var report = CampaignReport()
        for signature in batch.signatures {
            if let only, only != signature.index { continue }
            if Self.traces {
                // One line per case on standard error (unbuffered), to find a case that crashes.
                FileHandle.standardError.write(Data("case \(batchIndex).\(signature.index): \(batch.prototype(of: signature))\n".utf8))
            }
            runCase(signature, into: &report)
        }
        if !report.failures.isEmpty { keepDirectory = true }
        return report
    }

    private func refuse(_ reason: String, _ categories: [String], into report: inout CampaignReport) {
        // Group refusals by reason without the function's name.
        // Group by where it happened and the last clause of the reason ("libffi cannot
        // pass unions by value"), without positions, names and paths.
        let firstLine = reason.split(separator: "\n").first.map(String.init) ?? reason
        let stage = firstLine.prefix { $0 != ":" }
        let clause = firstLine.components(separatedBy: ": ").last ?? firstLine
        let key = String((stage + ": " + clause)
            .replacingOccurrences(of: #"\bf\d+\b"#, with: "fN", options: .regularExpression)
            .replacingOccurrences(of: #"callstub-campaign-[0-9-]+"#, with: "callstub-campaign-…", options: .regularExpression)
            .replacingOccurrences(of: #"\b[RS]\d+\b"#, with: "R…", options: .regularExpression)
            .prefix(200))
        report.refusals[key, default: 0] += 1
        if report.refusalExamples[key] == nil { report.refusalExamples[key] = reason }
        for category in categories { report.categories[category, default: CampaignTally()].refused += 1 }
    }

    private func runCase(_ signature: CampaignSignature, into report: inout CampaignReport) {
        let caseID = CampaignCase(batch: batchIndex, index: signature.index)
        if let ending = oracleCrashes[signature.index] {
            report.oracleCrashes.append(
                "case \(caseID) (\(configuration), \(ending)): \(batch.declaration(of: signature))")
            return
        }
        let allTypes = signature.parameters + (signature.variadicTail ?? [])
        let argumentTypes: [CQualType]
        let resultType: CQualType?
        let layouts: [CTypeLayout]
        let resultSize: Int
        do {
            argumentTypes = try allTypes.map { try type($0) }
            resultType = try signature.result.map { try type($0) }
            layouts = try argumentTypes.map { try $0.layout() }
            resultSize = try resultType?.layout().size ?? 0
        } catch {
            refuse("types: \(error)", ["all"], into: &report)
            return
        }
        let categories = categories(of: signature, resultSize: resultSize)
        var bound: [(BindingOptions.Backend, BoundFunction)] = []
        for backend in [BindingOptions.Backend.jit, .libffi] {
            do {
                bound.append((backend, try library.function(signature.name, options: BindingOptions(backend: backend, tiering: .eager))))
            } catch {
                refuse("bind (\(backend)): \(error)", categories, into: &report)
            }
        }
        guard !bound.isEmpty else { return }

        let caseSeed = Self.caseSeed(batch, signature)
        let frame = ArgumentFrame(layouts)
        let masks = ArgumentFrame(layouts)
        var resultMaskBuffer = GuardedBuffer(window: max(resultSize, 16))
        do {
            let make = unsafeBitCast(try library.address(of: "cs_make_\(signature.index)").raw!, to: CampaignMake.self)
            let mask = unsafeBitCast(try library.address(of: "cs_mask_\(signature.index)").raw!, to: CampaignMask.self)
            make(frame.slots, caseSeed)
            resultMaskBuffer.withPointer { mask(masks.slots, $0) }
        } catch {
            refuse("helpers: \(error)", categories, into: &report)
            return
        }
        let drive: CampaignDrive
        let callee: CPointer
        do {
            drive = unsafeBitCast(try library.address(of: "cs_drive_\(signature.index)").raw!, to: CampaignDrive.self)
            callee = try library.address(of: signature.name)
        } catch {
            refuse("helpers: \(error)", categories, into: &report)
            return
        }
        let input = frame.bytes
        let argumentMask = masks.bytes
        let resultMask = resultMaskBuffer.contents(resultSize)

        /// Runs one path: `body` gets the result buffer; the log and guards are checked.
        func path(_ name: String, window: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) -> PathOutcome {
            pathCall(name, window, body)
        }
        func pathCall(_ name: String, _ window: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) -> PathOutcome {
            var outcome = PathOutcome(path: name)
            var buffer = GuardedBuffer(window: max(window, resultSize))
            logReset()
            do {
                try buffer.withPointer { try body($0) }
            } catch let refusal as CampaignCAPIRefusal {
                outcome.refusal = "\(name): \(refusal.message)"
                return outcome
            } catch let error as CallStubError {
                if case .unsupportedSignature = error {
                    // A backend that cannot take a variadic shape says so when it is called.
                    outcome.refusal = "\(name): \(error)"
                } else {
                    outcome.problem = "threw: \(error)"
                }
                return outcome
            } catch {
                outcome.problem = "threw: \(error)"
                return outcome
            }
            outcome.log = currentLog
            outcome.result = buffer.contents(resultSize)
            if let overwrite = buffer.overwrite { outcome.problem = overwrite }
            // A call that leaves values on the x87 stack breaks every later long double.
            let leftOnX87 = x87Used()
            if leftOnX87 > 0 {
                outcome.problem = "left \(leftOnX87) values on the x87 register stack"
                x87Reset()
            }
            if frame.bytes != input { outcome.problem = "the call changed its argument buffers" }
            report.pathCalls[name, default: 0] += 1
            return outcome
        }

        let oracle = path("C direct", window: resultSize) { drive(callee.raw, frame.slots, $0) }
        var outcomes: [PathOutcome] = []
        // The callee must have logged exactly what was passed (the compiler against itself
        // and against CallStub's layouts).
        if let difference = compare(expected: (input, oracle.result), got: oracle, argumentMask: argumentMask, resultMask: resultMask, layouts: layouts) {
            var sanity = oracle
            sanity.problem = "the direct C call did not log its arguments as given: \(difference)"
            outcomes.append(sanity)
        }

        let tailTypes = signature.isVariadic ? Array(argumentTypes[signature.parameters.count...]) : []
        for (backend, function) in bound {
            let prefix = backend == .jit ? "jit" : "ffi"
            outcomes.append(path("\(prefix).raw", window: function.resultBufferSize) { result in
                if signature.isVariadic {
                    try function.variadicShape(tailTypes).invoke(arguments: frame.slots, result: result)
                } else {
                    function.invoke(arguments: frame.slots, result: result)
                }
            })
            outcomes.append(path("\(prefix).dynamic", window: resultSize) { result in
                let values = try argumentTypes.indices.map { try CValue(loading: argumentTypes[$0], from: frame.slot($0)) }
                let value = signature.isVariadic
                    ? try function.call(values, variadicTypes: tailTypes) : try function.call(values)
                if let resultType { try value.store(as: resultType, to: result) }
            })
            // A variadic call is typed when each extra argument's Swift type names its C
            // type as a variadic argument (records and promoted types do not).
            let typedTail = tailTypes.allSatisfy { CampaignSwiftTypes.swiftType(for: $0).cVariadicType != nil }
            if backend == .jit && typedTail {
                var registerCall = false
                let typed = path("jit.typed", window: resultSize) { result in
                    registerCall = try typedCall(
                        function, argumentTypes.map { CampaignSwiftTypes.swiftType(for: $0) },
                        resultType.map { CampaignSwiftTypes.swiftType(for: $0) } ?? CVoid.self,
                        frame: frame, types: argumentTypes, result: result)
                }
                outcomes.append(typed)
                // How many typed calls went to the function itself (RegisterCall.swift).
                if registerCall { report.pathCalls["jit.typed (register call)", default: 0] += 1 }
            }
        }

        let capiRefusals = runCAPIPaths(
            signature, frame: frame, callee: callee, tailTypes: tailTypes, resultSize: resultSize, path: pathCall, into: &outcomes)
        for reason in capiRefusals { refuse(reason, categories, into: &report) }

        // Callbacks: the C driver calls the callback with the same arguments; the handler
        // relays them to the real callee, which logs them.
        var callbackShape = false
        if !signature.isVariadic {
            let relay = CampaignRelay(
                layouts: layouts, types: argumentTypes, resultType: resultType, resultSize: resultSize, drive: drive,
                callee: UnsafeRawPointer(callee.raw!))
            let pointerType = "\(signature.result.map { batch.spelling($0) } ?? "void") (*)(\(signature.parameters.isEmpty ? "void" : signature.parameters.map { batch.spelling($0) }.joined(separator: ", ")))"
            let scope = library.declarations
            for backend in [BindingOptions.Backend.jit, .libffi] {
                let prefix = backend == .jit ? "thunk" : "closure"
                do {
                    let dynamic = try Callback(pointerType, scope: scope, backend: backend) { values in
                        let frame = relay.makeFrame()
                        for (index, value) in values.enumerated() {
                            do { try value.store(as: relay.types[index], to: frame.slot(index)) } catch {
                                fatalError("campaign: argument \(index + 1) of a callback does not store back: \(error)")
                            }
                        }
                        let result = relay.forward(frame, as: CampaignDynamicResult.self)
                        return result.value
                    }
                    outcomes.append(path("\(prefix).dynamic", window: resultSize) { drive(dynamic.unsafePointer.raw, frame.slots, $0) })
                    callbackShape = true
                    if signature.parameters.count <= 12 {
                        let typed = try typedCallback(
                            pointerType, argumentTypes.map { CampaignSwiftTypes.swiftType(for: $0) },
                            resultType.map { CampaignSwiftTypes.swiftType(for: $0) } ?? CVoid.self,
                            scope: scope, backend: backend, relay: relay)
                        outcomes.append(path("\(prefix).typed", window: resultSize) { drive(typed.unsafePointer.raw, frame.slots, $0) })
                        if typed.callsClosureDirectly { report.pathCalls["thunk.typed (register callback)", default: 0] += 1 }
                    }
                } catch {
                    refuse("callback (\(backend)): \(error)", categories, into: &report)
                }
            }
        }

        // Where gcc and clang pass a signature differently, clang can disagree with itself
        // (its va_arg follows the psABI, its calls do not): the oracle is void and every
        // path refused the shape; the case counts as a compiler disagreement.
        if outcomes.first?.path == "C direct",
            outcomes.contains(where: { $0.refusal?.contains("gcc and clang pass this signature differently") ?? false })
        {
            report.compilerDisagreements += 1
            refuse("oracle: the C compiler disagrees with itself where gcc and clang differ", categories, into: &report)
            return
        }
        report.signatures += 1
        if callbackShape { report.callbackShapes += 1 }
        var failures: [String] = []
        for outcome in outcomes {
            if outcome.path == "libffi.ffi_call" {
                // libffi itself, on the cif the C API paths used: its errors are its own.
                if let difference = outcome.problem ?? compare(
                    expected: (oracle.log, oracle.result), got: outcome, argumentMask: argumentMask, resultMask: resultMask,
                    layouts: layouts)
                {
                    report.libffiDisagreements += 1
                    if report.libffiExamples.count < 5 {
                        report.libffiExamples.append("case \(caseID) (\(configuration)): \(difference)\n\(batch.declaration(of: signature))")
                    }
                }
                continue
            }
            if let refusal = outcome.refusal {
                refuse(refusal, categories, into: &report)
            } else if let problem = outcome.problem {
                failures.append("\(outcome.path): \(problem)")
            } else if let difference = compare(
                expected: (oracle.log, oracle.result), got: outcome, argumentMask: argumentMask, resultMask: resultMask, layouts: layouts)
            {
                failures.append("\(outcome.path): \(difference)")
            }
        }
        for category in categories {
            report.categories[category, default: CampaignTally()].executed += 1
            if !failures.isEmpty { report.categories[category, default: CampaignTally()].failed += 1 }
        }
        if !failures.isEmpty {
            report.failures.append(reproducer(
                signature, caseID: caseID, failures: failures, oracle: oracle, outcomes: outcomes,
                argumentTypes: argumentTypes, resultType: resultType, frame: frame))
        }
    }

    // MARK: - The C API, from C

    /// The C API's paths for one case, each called from the batch's C drivers: callstub_call
    /// (or callstub_call_variadic) on a JIT and a libffi handle bound by name, and, when
    /// libffi can describe the signature, callstub_ffi_call twice on a cif prepared on the
    /// driver's stack (a miss, then the cached cif), a call plan, and libffi's own ffi_call.
    /// Returns the refusals (bindings the C API declined, with its message).
    private func runCAPIPaths(
        _ signature: CampaignSignature, frame: ArgumentFrame, callee: CPointer, tailTypes: [CQualType], resultSize: Int,
        path: (String, Int, (UnsafeMutableRawPointer) throws -> Void) -> PathOutcome, into outcomes: inout [PathOutcome]
    ) -> [String] {
        var refusals: [String] = []
        let count = UInt32(frame.layouts.count)
        let lastError = { String(cString: callstub_last_error()) }
        let tailText = tailTypes.map { "\($0)" }.joined(separator: ", ")
        // CALLSTUB_BACKEND_JIT | CALLSTUB_TIER_EAGER, and CALLSTUB_BACKEND_LIBFFI (callstub.h).
        for (label, flags) in [("capi.jit", UInt32(1 << 2 | 1 << 3)), ("capi.ffi", UInt32(1 << 1))] {
            var handle: UnsafeMutableRawPointer?
            guard callstub_bind(capiLibrary, signature.name, nil, flags, &handle) == 0, let handle else {
                refusals.append("bind (\(label)): \(lastError())")
                continue
            }
            defer { callstub_function_free(handle) }
            outcomes.append(path("\(label).call", callstub_result_size(handle)) { result in
                let status = signature.isVariadic
                    ? capi.callVariadic(CEntryPoints.callVariadic, handle, tailText, result, frame.slots, count)
                    : capi.call(CEntryPoints.call, handle, result, frame.slots, count)
                // CALLSTUB_ERROR_BACKEND: a backend that cannot take a variadic shape says so.
                if status == 8 { throw CampaignCAPIRefusal(message: lastError()) }
                if status != 0 { throw CampaignError(message: "status \(status): \(lastError())") }
            })
        }
        guard batch.ffiDescribes(signature) else { return refusals }
        guard let prepare = try? library.address(of: "cs_prep_\(signature.index)").raw else {
            return refusals + ["helpers: no cs_prep_\(signature.index)"]
        }
        let prep = unsafeBitCast(prepare, to: CampaignCAPIDrivers.Prep.self)
        // libffi's result contract: integer results narrower than ffi_arg are widened to it.
        var window = resultSize
        if case .scalar(let index)? = signature.result, window < 8 {
            switch CampaignScalar.all[index].kind {
            case .integer, .bool: window = 8
            default: break
            }
        }
        func checked(_ status: Int32, _ what: String) throws {
            if status != 0 { throw CampaignError(message: "\(what): status \(status) (\(lastError()))") }
        }
        for name in ["capi.ffi_call", "capi.ffi_call cached"] {
            outcomes.append(path(name, window) { result in
                try checked(capi.ffiCall(CEntryPoints.ffiCall, prep, callee.raw, result, frame.slots, count), "ffi_prep_cif")
            })
        }
        outcomes.append(path("capi.plan", window) { result in
            try checked(
                capi.plan(CEntryPoints.planAlloc, CEntryPoints.planInvoke, CEntryPoints.planFree, prep, callee.raw, result, frame.slots, count),
                "plan")
        })
        outcomes.append(path("libffi.ffi_call", window) { result in
            try checked(capi.libffi(prep, callee.raw, result, frame.slots, count), "ffi_prep_cif")
        })
        return refusals
    }

    // MARK: - Comparison and triage

    /// The first masked difference, named by argument and byte, or nil.
    func compare(
        expected: (log: [UInt8], result: [UInt8]), got: PathOutcome, argumentMask: [UInt8], resultMask: [UInt8],
        layouts: [CTypeLayout]
    ) -> String? {
        if got.log.count != expected.log.count {
            return "the callee logged \(got.log.count) bytes of arguments, expected \(expected.log.count)"
        }
        var offset = 0
        for (index, layout) in layouts.enumerated() {
            for byte in 0..<layout.size {
                let position = offset + byte
                let mask = argumentMask[position]
                if expected.log[position] & mask != got.log[position] & mask {
                    return String(
                        format: "argument %d: byte %d is 0x%02x, expected 0x%02x (mask 0x%02x)", index + 1, byte,
                        got.log[position] & mask, expected.log[position] & mask, mask)
                }
            }
            offset += layout.size
        }
        for byte in resultMask.indices where expected.result[byte] & resultMask[byte] != got.result[byte] & resultMask[byte] {
            return String(
                format: "result: byte %d is 0x%02x, expected 0x%02x (mask 0x%02x)", byte, got.result[byte] & resultMask[byte],
                expected.result[byte] & resultMask[byte], resultMask[byte])
        }
        return nil
    }

    func reproducer(
        _ signature: CampaignSignature, caseID: CampaignCase, failures: [String], oracle: PathOutcome, outcomes: [PathOutcome],
        argumentTypes: [CQualType], resultType: CQualType?, frame: ArgumentFrame
    ) -> String {
        keepDirectory = true
        var lines = ["MISMATCH case \(caseID) (seed \(String(format: "0x%llx", campaign.seed)), \(configuration), \(signature.template))"]
        for failure in failures { lines.append("  \(failure)") }
        lines.append("  declaration:")
        for record in batch.recordsUsed(by: signature) { lines.append("    " + batch.definition(of: record).replacingOccurrences(of: "\n", with: "\n    ")) }
        lines.append("    \(batch.prototype(of: signature));")
        if let tail = signature.variadicTail { lines.append("    variadic tail: \(tail.map { batch.spelling($0) }.joined(separator: ", "))") }
        let values = argumentTypes.indices.map { index in
            (try? CValue(loading: argumentTypes[index], from: frame.slot(index))).map { "\($0)" } ?? "?"
        }
        lines.append("  arguments: \(values.joined(separator: ", "))")
        func describe(_ outcome: PathOutcome) -> String {
            guard let resultType, outcome.result.count >= (try? resultType.layout().size) ?? 0 else { return "void" }
            return outcome.result.withUnsafeBytes { bytes in
                (try? CValue(loading: resultType, from: bytes.baseAddress!)).map { "\($0)" } ?? "?"
            }
        }
        lines.append("  C direct: \(describe(oracle))")
        for outcome in outcomes where outcome.problem == nil && outcome.refusal == nil { lines.append("  \(outcome.path): \(describe(outcome))") }
        lines.append("  library: \(directory.path)/batch.c")
        lines.append("  rerun: " + (campaign.rerun ?? "SEED=\(campaign.seed) N=\(campaign.count) CASE=\(caseID)\(campaign.profile == .full ? "" : " PROFILE=\(campaign.profile.rawValue)") scripts/campaign"))
        return lines.joined(separator: "\n")
    }
}

/// The batch library's C drivers of the C API (CampaignFFI.swift).
struct CampaignCAPIDrivers {
    typealias Prep = @convention(c) (UnsafeMutableRawPointer?) -> Int32
    typealias Call = @convention(c) (UnsafeRawPointer, UnsafeMutableRawPointer, UnsafeMutableRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32) -> Int32
    typealias CallVariadic = @convention(c) (
        UnsafeRawPointer, UnsafeMutableRawPointer, UnsafePointer<CChar>, UnsafeMutableRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32
    ) -> Int32
    typealias FFICall = @convention(c) (UnsafeRawPointer, Prep, UnsafeMutableRawPointer?, UnsafeMutableRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32) -> Int32
    typealias Plan = @convention(c) (
        UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, Prep, UnsafeMutableRawPointer?, UnsafeMutableRawPointer,
        UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32
    ) -> Int32
    typealias LibFFI = @convention(c) (Prep, UnsafeMutableRawPointer?, UnsafeMutableRawPointer, UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32) -> Int32

    let call: Call
    let callVariadic: CallVariadic
    let ffiCall: FFICall
    let plan: Plan
    let libffi: LibFFI
}

/// A C API call declined with CALLSTUB_ERROR_BACKEND (a backend's known limit).
struct CampaignCAPIRefusal: Error {
    var message: String
}

/// A dynamic callback's result read back from the callee's result bytes.
struct CampaignDynamicResult: CampaignLoadable {
    var value: CValue
    static func campaignLoad(_ source: UnsafeRawPointer, _ type: CQualType) -> CampaignDynamicResult {
        if case .void = type.resolved.type { return CampaignDynamicResult(value: .void) }
        guard let value = try? CValue(loading: type, from: source) else { fatalError("campaign: cannot read a \(type) result") }
        return CampaignDynamicResult(value: value)
    }
}

extension CampaignType {
    var isRecord: Bool {
        if case .record = self { return true }
        return false
    }
}

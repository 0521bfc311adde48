// The campaign's generator: seeded random C signatures (0–16 parameters, every scalar
// type, structs and unions of 1–128 bytes with nesting, arrays, bit-fields, packed and
// over-aligned members, variadic tails) that deliberately hit the psABI's boundaries:
// 5/6/7 integer registers used, 7/8/9 vector registers used, aggregates that just fit or
// just miss the registers left, and every eightbyte class pair of 9–16 byte records.

import CTestSupport

/// A scalar C type of the campaign, with what the C side needs to fill and mask it.
struct CampaignScalar: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case integer(bytes: Int)
        case bool
        case floating
        case longDouble
        /// `_Complex` of `part` (`float`, `double` or `long double`).
        case complex(part: String)
        case pointer
    }

    let spelling: String
    let kind: Kind

    static let all: [CampaignScalar] = [
        .init(spelling: "char", kind: .integer(bytes: 1)),
        .init(spelling: "signed char", kind: .integer(bytes: 1)),
        .init(spelling: "unsigned char", kind: .integer(bytes: 1)),
        .init(spelling: "short", kind: .integer(bytes: 2)),
        .init(spelling: "unsigned short", kind: .integer(bytes: 2)),
        .init(spelling: "int", kind: .integer(bytes: 4)),
        .init(spelling: "unsigned int", kind: .integer(bytes: 4)),
        .init(spelling: "long", kind: .integer(bytes: 8)),
        .init(spelling: "unsigned long", kind: .integer(bytes: 8)),
        .init(spelling: "long long", kind: .integer(bytes: 8)),
        .init(spelling: "unsigned long long", kind: .integer(bytes: 8)),
        .init(spelling: "_Bool", kind: .bool),
        .init(spelling: "float", kind: .floating),
        .init(spelling: "double", kind: .floating),
        .init(spelling: "long double", kind: .longDouble),
        .init(spelling: "__int128", kind: .integer(bytes: 16)),
        .init(spelling: "unsigned __int128", kind: .integer(bytes: 16)),
        .init(spelling: "float _Complex", kind: .complex(part: "float")),
        .init(spelling: "double _Complex", kind: .complex(part: "double")),
        .init(spelling: "long double _Complex", kind: .complex(part: "long double")),
        .init(spelling: "void *", kind: .pointer),
        .init(spelling: "const char *", kind: .pointer),
        .init(spelling: "FP", kind: .pointer),
        .init(spelling: "enum E0", kind: .integer(bytes: 4)),
        .init(spelling: "enum E1", kind: .integer(bytes: 1)),
        .init(spelling: "enum E2", kind: .integer(bytes: 4)),
    ]

    static func index(_ spelling: String) -> Int { all.firstIndex { $0.spelling == spelling }! }

    /// Size in bytes, alignment equal to it except for `long double` (16/16) and complex.
    var size: Int {
        switch kind {
        case .integer(let bytes): return bytes
        case .bool: return 1
        case .floating: return spelling == "float" ? 4 : 8
        case .longDouble: return 16
        case .complex(let part): return part == "float" ? 8 : part == "double" ? 16 : 32
        case .pointer: return 8
        }
    }

    /// The type a variadic argument of this type has after the default argument promotions.
    var isPromoted: Bool {
        switch kind {
        case .integer(let bytes): return bytes >= 4 && !spelling.hasPrefix("enum")
        case .bool: return false
        case .floating: return spelling == "double"
        case .longDouble, .complex, .pointer: return true
        }
    }
}

/// A type of the campaign: a scalar or one of the batch's records.
enum CampaignType: Hashable, Sendable {
    case scalar(Int)
    case record(Int)
}

struct CampaignField: Hashable, Sendable {
    var type: CampaignType
    /// Array element count, for array members.
    var count: Int?
    var bitWidth: Int?
    /// nil for unnamed bit-fields.
    var name: String?
    var attributes: [String] = []
}

struct CampaignRecord: Hashable, Sendable {
    var index: Int
    var isUnion: Bool
    var fields: [CampaignField]
    var attributes: [String]
    var pragmaPack: Int?
    /// A rough size (no padding), to keep records within 1–128 bytes.
    var estimatedSize: Int
    /// What the generator meant to build (`pair(INTEGER,SSE)`, `single field`, …).
    var style: String

    var tag: String { "\(isUnion ? "union" : "struct") R\(index)" }
}

/// One generated function: its parameters, result and variadic tail.
struct CampaignSignature: Hashable, Sendable {
    var index: Int
    var result: CampaignType?
    var parameters: [CampaignType]
    /// The promoted types passed after `...`; nil for a fixed-arity function.
    var variadicTail: [CampaignType]?
    /// The template that made it (`random`, `integer registers 6`, …).
    var template: String

    var name: String { "f\(index)" }
    var isVariadic: Bool { variadicTail != nil }
}

/// A batch: records, signatures, and the C text of both.
struct CampaignBatch: Sendable {
    var seed: UInt64
    var records: [CampaignRecord]
    var signatures: [CampaignSignature]

    func spelling(_ type: CampaignType) -> String {
        switch type {
        case .scalar(let index): return CampaignScalar.all[index].spelling
        case .record(let index): return records[index].tag
        }
    }
}

/// Which signatures a campaign makes.
enum CampaignProfile: String, Sendable {
    /// Everything C has (the default).
    case full
    /// Only what a libffi user can describe with ffi_types (no unions, bit-fields, packing,
    /// alignment attributes or `__int128`): made as `full`, then each other type replaced,
    /// so that every signature also runs through callstub_ffi_call and the call plans.
    case libffi
}

enum CampaignGenerator {
    static let bitFieldTypes: [(String, Int)] = [
        ("char", 8), ("unsigned char", 8), ("short", 16), ("unsigned short", 16), ("int", 32), ("unsigned int", 32),
        ("long", 64), ("unsigned long", 64), ("long long", 64), ("_Bool", 1), ("unsigned __int128", 128),
    ]

    /// Integer-class and SSE-class scalars for register runs.
    static let integerRun = ["long", "int", "void *", "unsigned short", "char", "unsigned long"]
    static let vectorRun = ["double", "float", "double"]

    /// Eightbyte contents for 9–16 byte pair records: (members, class).
    static let eightbytes: [([String], String)] = [
        (["long"], "INTEGER"), (["double"], "SSE"), (["int", "float"], "INTEGER"), (["float", "float"], "SSE"),
        (["float", "int"], "INTEGER"), (["char", "short", "int"], "INTEGER"), (["short", "float"], "INTEGER"),
    ]
    static let tailEightbytes: [([String], String)] = [
        (["char"], "INTEGER"), (["float"], "SSE"), (["int"], "INTEGER"), (["double"], "SSE"), (["long"], "INTEGER"),
        (["float", "float"], "SSE"), (["short", "char"], "INTEGER"), (["int", "float"], "INTEGER"),
    ]

    /// Signatures a typed handle calls with its arguments in registers (RegisterCall.swift):
    /// integers of every width, `_Bool`, enums, pointers, `float` and `double`, up to six
    /// and eight of them (often exactly at the limit), a result of those or void; a quarter
    /// variadic with promoted tails. Drawn from a generator of their own and appended, so
    /// the other signatures of a seed (and the cases the docs cite) stay as they were.
    static func registerCallSignatures(count: Int, seed: UInt64, firstIndex: Int) -> [CampaignSignature] {
        var random = SeededGenerator(seed: seed ^ 0x5245_4749_5354_4552)
        func number(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        let integers = CampaignScalar.all.indices.filter {
            switch CampaignScalar.all[$0].kind {
            case .integer(let bytes): return bytes <= 8
            case .bool, .pointer: return true
            default: return false
            }
        }
        let vectors = [CampaignScalar.index("float"), CampaignScalar.index("double")]
        let promotedIntegers = integers.filter { CampaignScalar.all[$0].isPromoted }
        let double = CampaignScalar.index("double")
        return (0..<count).map { offset in
            let integerCount = number(0...2) == 0 ? 6 : number(0...6)
            let vectorCount = number(0...2) == 0 ? 8 : number(0...8)
            var arguments: [(type: CampaignType, promoted: CampaignType)] = []
            for _ in 0..<integerCount {
                let type = integers.randomElement(using: &random)!
                arguments.append((.scalar(type), .scalar(promotedIntegers.contains(type) ? type : promotedIntegers.randomElement(using: &random)!)))
            }
            for _ in 0..<vectorCount {
                arguments.append((.scalar(vectors.randomElement(using: &random)!), .scalar(double)))
            }
            arguments.shuffle(using: &random)
            var parameters = arguments.map(\.type)
            var tail: [CampaignType]?
            if number(0...3) == 0, !arguments.isEmpty {
                let fixed = number(1...arguments.count)
                parameters = Array(parameters.prefix(fixed))
                tail = arguments.dropFirst(fixed).map(\.promoted)
            }
            let result: CampaignType? = number(0...9) == 0
                ? nil : .scalar((integers + vectors).randomElement(using: &random)!)
            return CampaignSignature(
                index: firstIndex + offset, result: result, parameters: parameters, variadicTail: tail, template: "register call")
        }
    }

    static func make(count: Int, seed: UInt64, profile: CampaignProfile = .full) -> CampaignBatch {
        var random = SeededGenerator(seed: seed)
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        func number(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        func number(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
        func pick<T>(_ items: [T]) -> T { items.randomElement(using: &random)! }
        func scalar(_ spelling: String) -> CampaignType { .scalar(CampaignScalar.index(spelling)) }

        var records: [CampaignRecord] = []
        func size(of type: CampaignType) -> Int {
            switch type {
            case .scalar(let index): return CampaignScalar.all[index].size
            case .record(let index): return records[index].estimatedSize
            }
        }

        // MARK: Records
        func randomRecord(_ index: Int) -> CampaignRecord {
            let style = number(0..<100)
            var fields: [CampaignField] = []
            var name = 0
            func named() -> String {
                defer { name += 1 }
                return "m\(name)"
            }
            if style < 14 {
                // A 9–16 byte struct of two eightbytes with chosen classes.
                let (first, firstClass) = pick(eightbytes)
                let (second, secondClass) = pick(tailEightbytes)
                for member in first + second { fields.append(CampaignField(type: scalar(member), name: named())) }
                return CampaignRecord(
                    index: index, isUnion: false, fields: fields, attributes: [], pragmaPack: nil,
                    estimatedSize: 16, style: "pair(\(firstClass),\(secondClass))")
            }
            if style < 22 {
                // Single-field and near-empty records.
                let shapes: [[CampaignField]] = [
                    [CampaignField(type: scalar(pick(["char", "float", "double", "long double", "__int128", "int"])), name: named())],
                    [CampaignField(type: scalar(pick(["float", "char", "double"])), count: 1, name: named())],
                    [CampaignField(type: scalar("int"), bitWidth: 0), CampaignField(type: scalar("char"), name: named())],
                    [CampaignField(type: scalar("unsigned int"), bitWidth: number(1...7), name: named())],
                    records.isEmpty
                        ? [CampaignField(type: scalar("short"), name: named())]
                        : [CampaignField(type: .record(records.indices.randomElement(using: &random)!), name: named())],
                ]
                let chosen = pick(shapes)
                let estimated = chosen.reduce(0) { $0 + size(of: $1.type) * ($1.count ?? 1) }
                return CampaignRecord(
                    index: index, isUnion: chance(20), fields: chosen, attributes: [], pragmaPack: nil,
                    estimatedSize: max(estimated, 1), style: "single field")
            }
            let isUnion = chance(18)
            var estimated = 0
            var hasBitFields = false
            for _ in 0..<number(1...6) {
                let roll = number(0..<100)
                var field: CampaignField
                if roll < 48 {
                    field = CampaignField(type: .scalar(number(0..<CampaignScalar.all.count)), name: named())
                } else if roll < 60 {
                    let element = pick(["char", "short", "int", "float", "double", "long", "unsigned char", "long double"])
                    field = CampaignField(type: scalar(element), count: chance(15) ? number(5...24) : number(1...4), name: named())
                } else if roll < 74 {
                    let (type, bits) = pick(bitFieldTypes)
                    field = CampaignField(type: scalar(type), bitWidth: number(1...bits), name: named())
                    hasBitFields = true
                } else if roll < 78 {
                    let (type, bits) = pick(bitFieldTypes.filter { $0.0 != "_Bool" })
                    field = CampaignField(type: scalar(type), bitWidth: chance(40) ? 0 : number(1...bits))
                    hasBitFields = true
                } else if roll < 92, !records.isEmpty {
                    let inner = records.indices.randomElement(using: &random)!
                    field = CampaignField(type: .record(inner), count: chance(15) ? number(1...2) : nil, name: named())
                } else {
                    field = CampaignField(type: .scalar(number(0..<CampaignScalar.all.count)), name: named())
                }
                if field.bitWidth == nil && chance(6) { field.attributes.append("aligned(\(pick([4, 8, 16, 32])))") }
                if field.name != nil && chance(6) { field.attributes.append("packed") }
                let fieldSize = field.bitWidth.map { ($0 + 7) / 8 } ?? size(of: field.type) * (field.count ?? 1)
                estimated = isUnion ? max(estimated, fieldSize) : estimated + fieldSize
                fields.append(field)
            }
            if !fields.contains(where: { $0.name != nil }) { fields.append(CampaignField(type: scalar("int"), name: named())) }
            var attributes: [String] = []
            var flavour = isUnion ? "union" : "struct"
            if chance(12) {
                attributes.append("packed")
                flavour += " packed"
            }
            if chance(8) {
                let alignment = pick([2, 4, 8, 16, 32])
                attributes.append("aligned(\(alignment))")
                flavour += " aligned(\(alignment))"
            }
            let pack: Int? = chance(6) ? pick([1, 2, 4]) : nil
            if let pack { flavour += " pack(\(pack))" }
            if hasBitFields { flavour += " bit-fields" }
            return CampaignRecord(
                index: index, isUnion: isUnion, fields: fields, attributes: attributes, pragmaPack: pack,
                estimatedSize: max(estimated, 1), style: flavour)
        }
        for index in 0..<40 {
            var record = randomRecord(index)
            var attempts = 0
            while record.estimatedSize > 120 && attempts < 20 {
                record = randomRecord(index)
                attempts += 1
            }
            if record.estimatedSize > 120 {
                record = CampaignRecord(
                    index: index, isUnion: false, fields: [CampaignField(type: scalar("double"), name: "m0")],
                    attributes: [], pragmaPack: nil, estimatedSize: 8, style: "single field")
            }
            records.append(record)
        }
        let pairRecords = records.indices.filter { records[$0].style.hasPrefix("pair") }
        let smallRecords = records.indices.filter { records[$0].estimatedSize <= 16 }

        // MARK: Signatures
        func anyType() -> CampaignType {
            let roll = number(0..<100)
            if roll < 45 { return .scalar(number(0..<CampaignScalar.all.count)) }
            if roll < 80, !smallRecords.isEmpty { return .record(pick(smallRecords)) }
            return .record(number(0..<records.count))
        }
        func aggregateOrWide() -> CampaignType {
            let roll = number(0..<100)
            if roll < 45, !pairRecords.isEmpty { return .record(pick(pairRecords)) }
            if roll < 60 { return scalar(pick(["__int128", "long double", "double _Complex", "long double _Complex", "float _Complex"])) }
            return anyType()
        }
        let promotedScalars = CampaignScalar.all.indices.filter { CampaignScalar.all[$0].isPromoted }

        var signatures: [CampaignSignature] = []
        for index in 0..<count {
            let roll = number(0..<100)
            var parameters: [CampaignType] = []
            var tail: [CampaignType]?
            let template: String
            if roll < 35 {
                let arity = chance(75) ? number(0...8) : number(9...16)
                for _ in 0..<arity { parameters.append(anyType()) }
                template = "random"
            } else if roll < 52 {
                // Integer registers: 5, 6 or 7 used before the interesting argument.
                let used = number(4...7)
                for _ in 0..<used { parameters.append(scalar(pick(integerRun))) }
                for _ in 0..<number(1...3) { parameters.append(aggregateOrWide()) }
                template = "integer registers \(used)"
            } else if roll < 69 {
                // Vector registers: 7, 8 or 9 used.
                let used = number(6...9)
                for _ in 0..<used { parameters.append(scalar(pick(vectorRun))) }
                for _ in 0..<number(1...3) { parameters.append(aggregateOrWide()) }
                template = "vector registers \(used)"
            } else if roll < 84 {
                // Pair records mixed with both kinds of runs: some just fit, some just miss.
                for _ in 0..<number(1...6) {
                    switch number(0..<3) {
                    case 0: parameters.append(scalar(pick(integerRun)))
                    case 1: parameters.append(scalar(pick(vectorRun)))
                    default: parameters.append(pairRecords.isEmpty ? anyType() : .record(pick(pairRecords)))
                    }
                }
                template = "eightbyte pairs"
            } else {
                for _ in 0..<number(1...4) { parameters.append(anyType()) }
                var variadic: [CampaignType] = []
                for _ in 0..<number(1...8) {
                    variadic.append(chance(15) ? .record(chance(60) && !smallRecords.isEmpty ? pick(smallRecords) : number(0..<records.count)) : .scalar(pick(promotedScalars)))
                }
                tail = variadic
                template = "variadic"
            }
            if parameters.count > 16 { parameters = Array(parameters.prefix(16)) }
            let result: CampaignType? = chance(10) ? nil : (chance(25) ? aggregateOrWide() : anyType())
            signatures.append(CampaignSignature(index: index, result: result, parameters: parameters, variadicTail: tail, template: template))
        }
        if profile == .full {
            signatures += registerCallSignatures(count: max(1, count / 8), seed: seed, firstIndex: signatures.count)
        }
        var batch = CampaignBatch(seed: seed, records: records, signatures: signatures)
        if profile == .libffi {
            let describable = records.indices.filter { batch.ffiDescribes(.record($0)) }
            func replacement(_ type: CampaignType) -> CampaignType {
                if batch.ffiDescribes(type) { return type }
                if case .record = type, !describable.isEmpty { return .record(pick(describable)) }
                return scalar(pick(["long", "double", "unsigned long"]))
            }
            for index in batch.signatures.indices {
                batch.signatures[index].parameters = batch.signatures[index].parameters.map(replacement)
                batch.signatures[index].variadicTail = batch.signatures[index].variadicTail?.map(replacement)
                batch.signatures[index].result = batch.signatures[index].result.map(replacement)
            }
        }
        return batch
    }
}

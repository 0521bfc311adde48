// Mutation test of verification: every fixture declaration, mutated in ways that change
// the ABI (swapped parameters of different classes, a type widened or narrowed, a
// parameter dropped or added, fixed ↔ variadic, int ↔ pointer, float ↔ double, a record
// member's type, a bit-field's width, an enum's size, the same in a record a pointer
// points to), must be refused against the
// fixture's DWARF; the unmutated declarations must all pass.

import CTestSupport
import CallStub
import Testing

enum Mutations {
    typealias Mutation = (label: String, type: CFunctionType)

    static func of(_ function: CFunctionType) -> [Mutation] {
        var result: [Mutation] = []
        let parameters = function.parameters
        func with(_ change: (inout CFunctionType) -> Void) -> CFunctionType {
            var copy = function
            change(&copy)
            return copy
        }
        // Swap two parameters of different classes or sizes.
        for i in parameters.indices {
            for j in parameters.indices where j > i && classKey(parameters[i].type) != classKey(parameters[j].type) {
                result.append(("swap \(i + 1) and \(j + 1)", with { $0.parameters.swapAt(i, j) }))
                break
            }
        }
        // Drop the last parameter; add one.
        if !parameters.isEmpty { result.append(("drop a parameter", with { $0.parameters.removeLast() })) }
        result.append(("add a parameter", with { $0.parameters.append(CParameter(type: CQualType(.int))) }))
        // Fixed ↔ variadic.
        result.append(("fixed ↔ variadic", with { $0.isVariadic.toggle() }))
        // Per value (result and each parameter): widen/narrow, int ↔ pointer, float ↔ double,
        // a record member's type, a bit-field's width, an enum's size.
        let positions = [-1] + Array(parameters.indices)
        for position in positions {
            let type = position < 0 ? function.result : parameters[position].type
            for (label, replacement) in replacements(for: type) {
                result.append(("\(position < 0 ? "result" : "argument \(position + 1)"): \(label)", with {
                    if position < 0 { $0.result = replacement } else { $0.parameters[position].type = replacement }
                }))
            }
        }
        return result
    }

    static func classKey(_ type: CQualType) -> String {
        switch type.resolved.type {
        case .integer(let kind): return "int\(kind.size)"
        case .enumeration(let enumeration): return "int\(enumeration.definition?.underlying.size ?? 4)"
        case .floating(let kind): return "float\(kind.size)"
        case .pointer, .array, .function: return "pointer"
        case .record(let record): return "record\(record.definition?.layout.size ?? 0)"
        default: return "\(type)"
        }
    }

    static func replacements(for type: CQualType) -> [(String, CQualType)] {
        switch type.resolved.type {
        case .integer(let kind) where kind != .bool:
            return [
                (kind.size == 8 ? "narrow to int" : "widen to long", CQualType(kind.size == 8 ? .int : .long)),
                ("int → pointer", CQualType(.pointer(to: .void))),
            ].filter { $0.1.type.integerKind?.size != kind.size || $0.0 == "int → pointer" && kind.size != 8 }
        case .enumeration(let enumeration):
            guard let definition = enumeration.definition,
                let packed = try? CEnum(tag: enumeration.tag, enumerators: definition.enumerators, isPacked: !definition.isPacked),
                packed.definition?.underlying.size != definition.underlying.size
            else { return [] }
            return [("enum size", CQualType(.enumeration(packed)))]
        case .floating(.float): return [("float → double", CQualType(.double))]
        case .floating(.double): return [("double → float", CQualType(.float))]
        case .pointer(let pointee):
            // The record it points to, laid out otherwise: the callee would read other memory.
            var pointees: [(String, CQualType)] = []
            if case .record = pointee.resolved.type {
                pointees = replacements(for: pointee).map { ("pointee \($0.0)", CQualType(.pointer($0.1))) }
            }
            return [("pointer → int", CQualType(.int))] + pointees
        case .record(let record):
            guard let definition = record.definition else { return [] }
            var result: [(String, CQualType)] = []
            for (index, field) in definition.fields.enumerated() {
                var fields = definition.fields
                if let width = field.bitWidth, let kind = field.type.type.integerKind, width < kind.valueBits - 1 {
                    fields[index].bitWidth = width + 1
                    if let mutated = try? CRecord(kind: record.kind, tag: record.tag, fields: fields, attributes: definition.attributes),
                        mutated.definition?.layout != definition.layout
                    {
                        result.append(("bit-field \(field.name ?? "?") wider", CQualType(.record(mutated))))
                    }
                } else if field.bitWidth == nil, let replacement = memberReplacement(field.type) {
                    fields[index].type = replacement
                    if let mutated = try? CRecord(kind: record.kind, tag: record.tag, fields: fields, attributes: definition.attributes) {
                        result.append(("member \(field.name ?? "?") type", CQualType(.record(mutated))))
                    }
                }
                if result.count >= 2 { break }
            }
            return result
        default:
            return []
        }
    }

    static func memberReplacement(_ type: CQualType) -> CQualType? {
        switch type.resolved.type {
        case .integer(let kind): return CQualType(kind.size == 8 ? .int : .long)
        case .floating(.double): return CQualType(.float)
        case .floating(.float): return CQualType(.double)
        case .pointer: return CQualType(.int)
        default: return nil
        }
    }
}

extension Mutations {
    /// Checks every fixture declaration and each of its ABI-changing mutations against
    /// `library`'s type info: the declarations must pass (and, with `requireVerified`, be
    /// checked, not skipped), every mutation must be refused.
    static func expectAllRefused(by library: SharedLibrary, label: String, requireVerified: Bool = false) throws {
        let parsed = try CDeclParser.parse(FixtureLibrary.header)
        var mutations = 0
        var accepted: [String] = []
        var correctRefused: [String] = []
        for case .function(let name, let type) in parsed.declarations {
            do {
                let (verification, _) = try library.check(name, type: type)
                if requireVerified, case .unverified(let reason) = verification { correctRefused.append("\(name): not checked: \(reason)") }
            } catch {
                correctRefused.append("\(name): \(error)")
            }
            for mutation in Mutations.of(type) {
                mutations += 1
                if (try? library.check(name, type: mutation.type)) != nil {
                    accepted.append("\(name), \(mutation.label): \(CPrinter().print(.function(name: name, type: mutation.type)))")
                }
            }
        }
        print("mutation test (\(label)): \(mutations) ABI-changing mutations, \(accepted.count) accepted, \(correctRefused.count) correct refused")
        #expect(mutations > 400, "\(mutations) mutations")
        #expect(correctRefused.isEmpty, "\(correctRefused.prefix(5))")
        #expect(accepted.isEmpty, "\(accepted.count) of \(mutations) ABI-changing mutations accepted: \(accepted.prefix(8))")
    }
}

@Suite struct MutationTests {
    @Test(arguments: FixtureLibrary.built)
    func everyABIChangingMutationIsRefused(_ fixture: FixtureLibrary) throws {
        try Mutations.expectAllRefused(by: try SharedLibrary(fixture.path), label: "\(fixture)")
    }
}

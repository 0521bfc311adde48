// The type declarations a signature needs, in an order a C header can print them:
// dependencies first, records passed by value or pointed to in full, records reached only
// through function types as declarations. Shared by every type-info source (DWARF, CTF).

/// The type declarations a function type needs, dependencies first.
public enum CTypeClosure {
    public static func declarations(for function: CFunctionType) -> [CDeclaration] {
        var closure = Walk()
        closure.visit(function.result, complete: true)
        for parameter in function.parameters { closure.visit(parameter.type, complete: true) }
        return closure.declarations
    }

    struct Walk {
        var declarations: [CDeclaration] = []
        var completeRecords: Set<ObjectIdentifier> = []
        var declaredRecords: Set<ObjectIdentifier> = []
        var enums: Set<ObjectIdentifier> = []
        /// Tags printed: a type each compilation unit describes again (without dwz, every
        /// unit that uses `struct __gconv_step_data` has its own DIE) is printed once.
        var printedTags: Set<String> = []
        var typedefs: Set<String> = []
        var depth = 0

        mutating func visit(_ type: CQualType, complete: Bool) {
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { return }
            switch type.type {
            case .typedef(let alias):
                visit(alias.underlying, complete: complete)
                if typedefs.insert(alias.name).inserted { declarations.append(.typedef(alias)) }
            case .pointer(let pointee):
                visit(pointee, complete: true)
            case .array(let element, _):
                visit(element, complete: complete)
            case .function(let function):
                // Complete: a callback of this type (made for a function pointer parameter)
                // takes and returns its records by value.
                visit(function.result, complete: true)
                for parameter in function.parameters { visit(parameter.type, complete: true) }
            case .record(let record):
                let id = ObjectIdentifier(record)
                let tagKey = record.tag.map { "\(record.kind.rawValue) \($0)" }
                if complete, let definition = record.definition {
                    guard completeRecords.insert(id).inserted else { return }
                    if let tagKey, printedTags.contains(tagKey) { return }
                    if let tagKey { printedTags.insert(tagKey) }
                    for field in definition.fields { visit(field.type, complete: true) }
                    if record.tag != nil { declarations.append(.record(record)) }
                } else if let tagKey, !completeRecords.contains(id), !printedTags.contains(tagKey),
                    declaredRecords.insert(id).inserted
                {
                    declarations.append(.recordDeclaration(record))
                }
            case .enumeration(let enumeration):
                if let tag = enumeration.tag, enumeration.definition != nil, enums.insert(ObjectIdentifier(enumeration)).inserted,
                    printedTags.insert("enum \(tag)").inserted
                {
                    declarations.append(.enumeration(enumeration))
                }
            case .void, .integer, .floating, .complex:
                return
            }
        }
    }
}

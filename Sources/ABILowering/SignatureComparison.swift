// A declaration compared with what the library's debug info says: ABI-relevant
// differences (parameter count, variadic or not, each value's class and size, record
// size, alignment, member offsets and types, bit-field positions, enum size, and the
// layout of a record a pointer points to) and those that do not change how the call is
// made or what memory means (signedness, typedef names, qualifiers, other pointee
// types, tags), each with where it is and both sides.

import CTypeModel

/// One difference between a declared signature and the actual one.
public struct SignatureDifference: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable {
        /// The call would be made wrongly.
        case abi
        /// The call is made the same way; the declaration still says something else.
        case nonABI = "non-ABI"
    }

    public var severity: Severity
    /// `result`, `argument 2`, `argument 2, member x`.
    public var position: String
    public var declared: String
    public var actual: String
    public var detail: String

    public var description: String {
        "\(position): declared \(declared), actual \(actual): \(detail)"
    }
}

public enum SignatureComparison {
    /// Every difference between `declared` and `actual` (empty when they agree).
    public static func compare(declared: CFunctionType, actual: CFunctionType) -> [SignatureDifference] {
        var differences: [SignatureDifference] = []
        if declared.parameters.count != actual.parameters.count {
            differences.append(SignatureDifference(
                severity: .abi, position: "parameters", declared: "\(declared.parameters.count)",
                actual: "\(actual.parameters.count)", detail: "the number of parameters differs"))
        }
        if declared.isVariadic != actual.isVariadic {
            differences.append(SignatureDifference(
                severity: .abi, position: "parameters", declared: declared.isVariadic ? "variadic" : "fixed",
                actual: actual.isVariadic ? "variadic" : "fixed", detail: "variadic and fixed-arity calls differ"))
        }
        compare(declared.result, actual.result, at: "result", into: &differences, depth: 0)
        for (index, (mine, theirs)) in zip(declared.parameters, actual.parameters).enumerated() {
            compare(mine.type, theirs.type, at: "argument \(index + 1)", into: &differences, depth: 0)
        }
        return differences
    }

    static func compare(
        _ declared: CQualType, _ actual: CQualType, at position: String, into differences: inout [SignatureDifference],
        depth: Int
    ) {
        guard depth < 64 else { return }
        func note(_ severity: SignatureDifference.Severity, _ detail: String) {
            differences.append(SignatureDifference(
                severity: severity, position: position, declared: declared.description, actual: actual.description,
                detail: detail))
        }
        let left = declared.resolved
        let right = actual.resolved
        // Parameters of array and function type decay; compare what is passed.
        switch (left.type, right.type) {
        case (.void, .void):
            return
        case (.integer, _), (.enumeration, _), (_, .integer), (_, .enumeration):
            guard let mine = left.type.integerKind, let theirs = right.type.integerKind else {
                note(.abi, "an integer and a \(kindName(left.type.integerKind == nil ? left.type : right.type))")
                return
            }
            if mine.size != theirs.size {
                note(.abi, "\(mine.size) bytes against \(theirs.size)")
            } else if (mine == .bool) != (theirs == .bool) {
                note(.abi, "_Bool against another integer type")
            } else if mine.isSigned != theirs.isSigned && mine != .char && theirs != .char {
                note(.nonABI, "signedness differs")
            } else if mine != theirs && !(mine.size == theirs.size && mine.isSigned == theirs.isSigned) {
                note(.nonABI, "integer types differ")
            }
        case (.floating(let mine), .floating(let theirs)):
            if mine != theirs { note(.abi, "\(mine.spelling) against \(theirs.spelling)") }
        case (.complex(let mine), .complex(let theirs)):
            if mine != theirs { note(.abi, "\(mine.spelling) _Complex against \(theirs.spelling) _Complex") }
        case (.pointer(let mine), .pointer(let theirs)):
            if !pointeesAgree(mine, theirs) {
                let layout = pointeeLayoutDifferences(mine, theirs, at: position)
                if layout.isEmpty {
                    note(.nonABI, "pointee types differ")
                } else {
                    differences += layout
                }
            }
        case (.pointer, .record(let union)) where isPointerUnion(union) && position != "result",
            (.record(let union), .pointer) where isPointerUnion(union) && position != "result":
            // glibc's `__SOCKADDR_ARG` is `struct sockaddr *` for C and a transparent union
            // of such pointers under _GNU_SOURCE (GCC passes it as its first member). DWARF
            // does not say "transparent", but such a union travels as a pointer would, so
            // the call is the same.
            note(.nonABI, "a pointer against an 8-byte union passed in one INTEGER eightbyte (a transparent union): passed alike")
            return
        case (.record(let mine), .record(let theirs)):
            compareRecords(mine, theirs, at: position, declared: declared, actual: actual, into: &differences, depth: depth)
        case (.array, .array), (.array, .pointer), (.pointer, .array), (.function, .function), (.function, .pointer),
            (.pointer, .function):
            // Parameters: both decay to pointers.
            return
        default:
            note(.abi, "a \(kindName(left.type)) against a \(kindName(right.type))")
            return
        }
        if left.qualifiers.subtracting(.restrict) != right.qualifiers.subtracting(.restrict) && differences.isEmpty {
            note(.nonABI, "qualifiers differ")
        }
    }

    /// A union passed as a pointer is: 8 bytes in one INTEGER eightbyte (psABI §3.2.3).
    /// That is the shape of a transparent union of pointers, whatever DWARF says its
    /// members are (glibc's debug info gives `__SOCKADDR_ARG` a single 64-bit member).
    /// (gcc's rule for unnamed bit-fields is used: they are INTEGER data to gcc, which
    /// built glibc, and padding to clang.)
    static func isPointerUnion(_ record: CRecord) -> Bool {
        guard record.kind == .union, record.size == 8 else { return false }
        var (lo, hi) = (EightbyteClass.noClass, EightbyteClass.noClass)
        X86_64SysV.classify(CQualType(.record(record)), offsetInBits: 0, lo: &lo, hi: &hi, gcc: .unnamedBitFields)
        return lo == .integer && hi == .noClass
    }

    static func compareRecords(
        _ mine: CRecord, _ theirs: CRecord, at position: String, declared: CQualType, actual: CQualType,
        into differences: inout [SignatureDifference], depth: Int
    ) {
        // A member's note names the member's types; the record's own, the record's.
        func note(
            _ severity: SignatureDifference.Severity, _ where_: String, _ detail: String,
            types: (CQualType, CQualType)? = nil
        ) {
            let (declaredType, actualType) = types ?? (declared, actual)
            differences.append(SignatureDifference(
                severity: severity, position: position + where_, declared: declaredType.description,
                actual: actualType.description, detail: detail))
        }
        guard let left = mine.definition, let right = theirs.definition else {
            if (mine.definition == nil) != (theirs.definition == nil) { note(.abi, "", "one side is incomplete") }
            return
        }
        if mine.kind != theirs.kind { note(.abi, "", "a \(mine.kind.rawValue) against a \(theirs.kind.rawValue)") }
        if left.layout.size != right.layout.size {
            note(.abi, "", "size \(left.layout.size) against \(right.layout.size)")
        }
        if left.layout.alignment != right.layout.alignment {
            // Up to 8 bytes, alignment changes no register or stack slot once offsets and
            // size agree. DWARF records neither `packed` nor `#pragma pack`, so where the
            // offsets cannot show them (a union, a struct without holes) the actual
            // alignment is a guess: a declaration that explains its own alignment is then
            // unverifiable rather than wrong.
            let changesCalls = max(left.layout.alignment, right.layout.alignment) > 8
            let actualIsGuess = right.attributes.alignment == nil
            let declarationExplains = left.attributes.isPacked || left.attributes.maxFieldAlignment != nil
                || left.attributes.alignment != nil || left.fields.contains { $0.isPacked || $0.alignment != nil }
            if changesCalls && actualIsGuess && declarationExplains {
                note(.nonABI, "", "alignment \(left.layout.alignment) against \(right.layout.alignment), which the debug info does not record (packed or aligned attributes)")
            } else {
                note(changesCalls ? .abi : .nonABI, "", "alignment \(left.layout.alignment) against \(right.layout.alignment)")
            }
        }
        // Unnamed bit-fields are padding: compilers leave them out of DWARF (and the
        // importer stands in its own for holes), and the psABI classifies only members.
        let members = { (definition: CRecordDefinition) in
            zip(definition.fields, definition.layout.members).filter { $0.0.name != nil || !$0.0.isBitField }
        }
        let (leftMembers, rightMembers) = (members(left), members(right))
        if leftMembers.count != rightMembers.count {
            note(.abi, "", "\(leftMembers.count) members against \(rightMembers.count)")
        }
        for (index, ((field, place), (other, otherPlace))) in zip(leftMembers, rightMembers).enumerated() {
            let name = field.name ?? other.name ?? "#\(index + 1)"
            if place != otherPlace {
                let text = { (member: CMemberLayout) -> String in
                    member.offsetInBits % 8 == 0 && member.sizeInBits % 8 == 0
                        ? "offset \(member.offsetInBytes), size \(member.sizeInBits / 8)"
                        : "bits \(member.offsetInBits)+\(member.sizeInBits)"
                }
                note(.abi, ", member \(name)", "\(text(place)) against \(text(otherPlace))", types: (field.type, other.type))
            }
            if field.name != other.name {
                note(
                    .nonABI, ", member \(name)", "member named \(field.name ?? "(none)") against \(other.name ?? "(none)")",
                    types: (field.type, other.type))
            }
            compare(field.type, other.type, at: position + ", member \(name)", into: &differences, depth: depth + 1)
        }
        if mine.tag != theirs.tag && differences.allSatisfy({ $0.severity == .nonABI }) {
            note(.nonABI, "", "tags differ")
        }
    }

    /// A pointer passes the same whatever it points to, but the callee reads and writes the
    /// memory as its own record: where both sides point to a defined record, what would
    /// make that memory mean something else is an ABI difference, at
    /// `argument 1, pointee, member x` (see `layoutDifferences`).
    static func pointeeLayoutDifferences(_ mine: CQualType, _ theirs: CQualType, at position: String) -> [SignatureDifference] {
        guard case .record(let left) = mine.resolved.type, case .record(let right) = theirs.resolved.type else { return [] }
        var found: [SignatureDifference] = []
        layoutDifferences(left, right, at: position + ", pointee", declared: mine, actual: theirs, into: &found, depth: 0)
        return found
    }

    /// What makes a record's memory mean something else: its size, and per member in order,
    /// its offset and size (bits for bit-fields), a floating type against an integer or a
    /// pointer, and
    /// a nested record (of the same kind on both sides) compared the same way.
    /// Types of one size and class otherwise lay memory out alike (an array against an
    /// integer, a struct against a union): glibc's own definitions differ from its headers
    /// in just those ways (`struct __res_state`, `struct __jmp_buf_tag`), and the memory is
    /// the same. Nothing when a side is not defined (an opaque pointer).
    static func layoutDifferences(
        _ mine: CRecord, _ theirs: CRecord, at position: String, declared: CQualType, actual: CQualType,
        into differences: inout [SignatureDifference], depth: Int
    ) {
        guard depth < 16, let left = mine.definition, let right = theirs.definition else { return }
        func note(_ where_: String, _ detail: String, types: (CQualType, CQualType)? = nil) {
            let (declaredType, actualType) = types ?? (declared, actual)
            differences.append(SignatureDifference(
                severity: .abi, position: position + where_, declared: declaredType.description,
                actual: actualType.description, detail: detail))
        }
        if left.layout.size != right.layout.size { note("", "size \(left.layout.size) against \(right.layout.size)") }
        let members = { (definition: CRecordDefinition) in
            zip(definition.fields, definition.layout.members).filter { $0.0.name != nil || !$0.0.isBitField }
        }
        let (leftMembers, rightMembers) = (members(left), members(right))
        if leftMembers.count != rightMembers.count {
            note("", "\(leftMembers.count) members against \(rightMembers.count)")
        }
        for (index, ((field, place), (other, otherPlace))) in zip(leftMembers, rightMembers).enumerated() {
            let name = field.name ?? other.name ?? "#\(index + 1)"
            if place.offsetInBits != otherPlace.offsetInBits || place.sizeInBits != otherPlace.sizeInBits {
                let text = { (member: CMemberLayout) -> String in
                    member.offsetInBits % 8 == 0 && member.sizeInBits % 8 == 0
                        ? "offset \(member.offsetInBytes), size \(member.sizeInBits / 8)"
                        : "bits \(member.offsetInBits)+\(member.sizeInBits)"
                }
                note(", member \(name)", "\(text(place)) against \(text(otherPlace))", types: (field.type, other.type))
                continue
            }
            let (kind, otherKind) = (field.type.resolved.type, other.type.resolved.type)
            switch (kind, otherKind) {
            case (.floating, .integer), (.floating, .enumeration), (.floating, .pointer),
                (.integer, .floating), (.enumeration, .floating), (.pointer, .floating):
                note(
                    ", member \(name)", "a \(kindName(kind)) against a \(kindName(otherKind))", types: (field.type, other.type))
            case (.record(let inner), .record(let otherInner)) where inner.kind == otherInner.kind:
                layoutDifferences(
                    inner, otherInner, at: position + ", member \(name)", declared: declared, actual: actual,
                    into: &differences, depth: depth + 1)
            default:
                break
            }
        }
    }

    /// Pointees agree when structurally equal, or when they are records of the same tag
    /// and one side only declares it (a signature read from DWARF forward-declares the
    /// records it only points to).
    static func pointeesAgree(_ mine: CQualType, _ theirs: CQualType, depth: Int = 0) -> Bool {
        guard depth < 32 else { return true }
        let (left, right) = (mine.resolved, theirs.resolved)
        switch (left.type, right.type) {
        case (.record(let x), .record(let y)):
            if x === y { return true }
            if x.kind == y.kind, let tag = x.tag, tag == y.tag, x.definition == nil || y.definition == nil { return true }
        case (.pointer(let x), .pointer(let y)):
            return pointeesAgree(x, y, depth: depth + 1)
        case (.array(let x, let n), .array(let y, let m)):
            return n == m && pointeesAgree(x, y, depth: depth + 1)
        case (.function(let x), .function(let y)):
            // A function pointer's signature, with the same leniency for the records it names.
            return x.isVariadic == y.isVariadic && x.parameters.count == y.parameters.count
                && pointeesAgree(x.result, y.result, depth: depth + 1)
                && zip(x.parameters, y.parameters).allSatisfy { pointeesAgree($0.type, $1.type, depth: depth + 1) }
        default:
            break
        }
        return mine.unqualified.isStructurallyEqualAllowingDeclarations(to: theirs.unqualified)
    }

    static func kindName(_ type: CType) -> String {
        switch type.resolved {
        case .void: return "void"
        case .integer, .enumeration: return "integer"
        case .floating: return "floating type"
        case .complex: return "complex type"
        case .pointer: return "pointer"
        case .array: return "array"
        case .record(let record): return record.kind.rawValue
        case .function: return "function"
        case .typedef: return "typedef"
        }
    }
}

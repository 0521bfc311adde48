// Signature validation: the one place a C function type becomes something a backend may
// call. Typedefs are resolved, arrays and functions decay to pointers, variadic tails get
// the default argument promotions, and every object type is checked to be complete.

import CTypeModel

// MARK: - Errors

/// Why a signature cannot be called. `position` is `result`, `argument 2` or
/// `variadic argument 3` (1-based, counting every argument).
public struct SignatureError: Error, Hashable, Sendable, CustomStringConvertible {
    public var position: String
    /// The C type as declared.
    public var type: String
    public var reason: String

    public init(position: String, type: String, reason: String) {
        self.position = position
        self.type = type
        self.reason = reason
    }

    /// `argument 2 (struct P2d): incomplete type struct P2d has no size`.
    public var description: String { "\(position) (\(type)): \(reason)" }
}

// MARK: - Value classes

/// What a validated argument or result is, with typedefs and enums resolved: the only
/// facts a backend or a value converter needs.
public enum CValueClass: Hashable, Sendable {
    case void
    /// Integers, `_Bool`, and enums (as their underlying integer type).
    case integer(CIntegerKind)
    case floating(CFloatKind)
    case complex(CFloatKind)
    /// Any object or function pointer; the pointee is kept for checks and printing.
    case pointer(CQualType)
    case record(CRecord)

    /// Size in bytes (0 for `void`).
    public var size: Int {
        switch self {
        case .void: return 0
        case .integer(let kind): return kind.size
        case .floating(let kind): return kind.size
        case .complex(let kind): return kind.size * 2
        case .pointer: return 8
        case .record(let record): return record.size ?? 0
        }
    }

    /// Alignment in bytes (1 for `void`).
    public var alignment: Int {
        switch self {
        case .void: return 1
        case .integer(let kind): return kind.size
        case .floating(let kind): return kind.size
        case .complex(let kind): return kind.size
        case .pointer: return 8
        case .record(let record): return record.alignment ?? 1
        }
    }
}

/// One argument or the result of a validated signature.
public struct ValidatedSlot: Hashable, Sendable {
    /// The type as written (typedef names kept), for messages.
    public let declared: CQualType
    /// The type the value has at the call: resolved, decayed, promoted.
    public let valueClass: CValueClass

    public init(declared: CQualType, valueClass: CValueClass) {
        self.declared = declared
        self.valueClass = valueClass
    }
}

// MARK: - Validated signatures

/// A function signature that every backend may call. Only `validate` makes one.
///
/// For a variadic function (or an unprototyped one, whose every argument is variadic)
/// a signature describes one call shape: the fixed parameters followed by the promoted
/// types of one particular variadic tail.
public struct ValidatedSignature: Hashable, Sendable {
    public let result: ValidatedSlot
    /// Fixed parameters, then the variadic tail.
    public let arguments: [ValidatedSlot]
    /// How many of `arguments` are fixed parameters.
    public let fixedArgumentCount: Int
    /// Whether the call uses the variadic convention (`...`, or no prototype).
    public let isVariadic: Bool
    /// The function type as declared.
    public let function: CFunctionType

    /// The variadic tail of this call shape.
    public var variadicArguments: ArraySlice<ValidatedSlot> { arguments[fixedArgumentCount...] }

    /// Validates `function`, with `variadicTail` as the declared types of the variadic
    /// arguments of one call (empty for fixed-arity functions). The tail gets the default
    /// argument promotions (C11 6.5.2.2p6–7): `float` becomes `double`, integers of lower
    /// rank than `int` become `int`.
    public static func validate(
        _ function: CFunctionType, variadicTail: [CQualType] = []
    ) throws(SignatureError) -> ValidatedSignature {
        let variadic = function.isVariadic || !function.isPrototyped
        if !variadic && !variadicTail.isEmpty {
            throw SignatureError(
                position: "variadic argument \(function.parameters.count + 1)", type: variadicTail[0].description,
                reason: "the function is not variadic")
        }
        let result = try validateResult(function.result)
        var arguments: [ValidatedSlot] = []
        for (index, parameter) in function.parameters.enumerated() {
            arguments.append(try validateParameter(parameter.type, position: "argument \(index + 1)"))
        }
        let fixed = arguments.count
        for (index, type) in variadicTail.enumerated() {
            let position = "variadic argument \(fixed + index + 1)"
            let slot = try validateParameter(type, position: position)
            arguments.append(ValidatedSlot(declared: type, valueClass: promoted(slot.valueClass)))
        }
        return ValidatedSignature(
            result: result, arguments: arguments, fixedArgumentCount: fixed, isVariadic: variadic, function: function)
    }

    /// The default argument promotion of one value class (C11 6.5.2.2p6).
    public static func promoted(_ valueClass: CValueClass) -> CValueClass {
        switch valueClass {
        case .floating(.float): return .floating(.double)
        case .integer(let kind) where kind.rank < CIntegerKind.int.rank: return .integer(.int)
        default: return valueClass
        }
    }

    // MARK: Rules

    /// The path of the first member of a record (or of its nested records, through
    /// arrays) whose resolved type `matches`, if any.
    static func memberPath(
        of record: CRecord, visited: Set<ObjectIdentifier> = [], where matches: (CQualType) -> Bool
    ) -> String? {
        guard let definition = record.definition, !visited.contains(ObjectIdentifier(record)) else { return nil }
        for (index, field) in definition.fields.enumerated() {
            var type = field.type
            let name = field.name ?? "#\(index + 1)"
            while true {
                let resolved = type.resolved
                if matches(resolved) { return name }
                if case .array(let element, _) = resolved.type {
                    type = element
                    continue
                }
                if case .record(let inner) = resolved.type,
                    let path = memberPath(of: inner, visited: visited.union([ObjectIdentifier(record)]), where: matches)
                {
                    return "\(name).\(path)"
                }
                break
            }
        }
        return nil
    }

    /// `_Float16` and `_Float128` (alone or in `_Complex`): in the type model, but no
    /// backend has a value representation or lowering for them yet.
    static func isUnpassableFloat(_ type: CQualType) -> Bool {
        switch type.type {
        case .floating(.float16), .floating(.float128), .complex(.float16), .complex(.float128): return true
        default: return false
        }
    }

    private static func validateResult(_ type: CQualType) throws(SignatureError) -> ValidatedSlot {
        let resolved = type.resolved
        switch resolved.type {
        case .void:
            return ValidatedSlot(declared: type, valueClass: .void)
        case .array:
            throw SignatureError(position: "result", type: type.description, reason: "a function cannot return an array")
        case .function:
            throw SignatureError(position: "result", type: type.description, reason: "a function cannot return a function")
        default:
            return ValidatedSlot(declared: type, valueClass: try objectClass(resolved, declared: type, position: "result"))
        }
    }

    private static func validateParameter(_ type: CQualType, position: String) throws(SignatureError) -> ValidatedSlot {
        let resolved = type.resolved
        switch resolved.type {
        case .void:
            throw SignatureError(position: position, type: type.description, reason: "a parameter cannot have type void")
        case .array(let element, _):
            // C11 6.7.6.3p7: an array parameter is adjusted to a pointer to its element.
            return ValidatedSlot(declared: type, valueClass: .pointer(element))
        case .function:
            // C11 6.7.6.3p8: a function parameter is adjusted to a pointer to the function.
            return ValidatedSlot(declared: type, valueClass: .pointer(resolved.unqualified))
        default:
            return ValidatedSlot(declared: type, valueClass: try objectClass(resolved, declared: type, position: position))
        }
    }

    private static func objectClass(
        _ resolved: CQualType, declared: CQualType, position: String
    ) throws(SignatureError) -> CValueClass {
        func fail(_ reason: String) -> SignatureError {
            SignatureError(position: position, type: declared.description, reason: reason)
        }
        do {
            _ = try resolved.layout()
        } catch {
            throw fail(error.description)
        }
        if isUnpassableFloat(resolved) {
            throw fail("\(declared.resolved.description) values cannot be passed yet (neither libffi nor the JIT backend has them)")
        }
        switch resolved.type {
        case .integer(let kind): return .integer(kind)
        case .enumeration(let enumeration):
            guard let underlying = enumeration.definition?.underlying else { throw fail("incomplete enum") }
            return .integer(underlying)
        case .floating(let kind): return .floating(kind)
        case .complex(let kind): return .complex(kind)
        case .pointer(let pointee): return .pointer(pointee)
        case .record(let record):
            if let member = memberPath(of: record, where: isUnpassableFloat) {
                throw fail("member \(member) is _Float16 or _Float128, which cannot be passed by value yet")
            }
            if let member = memberPath(of: record, where: { $0.qualifiers.contains(.atomic) }) {
                // gcc passes such records as if the members were not atomic; clang classifies
                // _Atomic members as MEMORY. No plan can be right for both compilers.
                throw fail("member \(member) is _Atomic: gcc and clang pass such records differently by value")
            }
            return .record(record)
        default: throw fail("not an object type")
        }
    }
}

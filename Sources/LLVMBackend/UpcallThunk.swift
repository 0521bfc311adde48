// Upcall thunks: C-ABI functions with a callback's exact signature (the CallPlan, read the
// other way round) that spill their arguments into a frame with libffi's `avalue` shape
// and call what handles it with the context baked in — a C handler
// `void handler(void *context, void **args, void *result)`, or a Swift closure
// `(args, result) -> ()` called with Swift's convention (its context in `swiftself`) —
// then return the result's pieces as the C caller expects them.

import ABILowering
import CTypeModel

/// What a thunk calls with its frame.
public enum UpcallTarget: Sendable {
    /// `void handler(void *context, void **args, void *result)`, C's convention.
    case cHandler(function: UInt, context: UInt)
    /// A Swift closure of type `(UnsafeMutablePointer<UnsafeMutableRawPointer?>,
    /// UnsafeMutableRawPointer) -> ()`, as its two words: the function, which takes the
    /// two pointers and then its context in the `swiftself` register (Swift's closure
    /// convention), and the context. Saves the C handler's hop per call.
    case swiftClosure(function: UInt, context: UInt)
    /// A Swift closure of type `(UInt64, UInt64, UInt64, UInt64) -> UInt64` taking each
    /// argument as a word in a register (zero-extended; unused words are 0) and returning
    /// the result's bytes in the low end of a word: for signatures `passesWords` accepts,
    /// so that nothing goes through memory.
    case swiftWordsClosure(function: UInt, context: UInt)
}

public enum UpcallThunk {
    /// The most arguments a words closure takes.
    public static let wordCount = 4

    /// Whether a thunk for `plan` can call a words closure: at most four arguments, each
    /// one integer or pointer piece, and a result that is void or one such piece.
    public static func passesWords(_ plan: CallPlan) -> Bool {
        func isWord(_ piece: Piece) -> Bool {
            switch piece.kind {
            case .integer, .pointer: return true
            default: return false
            }
        }
        guard plan.arguments.count <= wordCount else { return false }
        for argument in plan.arguments {
            guard case .direct(let pieces) = argument.lowering, pieces.count == 1, isWord(pieces[0]) else { return false }
        }
        switch plan.result {
        case .direct(let parts): return parts.isEmpty || (parts.count == 1 && isWord(parts[0]))
        default: return plan.signature.result.valueClass == .void
        }
    }

    /// Adds the thunk for `plan` to the module being built.
    static func build(_ plan: CallPlan, name: String, target: UpcallTarget, into b: IRModuleBuilder) {
        // The thunk's own C signature: what a caller passes, piece by piece.
        var parameterTypes: [IRType] = []
        enum Incoming {
            case pieces([(Piece, Int)])  // piece, parameter index
            case byval(Int, size: Int, alignment: Int)
            case ignored
        }
        var incoming: [Incoming] = []
        var sretIndex: Int?
        if case .sret = plan.result {
            sretIndex = parameterTypes.count
            parameterTypes.append(b.pointer)
        }
        for argument in plan.arguments {
            switch argument.lowering {
            case .ignored:
                incoming.append(.ignored)
            case .stackCopy(_, let size, let alignment):
                incoming.append(.byval(parameterTypes.count, size: size, alignment: alignment))
                parameterTypes.append(b.pointer)
            case .direct(let pieces):
                var mapped: [(Piece, Int)] = []
                for piece in pieces {
                    mapped.append((piece, parameterTypes.count))
                    parameterTypes.append(DowncallStub.irType(piece.kind, b))
                }
                incoming.append(.pieces(mapped))
            }
        }
        var resultParts: [Piece] = []
        var returnType = b.void
        if case .direct(let parts) = plan.result {
            resultParts = parts
            returnType = parts.count == 1 ? DowncallStub.irType(parts[0].kind, b) : b.structure(parts.map { DowncallStub.irType($0.kind, b) })
        }
        let functionType = b.function(returning: returnType, parameterTypes)
        let (function, parameters) = b.beginFunctionReturningIt(named: name, type: functionType, parameterCount: parameterTypes.count)
        // A thunk is short: on a cache line of its own start, it never straddles two.
        b.align(function, to: 64)

        // Attributes: sret, byval, and sign/zero extension as the caller applies it.
        if let sretIndex, case .sret(let size, let alignment) = plan.result {
            b.addFunctionTypeAttribute("sret", type: b.bytes(size), to: function, at: sretIndex + 1)
            b.addFunctionAttribute("align", value: UInt64(alignment), to: function, at: sretIndex + 1)
        }
        if resultParts.count == 1, resultParts[0].extension_ != .none {
            b.addFunctionAttribute(resultParts[0].extension_.rawValue, to: function, at: 0)
        }

        if case .swiftWordsClosure(let closure, let context) = target {
            // No frame: each argument widened to a word, the result narrowed from one.
            let word = b.integer(bits: 64)
            var words: [IRValue] = []
            for argument in incoming {
                guard case .pieces(let pieces) = argument, let (piece, index) = pieces.first else { continue }
                switch piece.kind {
                case .pointer: words.append(b.pointerToInteger(parameters[index], to: word))
                case .integer(8): words.append(parameters[index])
                default: words.append(b.zeroExtend(parameters[index], to: word))
                }
            }
            while words.count < wordCount { words.append(b.constant(0)) }
            let closureType = b.function(returning: word, Array(repeating: word, count: wordCount) + [b.pointer])
            let call = b.call(b.address(closure), type: closureType, words + [b.address(context)])
            b.useSwiftCallingConvention(call)
            b.addEnumAttribute("swiftself", to: call, at: wordCount + 1)
            guard let part = resultParts.first else {
                b.returnVoid()
                return
            }
            switch part.kind {
            case .pointer: b.returnValue(b.integerToPointer(call))
            case .integer(8): b.returnValue(call)
            default: b.returnValue(b.truncate(call, to: returnType))
            }
            return
        }

        // The frame: one slot per argument (or the byval copy itself), the argument array,
        // and the result buffer (the caller's sret memory when there is one).
        let count = max(1, plan.arguments.count)
        let argumentArray = b.alloca(b.structure(Array(repeating: b.pointer, count: count)), alignment: 8)
        for (index, argument) in incoming.enumerated() {
            let slotPointer = b.pointerElement(argumentArray, index)
            switch argument {
            case .ignored:
                b.store(b.alloca(b.bytes(1), alignment: 1), to: slotPointer, alignment: 8)
            case .byval(let parameter, let size, let alignment):
                b.addFunctionTypeAttribute("byval", type: b.bytes(size), to: function, at: parameter + 1)
                b.addFunctionAttribute("align", value: UInt64(alignment), to: function, at: parameter + 1)
                b.store(parameters[parameter], to: slotPointer, alignment: 8)
            case .pieces(let pieces):
                let valueClass = plan.signature.arguments[index].valueClass
                let slot = b.alloca(b.bytes(max(valueClass.size, 16)), alignment: max(16, valueClass.alignment))
                for (piece, parameter) in pieces {
                    if piece.extension_ != .none {
                        b.addFunctionAttribute(piece.extension_.rawValue, to: function, at: parameter + 1)
                    }
                    b.store(parameters[parameter], to: b.byteOffset(slot, piece.offset), alignment: 1)
                }
                b.store(slot, to: slotPointer, alignment: 8)
            }
        }
        let resultSize = max(16, plan.signature.result.valueClass.size)
        let resultBuffer = sretIndex.map { parameters[$0] } ?? b.alloca(b.bytes(resultSize), alignment: 16)
        let handlerType = b.function(returning: b.void, [b.pointer, b.pointer, b.pointer])
        switch target {
        case .cHandler(let function, let context):
            _ = b.call(b.address(function), type: handlerType, [b.address(context), argumentArray, resultBuffer])
        case .swiftWordsClosure:
            preconditionFailure("handled above")
        case .swiftClosure(let function, let context):
            let call = b.call(b.address(function), type: handlerType, [argumentArray, resultBuffer, b.address(context)])
            b.useSwiftCallingConvention(call)
            b.addEnumAttribute("swiftself", to: call, at: 3)
        }

        switch resultParts.count {
        case 0:
            b.returnVoid()
        case 1:
            b.returnValue(b.load(returnType, from: b.byteOffset(resultBuffer, resultParts[0].offset), alignment: 1))
        default:
            var aggregate = b.undefined(returnType)
            for (position, part) in resultParts.enumerated() {
                let value = b.load(DowncallStub.irType(part.kind, b), from: b.byteOffset(resultBuffer, part.offset), alignment: 1)
                aggregate = b.insertValue(aggregate, value, position)
            }
            b.returnValue(aggregate)
        }
    }

    /// The thunk's IR as text (for `callstub ir --callback` and tests).
    public static func ir(for plan: CallPlan, target: UpcallTarget = .cHandler(function: 0, context: 0)) -> String {
        DowncallStub.printed(name: "callstub_thunk") { b in
            build(plan, name: "callstub_thunk", target: target, into: b)
        }
    }
}

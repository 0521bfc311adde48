// Upcall thunks: C-ABI functions with a callback's exact signature (the CallPlan, read the
// other way round) that spill each argument into a slot of its own and call a Swift
// closure with Swift's convention, its context in `swiftself`, both read from the
// trampoline slot the call came through: either a frame entry `(args, result) -> ()`
// taking libffi's `avalue` shape, or the user's typed closure itself, taking the slots'
// and the result's addresses. Then they return the result's pieces as the C caller
// expects them.

import ABILowering
import CTypeModel

/// What a thunk calls with its frame: a Swift closure whose two words (function and
/// context) it reads from the trampoline slot it is entered through. Its first parameter
/// is that slot, in the static-chain register (`nest`, `%r10`: it takes no argument
/// register), pointing at `[function, context]`; one thunk serves every callback of its
/// shape (`TrampolinePool`, `StubCompiler.pooledThunk`).
public enum UpcallTarget: Sendable {
    /// A closure of type `(UnsafeMutablePointer<UnsafeMutableRawPointer?>,
    /// UnsafeMutableRawPointer) -> ()`: the function takes the two pointers and then its
    /// context in the `swiftself` register (Swift's closure convention).
    case frameEntry
    /// A closure of type `(A0, …) -> R` at Swift's most general abstraction, as a generic
    /// struct stores one: the result's address first (`sret`, which Swift's convention
    /// passes in `%rax`), then each argument's address, then the context in `swiftself`.
    /// For arguments and results whose Swift value is their C bytes: the thunk calls the
    /// user's closure itself, with no entry in between.
    case indirectClosure
}

public enum UpcallThunk {
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
        // The trampoline slot, in the static-chain register: it takes no argument register.
        let slotIndex = 0
        parameterTypes.append(b.pointer)
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

        // Attributes: nest, sret, byval, and sign/zero extension as the caller applies it.
        b.addFunctionAttribute("nest", to: function, at: slotIndex + 1)
        if let sretIndex, case .sret(let size, let alignment) = plan.result {
            b.addFunctionTypeAttribute("sret", type: b.bytes(size), to: function, at: sretIndex + 1)
            b.addFunctionAttribute("align", value: UInt64(alignment), to: function, at: sretIndex + 1)
        }
        if resultParts.count == 1, resultParts[0].extension_ != .none {
            b.addFunctionAttribute(resultParts[0].extension_.rawValue, to: function, at: 0)
        }

        // The frame: one slot per argument (or the byval copy itself) and the result buffer
        // (the caller's sret memory when there is one).
        var slots: [IRValue] = []
        for (index, argument) in incoming.enumerated() {
            switch argument {
            case .ignored:
                slots.append(b.alloca(b.bytes(1), alignment: 1))
            case .byval(let parameter, let size, let alignment):
                b.addFunctionTypeAttribute("byval", type: b.bytes(size), to: function, at: parameter + 1)
                b.addFunctionAttribute("align", value: UInt64(alignment), to: function, at: parameter + 1)
                slots.append(parameters[parameter])
            case .pieces(let pieces):
                let valueClass = plan.signature.arguments[index].valueClass
                let slot = b.alloca(b.bytes(max(valueClass.size, 16)), alignment: max(16, valueClass.alignment))
                for (piece, parameter) in pieces {
                    if piece.extension_ != .none {
                        b.addFunctionAttribute(piece.extension_.rawValue, to: function, at: parameter + 1)
                    }
                    b.store(parameters[parameter], to: b.byteOffset(slot, piece.offset), alignment: 1)
                }
                slots.append(slot)
            }
        }
        let resultSize = max(16, plan.signature.result.valueClass.size)
        let resultBuffer = sretIndex.map { parameters[$0] } ?? b.alloca(b.bytes(resultSize), alignment: 16)
        // libffi's `avalue` shape: an array of the slots' addresses.
        func argumentArray() -> IRValue {
            let array = b.alloca(b.structure(Array(repeating: b.pointer, count: max(1, slots.count))), alignment: 8)
            for (index, slot) in slots.enumerated() { b.store(slot, to: b.pointerElement(array, index), alignment: 8) }
            return array
        }
        // The closure, from the trampoline slot.
        let slot = parameters[slotIndex]
        let callee = b.load(b.pointer, from: slot, alignment: 8)
        let context = b.load(b.pointer, from: b.byteOffset(slot, 8), alignment: 8)
        switch target {
        case .frameEntry:
            let handlerType = b.function(returning: b.void, [b.pointer, b.pointer, b.pointer])
            let call = b.call(callee, type: handlerType, [argumentArray(), resultBuffer, context])
            b.useSwiftCallingConvention(call)
            b.addEnumAttribute("swiftself", to: call, at: 3)
        case .indirectClosure:
            // Swift's convention for an indirect result: an `sret` pointer (in %rax on x86-64).
            let closureType = b.function(returning: b.void, Array(repeating: b.pointer, count: slots.count + 2))
            let call = b.call(callee, type: closureType, [resultBuffer] + slots + [context])
            b.useSwiftCallingConvention(call)
            b.addTypeAttribute("sret", type: b.bytes(resultSize), to: call, at: 1)
            b.addEnumAttribute("swiftself", to: call, at: slots.count + 2)
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
    public static func ir(for plan: CallPlan, target: UpcallTarget) throws(JITError) -> String {
        try DowncallStub.printed(name: "callstub_thunk") { b in
            build(plan, name: "callstub_thunk", target: target, into: b)
        }
    }
}

// Downcall stubs: LLVM IR for one CallPlan, with libffi's `avalue` shape, so that the JIT
// and libffi are interchangeable behind one entry point:
//
//     int stub(void *fn, void **args, void *result)   shared by every function of the shape
//     int stub(void **args, void *result)             the target's address baked in
// (returning 0, so that the C API's callstub_call can return its status by a tail call)
//
// The stub loads each argument's pieces from `args[i]` at the plan's offsets, passes them
// with the plan's IR types and attributes (signext/zeroext, byval, sret) so that LLVM
// places them in the registers and stack slots the plan names, and stores the result's
// pieces into `result` (integers narrower than 64 bits widened, as libffi's `ffi_arg`).

internal import CLLVM
import ABILowering
import CTypeModel

/// Addresses the stub calls to capture errno in the same frame as the call: glibc's
/// `__errno_location` and a `void save(int)` that keeps the value for the calling thread.
public struct ErrnoHooks: Hashable, Sendable {
    public var errnoLocation: UInt
    public var save: UInt
    public init(errnoLocation: UInt, save: UInt) {
        self.errnoLocation = errnoLocation
        self.save = save
    }
}

public enum DowncallStub {
    /// The IR of a stub function named `name` for `plan`, as text. With `target`, the
    /// function's address is baked in and the stub takes `(args, result)`; without, it
    /// takes `(fn, args, result)` and serves every function of the same lowered shape.
    public static func ir(
        for plan: CallPlan, name: String, target: UInt? = nil, errno: ErrnoHooks? = nil
    ) throws(JITError) -> String {
        try printed(name: name) { builder in build(plan, name: name, target: target, errno: errno, into: builder) }
    }

    /// A module built in a context of its own, as text (libLLVM is loaded first).
    static func printed(name: String, _ build: (IRModuleBuilder) -> Void) throws(JITError) -> String {
        try LLVMLibrary.load()
        let context = LLVMContextCreate()
        defer { LLVMContextDispose(context) }
        return withExtendedLifetime(IRModuleBuilder(context: context!, name: name)) { builder in
            build(builder)
            return builder.printed()
        }
    }

    /// Adds the stub function for `plan` to the module `builder` is building.
    static func build(_ plan: CallPlan, name: String, target: UInt? = nil, errno: ErrnoHooks?, into b: IRModuleBuilder) {
        // The stub returns 0: the C API's callstub_call returns its status by tail-calling it.
        let stubType = b.function(
            returning: b.integer(bits: 32), target == nil ? [b.pointer, b.pointer, b.pointer] : [b.pointer, b.pointer])
        let parameters = b.beginFunction(named: name, type: stubType, parameterCount: target == nil ? 3 : 2)
        let callee = target.map { b.address($0) } ?? parameters[0]
        let argumentArray = parameters[target == nil ? 1 : 0]
        let resultBuffer = parameters[target == nil ? 2 : 1]

        var arguments: [IRValue] = []
        var fixedTypes: [IRType] = []
        // Attributes to add once the call exists: (argument position, kind).
        enum Attribute {
            case extend(IntegerExtension)
            case byval(size: Int, alignment: Int)
            case sret(size: Int, alignment: Int)
        }
        var attributes: [(Int, Attribute)] = []

        if case .sret(let size, let alignment) = plan.result {
            attributes.append((arguments.count, .sret(size: size, alignment: alignment)))
            arguments.append(resultBuffer)
            fixedTypes.append(b.pointer)
        }
        for (index, argument) in plan.arguments.enumerated() {
            let isFixed = index < plan.fixedArgumentCount
            switch argument.lowering {
            case .ignored:
                continue
            case .stackCopy(_, let size, let alignment):
                let pointer = b.load(b.pointer, from: b.pointerElement(argumentArray, index), alignment: 8)
                attributes.append((arguments.count, .byval(size: size, alignment: alignment)))
                arguments.append(pointer)
                if isFixed { fixedTypes.append(b.pointer) }
            case .direct(let parts):
                let pointer = b.load(b.pointer, from: b.pointerElement(argumentArray, index), alignment: 8)
                for part in parts {
                    let type = irType(part.kind, b)
                    if part.extension_ != .none { attributes.append((arguments.count, .extend(part.extension_))) }
                    arguments.append(b.load(type, from: b.byteOffset(pointer, part.offset), alignment: 1))
                    if isFixed { fixedTypes.append(type) }
                }
            }
        }

        // The call, with errno cleared before and read right after when asked.
        var errnoPointer: IRValue?
        if let errno {
            let location = b.call(b.address(errno.errnoLocation), type: b.function(returning: b.pointer, []), [])
            b.store(b.constant(0, bits: 32), to: location, alignment: 4)
            errnoPointer = location
        }
        var resultParts: [Piece] = []
        var returnType = b.void
        if case .direct(let parts) = plan.result {
            resultParts = parts
            returnType = parts.count == 1 ? irType(parts[0].kind, b) : b.structure(parts.map { irType($0.kind, b) })
        }
        let calleeType = b.function(returning: returnType, fixedTypes, variadic: plan.isVariadic)
        let call = b.call(callee, type: calleeType, arguments)
        for (position, attribute) in attributes {
            switch attribute {
            case .extend(let kind): b.addEnumAttribute(kind.rawValue, to: call, at: position + 1)
            case .byval(let size, let alignment):
                b.addTypeAttribute("byval", type: b.bytes(size), to: call, at: position + 1)
                b.addEnumAttribute("align", value: UInt64(alignment), to: call, at: position + 1)
            case .sret(let size, let alignment):
                b.addTypeAttribute("sret", type: b.bytes(size), to: call, at: position + 1)
                b.addEnumAttribute("align", value: UInt64(alignment), to: call, at: position + 1)
            }
        }
        if resultParts.count == 1, resultParts[0].extension_ != .none {
            b.addEnumAttribute(resultParts[0].extension_.rawValue, to: call, at: 0)
        }
        if let errno, let errnoPointer {
            let value = b.load(b.integer(bits: 32), from: errnoPointer, alignment: 4)
            _ = b.call(b.address(errno.save), type: b.function(returning: b.void, [b.integer(bits: 32)]), [value])
        }
        // The result's pieces into the result buffer; narrow integer results widened to 64
        // bits, as libffi's `ffi_arg`.
        for (position, part) in resultParts.enumerated() {
            let value = resultParts.count == 1 ? call : b.extractValue(call, position)
            let widening = plan.shape.resultWidening
            if widening != .none, case .integer = part.kind {
                let wide = widening == .sign ? b.signExtend(value, to: b.integer(bits: 64)) : b.zeroExtend(value, to: b.integer(bits: 64))
                b.store(wide, to: resultBuffer, alignment: 1)
            } else {
                b.store(value, to: b.byteOffset(resultBuffer, part.offset), alignment: 1)
            }
        }
        b.returnValue(b.constant(0, bits: 32))
    }

    static func irType(_ kind: PieceKind, _ b: IRModuleBuilder) -> IRType {
        switch kind {
        case .integer(let bytes): return b.integer(bits: bytes * 8)
        case .pointer: return b.pointer
        case .float: return b.float
        case .double: return b.double
        case .floatPair: return b.vector(b.float, count: 2)
        case .x87: return b.x86FP80
        case .int128: return b.integer(bits: 128)
        }
    }
}

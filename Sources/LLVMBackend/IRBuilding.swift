// Typed wrappers over the LLVM C API's IR builder: types, values and one module under
// construction, so that no bare OpaquePointer leaves this file and a type can never be
// passed where a value is expected. Everything here is used under the JIT session's lock.

internal import CLLVM

/// An LLVM type.
struct IRType {
    let reference: LLVMTypeRef
}

/// An LLVM value.
struct IRValue {
    let reference: LLVMValueRef
}

/// Builds one module in a context it does not own.
final class IRModuleBuilder {
    private let context: LLVMContextRef
    let module: LLVMModuleRef
    private let builder: LLVMBuilderRef
    /// Whether `module` has been handed over (to the JIT, which then owns it).
    private var moduleTaken = false

    init(context: LLVMContextRef, name: String) {
        self.context = context
        module = LLVMModuleCreateWithNameInContext(name, context)
        builder = LLVMCreateBuilderInContext(context)
    }

    deinit {
        LLVMDisposeBuilder(builder)
        if !moduleTaken { LLVMDisposeModule(module) }
    }

    /// Gives the module away; the builder no longer disposes of it.
    func takeModule() -> LLVMModuleRef {
        moduleTaken = true
        return module
    }

    /// The module as text.
    func printed() -> String {
        let text = LLVMPrintModuleToString(module)
        defer { LLVMDisposeMessage(text) }
        return text.map { String(cString: $0) } ?? ""
    }

    // MARK: Types

    func integer(bits: Int) -> IRType { IRType(reference: LLVMIntTypeInContext(context, UInt32(bits))) }
    var pointer: IRType { IRType(reference: LLVMPointerTypeInContext(context, 0)) }
    var void: IRType { IRType(reference: LLVMVoidTypeInContext(context)) }
    var float: IRType { IRType(reference: LLVMFloatTypeInContext(context)) }
    var double: IRType { IRType(reference: LLVMDoubleTypeInContext(context)) }
    var x86FP80: IRType { IRType(reference: LLVMX86FP80TypeInContext(context)) }
    func vector(_ element: IRType, count: Int) -> IRType { IRType(reference: LLVMVectorType(element.reference, UInt32(count))) }
    func bytes(_ count: Int) -> IRType { IRType(reference: LLVMArrayType2(integer(bits: 8).reference, UInt64(count))) }

    func structure(_ elements: [IRType]) -> IRType {
        var references: [LLVMTypeRef?] = elements.map(\.reference)
        return IRType(reference: LLVMStructTypeInContext(context, &references, UInt32(references.count), 0))
    }

    func function(returning result: IRType, _ parameters: [IRType], variadic: Bool = false) -> IRType {
        var references: [LLVMTypeRef?] = parameters.map(\.reference)
        return IRType(reference: LLVMFunctionType(result.reference, &references, UInt32(references.count), variadic ? 1 : 0))
    }

    // MARK: Functions and blocks

    /// Adds a function, positions the builder at the end of its entry block, and returns its parameters.
    func beginFunction(named name: String, type: IRType, parameterCount: Int) -> [IRValue] {
        beginFunctionReturningIt(named: name, type: type, parameterCount: parameterCount).parameters
    }

    /// Adds a function and returns it with its parameters (for attributes on them).
    func beginFunctionReturningIt(named name: String, type: IRType, parameterCount: Int) -> (function: IRValue, parameters: [IRValue]) {
        let function = LLVMAddFunction(module, name, type.reference)!
        let entry = LLVMAppendBasicBlockInContext(context, function, "entry")
        LLVMPositionBuilderAtEnd(builder, entry)
        return (IRValue(reference: function), (0..<parameterCount).map { IRValue(reference: LLVMGetParam(function, UInt32($0))) })
    }

    /// An attribute on a function's result (index 0) or parameter (index 1…).
    /// Aligns a function's first instruction to `bytes`.
    func align(_ function: IRValue, to bytes: Int) {
        LLVMSetAlignment(function.reference, UInt32(bytes))
    }

    /// An enum attribute (`signext`, `align 16`, `swiftself`) by its LLVM name.
    private func enumAttribute(_ name: String, _ value: UInt64) -> LLVMAttributeRef? {
        LLVMCreateEnumAttribute(context, LLVMGetEnumAttributeKindForName(name, name.utf8.count), value)
    }

    /// A type attribute (`byval(T)`, `sret(T)`) by its LLVM name.
    private func typeAttribute(_ name: String, _ type: IRType) -> LLVMAttributeRef? {
        LLVMCreateTypeAttribute(context, LLVMGetEnumAttributeKindForName(name, name.utf8.count), type.reference)
    }

    func addFunctionAttribute(_ name: String, value: UInt64 = 0, to function: IRValue, at index: Int) {
        LLVMAddAttributeAtIndex(function.reference, LLVMAttributeIndex(index), enumAttribute(name, value))
    }

    func addFunctionTypeAttribute(_ name: String, type: IRType, to function: IRValue, at index: Int) {
        LLVMAddAttributeAtIndex(function.reference, LLVMAttributeIndex(index), typeAttribute(name, type))
    }

    /// Stack memory in the function's frame.
    func alloca(_ type: IRType, alignment: Int) -> IRValue {
        let value = LLVMBuildAlloca(builder, type.reference, "")
        LLVMSetAlignment(value, UInt32(alignment))
        return IRValue(reference: value!)
    }

    func undefined(_ type: IRType) -> IRValue { IRValue(reference: LLVMGetUndef(type.reference)) }

    func insertValue(_ aggregate: IRValue, _ element: IRValue, _ index: Int) -> IRValue {
        IRValue(reference: LLVMBuildInsertValue(builder, aggregate.reference, element.reference, UInt32(index), ""))
    }

    func returnValue(_ value: IRValue) {
        LLVMBuildRet(builder, value.reference)
    }

    // MARK: Constants

    func constant(_ value: UInt64, bits: Int = 64) -> IRValue {
        IRValue(reference: LLVMConstInt(integer(bits: bits).reference, value, 0))
    }

    /// A constant address as a pointer (a baked-in callee).
    func address(_ value: UInt) -> IRValue {
        IRValue(reference: LLVMConstIntToPtr(constant(UInt64(value)).reference, pointer.reference))
    }

    // MARK: Instructions

    /// `getelementptr inbounds i8, ptr base, i64 offset`.
    func byteOffset(_ base: IRValue, _ offset: Int) -> IRValue {
        var indices: [LLVMValueRef?] = [constant(UInt64(offset)).reference]
        return IRValue(reference: LLVMBuildInBoundsGEP2(builder, integer(bits: 8).reference, base.reference, &indices, 1, ""))
    }

    /// `getelementptr inbounds ptr, ptr base, i64 index`.
    func pointerElement(_ base: IRValue, _ index: Int) -> IRValue {
        var indices: [LLVMValueRef?] = [constant(UInt64(index)).reference]
        return IRValue(reference: LLVMBuildInBoundsGEP2(builder, pointer.reference, base.reference, &indices, 1, ""))
    }

    func load(_ type: IRType, from address: IRValue, alignment: Int) -> IRValue {
        let value = LLVMBuildLoad2(builder, type.reference, address.reference, "")
        LLVMSetAlignment(value, UInt32(alignment))
        return IRValue(reference: value!)
    }

    func store(_ value: IRValue, to address: IRValue, alignment: Int) {
        let instruction = LLVMBuildStore(builder, value.reference, address.reference)
        LLVMSetAlignment(instruction, UInt32(alignment))
    }

    func extractValue(_ aggregate: IRValue, _ index: Int) -> IRValue {
        IRValue(reference: LLVMBuildExtractValue(builder, aggregate.reference, UInt32(index), ""))
    }

    func signExtend(_ value: IRValue, to type: IRType) -> IRValue {
        IRValue(reference: LLVMBuildSExt(builder, value.reference, type.reference, ""))
    }

    func zeroExtend(_ value: IRValue, to type: IRType) -> IRValue {
        IRValue(reference: LLVMBuildZExt(builder, value.reference, type.reference, ""))
    }

    /// A call; returns the call instruction (its value is the result).
    func call(_ callee: IRValue, type: IRType, _ arguments: [IRValue]) -> IRValue {
        var references: [LLVMValueRef?] = arguments.map(\.reference)
        return IRValue(reference: LLVMBuildCall2(builder, type.reference, callee.reference, &references, UInt32(references.count), ""))
    }

    /// Makes `call` use Swift's calling convention (`swiftcc`).
    func useSwiftCallingConvention(_ call: IRValue) {
        LLVMSetInstructionCallConv(call.reference, UInt32(LLVMSwiftCallConv.rawValue))
    }

    func returnVoid() {
        LLVMBuildRetVoid(builder)
    }

    // MARK: Call-site attributes (index 0 is the result, 1… the arguments)

    func addEnumAttribute(_ name: String, value: UInt64 = 0, to call: IRValue, at index: Int) {
        LLVMAddCallSiteAttribute(call.reference, LLVMAttributeIndex(index), enumAttribute(name, value))
    }

    func addTypeAttribute(_ name: String, type: IRType, to call: IRValue, at index: Int) {
        LLVMAddCallSiteAttribute(call.reference, LLVMAttributeIndex(index), typeAttribute(name, type))
    }
}

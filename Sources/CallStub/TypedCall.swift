// Typed calls: Swift types checked against the C signature once, when the typed handle is
// made; each call then writes its arguments into a frame on the stack and calls the entry
// point, with no checks and no heap allocation (for scalar and pointer arguments).
// The fixed-arity handles are generated: see TypedFunctions.generated.swift.

import ABILowering
import CTypeModel

// MARK: - Protocols

/// A Swift type that can be passed as a C argument in typed calls.
public protocol CArgumentConvertible: SendableMetatype {
    /// `nil` when values of this type can be passed for a parameter of `valueClass`,
    /// else the reason they cannot (`"is 4 bytes; the C type has 8"`).
    static func cArgumentMismatch(for valueClass: CValueClass) -> String?
    /// The C type a value of this type has as a variadic argument, or `nil` when it
    /// cannot be one as is (types the default promotions would change, such as `Float`).
    static var cVariadicType: CQualType? { get }
    /// Calls `body` with a pointer to the value's C representation, valid during `body`.
    /// `target` and `index` identify the parameter (records check their type there).
    func withCArgument<Result>(
        for target: CallTarget, at index: Int, _ body: (UnsafeMutableRawPointer) -> Result
    ) -> Result
    /// The argument register class values of this type travel in when a typed handle calls
    /// the C function itself (RegisterCall.swift), or `nil` (the default) for the frame.
    static var cRegisterClass: CRegisterClass? { get }
    /// The value as the 64 bits its register holds (only read when `cRegisterClass` is set).
    var cRegisterWord: UInt64 { get }
}

/// A Swift type that a C result can be read as in typed calls.
public protocol CResultConvertible: SendableMetatype {
    /// `nil` when a C result of `valueClass` can be read as this type, else why not.
    static func cResultMismatch(for valueClass: CValueClass) -> String?
    /// Reads the result from the result buffer of a call through `target`.
    static func fromCResult(_ buffer: UnsafeRawPointer, target: CallTarget) -> Self
    /// The register class a result of this type is read from in a register call, or `nil`
    /// (the default) for the result buffer.
    static var cRegisterResult: CRegisterClass? { get }
    /// Reads the result from %rax (`integer`) or %xmm0 (`vector`) after a register call.
    static func fromCRegisters(integer: UInt64, vector: Double) -> Self
}

/// A Swift type whose memory is exactly a C scalar's: passed and returned by copying bytes.
public protocol CScalarConvertible: CArgumentConvertible, CResultConvertible, BitwiseCopyable {
    /// `nil` when the C value class is represented by this type's bytes, else why not.
    static func cScalarMismatch(for valueClass: CValueClass) -> String?
}

extension CScalarConvertible {
    public static func cArgumentMismatch(for valueClass: CValueClass) -> String? { cScalarMismatch(for: valueClass) }
    public static func cResultMismatch(for valueClass: CValueClass) -> String? { cScalarMismatch(for: valueClass) }
    public static var cVariadicType: CQualType? { nil }

    @inlinable @inline(__always)
    public func withCArgument<Result>(
        for target: CallTarget, at index: Int, _ body: (UnsafeMutableRawPointer) -> Result
    ) -> Result {
        var copy = self
        return withUnsafeMutableBytes(of: &copy) { body($0.baseAddress!) }
    }

    @inlinable @inline(__always)
    public static func fromCResult(_ buffer: UnsafeRawPointer, target: CallTarget) -> Self {
        buffer.loadUnaligned(as: Self.self)
    }
}

/// The result type of typed handles of `void` functions.
public struct CVoid: CResultConvertible, Sendable, Hashable {
    public init() {}
    public static func cResultMismatch(for valueClass: CValueClass) -> String? {
        valueClass == .void ? nil : "is Void; the function returns a value"
    }
    @inlinable @inline(__always)
    public static func fromCResult(_ buffer: UnsafeRawPointer, target: CallTarget) -> CVoid { CVoid() }
}

// MARK: - Integers

/// Fixed-width Swift integers match C integers (and enums) of the same size and signedness;
/// `Int8` and `UInt8` both match plain `char`.
public protocol CIntegerConvertible: CScalarConvertible, FixedWidthInteger {}

extension CIntegerConvertible {
    public static func cScalarMismatch(for valueClass: CValueClass) -> String? {
        guard case .integer(let kind) = valueClass else { return "is an integer type" }
        if kind == .bool { return "is an integer type; use Bool for _Bool" }
        if kind.size != MemoryLayout<Self>.size {
            return "is \(MemoryLayout<Self>.size) bytes; the C type has \(kind.size)"
        }
        if kind.isSigned != Self.isSigned && kind != .char {
            return "is \(Self.isSigned ? "signed" : "unsigned"); the C type is \(kind.isSigned ? "signed" : "unsigned")"
        }
        return nil
    }

    public static var cVariadicType: CQualType? {
        switch (MemoryLayout<Self>.size, Self.isSigned) {
        case (4, true): return CQualType(.int)
        case (4, false): return CQualType(.unsignedInt)
        case (8, true): return CQualType(.long)
        case (8, false): return CQualType(.unsignedLong)
        case (16, true): return CQualType(.integer(.int128))
        case (16, false): return CQualType(.integer(.unsignedInt128))
        default: return nil  // promoted to int: pass Int32
        }
    }
}

extension Int8: CIntegerConvertible {}
extension UInt8: CIntegerConvertible {}
extension Int16: CIntegerConvertible {}
extension UInt16: CIntegerConvertible {}
extension Int32: CIntegerConvertible {}
extension UInt32: CIntegerConvertible {}
extension Int64: CIntegerConvertible {}
extension UInt64: CIntegerConvertible {}
extension Int: CIntegerConvertible {}
extension UInt: CIntegerConvertible {}
extension Int128: CIntegerConvertible {}
extension UInt128: CIntegerConvertible {}

extension Bool: CScalarConvertible {
    public static func cScalarMismatch(for valueClass: CValueClass) -> String? {
        valueClass == .integer(.bool) ? nil : "is Bool; the C type is not _Bool"
    }
}

// MARK: - Floating point

extension Float: CScalarConvertible {
    public static func cScalarMismatch(for valueClass: CValueClass) -> String? {
        valueClass == .floating(.float) ? nil : "is Float; the C type is not float"
    }
}

extension Double: CScalarConvertible {
    public static func cScalarMismatch(for valueClass: CValueClass) -> String? {
        valueClass == .floating(.double) ? nil : "is Double; the C type is not double"
    }
    public static var cVariadicType: CQualType? { CQualType(.double) }
}

extension Float80: CScalarConvertible {
    public static func cScalarMismatch(for valueClass: CValueClass) -> String? {
        valueClass == .floating(.longDouble) ? nil : "is Float80; the C type is not long double"
    }
    public static var cVariadicType: CQualType? { CQualType(.longDouble) }
}

// MARK: - Complex

/// A C `_Complex` value: `float _Complex` is `CComplex<Float>`, `double _Complex`
/// `CComplex<Double>`, `long double _Complex` `CComplex<Float80>` (C11 6.2.5p13: laid
/// out as an array of two elements, real part first).
@frozen
public struct CComplex<Scalar: BinaryFloatingPoint & BitwiseCopyable & Sendable>: CScalarConvertible, Hashable, Sendable {
    public var real: Scalar
    public var imaginary: Scalar

    public init(real: Scalar, imaginary: Scalar) {
        self.real = real
        self.imaginary = imaginary
    }

    public static func cScalarMismatch(for valueClass: CValueClass) -> String? {
        guard case .complex(let kind) = valueClass else { return "is complex; the C type is not" }
        // Float80 occupies 16 bytes in Swift as long double does in C.
        return MemoryLayout<Scalar>.size == kind.size ? nil : "has \(Scalar.self) parts; the C type is \(kind.spelling) _Complex"
    }
}

// MARK: - Pointers

/// Swift pointer types: any of them matches any C pointer parameter (the pointee is the
/// caller's business, as with a C cast). As results only optional pointers are accepted,
/// since C may return NULL.
public protocol CPointerConvertible: CScalarConvertible {
    /// Whether the type has a value for NULL (optional pointers do).
    static var cHoldsNull: Bool { get }
}

extension CPointerConvertible {
    public static func cArgumentMismatch(for valueClass: CValueClass) -> String? {
        if case .pointer = valueClass { return nil }
        return "is a pointer; the C type is not"
    }
    public static func cResultMismatch(for valueClass: CValueClass) -> String? {
        if case .pointer = valueClass {
            return cHoldsNull ? nil : "cannot hold NULL; use an optional pointer"
        }
        return "is a pointer; the C type is not"
    }
    public static func cScalarMismatch(for valueClass: CValueClass) -> String? { cArgumentMismatch(for: valueClass) }
    public static var cVariadicType: CQualType? { CQualType(.pointer(to: .void)) }
    public static var cHoldsNull: Bool { false }
}

extension UnsafeRawPointer: CPointerConvertible {}
extension UnsafeMutableRawPointer: CPointerConvertible {}
extension OpaquePointer: CPointerConvertible {}
extension UnsafePointer: CPointerConvertible {}
extension UnsafeMutablePointer: CPointerConvertible {}
extension Optional: CArgumentConvertible, CResultConvertible, CScalarConvertible, CPointerConvertible
where Wrapped: CPointerConvertible {
    public static var cHoldsNull: Bool { true }
}

// MARK: - Strings

extension String: CArgumentConvertible {
    /// A `String` passes as a `char *` (or `const char *`, `void *`) argument: a
    /// NUL-terminated UTF-8 copy that lives **only during the call**. The callee must not
    /// keep the pointer; for that, pass memory you own.
    public static func cArgumentMismatch(for valueClass: CValueClass) -> String? {
        if case .pointer(let pointee) = valueClass, ValueCoding.isByteLike(pointee) { return nil }
        return "passes as a char pointer; the C type is not one"
    }
    public static var cVariadicType: CQualType? { CQualType(.pointer(to: .char)) }

    @inlinable
    public func withCArgument<Result>(
        for target: CallTarget, at index: Int, _ body: (UnsafeMutableRawPointer) -> Result
    ) -> Result {
        withCString { string in
            var pointer = string
            return withUnsafeMutableBytes(of: &pointer) { body($0.baseAddress!) }
        }
    }
}

// MARK: - Records

extension CRecordValue: CArgumentConvertible, CResultConvertible {
    public static func cArgumentMismatch(for valueClass: CValueClass) -> String? {
        if case .record = valueClass { return nil }
        return "is a record value; the C type is not a struct or union"
    }
    public static func cResultMismatch(for valueClass: CValueClass) -> String? { cArgumentMismatch(for: valueClass) }
    public static var cVariadicType: CQualType? { nil }

    /// The record's bytes are passed in place (libffi only reads them), or from an aligned
    /// copy when the record is aligned beyond 16 bytes (array storage is not, and a byval
    /// copy reads with the record's alignment). A value of another record type is a
    /// programming error and stops the program with a message naming the argument, as an
    /// out-of-bounds index would.
    @inlinable
    public func withCArgument<Result>(
        for target: CallTarget, at index: Int, _ body: (UnsafeMutableRawPointer) -> Result
    ) -> Result {
        // The bytes read at their address (`bytes` would retain and release the array).
        if target.recordIdentities[index] != ObjectIdentifier(storage.record) { target.checkRecordArgument(self, at: index) }
        let alignment = target.argumentAlignments[index]
        if alignment > 16 {
            let size = storage.bytes.count
            return withUnsafeTemporaryAllocation(byteCount: size, alignment: alignment) { copy in
                copy.baseAddress!.copyMemory(from: storage.address, byteCount: size)
                return body(copy.baseAddress!)
            }
        }
        return body(UnsafeMutableRawPointer(mutating: storage.address))
    }

    public static func fromCResult(_ buffer: UnsafeRawPointer, target: CallTarget) -> CRecordValue {
        precondition(target.resultRecord != nil, "checked when the typed handle was made")
        return target.recordResult(from: buffer)
    }
}

extension CallTarget {
    /// The slow half of the record check: a record of another identity must be
    /// structurally equal to the parameter's.
    @usableFromInline
    func checkRecordArgument(_ value: CRecordValue, at index: Int) {
        let slot = signature.arguments[index]
        guard case .record(let expected) = slot.valueClass else { return }
        if value.record == expected { return }
        precondition(
            CQualType(.record(value.record)).isStructurallyEqual(to: CQualType(.record(expected))),
            "argument \(index + 1) (\(slot.declared)): got a \(value.record) value")
    }
}

// MARK: - Result buffers

/// Runs `body` with a result buffer on the stack: a constant 64 bytes for every result
/// that fits (so the compiler allocates it statically), else the result's own size.
@inlinable @inline(__always)
func withResultBuffer<Result>(_ target: CallTarget, _ body: (UnsafeMutableRawPointer) -> Result) -> Result {
    let alignment = target.resultAlignment
    if target.resultBufferSize <= 64 && alignment <= 16 {
        return withUnsafeTemporaryAllocation(byteCount: 64, alignment: 16) { body($0.baseAddress!) }
    }
    // An sret result is written with its own alignment.
    return withUnsafeTemporaryAllocation(byteCount: target.resultBufferSize, alignment: max(16, alignment)) { body($0.baseAddress!) }
}

// MARK: - Making typed handles

extension BoundFunction {
    /// Checks Swift argument and result types against the signature and returns the call
    /// shape: the fixed one, or for a variadic function the one whose tail the extra
    /// Swift types give.
    func typedTarget(
        arguments: [any CArgumentConvertible.Type], result: any CResultConvertible.Type
    ) throws(CallStubError) -> CallTarget {
        let fixed = fixedTarget.signature.fixedArgumentCount
        if arguments.count < fixed || (!isVariadic && arguments.count != fixed) {
            throw .argumentCount(function: name, expected: fixed, variadic: isVariadic, got: arguments.count)
        }
        var tail: [CQualType] = []
        for (index, swiftType) in arguments.enumerated().dropFirst(fixed) {
            guard let cType = swiftType.cVariadicType else {
                throw .typeMismatch(
                    position: "variadic argument \(index + 1)", cType: "...", swiftType: "\(swiftType)",
                    reason: "has no C type as a variadic argument (the default promotions would change it; pass Int32 or Double)")
            }
            tail.append(cType)
        }
        let target = try target(variadicTail: tail)
        for (index, swiftType) in arguments.enumerated() {
            let slot = target.signature.arguments[index]
            if let reason = swiftType.cArgumentMismatch(for: slot.valueClass) {
                throw .typeMismatch(
                    position: "argument \(index + 1)", cType: slot.declared.description, swiftType: "\(swiftType)",
                    reason: reason)
            }
        }
        let resultSlot = target.signature.result
        if let reason = result.cResultMismatch(for: resultSlot.valueClass) {
            throw .typeMismatch(
                position: "result", cType: resultSlot.declared.description, swiftType: "\(result)", reason: reason)
        }
        return target
    }
}

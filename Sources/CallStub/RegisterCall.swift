// Register calls: a typed handle whose arguments are all integers, pointers, floats and
// doubles that fit in the argument registers, and whose result is one of those (or void),
// calls the C function itself through a C function type that covers the registers such
// a call uses (System V x86-64 psABI 3.2.3: six INTEGER eightbytes in %rdi, %rsi, %rdx,
// %rcx, %r8, %r9, eight SSE eightbytes in %xmm0–%xmm7; an INTEGER result in %rax, an SSE
// one in %xmm0). The argument values are placed by class at compile time, so the call is
// the one a C compiler would emit, with no frame and no stub between (docs/calling.md).

import ABILowering
import CRegisterCall

/// Which argument registers a Swift value travels in when a typed handle calls the C
/// function itself (System V x86-64 psABI 3.2.3's INTEGER and SSE classes).
public enum CRegisterClass: Sendable, Hashable {
    /// A general-purpose register: integers up to 8 bytes (extended to 64 bits by the
    /// caller), `_Bool`, pointers.
    case integer
    /// The low lanes of a vector register: `float`, `double`.
    case vector
}

extension CArgumentConvertible {
    /// `nil`: values of this type go through the call's frame (the default).
    public static var cRegisterClass: CRegisterClass? { nil }
    /// Not used for types without a register class.
    public var cRegisterWord: UInt64 { preconditionFailure("\(Self.self) has no register class") }
}

extension CResultConvertible {
    /// `nil`: results of this type are read from the call's result buffer (the default).
    public static var cRegisterResult: CRegisterClass? { nil }
    /// Not used for types without a register class.
    public static func fromCRegisters(integer: UInt64, vector: Double) -> Self {
        preconditionFailure("\(Self.self) has no register class")
    }
}

extension CIntegerConvertible {
    /// Integers up to 8 bytes travel in general-purpose registers; `__int128` in a pair,
    /// which the frame path handles.
    @inlinable
    public static var cRegisterClass: CRegisterClass? { MemoryLayout<Self>.size <= 8 ? .integer : nil }
    /// The value sign- or zero-extended to 64 bits: the callee may read the whole register
    /// (the psABI leaves the upper bits to the caller; gcc and clang callers extend to 32).
    @inlinable
    public var cRegisterWord: UInt64 { UInt64(truncatingIfNeeded: self) }
    @inlinable
    public static var cRegisterResult: CRegisterClass? { cRegisterClass }
    /// The low bytes of %rax (the callee leaves the upper bits undefined).
    @inlinable
    public static func fromCRegisters(integer: UInt64, vector: Double) -> Self { Self(truncatingIfNeeded: integer) }
}

extension Bool {
    @inlinable public static var cRegisterClass: CRegisterClass? { .integer }
    @inlinable public var cRegisterWord: UInt64 { self ? 1 : 0 }
    @inlinable public static var cRegisterResult: CRegisterClass? { .integer }
    /// `_Bool` results are 0 or 1 in %al (psABI 3.2.3, footnote on `_Bool`).
    @inlinable
    public static func fromCRegisters(integer: UInt64, vector: Double) -> Bool { UInt8(truncatingIfNeeded: integer) != 0 }
}

extension Float {
    @inlinable public static var cRegisterClass: CRegisterClass? { .vector }
    /// The float in the low 32 bits of the register, the rest zero.
    @inlinable public var cRegisterWord: UInt64 { UInt64(bitPattern.self) }
    @inlinable public static var cRegisterResult: CRegisterClass? { .vector }
    @inlinable
    public static func fromCRegisters(integer: UInt64, vector: Double) -> Float {
        Float(bitPattern: UInt32(truncatingIfNeeded: vector.bitPattern))
    }
}

extension Double {
    @inlinable public static var cRegisterClass: CRegisterClass? { .vector }
    @inlinable public var cRegisterWord: UInt64 { bitPattern }
    @inlinable public static var cRegisterResult: CRegisterClass? { .vector }
    @inlinable
    public static func fromCRegisters(integer: UInt64, vector: Double) -> Double { vector }
}

extension CPointerConvertible {
    @inlinable public static var cRegisterClass: CRegisterClass? { .integer }
    /// Every pointer type here is one machine word; `nil` is 0.
    @inlinable public var cRegisterWord: UInt64 { unsafeBitCast(self, to: UInt64.self) }
    @inlinable public static var cRegisterResult: CRegisterClass? { cHoldsNull ? .integer : nil }
    @inlinable
    public static func fromCRegisters(integer: UInt64, vector: Double) -> Self { unsafeBitCast(integer, to: Self.self) }
}

extension CVoid {
    @inlinable public static var cRegisterResult: CRegisterClass? { .integer }
    @inlinable
    public static func fromCRegisters(integer: UInt64, vector: Double) -> CVoid { CVoid() }
}

/// The argument registers of a register call, filled in argument order.
@usableFromInline
struct CRegisterFile {
    @usableFromInline var g0: UInt64 = 0, g1: UInt64 = 0, g2: UInt64 = 0, g3: UInt64 = 0, g4: UInt64 = 0, g5: UInt64 = 0
    @usableFromInline var v0: Double = 0, v1: Double = 0, v2: Double = 0, v3: Double = 0
    @usableFromInline var v4: Double = 0, v5: Double = 0, v6: Double = 0, v7: Double = 0
    /// How many of each class are placed so far: constants once the handle is specialised.
    @usableFromInline var integers = 0, vectors = 0

    @inlinable @inline(__always)
    init() {}

    /// The `index`th integer argument register's word (%rdi, %rsi, %rdx, %rcx, %r8, %r9).
    @inlinable
    subscript(integer index: Int) -> UInt64 {
        @inline(__always) get {
            switch index {
            case 0: g0
            case 1: g1
            case 2: g2
            case 3: g3
            case 4: g4
            default: g5
            }
        }
        @inline(__always) set {
            switch index {
            case 0: g0 = newValue
            case 1: g1 = newValue
            case 2: g2 = newValue
            case 3: g3 = newValue
            case 4: g4 = newValue
            default: g5 = newValue
            }
        }
    }

    /// The `index`th vector argument register's low 64 bits (%xmm0–%xmm7).
    @inlinable
    subscript(vector index: Int) -> UInt64 {
        @inline(__always) get {
            switch index {
            case 0: v0.bitPattern
            case 1: v1.bitPattern
            case 2: v2.bitPattern
            case 3: v3.bitPattern
            case 4: v4.bitPattern
            case 5: v5.bitPattern
            case 6: v6.bitPattern
            default: v7.bitPattern
            }
        }
        @inline(__always) set {
            let vector = Double(bitPattern: newValue)
            switch index {
            case 0: v0 = vector
            case 1: v1 = vector
            case 2: v2 = vector
            case 3: v3 = vector
            case 4: v4 = vector
            case 5: v5 = vector
            case 6: v6 = vector
            default: v7 = vector
            }
        }
    }

    /// Places `value` in the next register of its class (psABI 3.2.3: left to right); the
    /// counters are constants once the handle is specialised.
    @inlinable @inline(__always)
    mutating func place<A: CArgumentConvertible>(_ value: A) {
        if A.cRegisterClass == .integer {
            self[integer: integers] = value.cRegisterWord
            integers += 1
        } else {
            self[vector: vectors] = value.cRegisterWord
            vectors += 1
        }
    }

    /// Calls the entry with the registers placed and reads the result `R` from the
    /// register its class returns in: exactly the registers the signature uses, with %al
    /// set as C's variadic calls set it (register_call.generated.h), so that variadic
    /// functions need no path of their own (their test and branch sat in every typed
    /// call's loop: `callstub bench --instructions`, typed mixed8 34 → 33, vsum 62 → 57).
    @inlinable @inline(__always)
    func call<R: CResultConvertible>(_ entry: RegisterCallEntry, returning: R.Type) -> R {
        let function = UnsafeRawPointer(bitPattern: entry.address).unsafelyUnwrapped
        // `integers` and `vectors` are constants here; the register `R` does not read is dead.
        let result = callstub_register_call(
            function, Int32(integers), Int32(vectors), g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6, v7)
        return R.fromCRegisters(integer: result.integer, vector: result.vector)
    }
}

/// Where a typed handle's register call goes: `address` 0 when it makes none.
public struct RegisterCallEntry: Sendable {
    @usableFromInline let address: UInt

    static let none = RegisterCallEntry(address: 0)
}

extension CallTarget {
    /// The register class each argument and the result take when the function can be
    /// called through `CRegisterFile`: integers up to 8 bytes, pointers, `float` and
    /// `double`, at most six and eight of them, a result of those or void. `nil` for
    /// every other signature.
    private static func registerClasses(_ signature: ValidatedSignature) -> (arguments: [CRegisterClass], result: CRegisterClass)? {
        func registerClass(_ valueClass: CValueClass) -> CRegisterClass? {
            switch valueClass {
            case .integer(let kind): return kind.size <= 8 ? .integer : nil
            case .pointer: return .integer
            case .floating(.float), .floating(.double): return .vector
            default: return nil
            }
        }
        var arguments: [CRegisterClass] = []
        for slot in signature.arguments {
            guard let argumentClass = registerClass(slot.valueClass) else { return nil }
            arguments.append(argumentClass)
        }
        guard arguments.count(where: { $0 == .integer }) <= 6, arguments.count(where: { $0 == .vector }) <= 8 else { return nil }
        if signature.result.valueClass == .void { return (arguments, .integer) }
        guard let result = registerClass(signature.result.valueClass) else { return nil }
        return (arguments, result)
    }

    /// Whether `signature` is called through `CRegisterFile` with these Swift types, or
    /// calls back through it (RegisterCallback.swift): it has register classes, and each
    /// Swift type travels in the register class of its C type.
    static func passesInRegisters(
        _ signature: ValidatedSignature, arguments: [any CArgumentConvertible.Type], result: any CResultConvertible.Type
    ) -> Bool {
        guard let classes = registerClasses(signature), classes.arguments.count == arguments.count else { return false }
        return zip(arguments, classes.arguments).allSatisfy { $0.cRegisterClass == $1 } && result.cRegisterResult == classes.result
    }

    /// Where a typed handle of these Swift types calls the function itself, or `.none`
    /// when it goes through the stub or libffi: the signature is not a register call, the
    /// Swift types travel otherwise, the binding captures errno (the stub reads it right
    /// after the call), or it asked for libffi.
    func registerCallEntry(
        arguments: [any CArgumentConvertible.Type], result: any CResultConvertible.Type
    ) -> RegisterCallEntry {
        guard allowsRegisterCalls, !capturesErrno, Self.passesInRegisters(signature, arguments: arguments, result: result)
        else { return .none }
        return RegisterCallEntry(address: UInt(bitPattern: functionAddress))
    }
}

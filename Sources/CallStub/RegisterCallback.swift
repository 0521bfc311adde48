// Register callbacks: a typed callback whose arguments are all integers, pointers, floats
// and doubles that fit in the argument registers, and whose result is one of those (or
// void), is a closure of one concrete type, `(UInt64 × 6, Double × 8) -> (UInt64, Double)`,
// for which Swift's calling convention uses C's registers (psABI 3.2.3: %rdi–%r9 and
// %xmm0–%xmm7 in, %rax and %xmm0 out). Its C pointer is a trampoline slot's register
// entry (TrampolinePool), which only puts the closure's context in %r13 and calls it: the
// arguments stay in their registers, nothing is spilled, there is no result buffer, and no
// LLVM is needed (docs/callbacks.md).

import ABILowering

/// The closure type of register callbacks.
@usableFromInline typealias RegisterCallbackClosure = @Sendable (
    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, Double, Double, Double, Double, Double, Double, Double, Double
) -> (UInt64, Double)

/// A typed callback's closure as a slot's register entry calls it. Its type is concrete, so
/// the closure is stored as Swift calls it (a generic one would be reabstracted to take
/// its arguments by address).
@usableFromInline struct RegisterCallbackBody: Sendable {
    @usableFromInline let body: RegisterCallbackClosure

    @inlinable init(_ body: @escaping RegisterCallbackClosure) { self.body = body }

    /// The same body, first checking that `box`'s callback is still alive (debug builds).
    func checked(by box: CallbackBox) -> RegisterCallbackBody {
        let body = self.body
        return RegisterCallbackBody { [unowned(unsafe) box] g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6, v7 in
            box.checkAlive()
            return body(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6, v7)
        }
    }
}

extension CRegisterFile {
    /// The registers a register callback was called with.
    @inlinable @inline(__always)
    init(
        _ g0: UInt64, _ g1: UInt64, _ g2: UInt64, _ g3: UInt64, _ g4: UInt64, _ g5: UInt64,
        _ v0: Double, _ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ v5: Double, _ v6: Double, _ v7: Double
    ) {
        self.g0 = g0; self.g1 = g1; self.g2 = g2; self.g3 = g3; self.g4 = g4; self.g5 = g5
        self.v0 = v0; self.v1 = v1; self.v2 = v2; self.v3 = v3; self.v4 = v4; self.v5 = v5; self.v6 = v6; self.v7 = v7
    }

    /// The next argument of type `A`, from the next register of its class (psABI 3.2.3:
    /// left to right); the counters are constants once the callback is specialised.
    @inlinable @inline(__always)
    mutating func take<A: CCallbackArgument>(_: A.Type) -> A {
        if A.cRegisterClass == .integer {
            defer { integers += 1 }
            return A.fromCRegisterWord(self[integer: integers])
        }
        defer { vectors += 1 }
        return A.fromCRegisterWord(self[vector: vectors])
    }
}

extension CCallbackArgument {
    /// Not used for types without a register class.
    public static func fromCRegisterWord(_ word: UInt64) -> Self { preconditionFailure("\(Self.self) has no register class") }
}

extension CCallbackResult {
    /// Not used for types without a register class.
    public var cRegisterWords: (integer: UInt64, vector: Double) { preconditionFailure("\(Self.self) has no register class") }
}

extension CCallbackArgument where Self: CIntegerConvertible {
    /// The low bytes of the register (the caller leaves the upper bits undefined).
    @inlinable public static func fromCRegisterWord(_ word: UInt64) -> Self { Self(truncatingIfNeeded: word) }
}

extension CCallbackResult where Self: CIntegerConvertible {
    /// Sign- or zero-extended to 64 bits: clang's callers of `char` and `short` results
    /// read them as 32-bit values the callee extended.
    @inlinable public var cRegisterWords: (integer: UInt64, vector: Double) { (UInt64(truncatingIfNeeded: self), 0) }
}

extension Bool {
    /// `_Bool` arguments are 0 or 1 in the low byte (psABI 3.2.3).
    @inlinable public static func fromCRegisterWord(_ word: UInt64) -> Bool { UInt8(truncatingIfNeeded: word) != 0 }
    @inlinable public var cRegisterWords: (integer: UInt64, vector: Double) { (self ? 1 : 0, 0) }
}

extension Float {
    @inlinable public static func fromCRegisterWord(_ word: UInt64) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: word)) }
    @inlinable public var cRegisterWords: (integer: UInt64, vector: Double) { (0, Double(bitPattern: UInt64(bitPattern))) }
}

extension Double {
    @inlinable public static func fromCRegisterWord(_ word: UInt64) -> Double { Double(bitPattern: word) }
    @inlinable public var cRegisterWords: (integer: UInt64, vector: Double) { (0, self) }
}

extension CCallbackArgument where Self: CPointerConvertible {
    @inlinable public static func fromCRegisterWord(_ word: UInt64) -> Self { unsafeBitCast(word, to: Self.self) }
}

extension CCallbackResult where Self: CPointerConvertible {
    @inlinable public var cRegisterWords: (integer: UInt64, vector: Double) { (unsafeBitCast(self, to: UInt64.self), 0) }
}

extension CVoid {
    @inlinable public var cRegisterWords: (integer: UInt64, vector: Double) { (0, 0) }
}

extension Callback {
    /// Whether a typed callback of these Swift types is a register callback: by the rule
    /// of register calls, for a callback that is not variadic.
    @usableFromInline
    static func passesInRegisters(
        _ signature: ValidatedSignature, arguments: [any CCallbackArgument.Type], result: any CCallbackResult.Type
    ) -> Bool {
        !signature.isVariadic && CallTarget.passesInRegisters(signature, arguments: arguments, result: result)
    }
}

// Converting dynamic values to and from the bytes of C objects: arguments in a call frame,
// results, and the members of record values. Exact where C is exact: integers are range
// checked, floating values never silently become integers, byte order is honoured.

import ABILowering
import CTypeModel

/// Why a value does not fit where it was going; the caller adds the position.
struct ValueMismatch: Error {
    var reason: String
}

/// NUL-terminated copies of `.string` arguments, alive until the call returns.
final class StringArena {
    private var buffers: [UnsafeMutablePointer<CChar>] = []

    func copy(_ string: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(string.utf8CString)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        buffer.initialize(from: utf8, count: utf8.count)
        buffers.append(buffer)
        return buffer
    }

    deinit { for buffer in buffers { buffer.deallocate() } }
}

enum ValueCoding {
    // MARK: - Classes of member types

    /// The value class of an object type inside a record (arrays handled by the caller).
    static func valueClass(of type: CQualType) -> CValueClass? {
        switch type.resolved.type {
        case .integer(let kind): return .integer(kind)
        case .enumeration(let enumeration): return enumeration.definition.map { .integer($0.underlying) }
        case .floating(let kind): return .floating(kind)
        case .complex(let kind): return .complex(kind)
        case .pointer(let pointee): return .pointer(pointee)
        case .record(let record): return .record(record)
        default: return nil
        }
    }

    // MARK: - Store

    /// Stores `value` as a C object of `valueClass` at `destination`. `strings` is where
    /// `.string` arguments are copied; without it (inside a record) strings are refused.
    static func store(
        _ value: CValue, as valueClass: CValueClass, byteOrder: CByteOrder? = nil,
        at destination: UnsafeMutableRawPointer, strings: StringArena?
    ) throws(ValueMismatch) {
        switch valueClass {
        case .void:
            throw ValueMismatch(reason: "void has no value")
        case .integer(let kind):
            let bits = try integerBits(value, kind: kind)
            storeInteger(bits, size: kind.size, byteOrder: byteOrder, at: destination)
        case .floating(let kind):
            try storeFloating(try floatingValue(value), kind: kind, byteOrder: byteOrder, at: destination)
        case .complex(let kind):
            let (real, imaginary) = try complexValue(value)
            try storeFloating(real, kind: kind, byteOrder: byteOrder, at: destination)
            try storeFloating(imaginary, kind: kind, byteOrder: byteOrder, at: destination + kind.size)
        case .pointer(let pointee):
            let address: UInt
            switch value {
            case .pointer(let pointer): address = pointer.address
            case .callback(let callback): address = callback.unsafePointer.address  // the value keeps it alive
            case .string(let string):
                guard let strings else {
                    throw ValueMismatch(reason: "a string has no lifetime here; pass a pointer you own")
                }
                guard isByteLike(pointee) else {
                    throw ValueMismatch(reason: "a string converts only to a char or void pointer")
                }
                address = UInt(bitPattern: strings.copy(string))
            default:
                throw ValueMismatch(reason: "expected a pointer, got \(kindName(value))")
            }
            storeInteger(UInt128(address), size: 8, byteOrder: byteOrder, at: destination)
        case .record(let record):
            switch value {
            case .record(let given):
                guard given.record == record || CQualType(.record(given.record)).isStructurallyEqual(to: CQualType(.record(record))) else {
                    throw ValueMismatch(reason: "expected a \(record) value, got a \(given.record) value")
                }
                given.bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            case .array(let elements):
                let built: CRecordValue
                do { built = try CRecordValue(record, elements: elements) } catch { throw ValueMismatch(reason: error.description) }
                built.bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            default:
                throw ValueMismatch(reason: "expected a \(record) value, got \(kindName(value))")
            }
        }
    }

    static func isByteLike(_ pointee: CQualType) -> Bool {
        switch pointee.resolved.type {
        case .void: return true
        case .integer(let kind): return kind.size == 1 && kind != .bool
        default: return false
        }
    }

    /// The two's-complement bits of an integer value, checked against the range of `kind`.
    static func integerBits(_ value: CValue, kind: CIntegerKind) throws(ValueMismatch) -> UInt128 {
        let negative: Bool
        let magnitude: UInt128
        switch value {
        case .bool(let flag): (negative, magnitude) = (false, flag ? 1 : 0)
        case .int(let number): (negative, magnitude) = (number < 0, UInt128(number.magnitude))
        case .uint(let number): (negative, magnitude) = (false, UInt128(number))
        case .int128(let number): (negative, magnitude) = (number < 0, number.magnitude)
        case .uint128(let number): (negative, magnitude) = (false, number)
        default: throw ValueMismatch(reason: "expected an integer, got \(kindName(value))")
        }
        let bits = kind.valueBits
        let fits: Bool
        if kind.isSigned {
            let limit = UInt128(1) << (bits - 1)
            fits = negative ? magnitude <= limit : magnitude < limit
        } else {
            fits = !negative && (bits == 128 || magnitude < (UInt128(1) << bits))
        }
        guard fits else { throw ValueMismatch(reason: "\(value) does not fit in \(kind.spelling)") }
        return negative ? (~magnitude) &+ 1 : magnitude
    }

    static func floatingValue(_ value: CValue) throws(ValueMismatch) -> Float80 {
        switch value {
        case .float(let number): return Float80(number)
        case .double(let number): return Float80(number)
        case .longDouble(let number): return number
        case .int(let number): return Float80(number)
        case .uint(let number): return Float80(number)
        case .int128(let number): return Float80(number)
        case .uint128(let number): return Float80(number)
        default: throw ValueMismatch(reason: "expected a number, got \(kindName(value))")
        }
    }

    static func complexValue(_ value: CValue) throws(ValueMismatch) -> (Float80, Float80) {
        switch value {
        case .complexFloat(let real, let imaginary): return (Float80(real), Float80(imaginary))
        case .complexDouble(let real, let imaginary): return (Float80(real), Float80(imaginary))
        case .complexLongDouble(let real, let imaginary): return (real, imaginary)
        case .array(let parts) where parts.count == 2:
            return (try floatingValue(parts[0]), try floatingValue(parts[1]))
        default: return (try floatingValue(value), 0)
        }
    }

    static func storeInteger(_ bits: UInt128, size: Int, byteOrder: CByteOrder?, at destination: UnsafeMutableRawPointer) {
        // x86-64 is little-endian: in native order the usual sizes are one store.
        if byteOrder != .big {
            switch size {
            case 1: return destination.storeBytes(of: UInt8(truncatingIfNeeded: bits), as: UInt8.self)
            case 2: return destination.storeBytes(of: UInt16(truncatingIfNeeded: bits), as: UInt16.self)
            case 4: return destination.storeBytes(of: UInt32(truncatingIfNeeded: bits), as: UInt32.self)
            case 8: return destination.storeBytes(of: UInt64(truncatingIfNeeded: bits), as: UInt64.self)
            case 16: return destination.storeBytes(of: bits, as: UInt128.self)
            default: break
            }
        }
        for index in 0..<size {
            let byte = UInt8(truncatingIfNeeded: bits >> (index * 8))
            let position = byteOrder == .big ? size - 1 - index : index
            destination.storeBytes(of: byte, toByteOffset: position, as: UInt8.self)
        }
    }

    private static func storeFloating(
        _ value: Float80, kind: CFloatKind, byteOrder: CByteOrder?, at destination: UnsafeMutableRawPointer
    ) throws(ValueMismatch) {
        switch kind {
        case .float: storeInteger(UInt128(Float(value).bitPattern), size: 4, byteOrder: byteOrder, at: destination)
        case .double: storeInteger(UInt128(Double(value).bitPattern), size: 8, byteOrder: byteOrder, at: destination)
        case .longDouble:
            // x87 extended precision: 10 bytes in memory, padded to 16.
            var bits: UInt128 = 0
            withUnsafeBytes(of: value) { raw in
                for index in 0..<10 { bits |= UInt128(raw[index]) << (index * 8) }
            }
            storeInteger(bits, size: 16, byteOrder: byteOrder, at: destination)
        case .float16:
            storeInteger(UInt128(Float16(Float(value)).bitPattern), size: 2, byteOrder: byteOrder, at: destination)
        case .float128:
            storeInteger(binary128Bits(value), size: 16, byteOrder: byteOrder, at: destination)
        }
    }

    // IEEE binary128 and x87 extended precision share the sign bit and the 15-bit exponent
    // with bias 16383; binary128 has 112 fraction bits and an implicit leading bit, x87 a
    // 64-bit significand with an explicit one. Converting is moving the fraction.

    /// The binary128 bits of an x87 value: exact (64 significand bits fit in 113).
    static func binary128Bits(_ value: Float80) -> UInt128 {
        let sign = UInt128(value.sign == .minus ? 1 : 0) << 127
        let exponent = UInt128(value.exponentBitPattern) << 112
        let fraction = UInt128(value.significandBitPattern) << 49  // Swift gives the 63 fraction bits
        return sign | exponent | fraction
    }

    /// The x87 value of a binary128, its fraction truncated toward zero to x87's 63 bits.
    static func float80(binary128 bits: UInt128) -> Float80 {
        let sign: FloatingPointSign = bits >> 127 == 1 ? .minus : .plus
        let exponent = UInt(truncatingIfNeeded: bits >> 112) & 0x7FFF
        let fraction = UInt64(truncatingIfNeeded: bits >> 49) & (1 << 63 - 1)
        // Swift sets x87's explicit integer bit from the exponent.
        return Float80(sign: sign, exponentBitPattern: exponent, significandBitPattern: fraction)
    }

    // MARK: - Load

    /// Reads a C object of `valueClass` at `source` as a dynamic value.
    static func load(_ valueClass: CValueClass, byteOrder: CByteOrder? = nil, from source: UnsafeRawPointer) -> CValue {
        switch valueClass {
        case .void: return .void
        case .integer(let kind):
            let bits = loadInteger(size: kind.size, byteOrder: byteOrder, from: source)
            return integerValue(bits, kind: kind)
        case .floating(let kind): return floatingValue(kind: kind, byteOrder: byteOrder, from: source)
        case .complex(let kind):
            let real = floatingValue(kind: kind, byteOrder: byteOrder, from: source)
            let imaginary = floatingValue(kind: kind, byteOrder: byteOrder, from: source + kind.size)
            switch (real, imaginary) {
            case (.float(let r), .float(let i)): return .complexFloat(real: r, imaginary: i)
            case (.double(let r), .double(let i)): return .complexDouble(real: r, imaginary: i)
            case (.longDouble(let r), .longDouble(let i)): return .complexLongDouble(real: r, imaginary: i)
            default: return .void
            }
        case .pointer:
            return .pointer(CPointer(address: UInt(loadInteger(size: 8, byteOrder: byteOrder, from: source))))
        case .record(let record):
            let size = record.size ?? 0
            return .record(CRecordValue(trusted: record, bytes: Array(UnsafeRawBufferPointer(start: source, count: size))))
        }
    }

    /// A dynamic value from the low `kind.valueBits` bits of `bits`, sign-extended for signed kinds.
    static func integerValue(_ bits: UInt128, kind: CIntegerKind) -> CValue {
        switch kind {
        case .bool: return .bool(bits & 1 != 0)
        case .int128: return .int128(Int128(bitPattern: bits))
        case .unsignedInt128: return .uint128(bits)
        default:
            let width = kind.size * 8
            let truncated = UInt64(truncatingIfNeeded: bits)
            if kind.isSigned {
                let shift = UInt64(64 - width)
                return .int(Int64(bitPattern: truncated << shift) >> Int64(shift))
            }
            return .uint(width == 64 ? truncated : truncated & ((1 << UInt64(width)) - 1))
        }
    }

    static func loadInteger(size: Int, byteOrder: CByteOrder?, from source: UnsafeRawPointer) -> UInt128 {
        // x86-64 is little-endian: in native order the usual sizes are one load.
        if byteOrder != .big {
            switch size {
            case 1: return UInt128(source.load(as: UInt8.self))
            case 2: return UInt128(source.loadUnaligned(as: UInt16.self))
            case 4: return UInt128(source.loadUnaligned(as: UInt32.self))
            case 8: return UInt128(source.loadUnaligned(as: UInt64.self))
            case 16: return source.loadUnaligned(as: UInt128.self)
            default: break
            }
        }
        var bits: UInt128 = 0
        for index in 0..<size {
            let position = byteOrder == .big ? size - 1 - index : index
            bits |= UInt128(source.load(fromByteOffset: position, as: UInt8.self)) << (index * 8)
        }
        return bits
    }

    private static func floatingValue(kind: CFloatKind, byteOrder: CByteOrder?, from source: UnsafeRawPointer) -> CValue {
        switch kind {
        case .float:
            return .float(Float(bitPattern: UInt32(loadInteger(size: 4, byteOrder: byteOrder, from: source))))
        case .double:
            return .double(Double(bitPattern: UInt64(loadInteger(size: 8, byteOrder: byteOrder, from: source))))
        case .longDouble:
            let bits = loadInteger(size: 16, byteOrder: byteOrder, from: source)
            var value: Float80 = 0
            withUnsafeMutableBytes(of: &value) { raw in
                for index in 0..<10 { raw[index] = UInt8(truncatingIfNeeded: bits >> (index * 8)) }
            }
            return .longDouble(value)
        case .float16:
            return .float(Float(Float16(bitPattern: UInt16(loadInteger(size: 2, byteOrder: byteOrder, from: source)))))
        case .float128:
            return .longDouble(float80(binary128: loadInteger(size: 16, byteOrder: byteOrder, from: source)))
        }
    }

    // MARK: - Names

    /// The kind of a value, for messages: `a double 2.5`, `a string`, `null`.
    static func kindName(_ value: CValue) -> String {
        switch value {
        case .void: return "void"
        case .bool(let flag): return "a bool \(flag)"
        case .int, .uint, .int128, .uint128: return "the integer \(value)"
        case .float, .double, .longDouble: return "the floating value \(value)"
        case .complexFloat, .complexDouble, .complexLongDouble: return "a complex value"
        case .pointer(let pointer): return pointer.isNull ? "null" : "a pointer"
        case .string: return "a string"
        case .record(let record): return "a \(record.record) value"
        case .array: return "an initializer list"
        case .callback(let callback): return "the callback \(callback.name)"
        }
    }
}

// MARK: - Public conversion between values and C objects

extension CValue {
    /// Reads the C object of `type` at `source` (the inverse of `store(as:to:)`): for
    /// interpreters that keep C objects in their own buffers. Typedefs and enums are
    /// resolved; `type` must be a complete object type that is not an array.
    public init(loading type: CQualType, from source: UnsafeRawPointer) throws(CallStubError) {
        guard let valueClass = ValueCoding.valueClass(of: type), valueClass.isComplete else {
            throw .invalidArgument(position: "load", type: type.description, reason: "not a complete scalar, pointer or record type")
        }
        self = ValueCoding.load(valueClass, byteOrder: type.byteOrder, from: source)
    }

    /// Writes the value as a C object of `type` at `destination` (`sizeof(type)` bytes;
    /// padding bytes are left as they were). The conversion is exact, as for arguments.
    public func store(as type: CQualType, to destination: UnsafeMutableRawPointer) throws(CallStubError) {
        guard let valueClass = ValueCoding.valueClass(of: type), valueClass.isComplete else {
            throw .invalidArgument(position: "store", type: type.description, reason: "not a complete scalar, pointer or record type")
        }
        do throws(ValueMismatch) {
            try ValueCoding.store(self, as: valueClass, byteOrder: type.byteOrder, at: destination, strings: nil)
        } catch {
            throw .invalidArgument(position: "store", type: type.description, reason: error.reason)
        }
    }
}

extension CValueClass {
    /// Whether objects of the class have a known layout (records must be defined).
    fileprivate var isComplete: Bool {
        if case .record(let record) = self { return record.isComplete }
        return true
    }
}

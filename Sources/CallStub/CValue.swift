// Dynamic C values: what interpreters, the CLI and `BoundFunction.call` pass and get back.
// A value carries its kind, not its exact C type; the parameter it meets decides the
// width and checks the range.

/// A C pointer as a plain address: `Sendable`, printable, and never dereferenced by
/// CallStub itself except where an API says so.
public struct CPointer: Hashable, Sendable, CustomStringConvertible {
    public var address: UInt

    public init(address: UInt) { self.address = address }
    /// The address of any pointer (typed and mutable pointers convert implicitly).
    public init(_ pointer: UnsafeRawPointer?) { address = UInt(bitPattern: pointer) }

    /// The null pointer.
    public static let null = CPointer(address: 0)
    public var isNull: Bool { address == 0 }
    /// The pointer, for passing to Swift APIs.
    public var raw: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: address) }
    /// `0x7f…` in lowercase hex; the null pointer prints `0x0`.
    public var description: String { "0x" + String(address, radix: 16) }
}

/// A C value of any kind.
///
/// As an argument, a value converts to its parameter's type when the conversion is
/// exact: `.int(300)` fits `short` but not `unsigned char`; `.int(2)` is a fine `double`.
/// As a variadic argument it has the type a C literal of that value would have
/// (`int`, else `long`; `double`), unless a type is given explicitly.
public enum CValue: Hashable, Sendable {
    /// The result of a `void` function.
    case void
    case bool(Bool)
    /// Any signed integer (and enum) up to 64 bits.
    case int(Int64)
    /// Any unsigned integer up to 64 bits.
    case uint(UInt64)
    /// `__int128`. (This case and the other 16-byte-aligned payloads are `indirect`, boxed:
    /// `CValue` is then 8-byte aligned, 24 bytes a value instead of 32, and arrays of
    /// values come from `malloc` instead of the aligned allocator, which is slower.)
    indirect case int128(Int128)
    /// `unsigned __int128`.
    indirect case uint128(UInt128)
    case float(Float)
    case double(Double)
    /// `long double` (x87 80-bit extended precision).
    indirect case longDouble(Float80)
    case complexFloat(real: Float, imaginary: Float)
    case complexDouble(real: Double, imaginary: Double)
    indirect case complexLongDouble(real: Float80, imaginary: Float80)
    case pointer(CPointer)
    /// As an argument to a `char *` (or `void *`) parameter: a NUL-terminated copy made
    /// for the call and freed when it returns. The callee must not keep the pointer.
    case string(String)
    /// A struct or union by value.
    case record(CRecordValue)
    /// The elements of an array member of a record.
    case array([CValue])
    /// A callback as its C function pointer, for any pointer parameter or member. The value
    /// keeps the `Callback` alive: as an argument, for the whole call (the argument array
    /// holds it), so an inline temporary is safe; stored in a record's field, for as long
    /// as that record value lives. C keeping the pointer beyond that needs an owner that
    /// lives as long: `SharedLibrary.keep(_:)`, or `Callback.keepUntilExit()`.
    case callback(Callback)

    /// The null pointer.
    public static let null = CValue.pointer(.null)
}

extension CValue: CustomStringConvertible {
    /// The value in the syntax `callstub call` prints: integers in decimal, floating
    /// values in shortest round-trip form, pointers in hex, records and arrays as
    /// `{a, b}` in field order.
    public var description: String {
        switch self {
        case .void: return ""
        case .bool(let value): return value ? "1" : "0"
        case .int(let value): return String(value)
        case .uint(let value): return String(value)
        case .int128(let value): return String(value)
        case .uint128(let value): return String(value)
        case .float(let value): return Self.shortest(value.description)
        case .double(let value): return Self.shortest(value.description)
        case .longDouble(let value): return Self.shortest(value.description)
        case .complexFloat(let real, let imaginary):
            return "{\(Self.shortest(real.description)), \(Self.shortest(imaginary.description))}"
        case .complexDouble(let real, let imaginary):
            return "{\(Self.shortest(real.description)), \(Self.shortest(imaginary.description))}"
        case .complexLongDouble(let real, let imaginary):
            return "{\(Self.shortest(real.description)), \(Self.shortest(imaginary.description))}"
        case .pointer(let pointer): return pointer.description
        case .string(let string): return Self.quoted(string)
        case .record(let record): return record.description
        case .array(let elements): return "{" + elements.map(\.description).joined(separator: ", ") + "}"
        case .callback(let callback): return callback.unsafePointer.description
        }
    }

    /// Swift prints the shortest round-trip digits; C programmers expect `1024`, not `1024.0`.
    static func shortest(_ text: String) -> String {
        text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// A C string literal with the usual escapes; other control characters as octal
    /// escapes (`\0`, `\033`), three digits when a digit follows, since an octal escape
    /// takes up to three and a hexadecimal one any number.
    static func quoted(_ string: String) -> String {
        var text = "\""
        let scalars = Array(string.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\t": text += "\\t"
            case "\r": text += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let digitFollows = index + 1 < scalars.count && ("0"..."9").contains(scalars[index + 1])
                    let octal = String(scalar.value, radix: 8)
                    text += "\\" + (digitFollows ? String(repeating: "0", count: 3 - octal.count) + octal : octal)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }
}

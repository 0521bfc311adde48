// The CallPlan: how one call shape is passed, as a printable value. A calling convention
// (X86_64SysV) makes it from a ValidatedSignature; the LLVM backend turns it into a stub.
// The libffi backend never reads it, so that libffi stays an independent check.
//
//     struct P { double x, y; };  struct P add(struct P, struct P);
//
//     result      struct P   SSE SSE   xmm0 = double @0, xmm1 = double @8
//     argument 1  struct P   SSE SSE   xmm0 = double @0, xmm1 = double @8
//     argument 2  struct P   SSE SSE   xmm2 = double @0, xmm3 = double @8
//     stack 0 bytes, vector registers 4

/// The psABI classes of an eightbyte (§3.2.3).
public enum EightbyteClass: String, Hashable, Sendable {
    case integer = "INTEGER"
    case sse = "SSE"
    case sseUp = "SSEUP"
    case x87 = "X87"
    case x87Up = "X87UP"
    case complexX87 = "COMPLEX_X87"
    case noClass = "NO_CLASS"
    case memory = "MEMORY"
}

/// What one piece of a value is, as a machine value.
public enum PieceKind: Hashable, Sendable, CustomStringConvertible {
    /// `bytes` bytes of integer data (1–8) in a general-purpose register or an 8-byte stack slot.
    case integer(bytes: Int)
    /// A pointer.
    case pointer
    case float
    case double
    /// Two floats in the low half of one XMM register (`<2 x float>`).
    case floatPair
    /// An x87 80-bit value (`long double`).
    case x87
    /// `__int128`: two general-purpose registers, or 16 bytes of stack aligned to 16.
    case int128

    /// The bytes of the C value the piece carries.
    public var byteCount: Int {
        switch self {
        case .integer(let bytes): return bytes
        case .pointer, .double, .floatPair: return 8
        case .float: return 4
        case .x87: return 10
        case .int128: return 16
        }
    }

    /// The LLVM IR type of the piece.
    public var irType: String {
        switch self {
        case .integer(let bytes): return "i\(bytes * 8)"
        case .pointer: return "ptr"
        case .float: return "float"
        case .double: return "double"
        case .floatPair: return "<2 x float>"
        case .x87: return "x86_fp80"
        case .int128: return "i128"
        }
    }

    public var description: String { irType }
}

/// Where a piece travels.
public enum PieceLocation: Hashable, Sendable, CustomStringConvertible {
    /// A general-purpose argument register: 0 … 5 are rdi, rsi, rdx, rcx, r8, r9; for
    /// results 0 and 1 are rax and rdx.
    case gpr(Int, isResult: Bool)
    /// An XMM register.
    case xmm(Int)
    /// The x87 stack: 0 is st0.
    case x87(Int)
    /// The argument area on the stack, at this byte offset from the first argument slot.
    case stack(Int)

    static let argumentRegisters = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"]
    static let resultRegisters = ["rax", "rdx"]

    public var description: String {
        switch self {
        case .gpr(let index, let isResult): return isResult ? Self.resultRegisters[index] : Self.argumentRegisters[index]
        case .xmm(let index): return "xmm\(index)"
        case .x87(let index): return "st\(index)"
        case .stack(let offset): return "stack+\(offset)"
        }
    }
}

/// Sign or zero extension of a narrow integer to 32 bits, which clang-built callees rely on.
public enum IntegerExtension: String, Hashable, Sendable {
    case none
    case sign = "signext"
    case zero = "zeroext"
}

/// One machine value carrying bytes `offset ..< offset + kind.byteCount` of a C value.
public struct Piece: Hashable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var kind: PieceKind
    public var location: PieceLocation
    public var extension_: IntegerExtension

    public init(offset: Int, kind: PieceKind, location: PieceLocation, extension_: IntegerExtension = .none) {
        self.offset = offset
        self.kind = kind
        self.location = location
        self.extension_ = extension_
    }

    /// `xmm0 = double @0`, `rdi = i8 @0 signext`.
    public var description: String {
        "\(location) = \(kind) @\(offset)" + (extension_ == .none ? "" : " \(extension_.rawValue)")
    }
}

/// How one argument is passed.
public enum ArgumentLowering: Hashable, Sendable {
    /// In registers or stack slots, piece by piece.
    case direct([Piece])
    /// A copy of the whole value in the argument area (MEMORY class; LLVM `byval`).
    case stackCopy(offset: Int, size: Int, alignment: Int)
    /// Nothing is passed (an empty record).
    case ignored
}

/// How the result comes back.
public enum ResultLowering: Hashable, Sendable {
    case void
    /// In rax/rdx, xmm0/xmm1 or st0/st1.
    case direct([Piece])
    /// In memory the caller provides, its address passed in rdi and returned in rax (LLVM `sret`).
    case sret(size: Int, alignment: Int)
    /// An empty record: nothing comes back.
    case ignored
}

/// One argument's lowering, with its classification for printing.
public struct ArgumentPlan: Hashable, Sendable {
    public var lowering: ArgumentLowering
    public var classes: [EightbyteClass]

    /// Whether a piece of the argument travels in `register` (an __int128 in a pair counts for both).
    func usesRegister(_ register: PieceLocation) -> Bool {
        guard case .direct(let pieces) = lowering else { return false }
        return pieces.contains { piece in
            if piece.location == register { return true }
            if piece.kind == .int128, case .gpr(let index, let isResult) = piece.location, case .gpr(index + 1, isResult) = register {
                return true
            }
            return false
        }
    }
}

/// What a stub for a plan depends on, and nothing else: two signatures with equal shapes
/// (`int(int,int)` and `unsigned(unsigned,int)`) share one stub.
public struct LoweredShape: Hashable, Sendable {
    public var result: ResultLowering
    public var arguments: [ArgumentLowering]
    public var fixedArgumentCount: Int
    public var isVariadic: Bool
    /// How a scalar integer result narrower than 64 bits is widened (`none` otherwise).
    public var resultWidening: IntegerExtension
}

extension LoweredShape: CustomStringConvertible {
    /// Every field in one line, e.g. `(rdi = i32 @0; rsi = i32 @0) -> (rax = i32 @0) fixed 2`:
    /// the key of stubs kept on disk, so nothing that changes the stub may be left out.
    public var description: String {
        // Appended piece by piece (no key paths, no joins): it is built on the persistent
        // cache's path, where a key path's first use is a costly runtime instantiation.
        var text = "("
        func append(_ pieces: [Piece]) {
            text += "["
            for (index, piece) in pieces.enumerated() { text += (index == 0 ? "" : "; ") + piece.description }
            text += "]"
        }
        for (index, argument) in arguments.enumerated() {
            if index > 0 { text += ", " }
            switch argument {
            case .direct(let pieces): append(pieces)
            case .stackCopy(let offset, let size, let alignment): text += "byval(@\(offset) size \(size) align \(alignment))"
            case .ignored: text += "ignored"
            }
        }
        text += ") -> "
        switch result {
        case .void: text += "void"
        case .direct(let pieces): append(pieces)
        case .sret(let size, let alignment): text += "sret(size \(size) align \(alignment))"
        case .ignored: text += "ignored"
        }
        text += " fixed \(fixedArgumentCount)" + (isVariadic ? " variadic" : "") + " widening " + resultWidening.rawValue
        return text
    }
}

extension LoweredShape {
    /// Every field as ASCII bytes, so that two shapes have the same bytes only if they are
    /// equal (`ShapeKeyEncoder`). The persistent stub cache's key (like `description`, it
    /// leaves out nothing that changes the stub), built without string formatting: it is
    /// on the path of a new process's first call (issue 19).
    public var keyBytes: [UInt8] { keyBytes(after: []) }

    /// `prefix`, then `keyBytes`, in one array.
    public func keyBytes(after prefix: [UInt8]) -> [UInt8] {
        var key = ShapeKeyEncoder(prefix: prefix, argumentCount: arguments.count)
        for argument in arguments { key.append(argument) }
        return key.finish(
            result: result, fixedArgumentCount: fixedArgumentCount, isVariadic: isVariadic, resultWidening: resultWidening)
    }
}

/// Writes a lowered shape as ASCII: a tag character for each case (`0`…`9`), integers in
/// base 32, low digits first, each digit a character of `@`…`_` but the last, which is one
/// of `` ` ``…DEL. Every field is read in a fixed order, so the bytes determine the shape.
/// ASCII, so that the stub cache can key a dictionary by it as a `String`.
struct ShapeKeyEncoder {
    private var bytes: [UInt8] = []

    init(prefix: [UInt8], argumentCount: Int) {
        bytes = prefix
        bytes.reserveCapacity(prefix.count + 24 + 12 * argumentCount)
        integer(argumentCount)
    }

    private mutating func integer(_ value: Int) {
        var rest = UInt(bitPattern: value)
        while rest >= 32 {
            bytes.append(0x40 | UInt8(rest & 31))
            rest >>= 5
        }
        bytes.append(0x60 | UInt8(rest))
    }

    private mutating func tag(_ value: UInt8) { bytes.append(0x30 + value) }

    private mutating func tag(_ value: IntegerExtension) {
        switch value {
        case .none: tag(0)
        case .sign: tag(1)
        case .zero: tag(2)
        }
    }

    private mutating func append(_ pieces: [Piece]) {
        integer(pieces.count)
        for piece in pieces {
            integer(piece.offset)
            switch piece.kind {
            case .integer(let count): tag(1); integer(count)
            case .pointer: tag(2)
            case .float: tag(3)
            case .double: tag(4)
            case .floatPair: tag(5)
            case .x87: tag(6)
            case .int128: tag(7)
            }
            switch piece.location {
            case .gpr(let index, let isResult): tag(isResult ? 2 : 1); integer(index)
            case .xmm(let index): tag(3); integer(index)
            case .x87(let index): tag(4); integer(index)
            case .stack(let offset): tag(5); integer(offset)
            }
            tag(piece.extension_)
        }
    }

    /// The next argument (as many as `argumentCount`, in order).
    mutating func append(_ argument: ArgumentLowering) {
        switch argument {
        case .direct(let pieces): tag(1); append(pieces)
        case .stackCopy(let offset, let size, let alignment): tag(2); integer(offset); integer(size); integer(alignment)
        case .ignored: tag(3)
        }
    }

    consuming func finish(
        result: ResultLowering, fixedArgumentCount: Int, isVariadic: Bool, resultWidening: IntegerExtension
    ) -> [UInt8] {
        switch result {
        case .void: tag(1)
        case .direct(let pieces): tag(2); append(pieces)
        case .sret(let size, let alignment): tag(3); integer(size); integer(alignment)
        case .ignored: tag(4)
        }
        integer(fixedArgumentCount)
        tag(isVariadic ? 1 : 0)
        tag(resultWidening)
        return bytes
    }
}

/// The lowering of one call shape under one calling convention.
public struct CallPlan: Hashable, Sendable, CustomStringConvertible {
    /// The convention's name (`x86-64 SysV`).
    public var convention: String
    public var result: ResultLowering
    public var resultClasses: [EightbyteClass]
    public var arguments: [ArgumentPlan]
    public var fixedArgumentCount: Int
    public var isVariadic: Bool
    /// Bytes of the argument area on the stack (a multiple of 8).
    public var stackSize: Int
    /// The number of vector registers used; a variadic call passes it in `%al`.
    public var vectorRegisterCount: Int
    /// Set when gcc and clang pass this signature differently, so that no stub can be
    /// right for every library: the reason, naming the arguments.
    public var compilerDisagreement: String?
    /// The signature the plan was made for (declared types, for printing).
    public var signature: ValidatedSignature

    /// The plan without its C types: the cache key of stubs.
    /// `prefix`, then `shape.keyBytes` (the persistent stub cache's key), without building
    /// the shape: its array of lowerings is a generic instantiation a new process pays for
    /// once.
    public func shapeKeyBytes(after prefix: [UInt8] = []) -> [UInt8] {
        var key = ShapeKeyEncoder(prefix: prefix, argumentCount: arguments.count)
        for argument in arguments { key.append(argument.lowering) }
        return key.finish(
            result: result, fixedArgumentCount: fixedArgumentCount, isVariadic: isVariadic, resultWidening: resultWidening)
    }

    /// How a scalar integer result narrower than 64 bits is widened (`none` otherwise).
    var resultWidening: IntegerExtension {
        guard case .integer(let kind) = signature.result.valueClass, kind.size < 8 else { return .none }
        return kind.isSigned ? .sign : .zero
    }

    public var shape: LoweredShape {
        let widening = resultWidening
        return LoweredShape(
            // A closure, not a key path: a key path's first use instantiates its metadata
            // at run time, on the persistent stub cache's first-call path.
            result: result, arguments: arguments.map { $0.lowering }, fixedArgumentCount: fixedArgumentCount,
            isVariadic: isVariadic, resultWidening: widening)
    }

    public var description: String {
        var rows: [(String, String, String, String)] = []
        func classText(_ classes: [EightbyteClass]) -> String { classes.map(\.rawValue).joined(separator: " ") }
        let resultText: String
        switch result {
        case .void: resultText = "void"
        case .ignored: resultText = "ignored (empty record)"
        case .direct(let pieces): resultText = pieces.map(\.description).joined(separator: ", ")
        case .sret(let size, let alignment): resultText = "sret: caller memory (\(size) bytes, align \(alignment)), address in rdi, returned in rax"
        }
        rows.append(("result", signature.result.declared.description, classText(resultClasses), resultText))
        for (index, argument) in arguments.enumerated() {
            let name = index < fixedArgumentCount ? "argument \(index + 1)" : "variadic \(index + 1)"
            let text: String
            switch argument.lowering {
            case .direct(let pieces): text = pieces.map(\.description).joined(separator: ", ")
            case .stackCopy(let offset, let size, let alignment): text = "byval stack+\(offset) (\(size) bytes, align \(alignment))"
            case .ignored: text = "ignored (empty record)"
            }
            rows.append((name, signature.arguments[index].declared.description, classText(argument.classes), text))
        }
        let widths = (rows.map(\.0.count).max() ?? 0, rows.map(\.1.count).max() ?? 0, rows.map(\.2.count).max() ?? 0)
        func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: width - text.count) }
        var lines = rows.map { row in
            [padded(row.0, widths.0), padded(row.1, widths.1), padded(row.2, widths.2), row.3].joined(separator: "   ")
        }
        var footer = "\(convention): stack \(stackSize) bytes, vector registers \(vectorRegisterCount)"
        if isVariadic { footer += " (variadic: %al = \(vectorRegisterCount))" }
        lines.append(footer)
        if let compilerDisagreement { lines.append("gcc and clang disagree: \(compilerDisagreement)") }
        return lines.joined(separator: "\n")
    }
}

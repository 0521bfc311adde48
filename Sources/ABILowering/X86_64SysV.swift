// The x86-64 System V calling convention (AMD64 psABI §3.2.3, "Parameter Passing"),
// written as the document reads: classify each eightbyte, merge (rule 4), clean up
// (rule 5), then assign registers left to right, an argument that does not fit entirely
// going entirely to the stack. clang's X86_64ABIInfo is the reference it must agree with
// (the clang-oracle test compares the two on thousands of random signatures).

import CTypeModel

public enum X86_64SysV {
    static let integerRegisterCount = 6
    static let vectorRegisterCount = 8

    /// The plan for one validated call shape.
    public static func plan(_ signature: ValidatedSignature) -> CallPlan {
        var freeIntegerRegisters = integerRegisterCount
        var freeVectorRegisters = vectorRegisterCount

        // MARK: Result (psABI §3.2.3 "Returning of Values")
        let (result, resultClasses) = lowerResult(signature.result.valueClass)
        if case .sret = result { freeIntegerRegisters -= 1 }  // the hidden pointer takes rdi

        // MARK: Arguments, left to right
        var arguments: [ArgumentPlan] = []
        var stackOffset = 0
        var nextInteger = integerRegisterCount - freeIntegerRegisters
        var nextVector = 0
        var int128SpilledBeside: Int?
        func stackSlot(size: Int, alignment: Int) -> Int {
            let offset = alignUp(stackOffset, max(8, alignment))
            stackOffset = offset + alignUp(size, 8)
            return offset
        }
        for slot in signature.arguments {
            let classification = classifyArgument(slot.valueClass)
            switch classification {
            case .ignored:
                arguments.append(ArgumentPlan(lowering: .ignored, classes: [.noClass]))
            case .memory(let classes):
                let (size, alignment) = (slot.valueClass.size, slot.valueClass.alignment)
                if case .record = slot.valueClass {
                    let offset = stackSlot(size: size, alignment: alignment)
                    arguments.append(ArgumentPlan(
                        lowering: .stackCopy(offset: offset, size: size, alignment: max(8, alignment)), classes: classes))
                } else {
                    // Scalars of class X87 / COMPLEX_X87 (long double and its complex) are
                    // passed in memory too, by value in the argument area.
                    let offset = stackSlot(size: size, alignment: alignment)
                    let lowering: ArgumentLowering
                    if case .floating(.longDouble) = slot.valueClass {
                        lowering = .direct([Piece(offset: 0, kind: .x87, location: .stack(offset))])
                    } else {
                        lowering = .stackCopy(offset: offset, size: size, alignment: max(8, alignment))
                    }
                    arguments.append(ArgumentPlan(lowering: lowering, classes: classes))
                }
            case .registers(let pieces, let classes):
                let neededInteger = pieces.filter { $0.isInteger }.reduce(0) { $0 + ($1.kind == .int128 ? 2 : 1) }
                let neededVector = pieces.filter { !$0.isInteger }.count
                if neededInteger <= freeIntegerRegisters && neededVector <= freeVectorRegisters {
                    freeIntegerRegisters -= neededInteger
                    freeVectorRegisters -= neededVector
                    var placed: [Piece] = []
                    for piece in pieces {
                        if piece.isInteger {
                            placed.append(Piece(offset: piece.offset, kind: piece.kind, location: .gpr(nextInteger, isResult: false), extension_: piece.extension_))
                            nextInteger += piece.kind == .int128 ? 2 : 1
                        } else {
                            placed.append(Piece(offset: piece.offset, kind: piece.kind, location: .xmm(nextVector), extension_: piece.extension_))
                            nextVector += 1
                        }
                    }
                    arguments.append(ArgumentPlan(lowering: .direct(placed), classes: classes))
                } else if case .record = slot.valueClass {
                    // psABI: "If there are no registers available for any eightbyte of an
                    // argument, the whole argument is passed on the stack."
                    let (size, alignment) = (slot.valueClass.size, slot.valueClass.alignment)
                    let offset = stackSlot(size: size, alignment: alignment)
                    arguments.append(ArgumentPlan(
                        lowering: .stackCopy(offset: offset, size: size, alignment: max(8, alignment)), classes: classes))
                } else if pieces.count > 1 || pieces.contains(where: { $0.kind == .int128 || $0.kind == .floatPair }) {
                    // `_Complex` and `__int128` without registers left go to memory whole, as
                    // a copy: passed as LLVM values they could take a register left over
                    // (one double of a complex in %xmm7) or a widened slot (<2 x float>).
                    let (size, alignment) = (slot.valueClass.size, slot.valueClass.alignment)
                    if pieces.contains(where: { $0.kind == .int128 }) && freeIntegerRegisters == 1 {
                        int128SpilledBeside = arguments.count
                    }
                    let offset = stackSlot(size: size, alignment: alignment)
                    arguments.append(ArgumentPlan(
                        lowering: .stackCopy(offset: offset, size: size, alignment: max(8, alignment)), classes: classes))
                } else {
                    // A scalar without registers left: one 8-byte stack slot.
                    let piece = pieces[0]
                    let placed = Piece(
                        offset: piece.offset, kind: piece.kind, location: .stack(stackSlot(size: 8, alignment: 8)),
                        extension_: piece.extension_)
                    arguments.append(ArgumentPlan(lowering: .direct([placed]), classes: classes))
                }
            }
        }
        var plan = CallPlan(
            convention: "x86-64 SysV", result: result, resultClasses: resultClasses, arguments: arguments,
            fixedArgumentCount: signature.fixedArgumentCount, isVariadic: signature.isVariadic,
            stackSize: alignUp(stackOffset, 8), vectorRegisterCount: nextVector, signature: signature)
        let records = [("result", signature.result)] + signature.arguments.enumerated().map { ("argument \($0.offset + 1)", $0.element) }
        for (position, slot) in records {
            if let reason = classificationDisagreement(slot.valueClass) {
                plan.compilerDisagreement = "\(position) (\(slot.declared)) \(reason)"
                break
            }
        }
        // An __int128 that goes to the stack while one integer register is free leaves that
        // register (%r9) to later arguments in the psABI and gcc; clang (LLVM 19) leaves it
        // unused. A later argument in %r9 is then passed differently by the two compilers.
        if let spilled = int128SpilledBeside,
            let later = arguments.indices.dropFirst(spilled + 1).first(where: { arguments[$0].usesRegister(.gpr(5, isResult: false)) })
        {
            plan.compilerDisagreement =
                "argument \(spilled + 1) (__int128) goes to the stack with one integer register left, which gcc gives to argument \(later + 1) and clang leaves unused"
        }
        return plan
    }

    // MARK: - Classification of whole values

    /// An unplaced piece: where in the value, what, and which register file.
    struct UnplacedPiece {
        var offset: Int
        var kind: PieceKind
        var extension_: IntegerExtension = .none
        var isInteger: Bool {
            switch kind {
            case .integer, .pointer, .int128: return true
            default: return false
            }
        }
    }

    enum Classification {
        case ignored
        case memory([EightbyteClass])
        case registers([UnplacedPiece], [EightbyteClass])
    }

    static func classifyArgument(_ valueClass: CValueClass) -> Classification {
        switch valueClass {
        case .void: return .ignored
        case .integer(let kind):
            if kind.size == 16 { return .registers([UnplacedPiece(offset: 0, kind: .int128)], [.integer, .integer]) }
            return .registers([UnplacedPiece(offset: 0, kind: .integer(bytes: kind.size), extension_: extensionOf(kind))], [.integer])
        case .pointer: return .registers([UnplacedPiece(offset: 0, kind: .pointer)], [.integer])
        case .floating(.float): return .registers([UnplacedPiece(offset: 0, kind: .float)], [.sse])
        case .floating(.double): return .registers([UnplacedPiece(offset: 0, kind: .double)], [.sse])
        case .floating(.longDouble): return .memory([.x87, .x87Up])  // psABI rule 5: X87 classes go to memory
        case .complex(.float): return .registers([UnplacedPiece(offset: 0, kind: .floatPair)], [.sse])
        case .complex(.double):
            return .registers([UnplacedPiece(offset: 0, kind: .double), UnplacedPiece(offset: 8, kind: .double)], [.sse, .sse])
        case .complex(.longDouble): return .memory([.complexX87])
        case .floating(.float16), .floating(.float128), .complex(.float16), .complex(.float128):
            preconditionFailure("validation refuses _Float16 and _Float128 values")
        case .record(let record):
            let (lo, hi) = classifyRecordValue(record)
            let classes = lo == .memory ? [.memory] : record.definition.map { $0.layout.size > 8 ? [lo, hi] : [lo] } ?? [lo]
            if lo == .memory || lo == .x87 || lo == .complexX87 { return .memory(classes) }
            if lo == .noClass && hi == .noClass { return .ignored }
            return .registers(pieces(of: record, lo: lo, hi: hi), classes)
        }
    }

    static func lowerResult(_ valueClass: CValueClass) -> (ResultLowering, [EightbyteClass]) {
        switch valueClass {
        case .void: return (.void, [])
        case .floating(.longDouble):
            return (.direct([Piece(offset: 0, kind: .x87, location: .x87(0))]), [.x87, .x87Up])  // rule 6: st0
        case .complex(.longDouble):
            // Rule 8: the real part in st0, the imaginary part in st1.
            return (.direct([Piece(offset: 0, kind: .x87, location: .x87(0)), Piece(offset: 16, kind: .x87, location: .x87(1))]), [.complexX87])
        case .record(let record):
            let (lo, hi) = classifyRecordValue(record)
            let classes = lo == .memory ? [.memory] : record.definition.map { $0.layout.size > 8 ? [lo, hi] : [lo] } ?? [lo]
            if lo == .memory { return (.sret(size: valueClass.size, alignment: valueClass.alignment), classes) }
            if lo == .noClass && hi == .noClass { return (.ignored, classes) }
            if lo == .x87 && hi == .x87Up {
                return (.direct([Piece(offset: 0, kind: .x87, location: .x87(0))]), classes)
            }
            return (.direct(placeResult(pieces(of: record, lo: lo, hi: hi))), classes)
        default:
            guard case .registers(let pieces, let classes) = classifyArgument(valueClass) else {
                return (.sret(size: valueClass.size, alignment: valueClass.alignment), [.memory])
            }
            return (.direct(placeResult(pieces)), classes)
        }
    }

    /// Results use rax, rdx for INTEGER and xmm0, xmm1 for SSE (rules 3 and 4).
    static func placeResult(_ pieces: [UnplacedPiece]) -> [Piece] {
        var nextInteger = 0
        var nextVector = 0
        return pieces.map { piece in
            let location: PieceLocation
            if piece.isInteger {
                location = .gpr(nextInteger, isResult: true)
                nextInteger += piece.kind == .int128 ? 2 : 1
            } else {
                location = .xmm(nextVector)
                nextVector += 1
            }
            return Piece(offset: piece.offset, kind: piece.kind, location: location, extension_: piece.extension_)
        }
    }

    /// `signext`/`zeroext` for integers narrower than `int` (and `_Bool`).
    static func extensionOf(_ kind: CIntegerKind) -> IntegerExtension {
        guard kind.size < 4 else { return .none }
        return kind.isSigned ? .sign : .zero
    }

    // MARK: - Records: eightbyte classes (psABI §3.2.3, classification rules 1–5)

    /// How gcc and clang classify a record differently, if they do: the rule that
    /// makes the difference. The JIT refuses such records (`CallPlan.compilerDisagreement`),
    /// and so does the libffi backend, whose libffi takes one compiler's side.
    public static func classificationDisagreement(_ valueClass: CValueClass) -> String? {
        guard case .record(let record) = valueClass else { return nil }
        func classes(_ gcc: GCCRules) -> [EightbyteClass] {
            var (lo, hi) = (EightbyteClass.noClass, EightbyteClass.noClass)
            classify(CQualType(.record(record)), offsetInBits: 0, lo: &lo, hi: &hi, gcc: gcc)
            postMergeForComparison(record, &lo, &hi)
            return [lo, hi]
        }
        let clang = classes([])
        if classes(.unnamedBitFields) != clang {
            return "has an eightbyte whose only integer data are unnamed bit-fields, which gcc classifies as INTEGER and clang as padding"
        }
        if classes(.scalarAlignment) != clang {
            return "has a record member at an offset its alignment does not allow (packed) but no misaligned scalar, which clang passes in memory and gcc in registers"
        }
        if classes(.zeroWidthBitFieldsInUnions) != clang {
            return "has a union with a zero-width bit-field, which gcc classifies as INTEGER in its eightbyte and clang ignores"
        }
        // A struct of at most 16 bytes ending in a flexible array member: gcc (since 4.4)
        // classifies its other members as usual, clang passes it in memory.
        if let definition = record.definition, definition.layout.size <= 16, definition.layout.size > 0,
            let last = definition.fields.last, case .array(_, nil) = last.type.resolved.type
        {
            return "has a flexible array member, which gcc ignores (passing the rest in registers) and clang passes in memory"
        }
        return nil
    }

    /// The classes as the plan uses them: a MEMORY eightbyte makes the whole value MEMORY.
    private static func postMergeForComparison(_ record: CRecord, _ lo: inout EightbyteClass, _ hi: inout EightbyteClass) {
        if lo == .memory || hi == .memory { (lo, hi) = (.memory, .memory) }
    }

    static func classifyRecordValue(_ record: CRecord) -> (EightbyteClass, EightbyteClass) {
        var lo = EightbyteClass.noClass
        var hi = EightbyteClass.noClass
        classify(CQualType(.record(record)), offsetInBits: 0, lo: &lo, hi: &hi)
        return (lo, hi)
    }

    /// Where gcc's classification departs from clang's (which is the default here).
    struct GCCRules: OptionSet {
        let rawValue: Int
        /// gcc classifies unnamed bit-fields as INTEGER data; clang treats them as padding.
        static let unnamedBitFields = GCCRules(rawValue: 1)
        /// gcc checks rule 1's alignment on scalar members only, looking through record
        /// members; clang checks every member, a packed record member included.
        static let scalarAlignment = GCCRules(rawValue: 2)
        /// gcc (12) classifies an unnamed zero-width bit-field of a union as INTEGER in
        /// the eightbyte it sits at (`union { int : 0; float f; }` travels in `%edi`);
        /// clang ignores it (`%xmm0`). In structs both ignore it since gcc 12.1.
        static let zeroWidthBitFieldsInUnions = GCCRules(rawValue: 4)
    }

    /// Classifies `type` placed at `offsetInBits` of the outermost value into `lo`
    /// (bits 0–63) and `hi` (bits 64–127), as clang does, or with `gcc`'s departures.
    static func classify(
        _ type: CQualType, offsetInBits: Int, lo: inout EightbyteClass, hi: inout EightbyteClass, gcc: GCCRules = []
    ) {
        lo = .noClass
        hi = .noClass
        let inHigh = offsetInBits >= 64
        func setCurrent(_ value: EightbyteClass) { if inHigh { hi = value } else { lo = value } }
        setCurrent(.memory)
        let resolved = type.resolved
        switch resolved.type {
        case .void: setCurrent(.noClass)
        case .integer, .enumeration:
            if resolved.type.integerKind?.size == 16 { lo = .integer; hi = .integer } else { setCurrent(.integer) }
        case .pointer: setCurrent(.integer)
        case .floating(.float), .floating(.double): setCurrent(.sse)
        case .floating(.longDouble): lo = .x87; hi = .x87Up
        case .floating(.float16), .floating(.float128):
            return  // left MEMORY: validation refuses records holding them before they are classified
        case .complex(let kind):
            switch kind {
            case .float: setCurrent(.sse)
            case .double: lo = .sse; hi = .sse
            case .longDouble: setCurrent(.complexX87)
            case .float16, .float128: return  // as above
            }
            // A complex value straddling an eightbyte is split.
            let realEightbyte = offsetInBits / 64
            let imaginaryEightbyte = (offsetInBits + kind.size * 8) / 64
            if hi == .noClass && realEightbyte != imaginaryEightbyte { hi = lo }
        case .array(let element, let count):
            guard let count, let size = try? resolved.layout().size, let elementLayout = try? element.layout() else { return }
            // Rule 1: larger than eight eightbytes, or an unaligned array, is MEMORY.
            if size * 8 > 512 { return }
            let elementIsRecord = if case .record = element.resolved.type { true } else { false }
            if offsetInBits % (elementLayout.alignment * 8) != 0 && !(gcc.contains(.scalarAlignment) && elementIsRecord) { return }
            setCurrent(.noClass)
            if size > 16 && size != elementLayout.size { setCurrent(.memory); return }
            for index in 0..<count {
                var fieldLo = EightbyteClass.noClass
                var fieldHi = EightbyteClass.noClass
                classify(element, offsetInBits: offsetInBits + index * elementLayout.size * 8, lo: &fieldLo, hi: &fieldHi, gcc: gcc)
                lo = merge(lo, fieldLo)
                hi = merge(hi, fieldHi)
                if lo == .memory || hi == .memory { break }
            }
            postMerge(size: size, lo: &lo, hi: &hi)
        case .record(let record):
            guard let definition = record.definition else { return }
            let size = definition.layout.size
            if size * 8 > 512 { return }  // rule 1
            // A record with a flexible array member is passed in memory.
            if let last = definition.fields.last, case .array(_, nil) = last.type.resolved.type { return }
            setCurrent(.noClass)
            for (field, member) in zip(definition.fields, definition.layout.members) {
                let fieldOffset = offsetInBits + member.offsetInBits
                if field.isBitField && field.name == nil && field.bitWidth == 0 && record.kind == .union
                    && gcc.contains(.zeroWidthBitFieldsInUnions)
                {
                    if fieldOffset / 64 > 0 { hi = merge(hi, .integer) } else { lo = merge(lo, .integer) }
                    continue
                }
                if field.isBitField && field.name == nil && (!gcc.contains(.unnamedBitFields) || field.bitWidth == 0) { continue }  // padding bit-fields
                // Rule 1: larger than two eightbytes (no vector types here) is MEMORY.
                if size > 16 {
                    lo = .memory
                    postMerge(size: size, lo: &lo, hi: &hi)
                    return
                }
                var fieldLo = EightbyteClass.noClass
                var fieldHi = EightbyteClass.noClass
                if let width = field.bitWidth {
                    // Bit-fields are INTEGER in each eightbyte they touch, aligned or not.
                    let first = fieldOffset / 64
                    let last = (fieldOffset + width - 1) / 64
                    if first > 0 {
                        fieldHi = .integer
                    } else {
                        fieldLo = .integer
                        fieldHi = last > 0 ? .integer : .noClass
                    }
                } else {
                    // Rule 1: a member not at a multiple of its type's alignment is MEMORY.
                    let alignment = (try? field.type.layout().alignment) ?? 1
                    let lookThrough: Bool
                    switch field.type.resolved.type {
                    case .record, .array: lookThrough = gcc.contains(.scalarAlignment)
                    default: lookThrough = false
                    }
                    if fieldOffset % (alignment * 8) != 0 && !lookThrough {
                        lo = .memory
                        postMerge(size: size, lo: &lo, hi: &hi)
                        return
                    }
                    classify(field.type, offsetInBits: fieldOffset, lo: &fieldLo, hi: &fieldHi, gcc: gcc)
                }
                lo = merge(lo, fieldLo)
                hi = merge(hi, fieldHi)
                if lo == .memory || hi == .memory { break }
            }
            postMerge(size: size, lo: &lo, hi: &hi)
        case .function, .typedef:
            return
        }
    }

    /// Rule 4: the class of an eightbyte from the classes of two fields in it.
    static func merge(_ accumulated: EightbyteClass, _ field: EightbyteClass) -> EightbyteClass {
        if accumulated == field || field == .noClass { return accumulated }  // (a), (b)
        if field == .memory { return .memory }  // (c)
        if accumulated == .noClass { return field }  // (b)
        if accumulated == .integer || field == .integer { return .integer }  // (d)
        if [.x87, .x87Up, .complexX87].contains(field) || [.x87, .x87Up].contains(accumulated) { return .memory }  // (e)
        return .sse  // (f)
    }

    /// Rule 5: the post-merger cleanup.
    static func postMerge(size: Int, lo: inout EightbyteClass, hi: inout EightbyteClass) {
        if hi == .memory { lo = .memory }  // (a)
        if hi == .x87Up && lo != .x87 { lo = .memory }  // (b)
        if size > 16 && (lo != .sse || hi != .sseUp) { lo = .memory }  // (c)
        if hi == .sseUp && lo != .sse { hi = .sse }  // (d)
    }

    // MARK: - Pieces of a record in registers

    /// The machine values of a record classified into registers: one per eightbyte of class
    /// INTEGER or SSE. An SSE eightbyte holding two floats is `<2 x float>`, one holding a
    /// lone float is `float`, else `double`; an INTEGER eightbyte carries the record's
    /// bytes up to its end.
    static func pieces(of record: CRecord, lo: EightbyteClass, hi: EightbyteClass) -> [UnplacedPiece] {
        let size = record.size ?? 0
        let floats = floatOffsets(in: CQualType(.record(record)), base: 0)
        let data = dataBytes(in: CQualType(.record(record)), base: 0)
        var result: [UnplacedPiece] = []
        for (index, eightbyteClass) in [lo, hi].enumerated() where index * 8 < size {
            let start = index * 8
            switch eightbyteClass {
            case .integer:
                result.append(UnplacedPiece(offset: start, kind: .integer(bytes: min(8, size - start))))
            case .sse, .x87Up:
                let hasFirstFloat = floats.contains(start)
                let hasSecondFloat = floats.contains(start + 4) && size - start > 4
                // A lone float only when nothing else lies in the eightbyte's upper half (in
                // a union a double may: clang and gcc then move all 8 bytes).
                let upperHalfIsEmpty = data.isDisjoint(with: (start + 4)..<(start + 8))
                if hasFirstFloat && hasSecondFloat {
                    result.append(UnplacedPiece(offset: start, kind: .floatPair))
                } else if hasFirstFloat && upperHalfIsEmpty {
                    result.append(UnplacedPiece(offset: start, kind: .float))
                } else {
                    result.append(UnplacedPiece(offset: start, kind: .double))
                }
            default:
                continue
            }
        }
        return result
    }

    /// A leaf of a value's layout: a scalar at a byte offset, or the bytes a bit-field touches.
    enum LayoutLeaf {
        case scalar(CQualType, offset: Int)
        case bitField(ClosedRange<Int>)
    }

    /// Visits the leaves of `type` placed at byte `base`, through arrays (their first 16
    /// elements: the records split into pieces are at most 16 bytes) and records.
    static func visitLeaves(of type: CQualType, base: Int, _ visit: (LayoutLeaf) -> Void) {
        let resolved = type.resolved
        switch resolved.type {
        case .array(let element, let count):
            guard let count, let stride = try? element.layout().size else { return }
            for index in 0..<min(count, 16) { visitLeaves(of: element, base: base + index * stride, visit) }
        case .record(let record):
            guard let definition = record.definition else { return }
            for (field, member) in zip(definition.fields, definition.layout.members) {
                if let width = field.bitWidth {
                    guard width > 0 else { continue }
                    visit(.bitField((base + member.offsetInBits / 8)...(base + (member.offsetInBits + width - 1) / 8)))
                } else {
                    visitLeaves(of: field.type, base: base + member.offsetInBytes, visit)
                }
            }
        default:
            visit(.scalar(resolved, offset: base))
        }
    }

    /// The bytes of a value that hold member data (bit-fields included; padding and the
    /// six unused bytes of a `long double` not).
    static func dataBytes(in type: CQualType, base: Int) -> Set<Int> {
        var bytes: Set<Int> = []
        visitLeaves(of: type, base: base) { leaf in
            switch leaf {
            case .bitField(let range):
                bytes.formUnion(range)
            case .scalar(let scalar, let offset):
                switch scalar.type {
                case .floating(.longDouble): bytes.formUnion(offset..<(offset + 10))
                case .complex(.longDouble): bytes.formUnion(Set(offset..<(offset + 10)).union((offset + 16)..<(offset + 26)))
                default: bytes.formUnion(offset..<(offset + ((try? scalar.layout().size) ?? 0)))
                }
            }
        }
        return bytes
    }

    /// Byte offsets of every `float` (and each part of a `float _Complex`) inside a type.
    static func floatOffsets(in type: CQualType, base: Int) -> Set<Int> {
        var offsets: Set<Int> = []
        visitLeaves(of: type, base: base) { leaf in
            guard case .scalar(let scalar, let offset) = leaf else { return }
            switch scalar.type {
            case .floating(.float): offsets.insert(offset)
            case .complex(.float): offsets.formUnion([offset, offset + 4])
            default: break
            }
        }
        return offsets
    }
}

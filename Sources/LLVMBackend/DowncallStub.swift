// Downcall stubs: LLVM IR for one CallPlan, with libffi's `avalue` shape, so that the JIT
// and libffi are interchangeable behind one entry point:
//
//     void stub(void *fn, void **args, void *result)   shared by every function of the shape
//     void stub(void **args, void *result)             the target's address baked in
//
// The stub loads each argument's pieces from `args[i]` at the plan's offsets, passes them
// with the plan's IR types and attributes (signext/zeroext, byval, sret) so that LLVM
// places them in the registers and stack slots the plan names, and stores the result's
// pieces into `result` (integers narrower than 64 bits widened, as libffi's `ffi_arg`).

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
    /// The IR of a stub function named `name` for `plan`. With `target`, the function's
    /// address is baked in and the stub takes `(args, result)`; without, it takes
    /// `(fn, args, result)` and serves every function of the same lowered shape.
    public static func ir(for plan: CallPlan, name: String, target: UInt? = nil, errno: ErrnoHooks? = nil) -> String {
        var body: [String] = []
        var arguments: [String] = []  // "type attributes %value" for the call
        var fixedTypes: [String] = []  // the callee's fixed parameter types
        var counter = 0
        func fresh(_ stem: String) -> String {
            counter += 1
            return "%\(stem)\(counter)"
        }

        let callee = target.map { "inttoptr (i64 \($0) to ptr)" } ?? "%fn"
        if case .sret(let size, let alignment) = plan.result {
            arguments.append("ptr sret([\(size) x i8]) align \(alignment) %result")
            fixedTypes.append("ptr")
        }
        for (index, argument) in plan.arguments.enumerated() {
            let isFixed = index < plan.fixedArgumentCount
            var pieces: [(type: String, text: String)] = []
            switch argument.lowering {
            case .ignored:
                continue
            case .stackCopy(_, let size, let alignment):
                let pointer = loadArgumentPointer(index, into: &body, fresh: fresh)
                pieces.append(("ptr", "ptr byval([\(size) x i8]) align \(alignment) \(pointer)"))
            case .direct(let parts):
                let pointer = loadArgumentPointer(index, into: &body, fresh: fresh)
                for part in parts {
                    let address = fresh("p")
                    let value = fresh("v")
                    body.append("  \(address) = getelementptr inbounds i8, ptr \(pointer), i64 \(part.offset)")
                    body.append("  \(value) = load \(part.kind.irType), ptr \(address), align 1")
                    let attribute = part.extension_ == .none ? "" : " \(part.extension_.rawValue)"
                    pieces.append((part.kind.irType, "\(part.kind.irType)\(attribute) \(value)"))
                }
            }
            arguments += pieces.map(\.text)
            if isFixed { fixedTypes += pieces.map(\.type) }
        }

        // The call, with errno cleared before and read right after when asked.
        var errnoPointer = ""
        if let errno {
            errnoPointer = fresh("errno")
            body.append("  \(errnoPointer) = call ptr inttoptr (i64 \(errno.errnoLocation) to ptr)()")
            body.append("  store i32 0, ptr \(errnoPointer), align 4")
        }
        let variadicSuffix = plan.isVariadic ? (fixedTypes.isEmpty ? "..." : ", ...") : ""
        let functionType = "(\(fixedTypes.joined(separator: ", "))\(variadicSuffix))"
        let call = "\(callee)(\(arguments.joined(separator: ", ")))"
        var afterCall: [String] = []
        switch plan.result {
        case .void, .ignored, .sret:
            body.append("  call void \(functionType) \(call)")
        case .direct(let parts):
            let returnType = parts.count == 1 ? parts[0].kind.irType : "{ " + parts.map(\.kind.irType).joined(separator: ", ") + " }"
            let attribute = parts.count == 1 && parts[0].extension_ != .none ? "\(parts[0].extension_.rawValue) " : ""
            let value = fresh("r")
            body.append("  \(value) = call \(attribute)\(returnType) \(functionType) \(call)")
            if parts.count == 1 {
                afterCall += storeResult(value, parts[0], plan: plan, fresh: fresh)
            } else {
                for (position, part) in parts.enumerated() {
                    let element = fresh("e")
                    afterCall.append("  \(element) = extractvalue \(returnType) \(value), \(position)")
                    afterCall += storeResult(element, part, plan: plan, fresh: fresh)
                }
            }
        }
        if let errno {
            let value = fresh("errnov")
            body.append("  \(value) = load i32, ptr \(errnoPointer), align 4")
            body.append("  call void inttoptr (i64 \(errno.save) to ptr)(i32 \(value))")
        }
        body += afterCall
        body.append("  ret void")
        let parameters = target == nil ? "ptr %fn, ptr %args, ptr %result" : "ptr %args, ptr %result"
        return "define void @\(name)(\(parameters)) {\nentry:\n" + body.joined(separator: "\n") + "\n}\n"
    }

    private static func loadArgumentPointer(_ index: Int, into body: inout [String], fresh: (String) -> String) -> String {
        let slot = fresh("slot")
        let pointer = fresh("arg")
        body.append("  \(slot) = getelementptr inbounds ptr, ptr %args, i64 \(index)")
        body.append("  \(pointer) = load ptr, ptr \(slot), align 8")
        return pointer
    }

    /// Stores one result piece; a scalar integer result narrower than 64 bits is widened
    /// to 64 bits first, as libffi does (`ffi_arg`).
    private static func storeResult(_ value: String, _ part: Piece, plan: CallPlan, fresh: (String) -> String) -> [String] {
        var lines: [String] = []
        let widening = plan.shape.resultWidening
        if widening != .none, case .integer(let bytes) = part.kind {
            let wide = fresh("w")
            lines.append("  \(wide) = \(widening == .sign ? "sext" : "zext") i\(bytes * 8) \(value) to i64")
            lines.append("  store i64 \(wide), ptr %result, align 1")
            return lines
        }
        let address = fresh("q")
        lines.append("  \(address) = getelementptr inbounds i8, ptr %result, i64 \(part.offset)")
        lines.append("  store \(part.kind.irType) \(value), ptr \(address), align 1")
        return lines
    }
}

// `callstub call`'s out-parameters (issue 21): an argument written `out` (or `out[N]`) for
// a parameter of type `T *` passes a fresh, zeroed object of type T (or an array of N of
// them), and its value is printed after the call: `callstub call libm.so.6 frexp 8 out`
// prints frexp's result and then `*exp = 4`. For `void *` parameters, `out[N]` is N bytes.

import ABILowering
import CallStub
import CTypeModel

#if canImport(Glibc)
    import Glibc
#endif

/// The objects made for `out` arguments, alive until `release()`.
struct OutArguments {
    struct Object {
        /// 0-based argument index.
        var index: Int
        var name: String
        var element: CQualType
        var count: Int
        var memory: UnsafeMutableRawPointer
    }
    var objects: [Object] = []

    /// `arguments` with each `out` / `out[N]` replaced by the address of a fresh object of
    /// the parameter's pointee type; the objects are kept in the result.
    static func prepare(_ arguments: [String], for type: CFunctionType) throws(CallStubError) -> ([String], OutArguments) {
        var outs = OutArguments()
        var rewritten = arguments
        for (index, text) in arguments.enumerated() {
            guard let count = count(in: text) else { continue }
            let position = "argument \(index + 1)"
            guard index < type.parameters.count else {
                throw .invalidArgument(position: position, type: "...", reason: "`\(text)` needs a declared pointer parameter")
            }
            let parameter = type.parameters[index]
            var element: CQualType
            switch parameter.type.resolved.type {
            case .pointer(let pointee): element = pointee
            case .array(let member, _): element = member
            default:
                throw .invalidArgument(position: position, type: parameter.type.description, reason: "`\(text)` needs a pointer parameter")
            }
            if case .void = element.resolved.type {
                guard text != "out" else {
                    throw .invalidArgument(
                        position: position, type: parameter.type.description, reason: "`out` needs a pointee type: write out[N] for N bytes")
                }
                element = CQualType(.integer(.unsignedChar))
            }
            if case .function = element.resolved.type {
                throw .invalidArgument(position: position, type: parameter.type.description, reason: "`\(text)` cannot make a function")
            }
            let layout: CTypeLayout
            do { layout = try element.resolved.layout() } catch {
                throw .invalidArgument(position: position, type: parameter.type.description, reason: "`\(text)`: \(error.description)")
            }
            let bytes = max(1, layout.size * count)
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, max(16, layout.alignment), bytes) == 0, let memory else {
                throw .invalidArgument(position: position, type: parameter.type.description, reason: "cannot allocate \(bytes) bytes")
            }
            memset(memory, 0, bytes)
            outs.objects.append(Object(
                index: index, name: parameter.name ?? "argument\(index + 1)", element: element, count: count, memory: memory))
            rewritten[index] = "0x" + String(UInt(bitPattern: memory), radix: 16)
        }
        return (rewritten, outs)
    }

    /// 1 for `out`, N for `out[N]` (N ≥ 1), nil for anything else.
    private static func count(in text: String) -> Int? {
        if text == "out" { return 1 }
        guard text.hasPrefix("out["), text.hasSuffix("]"), let count = Int(text.dropFirst(4).dropLast()), count >= 1,
            count <= 1 << 24
        else { return nil }
        return count
    }

    /// Each object's value after the call: `*name = value`, or `name[N] = …` for arrays
    /// (a char array as the string it holds up to its first NUL).
    func values() throws(CallStubError) -> [(object: Object, text: String, value: CValue)] {
        var values: [(Object, String, CValue)] = []
        for object in objects {
            if object.count == 1 {
                let value = try CValue(loading: object.element, from: object.memory)
                values.append((object, "*\(object.name) = \(value)", value))
                continue
            }
            if case .integer(let kind) = object.element.resolved.type, kind.size == 1 {
                let bytes = UnsafeRawBufferPointer(start: object.memory, count: object.count)
                let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                let value = CValue.string(text)
                values.append((object, "\(object.name)[\(object.count)] = \(value)", value))
                continue
            }
            let stride = (try? object.element.resolved.layout().size) ?? 0
            var elements: [CValue] = []
            for element in 0..<object.count {
                elements.append(try CValue(loading: object.element, from: object.memory + element * stride))
            }
            let value = CValue.array(elements)
            values.append((object, "\(object.name)[\(object.count)] = \(value)", value))
        }
        return values
    }

    func release() {
        for object in objects { free(object.memory) }
    }
}

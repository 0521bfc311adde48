// GNU `__attribute__((...))`: the ones that change layout are applied, the ones that
// change a type in ways the model cannot express are refused, and the rest (nonnull,
// format, visibility, ...) are accepted and ignored, with a warning for unknown names.

import CTypeModel

struct Attribute {
    enum Argument: Equatable {
        case integer(Int128)
        case string(String)
        case identifier(String)
    }

    /// The name without GNU's optional leading and trailing underscores (`__packed__` → `packed`).
    var name: String
    var location: CSourceLocation
    var arguments: [Argument] = []

    static func normalize(_ name: String) -> String {
        if name.hasPrefix("__") && name.hasSuffix("__") && name.count > 4 { return String(name.dropFirst(2).dropLast(2)) }
        return name
    }

    /// `aligned(N)` in bytes; a bare `aligned` is the largest alignment (16 on x86-64).
    func alignmentValue() throws(ParseError) -> Int {
        guard let first = arguments.first else { return 16 }
        guard arguments.count == 1, case .integer(let value) = first, value > 0, value <= 1 << 28, value & (value - 1) == 0 else {
            throw ParseError(location, "requested alignment is not a positive power of 2")
        }
        return Int(value)
    }

    /// `scalar_storage_order("big-endian")` or `("little-endian")`.
    func byteOrder() throws(ParseError) -> CByteOrder {
        switch arguments {
        case [.string("big-endian")]: return .big
        case [.string("little-endian")]: return .little
        default: throw ParseError(location, "scalar_storage_order takes \"big-endian\" or \"little-endian\"")
        }
    }

    /// Attributes that change what a type is; accepting them silently would give a wrong layout.
    static let changesTypes: Set<String> = [
        "vector_size", "ms_struct", "gcc_struct", "designated_init", "warn_if_not_aligned",
        "ext_vector_type", "matrix_type", "btf_type_tag", "address_space",
    ]

    /// Attributes the parser applies where they stand (layout, byte order, machine mode).
    static let appliedByTheParser: Set<String> = ["packed", "aligned", "scalar_storage_order", "mode"]

    /// Attributes with no effect on types or calling convention for our purposes.
    static let ignorable: Set<String> = [
        "unused", "used", "deprecated", "unavailable", "visibility", "nonnull", "nothrow", "leaf", "pure", "const",
        "noreturn", "malloc", "warn_unused_result", "format", "format_arg", "returns_nonnull", "alloc_size",
        "alloc_align", "access", "may_alias", "sentinel", "cold", "hot", "always_inline", "noinline", "gnu_inline",
        "artificial", "nonstring", "weak", "alias", "section", "externally_visible", "no_instrument_function",
        "noclone", "flatten", "fd_arg", "fd_arg_read", "fd_arg_write", "null_terminated_string_arg", "counted_by",
        "cleanup", "constructor", "destructor", "optimize", "target", "warning", "error", "tls_model", "copy",
        "no_sanitize", "no_sanitize_address", "no_stack_protector", "returns_twice", "assume_aligned", "noipa",
        "retain", "availability", "swift_name", "objc_boxable", "enum_extensibility", "flag_enum", "fallthrough",
        "nodiscard", "maybe_unused", "noplt", "ifunc", "symver", "expected_throw", "strict_flex_array",
        // GCC passes a transparent union argument as its first member and requires every
        // member to share that member's machine representation, so passing the union
        // itself is the same call (glibc's `__SOCKADDR_ARG`, a union of pointers).
        "transparent_union",
        // Clang's C overloading (tgmath.h): the first declaration of a name stands and later
        // overloads are skipped; clang mangles their symbols, so none binds by its C name.
        "overloadable",
    ]
}

// The C side of a campaign batch: the header CallStub reads, and the library the C
// compiler builds from it. Each callee logs the bytes of every argument it received and
// returns a value derived from all of them (distinct patterns per field, so a swapped or
// shifted field shows). Per function, `cs_make_N` fills argument buffers with known
// values, `cs_mask_N` marks which bits of each argument and of the result carry a value
// (padding does not), and `cs_drive_N` calls a function pointer with the arguments in
// the buffers: given the callee itself it is the oracle, given a callback it drives it.

extension CampaignBatch {
    /// Enums, the function-pointer typedef, records and prototypes.
    var header: String {
        var text = """
            enum E0 { E0A = 0, E0B = 300 };
            enum __attribute__((packed)) E1 { E1A = 1, E1B = 200 };
            enum E2 { E2A = -5, E2B = 5 };
            typedef int (*FP)(int);

            """
        for record in records { text += definition(of: record) + "\n" }
        for signature in signatures { text += prototype(of: signature) + ";\n" }
        return text
    }

    func definition(of record: CampaignRecord) -> String {
        var members: [String] = []
        for field in record.fields {
            var text = spelling(field.type)
            if let name = field.name { text += " \(name)" }
            if let count = field.count { text += "[\(count)]" }
            if let width = field.bitWidth { text += " : \(width)" }
            if !field.attributes.isEmpty { text += " __attribute__((\(field.attributes.joined(separator: ", "))))" }
            members.append(text + ";")
        }
        var text = "\(record.tag) { \(members.joined(separator: " ")) }"
        if !record.attributes.isEmpty { text += " __attribute__((\(record.attributes.joined(separator: ", "))))" }
        text += ";"
        if let pack = record.pragmaPack { text = "#pragma pack(push, \(pack))\n\(text)\n#pragma pack(pop)" }
        return text
    }

    func prototype(of signature: CampaignSignature, named: Bool = false) -> String {
        var parameters = signature.parameters.enumerated().map { spelling($0.element) + (named ? " a\($0.offset)" : "") }
        if signature.isVariadic { parameters.append("...") }
        let list = parameters.isEmpty ? "void" : parameters.joined(separator: ", ")
        return "\(signature.result.map(spelling) ?? "void") \(signature.name)(\(list))"
    }

    /// The records a signature uses, its prototype and its variadic tail, on one line.
    func declaration(of signature: CampaignSignature) -> String {
        var parts = recordsUsed(by: signature).map { definition(of: $0).replacingOccurrences(of: "\n", with: " ") }
        parts.append(prototype(of: signature) + ";")
        if let tail = signature.variadicTail { parts.append("(variadic tail: \(tail.map(spelling).joined(separator: ", ")))") }
        return parts.joined(separator: " ")
    }

    /// The records a signature uses, directly or nested, in definition order.
    func recordsUsed(by signature: CampaignSignature) -> [CampaignRecord] {
        var used: Set<Int> = []
        func visit(_ type: CampaignType) {
            guard case .record(let index) = type, used.insert(index).inserted else { return }
            for field in records[index].fields { visit(field.type) }
        }
        for type in signature.parameters + (signature.variadicTail ?? []) { visit(type) }
        if let result = signature.result { visit(result) }
        return used.sorted().map { records[$0] }
    }

    // MARK: - The library

    var librarySource: String {
        var text = """
            #include <stdint.h>
            #include <string.h>
            #include <stdarg.h>
            #define CS_EXPORT __attribute__((visibility("default")))

            """
        text += header
        text += """
            static unsigned char cs_log[1 << 16];
            static size_t cs_log_length;
            CS_EXPORT void *cs_log_buffer(void) { return cs_log; }
            CS_EXPORT size_t cs_log_size(void) { return cs_log_length; }
            CS_EXPORT void cs_log_reset(void) { cs_log_length = 0; }
            static void cs_put(const void *p, size_t n) {
                if (cs_log_length + n <= sizeof cs_log) memcpy(cs_log + cs_log_length, p, n);
                cs_log_length += n;
            }
            static uint64_t cs_next(uint64_t *s) {
                uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
                return z ^ (z >> 31);
            }
            static void cs_absorb(uint64_t *h, const void *value, const void *mask, size_t n) {
                const unsigned char *v = value, *m = mask;
                for (size_t i = 0; i < n; i++) *h = (*h ^ (v[i] & m[i])) * 0x100000001B3ull;
            }
            /* How many x87 registers hold a value (the tag word; the psABI wants none
             * at a call boundary outside a result), and a reset for after a path that left some. */
            CS_EXPORT int cs_x87_used(void) {
                unsigned char env[28];
                __asm__ volatile("fnstenv %0\\n\\tfldenv %0" : "+m"(env));
                unsigned tags = env[8] | env[9] << 8, used = 0;
                for (int i = 0; i < 8; i++) used += ((tags >> (2 * i)) & 3) != 3;
                return (int)used;
            }
            CS_EXPORT void cs_x87_reset(void) { __asm__ volatile("fninit"); }
            static void cs_or(void *destination, const void *source, size_t n) {
                unsigned char *d = destination;
                const unsigned char *s = source;
                for (size_t i = 0; i < n; i++) d[i] |= s[i];
            }

            """
        for (index, scalar) in CampaignScalar.all.enumerated() { text += scalarHelpers(index, scalar) }
        for record in records {
            text += "static void cs_fill_r\(record.index)(\(record.tag) *p, uint64_t *s);\n"
            text += "static void cs_mask_r\(record.index)(\(record.tag) *p);\n"
        }
        for record in records { text += recordHelpers(record) }
        for signature in signatures { text += functionSource(signature) }
        return text + ffiSource
    }

    private func helperSuffix(_ type: CampaignType) -> String {
        switch type {
        case .scalar(let index): return "s\(index)"
        case .record(let index): return "r\(index)"
        }
    }

    private func scalarHelpers(_ index: Int, _ scalar: CampaignScalar) -> String {
        let type = scalar.spelling
        let fill: String
        var mask = "memset(p, 0xFF, sizeof *p);"
        switch scalar.kind {
        case .integer(let bytes):
            fill = bytes == 16
                ? "*p = (\(type))(((unsigned __int128)cs_next(s) << 64) | cs_next(s));"
                : "*p = (\(type))cs_next(s);"
        case .bool: fill = "*p = cs_next(s) & 1;"
        case .floating: fill = "*p = (\(type))(int32_t)cs_next(s) / 64;"
        case .longDouble:
            fill = "*p = (long double)(int64_t)cs_next(s) / 3;"
            mask = "memset(p, 0, sizeof *p); memset(p, 0xFF, 10);"
        case .complex(let part):
            fill = "__real__ *p = (\(part))(int32_t)cs_next(s) / 64; __imag__ *p = (\(part))(int32_t)cs_next(s) / 64;"
            if part == "long double" { mask = "memset(p, 0, sizeof *p); memset(p, 0xFF, 10); memset((char *)p + 16, 0xFF, 10);" }
        case .pointer: fill = "*p = (\(type))(uintptr_t)cs_next(s);"
        }
        return """
            static void cs_fill_s\(index)(\(type) *p, uint64_t *s) { \(fill) }
            static void cs_mask_s\(index)(\(type) *p) { \(mask) }

            """
    }

    private func recordHelpers(_ record: CampaignRecord) -> String {
        var fill = "    memset(p, 0, sizeof *p);\n"
        var mask = "    memset(p, 0, sizeof *p);\n"
        // A union holds the value of the member stored last; its other bytes are unspecified
        // (C11 6.2.6.1p7), and an optimising compiler does leave garbage there. So one
        // member, the largest, is stored, and only its bits are compared.
        var members = record.fields.filter { $0.name != nil }
        if record.isUnion, let largest = members.max(by: { size(of: $0) < size(of: $1) }) { members = [largest] }
        for field in members {
            guard let name = field.name else { continue }
            let type = spelling(field.type)
            if field.bitWidth != nil {
                let isBool = type == "_Bool"
                fill += "    p->\(name) = cs_next(s)\(isBool ? " & 1" : "");\n"
                mask += "    p->\(name) = \(isBool ? "1" : "-1");\n"
                continue
            }
            // Through a temporary and memcpy: members of packed records may be unaligned.
            let suffix = helperSuffix(field.type)
            let count = field.count ?? 1
            // The temporary is zeroed first: its padding lands in the record, and in a
            // union another member may give those bytes a meaning.
            fill += "    for (int i = 0; i < \(count); i++) { \(type) t; memset(&t, 0, sizeof t); cs_fill_\(suffix)(&t, s); memcpy((char *)&p->\(name) + i * sizeof t, &t, sizeof t); }\n"
            mask += "    for (int i = 0; i < \(count); i++) { \(type) t; cs_mask_\(suffix)(&t); cs_or((char *)&p->\(name) + i * sizeof t, &t, sizeof t); }\n"
        }
        return """
            static void cs_fill_r\(record.index)(\(record.tag) *p, uint64_t *s) {
            \(fill)}
            static void cs_mask_r\(record.index)(\(record.tag) *p) {
            \(mask)}

            """
    }

    /// Roughly how many bytes a field holds (ties go to the first field).
    private func size(of field: CampaignField) -> Int {
        if let width = field.bitWidth { return (width + 7) / 8 }
        switch field.type {
        case .scalar(let index): return CampaignScalar.all[index].size * (field.count ?? 1)
        case .record(let index): return records[index].estimatedSize * (field.count ?? 1)
        }
    }

    private func functionSource(_ signature: CampaignSignature) -> String {
        let name = signature.name
        let result = signature.result.map(spelling) ?? "void"
        let all = signature.parameters + (signature.variadicTail ?? [])
        var body = "    uint64_t h = 0xCBF29CE484222325ull;\n"
        for (index, type) in signature.parameters.enumerated() {
            body += "    { \(spelling(type)) m; cs_put(&a\(index), sizeof a\(index)); cs_mask_\(helperSuffix(type))(&m); cs_absorb(&h, &a\(index), &m, sizeof m); }\n"
        }
        if let tail = signature.variadicTail {
            body += "    va_list ap;\n    va_start(ap, a\(signature.parameters.count - 1));\n"
            for type in tail {
                let spelled = spelling(type)
                body += "    { \(spelled) v = va_arg(ap, \(spelled)); \(spelled) m; cs_put(&v, sizeof v); cs_mask_\(helperSuffix(type))(&m); cs_absorb(&h, &v, &m, sizeof m); }\n"
            }
            body += "    va_end(ap);\n"
        }
        if let resultType = signature.result {
            body += "    \(result) r; cs_fill_\(helperSuffix(resultType))(&r, &h); return r;\n"
        }
        let fixed = signature.parameters.map(spelling)
        let pointerType = "\(result) (*)(\(fixed.isEmpty ? "void" : fixed.joined(separator: ", ")))"
        let arguments = all.enumerated().map { "*(\(spelling($0.element)) *)slots[\($0.offset)]" }.joined(separator: ", ")
        let callee = signature.isVariadic ? name : "((\(pointerType))fp)"
        let call = "\(callee)(\(arguments))"
        var make = "    uint64_t s = seed;\n"
        var mask = ""
        for (index, type) in all.enumerated() {
            make += "    cs_fill_\(helperSuffix(type))((\(spelling(type)) *)slots[\(index)], &s);\n"
            mask += "    cs_mask_\(helperSuffix(type))((\(spelling(type)) *)slots[\(index)]);\n"
        }
        if let resultType = signature.result {
            mask += "    cs_mask_\(helperSuffix(resultType))((\(result) *)result);\n"
        }
        let drive = signature.result == nil
            ? "    \(call);\n"
            : "    \(result) r = \(call);\n    memcpy(result, &r, sizeof r);\n"
        return """
            CS_EXPORT \(prototype(of: signature, named: true)) {
            \(body)}
            CS_EXPORT void cs_make_\(signature.index)(void **slots, uint64_t seed) {
            \(make)}
            CS_EXPORT void cs_mask_\(signature.index)(void **slots, void *result) {
            \(mask)}
            CS_EXPORT void cs_drive_\(signature.index)(void *fp, void **slots, void *result) {
                (void)fp; (void)slots; (void)result;
            \(drive)}

            """
    }
}

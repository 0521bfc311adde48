// The campaign's C-API side: each signature that libffi can describe gets its ffi_types
// and a function preparing its cif (`cs_prep_N`), written as a libffi user writes them
// (struct types by their elements in order, arrays as repeated elements), and the batch
// library gets C drivers that call through the C API's entry points from C: callstub_call
// and callstub_call_variadic with a function handle, callstub_ffi_call and the call plans
// with a cif prepared on the driver's stack (so every signature's cif lands at the same
// address, and the drop-in must tell them apart by content), and libffi's own ffi_call.

extension CampaignBatch {
    /// libffi's type for a scalar, or nil (`__int128` has none).
    static func ffiScalar(_ scalar: CampaignScalar) -> String? {
        switch scalar.spelling {
        case "char", "signed char": "ffi_type_sint8"
        case "unsigned char", "_Bool", "enum E1": "ffi_type_uint8"
        case "short": "ffi_type_sint16"
        case "unsigned short": "ffi_type_uint16"
        case "int", "enum E2": "ffi_type_sint32"
        case "unsigned int", "enum E0": "ffi_type_uint32"
        case "long", "long long": "ffi_type_sint64"
        case "unsigned long", "unsigned long long": "ffi_type_uint64"
        case "float": "ffi_type_float"
        case "double": "ffi_type_double"
        case "long double": "ffi_type_longdouble"
        case "float _Complex": "ffi_type_complex_float"
        case "double _Complex": "ffi_type_complex_double"
        case "long double _Complex": "ffi_type_complex_longdouble"
        case "void *", "const char *", "FP": "ffi_type_pointer"
        default: nil
        }
    }

    /// Whether libffi 3.4 can describe a record: a struct of named, unattributed members
    /// (no unions, bit-fields, packing or alignment attributes: libffi has no words for them).
    func ffiDescribes(_ type: CampaignType) -> Bool {
        switch type {
        case .scalar(let index): return Self.ffiScalar(CampaignScalar.all[index]) != nil
        case .record(let index):
            let record = records[index]
            return !record.isUnion && record.attributes.isEmpty && record.pragmaPack == nil
                && record.fields.allSatisfy { $0.bitWidth == nil && $0.attributes.isEmpty && $0.name != nil && ffiDescribes($0.type) }
        }
    }

    func ffiDescribes(_ signature: CampaignSignature) -> Bool {
        (signature.parameters + (signature.variadicTail ?? [])).allSatisfy(ffiDescribes) && signature.result.map(ffiDescribes) ?? true
    }

    /// The C expression of a type's ffi_type address.
    private func ffiTypeAddress(_ type: CampaignType) -> String {
        switch type {
        case .scalar(let index): "&" + Self.ffiScalar(CampaignScalar.all[index])!
        case .record(let index): "&cs_ffi_r\(index)"
        }
    }

    /// The ffi_types of the describable records, then `cs_prep_N` for each describable
    /// signature, then the drivers.
    var ffiSource: String {
        var text = "#include <ffi.h>\n"
        for record in records where ffiDescribes(.record(record.index)) {
            let elements = record.fields.flatMap { Array(repeating: ffiTypeAddress($0.type), count: $0.count ?? 1) }
            text += "static ffi_type *cs_ffi_elements_r\(record.index)[] = {\((elements + ["NULL"]).joined(separator: ", "))};\n"
            text += "static ffi_type cs_ffi_r\(record.index) = {0, 0, FFI_TYPE_STRUCT, cs_ffi_elements_r\(record.index)};\n"
        }
        for signature in signatures where ffiDescribes(signature) {
            let all = signature.parameters + (signature.variadicTail ?? [])
            let types = all.isEmpty ? "NULL" : all.map(ffiTypeAddress).joined(separator: ", ")
            let result = signature.result.map(ffiTypeAddress) ?? "&ffi_type_void"
            let prepare = signature.isVariadic
                ? "ffi_prep_cif_var(cif, FFI_DEFAULT_ABI, \(signature.parameters.count), \(all.count), \(result), types)"
                : "ffi_prep_cif(cif, FFI_DEFAULT_ABI, \(all.count), \(result), types)"
            text += """
                CS_EXPORT int cs_prep_\(signature.index)(ffi_cif *cif) {
                    static ffi_type *types[] = {\(types)};
                    return \(prepare);
                }

                """
        }
        text += """
            /* The C API's entry points, given by the test (this library does not link it). */
            typedef int (*cs_call_entry)(void *, void *, void **);
            typedef int (*cs_call_variadic_entry)(void *, const char *, void *, void **);
            typedef void (*cs_ffi_call_entry)(ffi_cif *, void (*)(void), void *, void **);
            typedef void *(*cs_plan_alloc_entry)(ffi_cif *);
            typedef void (*cs_plan_invoke_entry)(void *, void (*)(void), void *, void **);
            typedef void (*cs_plan_free_entry)(void *);
            typedef int (*cs_prep)(ffi_cif *);
            enum { CS_MAXIMUM_ARGUMENTS = 64 };

            /* Each driver passes a copy of the argument array: ffi_call writes into it. */
            CS_EXPORT int cs_capi_call(void *entry, void *function, void *result, void **slots, unsigned count) {
                void *copy[CS_MAXIMUM_ARGUMENTS];
                memcpy(copy, slots, count * sizeof *copy);
                return ((cs_call_entry)entry)(function, result, copy);
            }
            CS_EXPORT int cs_capi_call_variadic(void *entry, void *function, const char *types, void *result, void **slots, unsigned count) {
                void *copy[CS_MAXIMUM_ARGUMENTS];
                memcpy(copy, slots, count * sizeof *copy);
                return ((cs_call_variadic_entry)entry)(function, types, result, copy);
            }
            /* The cif on this frame's stack: the same address for every signature. */
            CS_EXPORT int cs_capi_ffi_call(void *entry, cs_prep prep, void *callee, void *result, void **slots, unsigned count) {
                ffi_cif cif;
                void *copy[CS_MAXIMUM_ARGUMENTS];
                int status = prep(&cif);
                if (status != FFI_OK) return status;
                memcpy(copy, slots, count * sizeof *copy);
                ((cs_ffi_call_entry)entry)(&cif, (void (*)(void))callee, result, copy);
                return 0;
            }
            CS_EXPORT int cs_capi_plan(void *alloc, void *invoke, void *release, cs_prep prep, void *callee, void *result, void **slots, unsigned count) {
                ffi_cif cif;
                void *copy[CS_MAXIMUM_ARGUMENTS];
                int status = prep(&cif);
                if (status != FFI_OK) return status;
                void *plan = ((cs_plan_alloc_entry)alloc)(&cif);
                if (!plan) return -1;
                memcpy(copy, slots, count * sizeof *copy);
                ((cs_plan_invoke_entry)invoke)(plan, (void (*)(void))callee, result, copy);
                ((cs_plan_free_entry)release)(plan);
                return 0;
            }
            CS_EXPORT int cs_libffi_call(cs_prep prep, void *callee, void *result, void **slots, unsigned count) {
                ffi_cif cif;
                void *copy[CS_MAXIMUM_ARGUMENTS];
                int status = prep(&cif);
                if (status != FFI_OK) return status;
                memcpy(copy, slots, count * sizeof *copy);
                ffi_call(&cif, (void (*)(void))callee, result, copy);
                return 0;
            }

            """
        return text
    }
}

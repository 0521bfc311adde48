// Records defined from a type-info source (DWARF, CTF) that gives member offsets and
// sizes but not the attributes that produced them: the attributes are recovered by
// trying the candidates until the computed layout is the one given.

extension CRecord {
    /// Defines the record so that its layout is the one a type-info source (DWARF, CTF)
    /// gives: member offsets in bits, the size, perhaps the alignment. Those sources list
    /// only named members and say nothing of `packed`, `aligned` or `#pragma pack`; so
    /// members are added one at a time under each candidate attribute set (natural, then
    /// packed, then each pack), and where a member would land before its offset, the gap is
    /// filled with unnamed bit-fields (what an unnamed or zero-width bit-field, an aligned
    /// member or padding left there). A record-level alignment is recovered from the
    /// alignment given or from the size.
    public func defineMatching(
        fields: [CField], offsets: [Int], size: Int?, alignment: Int?
    ) throws(CLayoutError) {
        let record = self
        // Offsets and sizes come from files that may be damaged: a member must lie inside
        // the record, and no hole may need more than 64 KB of fillers (one per byte).
        let largestGap = 8 * 65_536
        if offsets.contains(where: { $0 < 0 }) || offsets.contains(where: { $0 > (size ?? Int.max / 16) * 8 }) {
            throw .irreproducible("\(record): a member offset lies outside the record (size \(size.map(String.init) ?? "?"))")
        }
        if let last = offsets.max(), last > largestGap * max(1, fields.count), size == nil {
            throw .irreproducible("\(record): member offsets far beyond any C layout")
        }
        func layout(_ fields: [CField], _ attributes: CRecordAttributes) -> CRecordLayout? {
            (try? CRecord(kind: record.kind, tag: record.tag, fields: fields, attributes: attributes))?.definition?.layout
        }
        /// Unnamed bit-fields covering bits `start ..< start + count`: up to the next byte
        /// with one of the right width, then whole bytes (an unnamed `unsigned char` never
        /// straddles a byte, nor raises the record's alignment).
        func fillers(from start: Int, count: Int) -> [CField]? {
            guard count <= largestGap else { return nil }
            var result: [CField] = []
            var position = start
            var remaining = count
            while remaining > 0 {
                let width = min(remaining, 8 - position % 8)
                result.append(CField(name: nil, type: CQualType(.integer(.unsignedChar)), bitWidth: width))
                position += width
                remaining -= width
            }
            return result
        }
        func build(_ attributes: CRecordAttributes) -> [CField]? {
            var built: [CField] = []
            for (original, target) in zip(fields, offsets) {
                var field = original
                guard let trial = layout(built + [field], attributes), var placed = trial.members.last?.offsetInBits else {
                    return nil
                }
                if placed > target && field.bitWidth == nil {
                    // Aligned more than its offset allows: the member was packed (or under
                    // a #pragma pack) where it was declared.
                    field.isPacked = true
                    guard let packedTrial = layout(built + [field], attributes), let packedPlace = packedTrial.members.last?.offsetInBits
                    else { return nil }
                    placed = packedPlace
                }
                if placed == target {
                    built.append(field)
                    continue
                }
                guard placed < target, record.kind == .struct else { return nil }
                let end = layout(built, attributes).map { current in
                    current.members.map { $0.offsetInBits + $0.sizeInBits }.max() ?? 0
                } ?? 0
                guard end <= target else { return nil }
                guard let filler = fillers(from: end, count: target - end) else { return nil }
                let padded = built + filler
                guard layout(padded + [field], attributes)?.members.last?.offsetInBits == target else { return nil }
                built = padded + [field]
            }
            return built
        }
        func finished(_ built: [CField], _ attributes: CRecordAttributes) -> ([CField], CRecordAttributes)? {
            guard let current = layout(built, attributes) else { return nil }
            if (size == nil || current.size == size) && (alignment == nil || current.alignment == alignment) {
                return (built, attributes)
            }
            guard let size else { return nil }
            // Trailing padding: a record alignment, or unnamed bit-fields at the end.
            if alignment == nil {
                // The smallest alignment that gives the size (an `aligned(N)` DWARF 4 cannot record).
                for extra in [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] where extra > current.alignment {
                    var aligned = attributes
                    aligned.alignment = extra
                    if let candidate = layout(built, aligned), candidate.size == size { return (built, aligned) }
                }
            }
            let end = current.members.map { $0.offsetInBits + $0.sizeInBits }.max() ?? 0
            if size * 8 > end {
                // In a union every member starts at 0: one wide unnamed bit-field spans the size.
                let trailing =
                    record.kind == .union
                    ? [CField(name: nil, type: CQualType(.integer(size <= 8 ? .unsignedLongLong : .unsignedInt128)), bitWidth: min(size * 8, 128))]
                    : fillers(from: end, count: size * 8 - end)
                if let trailing, let candidate = layout(built + trailing, attributes), candidate.size == size,
                    alignment == nil || candidate.alignment == alignment
                {
                    return (built + trailing, attributes)
                }
            }
            return nil
        }
        let candidates = [CRecordAttributes(alignment: alignment), CRecordAttributes(isPacked: true, alignment: alignment)]
            + [1, 2, 4, 8].map { CRecordAttributes(alignment: alignment, maxFieldAlignment: $0) }
        for attributes in candidates {
            guard let built = build(attributes), let (finalFields, finalAttributes) = finished(built, attributes) else {
                continue
            }
            try record.define(fields: finalFields, attributes: finalAttributes)
            return
        }
        let members = zip(fields, offsets).map { "\($0.name ?? "?")@\($1)\($0.bitWidth.map { ":\($0)" } ?? "")" }
        throw .irreproducible(
            "\(record): no C layout reproduces the member offsets given (size \(size.map(String.init) ?? "?"), bits: \(members.joined(separator: " ")))")
    }
}

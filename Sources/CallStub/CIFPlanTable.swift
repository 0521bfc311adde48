// The plans of `CIFCalls`, by the content of their cifs: a cif's fingerprint is its ABI,
// argument count and every ffi_type of its result and arguments (code, size, alignment,
// struct and complex elements in order), read on each call; equal fingerprints lower
// equally. The table is read without a lock: each slot holds an immutable entry,
// published with release ordering and replaced, never changed.

import FFIBackend
import Locks
import Synchronization

/// The codes describing a cif's content.
enum CIFFingerprint {
    /// The most codes a fingerprint has, and the deepest nesting of struct types it follows;
    /// larger cifs are not planned (ffi_call serves them). 512 codes cover 16 arguments of
    /// records of 30 members; a fingerprint is written only when the C API's address cache
    /// misses, or on each `CIFCalls.call` from Swift.
    static let capacity = 512
    static let maximumDepth = 16

    /// Writes the fingerprint of `cif` into `codes`; `nil` when it does not fit or a type
    /// cannot be read.
    static func write(_ cif: UnsafeRawPointer, into codes: UnsafeMutablePointer<UInt64>) -> Int? {
        // ffi_cif on x86-64: int abi; unsigned nargs; ffi_type **arg_types; ffi_type *rtype.
        let abi = cif.load(as: UInt32.self)
        let count = Int(cif.load(fromByteOffset: 4, as: UInt32.self))
        guard count + 2 <= capacity else { return nil }
        codes[0] = UInt64(abi) << 32 | UInt64(count)
        var written = 1
        guard let result = cif.load(fromByteOffset: 16, as: UnsafeRawPointer?.self),
            append(result, depth: 0, to: codes, written: &written)
        else { return nil }
        if count > 0 {
            guard let types = cif.load(fromByteOffset: 8, as: UnsafePointer<UnsafeRawPointer?>?.self) else { return nil }
            for index in 0..<count {
                guard let type = types[index], append(type, depth: 0, to: codes, written: &written) else { return nil }
            }
        }
        return written
    }

    /// One ffi_type: size (48 bits), alignment (8), type code (8); struct and complex
    /// types then their elements and an end mark.
    private static func append(_ type: UnsafeRawPointer, depth: Int, to codes: UnsafeMutablePointer<UInt64>, written: inout Int) -> Bool {
        guard written < capacity, depth <= maximumDepth else { return false }
        // ffi_type: size_t size; unsigned short alignment; unsigned short type; ffi_type **elements.
        let size = type.load(as: UInt64.self)
        let alignment = type.load(fromByteOffset: 8, as: UInt16.self)
        let code = type.load(fromByteOffset: 10, as: UInt16.self)
        codes[written] = size << 16 | UInt64(alignment & 0xFF) << 8 | UInt64(code & 0xFF)
        written += 1
        guard code == 13 || code == 15 else { return true }  // FFI_TYPE_STRUCT, FFI_TYPE_COMPLEX
        guard let elements = type.load(fromByteOffset: 16, as: UnsafePointer<UnsafeRawPointer?>?.self) else { return false }
        var index = 0
        while let element = elements[index] {
            guard append(element, depth: depth + 1, to: codes, written: &written) else { return false }
            index += 1
        }
        guard written < capacity else { return false }
        codes[written] = UInt64.max  // the end of the elements
        written += 1
        return true
    }

    static func hash(_ codes: UnsafeBufferPointer<UInt64>) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for code in codes { hash = (hash ^ code) &* 0x100_0000_01B3 }
        return Int(truncatingIfNeeded: hash ^ hash >> 29)
    }
}

/// The plans by fingerprint, read with no reference counting: a slot holds the address of
/// an entry record `[count, stub, result size, codes...]` (stub 0: ffi_call serves),
/// written once and never freed.
final class CIFPlanTable: @unchecked Sendable {
    static let shared = CIFPlanTable()
    static let slotCount = 1024
    /// How many plans are made at most; later shapes go to ffi_call.
    static let planLimit = 16_384

    /// What a lookup finds: the stub (`nil`: ffi_call) and the result buffer's size.
    struct Found {
        var stub: UnsafeRawPointer?
        var resultBufferSize: Int
    }

    private let slots: UnsafeMutablePointer<Atomic<UInt>>
    /// The plans made, kept with their entries (the stubs live in the stub cache).
    private let made = Lock<[CIFPlan]>([])

    private init() {
        slots = .allocate(capacity: Self.slotCount)
        for index in 0..<Self.slotCount { (slots + index).initialize(to: Atomic(0)) }
    }

    private func slot(_ codes: UnsafeBufferPointer<UInt64>) -> Int { CIFFingerprint.hash(codes) & (Self.slotCount - 1) }

    /// The plan of this fingerprint, if made.
    @inline(__always)
    func plan(for codes: UnsafeBufferPointer<UInt64>) -> Found? {
        let raw = slots[slot(codes)].load(ordering: .acquiring)
        guard let entry = UnsafeRawPointer(bitPattern: raw) else { return nil }
        guard entry.load(as: Int.self) == codes.count else { return nil }
        let stored = (entry + 24).assumingMemoryBound(to: UInt64.self)
        for index in 0..<codes.count where stored[index] != codes[index] { return nil }
        return Found(stub: entry.load(fromByteOffset: 8, as: UnsafeRawPointer?.self), resultBufferSize: entry.load(fromByteOffset: 16, as: Int.self))
    }

    /// Plans `cif` and publishes the plan under its fingerprint; `nil` when it cannot be planned.
    func insert(_ codes: UnsafeBufferPointer<UInt64>, cif: UnsafeRawPointer) -> Found? {
        guard let plan = try? CIFPlan(cif: cif) else { return nil }
        let found = Found(stub: plan.stub, resultBufferSize: plan.resultBufferSize)
        let admitted = made.withLock { plans -> Bool in
            guard plans.count < Self.planLimit else { return false }
            plans.append(plan)
            return true
        }
        guard admitted else { return found }
        let entry = UnsafeMutableRawPointer.allocate(byteCount: 24 + 8 * codes.count, alignment: 8)
        entry.storeBytes(of: codes.count, as: Int.self)
        entry.storeBytes(of: plan.stub, toByteOffset: 8, as: UnsafeRawPointer?.self)
        entry.storeBytes(of: plan.resultBufferSize, toByteOffset: 16, as: Int.self)
        (entry + 24).bindMemory(to: UInt64.self, capacity: codes.count).initialize(from: codes.baseAddress!, count: codes.count)
        // A replaced entry is not freed: another thread may be reading it.
        slots[slot(codes)].store(UInt(bitPattern: entry), ordering: .releasing)
        return found
    }
}

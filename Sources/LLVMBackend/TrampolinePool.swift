// Trampolines for pooled callbacks: a callback's C function pointer is one of the two
// entries of a 32-byte slot of fixed code. Both load the slot's data address into the
// static-chain register (%r10). The thunk entry jumps to the thunk the data names (one per
// shape, `StubCompiler.pooledThunk`), which reads the closure's two words from there; the
// register entry calls the closure itself with its context in %r13 (register callbacks,
// whose closure takes C's registers as they are: CallStub/RegisterCallback.swift). Code
// pages are written once and made executable; each is followed by a data page of the
// same layout, so making a callback writes three words and compiles nothing. A freed
// slot's entries go to the page's late-call stub, which stops the program naming the
// callback, until the slot is reused (freed slots are reused oldest first).

import Locks

#if canImport(Glibc)
    import Glibc
#endif

/// A slot: its two C function pointers and the words its trampolines read (`data`: the
/// closure's function and context, then the thunk `code` jumps to).
public struct TrampolineSlot: @unchecked Sendable, Hashable {
    /// Into the thunk the data names, with the data's address in %r10.
    public let code: UnsafeRawPointer
    /// Straight into the closure, for register callbacks: %r13 saved, the closure's context
    /// put in it, the closure's function called, %r13 restored. C's argument and result
    /// registers pass untouched.
    public let registerCode: UnsafeRawPointer
    let data: UnsafeMutableRawPointer
}

public final class TrampolinePool: @unchecked Sendable {
    /// The process's pool.
    public static let shared = TrampolinePool()

    static let slotSize = 32
    /// Where a slot's thunk entry starts, after its register entry.
    static let thunkEntryOffset = 19
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    private struct State {
        /// Slots ready for use, oldest freed first (so that a freed slot keeps reporting
        /// late calls as long as possible).
        var free: [TrampolineSlot] = []
        var head = 0
        var pages = 0
        /// Why a page could not be made (no executable memory): kept, so that later
        /// callbacks go to libffi at once instead of trying again.
        var failure: JITError?
    }
    private let state = Lock(State())
    /// The callback each freed slot belonged to, by data address, for the late-call report
    /// (a lock of its own: a late call can come while another thread allocates).
    private static let names = Lock<[UInt: String]>([:])

    /// A slot holding the closure `(function, context)` whose thunk entry jumps to `thunk`;
    /// `nil`: to the slot's own register entry, so that both entries call the closure.
    public func allocate(function: UInt, context: UInt, thunk: UnsafeRawPointer?) throws(JITError) -> TrampolineSlot {
        let slot: TrampolineSlot = try state.withLock { state throws(JITError) in
            if state.head == state.free.count {
                if let failure = state.failure { throw failure }
                state.free.removeAll(keepingCapacity: true)
                state.head = 0
                do throws(JITError) {
                    try addPage(&state)
                } catch {
                    state.failure = error
                    throw error
                }
            }
            let slot = state.free[state.head]
            state.head += 1
            if state.head > 4096 && state.head * 2 > state.free.count {
                state.free.removeFirst(state.head)
                state.head = 0
            }
            return slot
        }
        Self.names.withLock { $0[UInt(bitPattern: slot.data)] = nil }
        // The thunk last: a slot is handed out only after all three words are in place.
        slot.data.storeBytes(of: function, as: UInt.self)
        slot.data.storeBytes(of: context, toByteOffset: 8, as: UInt.self)
        slot.data.storeBytes(of: UInt(bitPattern: thunk ?? slot.registerCode), toByteOffset: 16, as: UInt.self)
        return slot
    }

    /// Gives `slot` back: its jump goes to the late-call stub at once (a call from C that
    /// starts after this stops the program naming `name`), and the slot is reused after
    /// every slot freed before it.
    public func release(_ slot: TrampolineSlot, name: String) {
        Self.names.withLock { $0[UInt(bitPattern: slot.data)] = name }
        // Both entries: the thunk entry jumps to the thunk word, the register entry calls
        // the function word; the late-call stub finds the data in %r10 either way.
        slot.data.storeBytes(of: UInt(bitPattern: lateStub(of: slot)), toByteOffset: 16, as: UInt.self)
        slot.data.storeBytes(of: UInt(bitPattern: lateStub(of: slot)), as: UInt.self)
        state.withLock { $0.free.append(slot) }
    }

    /// Pages of trampoline code made so far.
    public var pageCount: Int { state.withLock { $0.pages } }

    /// The page's late-call stub: its last slot of code.
    private func lateStub(of slot: TrampolineSlot) -> UnsafeRawPointer {
        let page = UInt(bitPattern: slot.code) & ~UInt(pageSize - 1)
        return UnsafeRawPointer(bitPattern: page + UInt(pageSize - Self.slotSize))!
    }

    /// Maps a code page and its data page, writes the trampolines, and makes the code
    /// executable (never writable again).
    private func addPage(_ state: inout State) throws(JITError) {
        if let denial = ExecutableMemory.denial { throw denial }
        let size = 2 * pageSize
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED
        else { throw JITError.memory("mmap of \(size) bytes for callback trampolines failed (errno \(errno))") }
        let code = memory.assumingMemoryBound(to: UInt8.self)
        let slots = pageSize / Self.slotSize - 1  // the last slot is the late-call stub
        func put(_ bytes: [UInt8], at offset: Int) {
            for (index, byte) in bytes.enumerated() { code[offset + index] = byte }
        }
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        memset(memory, 0xCC, pageSize)  // int3 between and after trampolines
        for index in 0..<slots {
            let offset = index * Self.slotSize
            // The register entry (19 bytes):
            // lea r10, [rip + (data slot)]   the data page is one page further, same offset
            put([0x4C, 0x8D, 0x15] + le32(pageSize - 7), at: offset)
            put([0x41, 0x55], at: offset + 7)  // push r13 (callee-saved in C; aligns the stack)
            put([0x4D, 0x8B, 0x6A, 0x08], at: offset + 9)  // mov r13, [r10 + 8]   the context
            put([0x41, 0xFF, 0x12], at: offset + 13)  // call [r10]   the closure's function
            put([0x41, 0x5D], at: offset + 16)  // pop r13
            put([0xC3], at: offset + 18)  // ret
            // The thunk entry (13 bytes): lea r10, [rip + (data slot)]; jmp [rip + (data slot + 16)]
            put([0x4C, 0x8D, 0x15] + le32(pageSize - 26), at: offset + Self.thunkEntryOffset)
            put([0xFF, 0x25] + le32(pageSize + 16 - 32), at: offset + 26)
        }
        // The late-call stub: report(r10) with the stack aligned; the report never returns.
        let late = pageSize - Self.slotSize
        put([0x4C, 0x89, 0xD7], at: late)  // mov rdi, r10
        put([0x48, 0x83, 0xE4, 0xF0], at: late + 3)  // and rsp, -16
        put([0xFF, 0x15] + le32(pageSize + Self.slotSize - 8 - 13), at: late + 7)  // call [rip + (last data word)]
        let report: @convention(c) (UnsafeRawPointer?) -> Void = { TrampolinePool.lateCall(data: $0) }
        (memory + size - 8).storeBytes(of: unsafeBitCast(report, to: UInt.self), as: UInt.self)
        if let failure = ExecutableMemory.makeExecutable(memory, byteCount: pageSize, what: "callback trampolines") {
            munmap(memory, size)
            throw failure
        }
        state.pages += 1
        for index in 0..<slots {
            let code = UnsafeRawPointer(memory + index * Self.slotSize)
            state.free.append(TrampolineSlot(
                code: code + Self.thunkEntryOffset, registerCode: code, data: memory + pageSize + index * Self.slotSize))
        }
    }

    /// A call through a freed slot: stop, naming the callback.
    static func lateCall(data: UnsafeRawPointer?) -> Never {
        let name = names.withLock { $0[UInt(bitPattern: data)] } ?? "(unknown)"
        fatalError("callback \(name) was called through its C pointer after the Callback was released")
    }
}

// A file is checked before `dlopen` maps it: glibc's loader trusts the program headers
// and maps segments past the end of a truncated file, and touching them kills the
// process with SIGBUS. The checks follow the ELF-64 object file format (System V gABI,
// "ELF Header" and "Program Header"); every value read from the file is range-checked.

#if canImport(Glibc)
    import Glibc
#endif

enum ELFPrecheck {
    /// The most program headers a file may have (e_phnum).
    static let maximumProgramHeaders: UInt64 = 256

    /// Why the file at `path` cannot be a loadable x86-64 shared object, or `nil` when its
    /// header and loadable segments lie within the file. A file that cannot be opened or
    /// read is left for `dlopen` to report (`nil`).
    static func problem(at path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        let fileSize = UInt64(status.st_size)

        // The ELF header: 64 bytes for ELFCLASS64.
        guard let header = read(descriptor, at: 0, count: 64) else {
            return "not an ELF file: it is \(fileSize) bytes, shorter than an ELF header (64)"
        }
        guard header[0] == 0x7F, header[1] == UInt8(ascii: "E"), header[2] == UInt8(ascii: "L"), header[3] == UInt8(ascii: "F") else {
            return "not an ELF file (no \\x7fELF magic)"
        }
        guard header[4] == 2 else { return "not a 64-bit ELF file (EI_CLASS \(header[4]))" }
        guard header[5] == 1 else { return "not a little-endian ELF file (EI_DATA \(header[5]))" }
        let type = UInt16(header, 16)
        guard type == 3 else { return "not a shared object (e_type \(type); ET_DYN is 3)" }
        let machine = UInt16(header, 18)
        guard machine == 62 else { return "not an x86-64 object (e_machine \(machine); EM_X86_64 is 62)" }
        let programHeaderOffset = UInt64(header, 32)
        let programHeaderSize = UInt64(UInt16(header, 54))
        let programHeaderCount = UInt64(UInt16(header, 56))
        guard programHeaderSize == 56 else { return "malformed ELF header: e_phentsize is \(programHeaderSize), not 56" }
        // glibc's loader copies a table it cannot find in its first read onto the calling
        // thread's stack (alloca), next to a load command per entry: 65,535 entries (3.6 MB)
        // overran a 512 KB thread's stack and killed the process (DebugInfoFuzzTests' random
        // damage to e_phnum, dlopen on a GCD thread). Linkers write a dozen or two.
        guard programHeaderCount <= maximumProgramHeaders else {
            return "malformed ELF header: e_phnum is \(programHeaderCount), more than the \(maximumProgramHeaders) program headers accepted"
        }
        let (tableSize, _) = programHeaderSize.multipliedReportingOverflow(by: programHeaderCount)
        let (tableEnd, overflow) = programHeaderOffset.addingReportingOverflow(tableSize)
        guard !overflow, tableEnd <= fileSize else {
            return "truncated or malformed: its program headers end at byte \(tableEnd), past the file's \(fileSize) bytes"
        }
        guard programHeaderCount > 0, let table = read(descriptor, at: programHeaderOffset, count: Int(tableSize)) else {
            return "malformed: no program headers"
        }
        var loads: [Segment] = []
        var dynamic: Segment?
        // Where the loader reads (or, for PT_GNU_RELRO, changes the protection of) the mapped
        // image once the segments are in: each must lie in a loadable segment.
        var inImage: [(name: String, segment: Segment, size: UInt64)] = []
        for index in 0..<Int(programHeaderCount) {
            let entry = index * 56
            let segmentType = UInt32(table, entry)
            let segment = Segment(
                index: index, offset: UInt64(table, entry + 8), address: UInt64(table, entry + 16),
                fileSize: UInt64(table, entry + 32), memorySize: UInt64(table, entry + 40))
            switch segmentType {
            // The program header table the loader scans backwards for notes (l_phdr).
            case 6: inImage.append(("PT_PHDR", segment, programHeaderCount * 56))
            case 4: inImage.append(("PT_NOTE", segment, segment.memorySize))
            case 0x6474_e553: inImage.append(("PT_GNU_PROPERTY", segment, segment.memorySize))
            // The TLS initialization image, copied into each thread's block.
            case 7: inImage.append(("PT_TLS", segment, segment.fileSize))
            case 0x6474_e552: inImage.append(("PT_GNU_RELRO", segment, segment.memorySize))
            default: break
            }
            // PT_LOAD (1) is mapped from the file; PT_DYNAMIC (2) is read by the loader.
            guard segmentType == 1 || segmentType == 2 else { continue }
            let (end, overflow) = segment.offset.addingReportingOverflow(segment.fileSize)
            guard !overflow, end <= fileSize else {
                return "truncated: segment \(index) (\(segmentType == 1 ? "PT_LOAD" : "PT_DYNAMIC")) reaches byte \(end), past the file's \(fileSize) bytes"
            }
            guard segment.memorySize >= segment.fileSize, !segment.address.addingReportingOverflow(segment.memorySize).overflow else {
                return "malformed: segment \(index) has p_memsz \(segment.memorySize) below its p_filesz \(segment.fileSize) or wraps the address space"
            }
            if segmentType == 1 { loads.append(segment) } else { dynamic = segment }
        }
        guard !loads.isEmpty else { return "malformed: no loadable segment" }
        for (name, segment, size) in inImage where size > 0 {
            guard loads.contains(where: { $0.holds(segment.address, size: size) }) else {
                return "malformed: segment \(segment.index) (\(name), 0x\(String(segment.address, radix: 16)), \(size) bytes) lies outside every loadable segment"
            }
        }
        if let dynamic { return dynamicProblem(dynamic, loads: loads, descriptor: descriptor) }
        return nil
    }

    /// A segment's place in the file and in memory (ELF-64 program header fields).
    private struct Segment {
        var index: Int
        var offset: UInt64
        var address: UInt64
        var fileSize: UInt64
        var memorySize: UInt64

        /// Whether `[address, address + size)` lies in this segment's memory image.
        func holds(_ start: UInt64, size: UInt64 = 1) -> Bool {
            let (end, overflow) = start.addingReportingOverflow(size)
            return !overflow && start >= address && end <= address + memorySize
        }
    }

    /// The loader follows the dynamic section's addresses as soon as the segments are
    /// mapped (glibc's `_dl_setup_hash` reads DT_GNU_HASH's table, relocation reads
    /// DT_RELA and writes at each r_offset): each must lie in a loadable segment, and the
    /// tables with their sizes, or the loader reads unmapped memory (a file whose first
    /// PT_LOAD was lost to a shifted e_phoff killed the process with SIGSEGV).
    private static func dynamicProblem(_ dynamic: Segment, loads: [Segment], descriptor: Int32) -> String? {
        guard loads.contains(where: { $0.holds(dynamic.address, size: dynamic.fileSize) }) else {
            return "malformed: the dynamic segment (\(dynamic.index)) lies outside every loadable segment"
        }
        guard dynamic.fileSize >= 16, let entries = read(descriptor, at: dynamic.offset, count: Int(dynamic.fileSize)) else {
            return "malformed: the dynamic segment cannot be read"
        }
        var values: [UInt64: UInt64] = [:]
        for entry in stride(from: 0, to: entries.count - 15, by: 16) {
            let tag = UInt64(entries, entry)
            if tag == 0 { break }  // DT_NULL
            values[tag] = values[tag] ?? UInt64(entries, entry + 8)
        }
        // Addresses the loader dereferences, with the size of what it reads there.
        let tables: [(name: String, tag: UInt64, sizeTag: UInt64?)] = [
            ("DT_HASH", 4, nil), ("DT_STRTAB", 5, 10), ("DT_SYMTAB", 6, nil), ("DT_RELA", 7, 8), ("DT_REL", 17, 18),
            ("DT_JMPREL", 23, 2), ("DT_INIT", 12, nil), ("DT_FINI", 13, nil), ("DT_INIT_ARRAY", 25, 27),
            ("DT_FINI_ARRAY", 26, 28), ("DT_GNU_HASH", 0x6fff_fef5, nil), ("DT_VERSYM", 0x6fff_fff0, nil),
            ("DT_VERDEF", 0x6fff_fffc, nil), ("DT_VERNEED", 0x6fff_fffe, nil),
        ]
        for (name, tag, sizeTag) in tables {
            guard let address = values[tag] else { continue }
            let size = sizeTag.flatMap { values[$0] } ?? 1
            guard let segment = loads.first(where: { $0.holds(address, size: size) }) else {
                return "malformed: \(name) (0x\(String(address, radix: 16)), \(size) bytes) lies outside every loadable segment"
            }
            // Relocations write at r_offset (Elf64_Rela: 24 bytes, Elf64_Rel: 16; 8 bytes written).
            let entrySize: UInt64? = tag == 7 ? 24 : tag == 17 ? 16 : tag == 23 ? (values[20] == 17 ? 16 : 24) : nil
            if let entrySize, let problem = relocationProblem(
                name, in: segment, at: address, size: size, entrySize: entrySize, loads: loads, descriptor: descriptor)
            {
                return problem
            }
        }
        return nil
    }

    /// Each relocation of a table must write within a loadable segment.
    private static func relocationProblem(
        _ name: String, in segment: Segment, at address: UInt64, size: UInt64, entrySize: UInt64, loads: [Segment],
        descriptor: Int32
    ) -> String? {
        let fileOffset = segment.offset + (address - segment.address)
        // Tables beyond 64 MB (no library here comes near) are left to the loader.
        guard size > 0, size <= 1 << 26 else { return nil }
        guard address - segment.address + size <= segment.fileSize,
            let table = read(descriptor, at: fileOffset, count: Int(size))
        else {
            return "malformed: the \(name) relocations (\(size) bytes) are not all in the file"
        }
        for entry in stride(from: 0, to: Int(size / entrySize) * Int(entrySize), by: Int(entrySize)) {
            let target = UInt64(table, entry)
            guard loads.contains(where: { $0.holds(target, size: 8) }) else {
                return "malformed: a \(name) relocation writes at 0x\(String(target, radix: 16)), outside every loadable segment"
            }
        }
        return nil
    }

    private static func read(_ descriptor: Int32, at offset: UInt64, count: Int) -> [UInt8]? {
        guard count > 0, count <= 1 << 26, let start = off_t(exactly: offset) else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, start) }
        return got == count ? bytes : nil
    }
}

// Little-endian fields of ELF structures.
extension UInt16 {
    fileprivate init(_ bytes: [UInt8], _ at: Int) { self = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
}

extension UInt32 {
    fileprivate init(_ bytes: [UInt8], _ at: Int) {
        self = (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }
}

extension UInt64 {
    fileprivate init(_ bytes: [UInt8], _ at: Int) {
        self = (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
    }
}

// A file is checked before `dlopen` maps it: glibc's loader trusts the program headers
// and maps segments past the end of a truncated file, and touching them kills the
// process with SIGBUS. The checks follow the ELF-64 object file format (System V gABI,
// "ELF Header" and "Program Header"); every value read from the file is range-checked.

#if canImport(Glibc)
    import Glibc
#endif

enum ELFPrecheck {
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
        let (tableSize, _) = programHeaderSize.multipliedReportingOverflow(by: programHeaderCount)
        let (tableEnd, overflow) = programHeaderOffset.addingReportingOverflow(tableSize)
        guard !overflow, tableEnd <= fileSize else {
            return "truncated or malformed: its program headers end at byte \(tableEnd), past the file's \(fileSize) bytes"
        }
        guard programHeaderCount > 0, let table = read(descriptor, at: programHeaderOffset, count: Int(tableSize)) else {
            return "malformed: no program headers"
        }
        var loadable = 0
        for index in 0..<Int(programHeaderCount) {
            let entry = index * 56
            let segmentType = UInt32(table, entry)
            // PT_LOAD (1) is mapped from the file; PT_DYNAMIC (2) is read by the loader.
            guard segmentType == 1 || segmentType == 2 else { continue }
            if segmentType == 1 { loadable += 1 }
            let offset = UInt64(table, entry + 8)
            let size = UInt64(table, entry + 32)
            let (end, overflow) = offset.addingReportingOverflow(size)
            guard !overflow, end <= fileSize else {
                return "truncated: segment \(index) (\(segmentType == 1 ? "PT_LOAD" : "PT_DYNAMIC")) reaches byte \(end), past the file's \(fileSize) bytes"
            }
        }
        guard loadable > 0 else { return "malformed: no loadable segment" }
        return nil
    }

    private static func read(_ descriptor: Int32, at offset: UInt64, count: Int) -> [UInt8]? {
        guard count > 0, count <= 1 << 20, let start = off_t(exactly: offset) else { return nil }
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

// Opening an ELF file and its in-file DWARF with libelf and libdw. Finding separate
// debug files (build-id, .gnu_debuglink, dwz) and importing types arrive with the DWARF
// issue; this file owns the raw calls that open and close the handles.

internal import CLibDW
import Glibc

/// Errors from reading ELF files and DWARF.
public enum DWARFImportError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notELF(path: String)
    /// Neither the file nor a separate debug file has DWARF.
    case noDebugInfo(path: String, reason: String)
    /// The symbol is not defined by the library.
    case symbolNotFound(String)
    /// The symbol exists but the DWARF cannot say what it is (an IFUNC, or no DIE at its address).
    case unverifiable(symbol: String, reason: String)
    /// The DWARF breaks a rule; `die` is the DIE's offset, `attribute` the one at fault.
    case malformed(die: UInt64, attribute: String, reason: String)
    /// A well-formed DIE with no C type CallStub can represent.
    case noCType(die: UInt64, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "\(path): cannot open: \(reason)"
        case .notELF(let path): return "\(path): not an ELF file"
        case .noDebugInfo(let path, let reason): return "\(path): no debug info: \(reason)"
        case .symbolNotFound(let name): return "\(name): no such function symbol"
        case .unverifiable(let symbol, let reason): return "\(symbol): cannot be checked against DWARF: \(reason)"
        case .malformed(let die, let attribute, let reason):
            return "DIE 0x\(String(die, radix: 16)), \(attribute): \(reason)"
        case .noCType(let die, let reason): return "DIE 0x\(String(die, radix: 16)): \(reason)"
        }
    }
}

/// An ELF file opened for reading, with its DWARF if the file itself carries any.
public final class ELFDebugInfo {
    public let path: String
    private let descriptor: Int32
    private let elf: OpaquePointer
    private let dwarf: OpaquePointer?

    /// Opens `path`. The corresponding C functions are `elf_begin` and `dwarf_begin_elf`.
    public init(path: String) throws(DWARFImportError) {
        self.path = path
        _ = Self.elfVersionChecked
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            throw .cannotOpen(path: path, reason: String(cString: elf_errmsg(-1)))
        }
        guard elf_kind(elf) == ELF_K_ELF else {
            elf_end(elf)
            close(fd)
            throw .notELF(path: path)
        }
        self.descriptor = fd
        self.elf = elf
        self.dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nil)
    }

    deinit {
        if let dwarf { dwarf_end(dwarf) }
        elf_end(elf)
        close(descriptor)
    }

    /// Whether the file itself holds DWARF debug info.
    public var hasDWARF: Bool { dwarf != nil }

    /// The names of the compilation units in the file's DWARF, in order.
    public func compilationUnitNames() -> [String] {
        guard let dwarf else { return [] }
        var names: [String] = []
        var offset: Dwarf_Off = 0
        var next: Dwarf_Off = 0
        var headerSize = 0
        while dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            var die = Dwarf_Die()
            if dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &die) != nil {
                names.append(dwarf_diename(&die).map { String(cString: $0) } ?? "")
            }
            offset = next
        }
        return names
    }

    private static let elfVersionChecked: Bool = elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE)
}

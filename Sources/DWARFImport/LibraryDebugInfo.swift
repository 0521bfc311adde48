// A shared library's debug info, found the way debuggers find it (libdwfl): DWARF in the
// file itself, a separate file by build-id (/usr/lib/debug/.build-id/xx/rest.debug) or by
// .gnu_debuglink (CRC checked), with dwz alternate files and compressed sections handled
// by libdw. An index built once, lazily, maps symbols to addresses and addresses to the
// DIEs of the functions defined there. All libdw access is serialised by one lock.

internal import CLibDW
import Glibc
import Locks

/// Where a library's DWARF came from.
public enum DebugInfoSource: Hashable, Sendable, CustomStringConvertible {
    /// DWARF inside the library file itself.
    case embedded(path: String)
    /// A separate debug file, found by build-id or .gnu_debuglink.
    case separate(path: String)

    public var path: String {
        switch self {
        case .embedded(let path), .separate(let path): return path
        }
    }

    public var description: String {
        switch self {
        case .embedded(let path): return "DWARF in \(path)"
        case .separate(let path): return "DWARF in \(path)"
        }
    }
}

/// A function's entry in the debug info.
public struct DWARFFunctionEntry: Sendable {
    /// The symbol name asked for.
    public var symbol: String
    /// The name in the DWARF (glibc's `strtol` is defined as `__strtol`).
    public var definitionName: String
    /// How the DIE was found.
    public var foundBy: String
    /// The DIE's offset in its file (for messages).
    public var dieOffset: UInt64
}

/// The debug info of one ELF file.
public final class LibraryDebugInfo: @unchecked Sendable {
    // Immutable after init; every libdw access goes through `lock`.
    public let libraryPath: String
    public let source: DebugInfoSource
    /// The dwz alternate file the DWARF refers to (`.gnu_debugaltlink`), if any.
    public let alternateFile: String?
    private let session: OpaquePointer  // Dwfl *
    private let module: OpaquePointer  // Dwfl_Module *
    let dwarf: OpaquePointer  // Dwarf *
    let bias: UInt64
    let lock = Lock<Void>(())
    private let indexState = Lock<DWARFIndex?>(nil)
    /// One importer per library, so that a record has one identity across its functions;
    /// used only under `lock`.
    private nonisolated(unsafe) var sharedImporter: DWARFTypeImporter?
    /// Used only under `lock`.
    private nonisolated(unsafe) var nameIndexState: DWARFNameIndex?

    func importer() -> DWARFTypeImporter {
        if let sharedImporter { return sharedImporter }
        let made = DWARFTypeImporter(names: { [unowned self] in self.nameIndexLocked() })
        sharedImporter = made
        return made
    }

    /// Opens the debug info of the ELF file at `path`. Throws `noDebugInfo` (saying where
    /// it looked) when neither the file nor a separate debug file has DWARF.
    public init(libraryPath path: String) throws(DWARFImportError) {
        libraryPath = path
        guard access(path, R_OK) == 0 else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard let session = CLibDW_begin_offline() else {
            throw .cannotOpen(path: path, reason: String(cString: dwfl_errmsg(-1)))
        }
        guard let module = dwfl_report_offline(session, path, path, -1) else {
            let reason = String(cString: dwfl_errmsg(-1))
            dwfl_end(session)
            throw reason.contains("not an ELF") || reason.contains("invalid") ? .notELF(path: path) : .cannotOpen(path: path, reason: reason)
        }
        dwfl_report_end(session, nil, nil)
        var bias: Dwarf_Addr = 0
        guard let dwarf = dwfl_module_getdwarf(module, &bias) else {
            let reason = String(cString: dwfl_errmsg(-1))
            dwfl_end(session)
            throw .noDebugInfo(
                path: path,
                reason: "\(reason); looked in the file, /usr/lib/debug/.build-id and by .gnu_debuglink (install the -dbg or -dbgsym package)")
        }
        var mainFile: UnsafePointer<CChar>?
        var debugFile: UnsafePointer<CChar>?
        _ = dwfl_module_info(module, nil, nil, nil, nil, nil, &mainFile, &debugFile)
        if let debugFile, String(cString: debugFile) != path {
            source = .separate(path: String(cString: debugFile))
        } else {
            source = .embedded(path: path)
        }
        var altName: UnsafePointer<CChar>?
        var buildID: UnsafeRawPointer?
        alternateFile = dwelf_dwarf_gnu_debugaltlink(dwarf, &altName, &buildID) > 0 ? altName.map { String(cString: $0) } : nil
        self.session = session
        self.module = module
        self.dwarf = dwarf
        self.bias = bias
    }

    deinit { dwfl_end(session) }

    /// The path a `dlopen` handle was loaded from. The corresponding C function is `dlinfo`.
    public static func loadedPath(of handle: UnsafeMutableRawPointer) -> String? {
        guard let path = CLibDW_loaded_path(handle), path.pointee != 0 else { return nil }
        return String(cString: path)
    }

    /// The difference between the addresses of a `dlopen`ed library and those of its file
    /// (the link map's `l_addr`): a file address is the loaded one minus it.
    public static func loadBias(of handle: UnsafeMutableRawPointer) -> UInt64? {
        var bias: UInt = 0
        guard CLibDW_load_bias(handle, &bias) == 0 else { return nil }
        return UInt64(bias)
    }

    /// The index, built on first use.
    func index() -> DWARFIndex {
        if let built = indexState.withLock({ $0 }) { return built }
        let built = lock.withLock { _ in DWARFIndex(module: module, dwarf: dwarf, bias: bias) }
        return indexState.withLock { state in
            if let raced = state { return raced }
            state = built
            return built
        }
    }

    /// Builds the index now (it is otherwise built by the first lookup).
    public func buildIndex() {
        _ = index()
    }

    /// The number of symbols and function addresses indexed.
    public var indexCounts: (symbols: Int, functions: Int) {
        let index = index()
        return (index.symbols.count, index.functionsByAddress.count)
    }

    /// The name index, built on first use; call only with `lock` held.
    func nameIndexLocked() -> DWARFNameIndex {
        if let names = nameIndexState { return names }
        let names = DWARFNameIndex(dwarf: dwarf)
        nameIndexState = names
        return names
    }
}

/// Symbols, function DIEs by address and by name, and type definitions by name.
struct DWARFIndex: @unchecked Sendable {
    struct Symbol {
        var address: UInt64
        var isIndirectFunction: Bool
        /// 2 for the default version (`name`, `name@@VERSION`), 1 for an older one
        /// (`name@VERSION`, kept for old binaries); global over weak within each.
        var priority: Int
    }

    var symbols: [String: Symbol] = [:]
    /// Data objects (STT_OBJECT, STT_TLS), global or weak, defined, by name.
    var objects: [String: Symbol] = [:]
    /// Address (bias applied) → the DIE of the subprogram whose code starts there.
    var functionsByAddress: [UInt64: Dwarf_Die] = [:]

    init(module: OpaquePointer, dwarf: OpaquePointer, bias: UInt64) {
        // Symbols: functions and IFUNCs, global or weak.
        let count = dwfl_module_getsymtab(module)
        if count > 0 {
            for index in 0..<count {
                var symbol = GElf_Sym()
                var address: GElf_Addr = 0
                var section: GElf_Word = 0
                guard let name = dwfl_module_getsym_info(module, index, &symbol, &address, &section, nil, nil) else { continue }
                let type = Int32(symbol.st_info & 0xf)
                let binding = Int32(symbol.st_info >> 4)
                let isObject = type == STT_OBJECT || type == STT_TLS
                guard type == STT_FUNC || type == STT_GNU_IFUNC || isObject, binding == STB_GLOBAL || binding == STB_WEAK,
                    symbol.st_shndx != UInt16(SHN_UNDEF)
                else { continue }
                var text = String(cString: name)
                var priority = 4
                if let at = text.firstIndex(of: "@") {  // versioned names: prefer the default version
                    if !text[at...].hasPrefix("@@") { priority = 2 }
                    text = String(text[..<at])
                }
                if binding == STB_GLOBAL { priority += 1 }
                let entry = Symbol(address: address, isIndirectFunction: type == STT_GNU_IFUNC, priority: priority)
                if isObject {
                    if let existing = objects[text], existing.priority >= priority { continue }
                    objects[text] = entry
                    continue
                }
                if let existing = symbols[text], existing.priority >= priority { continue }
                symbols[text] = entry
            }
        }
        // The code of every top-level subprogram: names are not read here (that is the
        // slow part of a scan), only addresses.
        DWARFIndex.forEachTopLevelDIE(dwarf) { die in
            guard Int(dwarf_tag(&die)) == DW_TAG_subprogram else { return }
            record(&die, bias: bias)
        }
    }

    /// Calls `body` with every top-level DIE of every compilation unit.
    static func forEachTopLevelDIE(_ dwarf: OpaquePointer, _ body: (inout Dwarf_Die) -> Void) {
        var offset: Dwarf_Off = 0
        var next: Dwarf_Off = 0
        var headerSize = 0
        while dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            var unit = Dwarf_Die()
            defer { offset = next }
            guard dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &unit) != nil else { continue }
            var child = Dwarf_Die()
            guard dwarf_child(&unit, &child) == 0 else { continue }
            repeat {
                body(&child)
                var sibling = Dwarf_Die()
                guard dwarf_siblingof(&child, &sibling) == 0 else { break }
                child = sibling
            } while true
        }
    }

    /// Every range's start and the entry point: a hot/cold split function
    /// (`_IO_new_fclose` and `_IO_new_fclose.cold`) has its symbol at the hot range, which
    /// need not be its lowest address.
    private mutating func record(_ die: inout Dwarf_Die, bias: UInt64) {
        var offset = 0
        var base: Dwarf_Addr = 0
        var start: Dwarf_Addr = 0
        var end: Dwarf_Addr = 0
        // Addresses come from the file: one that overflows with the bias (a corrupt
        // DW_AT_low_pc of all ones) is no address in this process, and is left out.
        repeat {
            offset = dwarf_ranges(&die, offset, &base, &start, &end)
            let (address, overflow) = start.addingReportingOverflow(bias)
            if offset > 0, !overflow, functionsByAddress[address] == nil { functionsByAddress[address] = die }
        } while offset > 0
        var entry: Dwarf_Addr = 0
        if dwarf_entrypc(&die, &entry) == 0 {
            let (address, overflow) = entry.addingReportingOverflow(bias)
            if !overflow, functionsByAddress[address] == nil { functionsByAddress[address] = die }
        }
    }
}

/// Names of functions and types, built by a second scan only when a lookup needs one (a
/// symbol with no DIE at its address, a declaration-only record).
struct DWARFNameIndex: @unchecked Sendable {
    /// Name → a subprogram DIE (definitions preferred over declarations).
    var functionsByName: [String: Dwarf_Die] = [:]
    /// `struct T`, `union T`, `enum T` and typedef names → their defining DIEs.
    var typesByName: [String: Dwarf_Die] = [:]
    /// Name → a top-level variable DIE with a type (definitions preferred).
    var variablesByName: [String: Dwarf_Die] = [:]

    init(dwarf: OpaquePointer) {
        DWARFIndex.forEachTopLevelDIE(dwarf) { die in record(&die) }
    }

    private mutating func record(_ die: inout Dwarf_Die) {
        let tag = Int(dwarf_tag(&die))
        switch tag {
        case DW_TAG_subprogram:
            guard let name = DIE.name(&die) else { return }
            var low: Dwarf_Addr = 0
            let hasCode = dwarf_entrypc(&die, &low) == 0 || DIE.has(&die, DW_AT_ranges)
            if hasCode || functionsByName[name] == nil { functionsByName[name] = die }
        case DW_TAG_variable:
            guard let name = DIE.name(&die), DIE.has(&die, DW_AT_type) else { return }
            if DIE.has(&die, DW_AT_location) || variablesByName[name] == nil { variablesByName[name] = die }
        case DW_TAG_structure_type, DW_TAG_union_type, DW_TAG_enumeration_type, DW_TAG_typedef:
            guard let name = DIE.name(&die), !DIE.flag(&die, DW_AT_declaration) else { return }
            let key: String
            switch tag {
            case DW_TAG_structure_type: key = "struct \(name)"
            case DW_TAG_union_type: key = "union \(name)"
            case DW_TAG_enumeration_type: key = "enum \(name)"
            default: key = name
            }
            if typesByName[key] == nil { typesByName[key] = die }
        default:
            return
        }
    }
}

/// Small readers of DIE attributes (abstract origins and specifications followed).
enum DIE {
    static func name(_ die: inout Dwarf_Die) -> String? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&die, UInt32(DW_AT_name), &attribute) != nil,
            let text = dwarf_formstring(&attribute)
        else { return nil }
        return String(cString: text)
    }

    static func flag(_ die: inout Dwarf_Die, _ name: Int) -> Bool {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&die, UInt32(name), &attribute) != nil else { return false }
        var value = false
        return dwarf_formflag(&attribute, &value) == 0 && value
    }

    static func unsigned(_ die: inout Dwarf_Die, _ name: Int) -> UInt64? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&die, UInt32(name), &attribute) != nil else { return nil }
        var value: Dwarf_Word = 0
        return dwarf_formudata(&attribute, &value) == 0 ? value : nil
    }

    /// A constant attribute as a signed integer: `DW_FORM_sdata` and `DW_FORM_implicit_const`
    /// read signed, the other forms as their bits into an Int, so that 8 bytes of ones are
    /// -1 (gcc writes a negative DW_AT_bit_offset for a bit-field that crosses its storage
    /// unit in a packed record) while `DW_FORM_data1` 0xff is 255 (libdw's dwarf_formsdata
    /// would sign-extend it to -1; gcc writes the upper bound of `char[256]` so).
    static func integer(_ die: inout Dwarf_Die, _ name: Int) -> Int? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&die, UInt32(name), &attribute) != nil else { return nil }
        let form = Int(dwarf_whatform(&attribute))
        if form == DW_FORM_sdata || form == DW_FORM_implicit_const {
            var value: Dwarf_Sword = 0
            return dwarf_formsdata(&attribute, &value) == 0 ? Int(value) : nil
        }
        var value: Dwarf_Word = 0
        guard dwarf_formudata(&attribute, &value) == 0 else { return nil }
        return Int(truncatingIfNeeded: value)
    }

    static func has(_ die: inout Dwarf_Die, _ name: Int) -> Bool {
        dwarf_hasattr_integrate(&die, UInt32(name)) != 0
    }

    /// The DIE an attribute refers to (`DW_AT_type` and the like).
    static func reference(_ die: inout Dwarf_Die, _ name: Int) -> Dwarf_Die? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&die, UInt32(name), &attribute) != nil else { return nil }
        var target = Dwarf_Die()
        return dwarf_formref_die(&attribute, &target) != nil ? target : nil
    }

    /// The children of a DIE.
    static func children(_ die: inout Dwarf_Die) -> [Dwarf_Die] {
        var result: [Dwarf_Die] = []
        var child = Dwarf_Die()
        guard dwarf_child(&die, &child) == 0 else { return [] }
        repeat {
            result.append(child)
            var sibling = Dwarf_Die()
            guard dwarf_siblingof(&child, &sibling) == 0 else { break }
            child = sibling
        } while true
        return result
    }

    static func offset(_ die: inout Dwarf_Die) -> UInt64 { dwarf_dieoffset(&die) }

    /// A key unique across the main and the alternate file: the DIE's address in memory.
    static func key(_ die: Dwarf_Die) -> UInt { UInt(bitPattern: die.addr) }
}

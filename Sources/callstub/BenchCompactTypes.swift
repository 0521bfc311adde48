// `callstub bench`'s compact type info (CTF) line: the CTF exported from glibc's and GSL's
// DWARF (size against the debug file), and opening glibc's CTF and looking functions up
// in it, as a process without debug packages would.

import CTFImport
import CallStub
import Dispatch
import Foundation

struct CompactTypeFigures: Encodable {
    struct Export: Encodable {
        let library: String
        let bytes: Int
        let debugFileBytes: Int
        let functions: Int
        let objects: Int
        let exportMilliseconds: Double
    }

    let exports: [Export]
    /// Opening glibc's CTF (a sidecar file) and the first lookup, in this process.
    let openAndFirstLookupMilliseconds: Double
    /// A lookup and import of a function type after the first round.
    let lookupMilliseconds: Double
    let error: String?

    static let libraries = ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libgsl.so.27"]

    static func measure() -> CompactTypeFigures {
        do {
            var exports: [Export] = []
            var glibc: [UInt8] = []
            for library in libraries {
                let path = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
                let start = DispatchTime.now().uptimeNanoseconds
                let export = try LibraryTypes.export(libraryPath: path)
                let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                let debugBytes = (try? FileManager.default.attributesOfItem(atPath: export.debugFile)[.size] as? Int) ?? 0
                exports.append(Export(
                    library: path, bytes: export.ctf.count, debugFileBytes: debugBytes, functions: export.functions,
                    objects: export.objects, exportMilliseconds: milliseconds))
                if glibc.isEmpty { glibc = export.ctf }
            }
            let sidecar = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-bench-\(getpid()).ctf").path
            try Data(glibc).write(to: URL(fileURLWithPath: sidecar))
            defer { try? FileManager.default.removeItem(atPath: sidecar) }
            var start = DispatchTime.now().uptimeNanoseconds
            let types = try LibraryCompactTypes(libraryPath: libraries[0], sidecar: sidecar)
            _ = try types.function(symbol: "strtol")
            let open = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            for name in DWARFFigures.functions { _ = try types.function(symbol: name) }
            let rounds = 50
            start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<rounds { for name in DWARFFigures.functions { _ = try types.function(symbol: name) } }
            let each = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(rounds * DWARFFigures.functions.count)
            return CompactTypeFigures(exports: exports, openAndFirstLookupMilliseconds: open, lookupMilliseconds: each, error: nil)
        } catch {
            return CompactTypeFigures(exports: [], openAndFirstLookupMilliseconds: 0, lookupMilliseconds: 0, error: "\(error)")
        }
    }

    func lines() -> [String] {
        if let error { return ["CTF: not measured: \(error)"] }
        var lines = ["CTF exported from DWARF (callstub types export):"]
        for export in exports {
            lines.append(String(
                format: "  %@: %d bytes, %.1f%% of the %.2f MB debug file (%d functions, %d data objects), exported in %.0f ms",
                URL(fileURLWithPath: export.library).lastPathComponent, export.bytes,
                100 * Double(export.bytes) / Double(max(export.debugFileBytes, 1)), Double(export.debugFileBytes) / 1e6,
                export.functions, export.objects, export.exportMilliseconds))
        }
        lines.append(String(
            format: "  glibc's CTF: open and first lookup %.2f ms, then %.4f ms per lookup (type import)",
            openAndFirstLookupMilliseconds, lookupMilliseconds))
        return lines
    }
}

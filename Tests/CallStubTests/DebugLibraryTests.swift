// Real libraries with Debian debug packages: glibc (libc6-dbg) and GSL (libgsl-dbg, which
// passes gsl_complex by value). Signatures are read from DWARF, no declaration given, and
// the functions called through both backends.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct DebugLibraryTests {
    @Test(arguments: backends)
    func glibcFromDWARFAlone(_ backend: BindingOptions.Backend) throws {
        let libc = try SharedLibrary("libc.so.6", options: BindingOptions(backend: backend))
        #expect(try libc.function("div").call([.int(-7), .int(2)]).description == "{-3, -1}")
        #expect(try libc.function("strtol").call([.string("-0x1F"), .null, .int(16)]) == .int(-31))
        let snprintf = try libc.function("snprintf")
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 32)
        defer { buffer.deallocate() }
        #expect(try snprintf.call([.pointer(CPointer(buffer)), .uint(32), .string("%d-%s"), .int(7), .string("x")]) == .int(3))
        #expect(String(cString: buffer) == "7-x")
        // qsort: its signature, with the comparator's function-pointer typedef.
        let qsort = try libc.signature("qsort")
        #expect(qsort.header.contains("typedef int (*__compar_fn_t)(const void *, const void *);"))
        // mktime with struct tm, built from the DWARF's own definition.
        let mktime = try libc.function("mktime")
        var time = try mktime.makeRecord("struct tm")
        try time.setField("tm_year", to: .int(100))  // 2000
        try time.setField("tm_mday", to: .int(1))
        try time.setField("tm_isdst", to: .int(-1))
        let memory = UnsafeMutableRawPointer.allocate(byteCount: time.bytes.count, alignment: 8)
        defer { memory.deallocate() }
        time.bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        guard case .int(let seconds) = try mktime.call([.pointer(CPointer(memory))]) else {
            Issue.record("mktime returned no integer")
            return
        }
        #expect(abs(seconds - 946_684_800) <= 14 * 3600, "1 Jan 2000 in some time zone")
        // getpwnam returns a struct passwd * whose fields read back through its DWARF type.
        let getpwnam = try libc.function("getpwnam")
        guard case .pointer(let entry) = try getpwnam.call([.string("root")]), let raw = entry.raw else {
            Issue.record("getpwnam(\"root\") returned NULL")
            return
        }
        let passwd = try getpwnam.makeRecord("struct passwd")
        let root = try CRecordValue(passwd.record, bytes: Array(UnsafeRawBufferPointer(start: raw, count: passwd.bytes.count)))
        #expect(try root.field("pw_uid") == .uint(0))
        guard case .pointer(let name) = try root.field("pw_name"), let text = name.raw else {
            Issue.record("pw_name")
            return
        }
        #expect(String(cString: text.assumingMemoryBound(to: CChar.self)) == "root")
    }

    /// Every function symbol glibc exports: its signature imports from DWARF and reads back
    /// as C, or the function is unverifiable with the reason (assembly, IFUNC, _Float128).
    @Test func everyGlibcFunctionImportsOrSaysWhyNot() throws {
        let listing = try run("/usr/bin/nm", ["-D", "--defined-only", "/lib/x86_64-linux-gnu/libc.so.6"]).output
        let symbols = Set(listing.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count == 3, ["T", "W", "i"].contains(fields[1]) else { return nil }
            return String(fields[2].split(separator: "@")[0])
        })
        let libc = try SharedLibrary("libc.so.6")
        var imported = 0
        var reasons: [String: Int] = [:]
        var failures: [String] = []
        for symbol in symbols.sorted() {
            do {
                _ = try libc.signature(symbol)
                imported += 1
            } catch {
                let text = error.description
                if let reason = text.components(separatedBy: "cannot be checked against DWARF: ").last, text.contains("cannot be checked") {
                    reasons[reason, default: 0] += 1
                } else {
                    failures.append("\(symbol): \(text)")
                }
            }
        }
        print("glibc: \(symbols.count) function symbols, \(imported) imported, unverifiable: \(reasons)")
        #expect(symbols.count > 2000)
        #expect(imported * 10 > symbols.count * 9)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }

    /// IFUNC symbols (libm's `cos` picks `__cos_fma` on a machine with FMA): each one
    /// math.h declares is verified against the DWARF of the implementation its resolver
    /// picks here, or of a declaration of its name, and agrees with the header; cos and
    /// exp bound from DWARF alone give the C library's results.
    @Test func ifuncsAreCheckedThroughTheResolversPick() throws {
        let listing = try run("/usr/bin/nm", ["-D", "--defined-only", "/lib/x86_64-linux-gnu/libm.so.6"]).output
        let ifuncs = Set(listing.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[1] == "i" else { return nil }
            return String(fields[2].split(separator: "@")[0])
        })
        let libm = try SharedLibrary("libm.so.6")
        try libm.declare(including: ["math.h"])
        var verified = 0
        var unverified: [String] = []
        for name in ifuncs.sorted() {
            guard let type = libm.declarations.function(named: name) else { continue }
            switch try libm.check(name, type: type).verification {
            case .verified: verified += 1
            case .unverified(let reason):
                // Only a pick written in assembly (nearbyint's SSE4.1 code) has no C type.
                if !reason.hasSuffix("(the code is written in assembly)") { unverified.append("\(name): \(reason)") }
            }
        }
        print("libm: \(ifuncs.count) IFUNC symbols, \(verified) of those math.h declares verified")
        #expect(verified >= 20 && unverified.isEmpty, "\(unverified)")
        let bare = try SharedLibrary("libm.so.6")
        #expect(try bare.function("cos").call([.double(1)]) == .double(cos(1)))
        #expect(try bare.function("exp").call([.double(1)]) == .double(exp(1)))
        #expect(try bare.signature("cos").foundBy.hasSuffix("(the resolver's pick)"))
    }

    @Test(arguments: backends)
    func gslPassesComplexNumbersByValue(_ backend: BindingOptions.Backend) throws {
        let gsl = try SharedLibrary("libgsl.so.27", options: BindingOptions(backend: backend))
        let add = try gsl.function("gsl_complex_add")
        let a = try CValueSyntax.parse("{{1.5, -2}}", as: add.type("gsl_complex"), scope: add.declarations)
        let b = try CValueSyntax.parse("{{0.5, 4}}", as: add.type("gsl_complex"), scope: add.declarations)
        #expect(try add.call([a, b]).description == "{{2, 2}}")
        let abs = try gsl.function("gsl_complex_abs")
        #expect(try abs.call([try CValueSyntax.parse("{{3, 4}}", as: add.type("gsl_complex"), scope: add.declarations)]) == .double(5))
        let polar = try gsl.function("gsl_complex_polar")
        #expect(try polar.call([.double(2), .double(0)]).description == "{{2, 0}}")
    }
}

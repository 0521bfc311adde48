// The three C libraries link and work: LLVM 19's ORC LLJIT compiles and runs IR,
// libffi prepares a cif and calls libm, libdw reads DWARF the C compiler wrote.

import ABILowering
import CTestSupport
import CTypeModel
import DWARFImport
import FFIBackend
import Foundation
import LLVMBackend
import Testing

@Suite struct BackendSmokeTests {
    @Test func lljitCompilesAndRunsIR() throws {
        let session = try JITSession()
        #expect(session.targetTriple.hasPrefix("x86_64"))
        try session.addModule(ir: """
            define i32 @add2(i32 %a, i32 %b) {
              %sum = add i32 %a, %b
              ret i32 %sum
            }
            """)
        let address = try session.address(of: "add2")
        let add2 = unsafeBitCast(address, to: (@convention(c) (Int32, Int32) -> Int32).self)
        #expect(add2(40, 2) == 42)
        #expect(throws: JITError.symbolNotFound("missing")) { try session.address(of: "missing") }
        #expect(throws: JITError.self) { try session.addModule(ir: "define i32 @broken( {") }
    }

    @Test func ffiPreparesACifAndCallsPow() throws {
        let signature = try ValidatedSignature.validate(
            CFunctionType(result: CQualType(.double), parameters: [CParameter(type: CQualType(.double)), CParameter(type: CQualType(.double))]))
        let interface = try FFICallInterface(signature)
        let pow = try #require(dlsym(dlopen("libm.so.6", RTLD_NOW), "pow"))
        var base = 2.0
        var exponent = 10.0
        var result = 0.0
        withUnsafeMutablePointer(to: &base) { basePointer in
            withUnsafeMutablePointer(to: &exponent) { exponentPointer in
                var arguments: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(basePointer), UnsafeMutableRawPointer(exponentPointer)]
                arguments.withUnsafeMutableBufferPointer { buffer in
                    interface.call(UnsafeRawPointer(pow), arguments: buffer.baseAddress!, result: &result)
                }
            }
        }
        #expect(result == 1024)
        let union = try CRecord(kind: .union, tag: "U", fields: [CField(name: "x", type: CQualType(.int))])
        let takesUnion = try ValidatedSignature.validate(
            CFunctionType(result: CQualType(.void), parameters: [CParameter(type: CQualType(.record(union)))]))
        #expect(throws: FFIError.self) { try FFICallInterface(takesUnion) }
    }

    @Test func libdwReadsCompilerWrittenDWARF() throws {
        let compiler = try #require(CCompiler.installed.first)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callstub-dwarf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("fixture.c")
        let library = directory.appendingPathComponent("libfixture.so")
        try "int add2(int a, int b) { return a + b; }\n".write(to: source, atomically: true, encoding: .utf8)
        let build = try run(compiler.path, ["-g", "-shared", "-fPIC", "-o", library.path, source.path])
        #expect(build.status == 0, "\(build.output)")
        let info = try ELFDebugInfo(path: library.path)
        #expect(info.hasDWARF)
        #expect(info.compilationUnitNames().contains { $0.hasSuffix("fixture.c") })
        #expect(throws: DWARFImportError.notELF(path: source.path)) { try ELFDebugInfo(path: source.path) }
        #expect(throws: DWARFImportError.self) { try ELFDebugInfo(path: "/nonexistent/libnothing.so") }
    }
}

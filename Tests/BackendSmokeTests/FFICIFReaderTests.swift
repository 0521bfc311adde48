// A prepared ffi_cif read back as C types (FFICIFReader, for the libffi drop-in and cif
// checks) lowers exactly as the signature it was made from; damaged cifs are errors.

import ABILowering
import CDeclParser
import CTestSupport
import CTypeModel
import FFIBackend
import Testing

@Suite struct FFICIFReaderTests {
    /// `R f(R, int, double, R *)` for each of 1,500 random records libffi can express, and every scalar.
    @Test func cifsReadBackLowerTheSame() throws {
        let parsed = try CDeclParser.parse(RandomRecords.header(count: 1_500, seed: 0x51F_C1F))
        var types: [CQualType] = ["char", "unsigned char", "short", "unsigned short", "int", "unsigned", "long", "unsigned long",
            "float", "double", "long double", "float _Complex", "double _Complex", "void *", "_Bool"].map {
            try! CDeclParser.parseTypeName($0)
        }
        for case .record(let record) in parsed.declarations { types.append(CQualType(.record(record))) }
        var compared = 0
        var refused = 0
        for type in types {
            let function = CFunctionType(
                result: type,
                parameters: [type, CQualType(.integer(.int)), CQualType(.floating(.double)), CQualType(.pointer(type))]
                    .map { CParameter(type: $0) })
            guard let signature = try? ValidatedSignature.validate(function),
                let interface = try? FFICallInterface(signature, forClosure: true)
            else {
                refused += 1  // what libffi cannot express (unions, bit-fields, packed, __int128)
                continue
            }
            let read = try FFICIFReader.functionType(ofCIF: interface.preparedCIF)
            let again = try ValidatedSignature.validate(read)
            #expect(
                X86_64SysV.plan(again).shape == X86_64SysV.plan(signature).shape,
                "\(type): \(CPrinter().print(.function(name: "f", type: function)))")
            #expect(try read.result.layout().size == type.layout().size, "\(type)")
            compared += 1
        }
        #expect(compared >= 150, "compared \(compared), refused \(refused)")
    }
}

extension FFICIFReaderTests {
    /// Damaged cifs (what a C caller could hand the drop-in) are errors naming the place.
    @Test func damagedCIFsAreErrors() throws {
        let signature = try ValidatedSignature.validate(
            try #require(try CDeclParser.parse("struct P { double x; int y; }; struct P f(struct P, int);").scope.function(named: "f")))
        let interface = try FFICallInterface(signature, forClosure: true)
        // ffi_cif on x86-64: abi (int), nargs (unsigned), arg_types, rtype, bytes, flags.
        let size = 32
        // (byte offset, value, width in bytes, expected message)
        let damages: [(Int, UInt64, Int, String)] = [
            (0, 77, 4, "FFI_DEFAULT_ABI"), (8, 0, 8, "no argument types"),
            (16, 0, 8, "the ffi_type pointer is NULL"), (4, 1 << 20, 4, "implausibly many"),
        ]
        for (offset, value, width, message) in damages {
            let copy = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            defer { copy.deallocate() }
            copy.copyMemory(from: interface.preparedCIF, byteCount: size)
            if width == 4 {
                copy.storeBytes(of: UInt32(value), toByteOffset: offset, as: UInt32.self)
            } else {
                copy.storeBytes(of: value, toByteOffset: offset, as: UInt64.self)
            }
            #expect {
                try FFICIFReader.functionType(ofCIF: copy)
            } throws: { error in
                "\(error)".contains(message)
            }
        }
        // A struct type whose element is itself: a cycle, ended by the depth limit.
        let loop = UnsafeMutableRawPointer.allocate(byteCount: 24, alignment: 16)
        let elements = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 2)
        defer { loop.deallocate(); elements.deallocate() }
        elements[0] = loop
        elements[1] = nil
        loop.storeBytes(of: 8, toByteOffset: 0, as: Int.self)  // size
        loop.storeBytes(of: UInt16(8), toByteOffset: 8, as: UInt16.self)  // alignment
        loop.storeBytes(of: UInt16(13), toByteOffset: 10, as: UInt16.self)  // FFI_TYPE_STRUCT
        loop.storeBytes(of: UnsafeMutableRawPointer(elements), toByteOffset: 16, as: UnsafeMutableRawPointer.self)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { copy.deallocate() }
        copy.copyMemory(from: interface.preparedCIF, byteCount: size)
        copy.storeBytes(of: loop, toByteOffset: 16, as: UnsafeMutableRawPointer.self)  // rtype
        #expect {
            try FFICIFReader.functionType(ofCIF: copy)
        } throws: { error in
            "\(error)".contains("nested more than")
        }
    }
}

extension FFICIFReaderTests {
    /// A record gcc and clang pass differently is refused by libffi's backend as the JIT
    /// refuses it: a small struct ending in a flexible array member (gcc: registers, clang:
    /// memory); a large one, passed in memory by both, is taken.
    @Test func recordsTheCompilersPassDifferentlyAreRefused() throws {
        let scope = try CDeclParser.parse(
            "struct Small { unsigned a; short f[]; }; struct Large { long a, b, c; short f[]; };").scope
        let small = try ValidatedSignature.validate(
            CFunctionType(result: CQualType(.integer(.int)), parameters: [CParameter(type: CQualType(.record(try #require(scope.record(tagged: "Small")))))]))
        #expect {
            try FFICallInterface(small)
        } throws: { error in
            "\(error)".contains("gcc and clang pass it differently") && "\(error)".contains("flexible array member")
        }
        let large = try ValidatedSignature.validate(
            CFunctionType(result: CQualType(.integer(.int)), parameters: [CParameter(type: CQualType(.record(try #require(scope.record(tagged: "Large")))))]))
        _ = try FFICallInterface(large)
    }
}

// Helpers for the calling tests: the fixture library opened with its header as the
// declaration set, and raw calls made with buffers the test lays out itself (an encoding
// independent of CallStub's own value conversion).

import CTestSupport
import CallStub
import Testing

/// The backends every calling test runs on: libffi and the JIT must agree with C. Where
/// executable memory is denied (scripts/test's second run), the automatic backend instead
/// of the JIT: it must fall back to libffi and agree all the same.
let backends: [BindingOptions.Backend] = [.libffi, fastBackend]

/// The JIT, or where executable memory is denied the automatic backend.
let fastBackend: BindingOptions.Backend = DeniedExecutableMemory.active ? .auto : .jit

/// Whether bindings and callbacks of `backend` are served by libffi in this process.
func goesThroughLibffi(_ backend: BindingOptions.Backend) -> Bool {
    backend == .libffi || DeniedExecutableMemory.active
}

/// The fixture library of one compiler, with the fixture header declared, binding
/// through `backend`.
func openFixture(_ fixture: FixtureLibrary, _ backend: BindingOptions.Backend = .auto) throws -> SharedLibrary {
    let library = try SharedLibrary(fixture.path, options: BindingOptions(backend: backend))
    try library.declare(FixtureLibrary.header)
    return library
}

/// Raw call: each argument is given as its bytes; returns the result buffer.
func rawCall(_ function: BoundFunction, _ arguments: [[UInt8]], variadicTypes: [CQualType]? = nil) throws -> [UInt8] {
    let buffers = arguments.map { bytes -> UnsafeMutableRawPointer in
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        buffer.copyMemory(from: bytes, byteCount: bytes.count)
        return buffer
    }
    defer { for buffer in buffers { buffer.deallocate() } }
    let pointers: [UnsafeMutableRawPointer?] = buffers
    var result = [UInt8](repeating: 0xA5, count: max(function.resultBufferSize, 64) + 16)
    try pointers.withUnsafeBufferPointer { argumentArray in
        try result.withUnsafeMutableBytes { resultBytes in
            if let variadicTypes {
                try function.invoke(
                    arguments: argumentArray.baseAddress!, result: resultBytes.baseAddress!, variadicTypes: variadicTypes)
            } else {
                function.invoke(arguments: argumentArray.baseAddress!, result: resultBytes.baseAddress!)
            }
        }
        // The argument array must come back as it was given.
        #expect(Array(argumentArray) == pointers)
    }
    return result
}

/// The bytes of a Swift value.
func bytes<T>(of value: T) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}

/// A value read from the front of a result buffer.
func load<T: BitwiseCopyable>(_ type: T.Type, from buffer: [UInt8]) -> T {
    buffer.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
}

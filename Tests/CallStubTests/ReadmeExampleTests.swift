// The README's examples, run as written.

import CallStub
import Testing

@Suite struct ReadmeExampleTests {
    @Test func qsortWithASwiftClosure() throws {
        let libc = try SharedLibrary("libc.so.6")
        let qsort = try libc.function("qsort")  // signature from glibc's debug info
        let compare = try Callback.typed(
            "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self
        ) { a, b in
            let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
            return x < y ? -1 : x > y ? 1 : 0
        }
        var numbers: [Int32] = [5, 3, 9, 1]
        try numbers.withUnsafeMutableBytes { buffer in
            _ = try qsort.call([.pointer(CPointer(buffer.baseAddress)), .uint(4), .uint(4), .pointer(compare.pointer)])
        }
        #expect(numbers == [1, 3, 5, 9])
    }
}

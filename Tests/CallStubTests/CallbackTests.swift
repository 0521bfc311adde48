// Callbacks: C calling Swift closures through LLVM thunks and libffi closures.

import CTestSupport
import CallStub
import Foundation
import Testing

@Suite struct CallbackTests {
    @Test(arguments: backends)
    func qsortWithADynamicComparator(_ backend: BindingOptions.Backend) throws {
        let libc = try SharedLibrary("libc.so.6")
        let qsort = try libc.function("qsort", declaration: "void qsort(void *, size_t, size_t, int (*)(const void *, const void *))")
        let compare = try Callback("int (*)(const void *, const void *)", backend: backend) { values in
            guard case .pointer(let a) = values[0], case .pointer(let b) = values[1] else { return .int(0) }
            let (x, y) = (a.raw!.load(as: Int32.self), b.raw!.load(as: Int32.self))
            return .int(x < y ? -1 : x > y ? 1 : 0)
        }
        #expect(compare.backend == (backend == .libffi ? .libffi : .jit))
        var numbers: [Int32] = (0..<1000).map { Int32(($0 * 7919) % 1000) - 500 }
        try numbers.withUnsafeMutableBufferPointer { buffer in
            _ = try qsort.call([.pointer(CPointer(buffer.baseAddress)), .uint(UInt64(buffer.count)), .uint(4), .pointer(compare.pointer)])
        }
        #expect(numbers == numbers.sorted())
    }
}

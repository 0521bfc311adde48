// The README's Swift blocks, each verbatim between `// README block N` and `// end`
// (Tests/CallStubTests/ReadmeExampleTests runs them in the debug build too).

import CallStub
import Foundation

func callingStyles() throws {
    // README block 1
    let libm = try SharedLibrary("libm.so.6")                 // dlopen by name or path
    let pow = try libm.function("pow", declaration: "double pow(double, double)")

    // Typed: Swift types checked once; then no checks and no heap allocation per call.
    let typedPow = try pow.typed((Double, Double).self, returning: Double.self)
    typedPow(2, 10)                                              // 1024.0

    // Dynamic, for interpreters: kinds and ranges checked on every call.
    try pow.call([.double(2), .int(10)])                         // CValue.double(1024)

    // Raw: libffi's avalue layout (the arguments' addresses), buffers managed by the caller.
    var (base, exponent, result) = (2.0, 10.0, 0.0)
    withUnsafeMutablePointer(to: &base) { base in
        withUnsafeMutablePointer(to: &exponent) { exponent in
            let argv: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(base), UnsafeMutableRawPointer(exponent)]
            pow.invoke(arguments: argv, result: &result)                // result == 1024
        }
    }

    // Records by value, built from Swift and returned by calls.
    let libc = try SharedLibrary("libc.so.6")
    try libc.declare("typedef struct { int quot; int rem; } div_t;")
    let div = try libc.function("div", declaration: "div_t div(int, int)")
    if case .record(let qr) = try div.call([.int(7), .int(2)]) {
        try qr.field("rem")                                      // CValue.int(1)
    }
    // end
    let dynamic = try pow.call([.double(2), .int(10)])
    try check(typedPow(2, 10) == 1024 && dynamic == .double(1024) && result == 1024, "pow: not 1024")
    guard case .record(let quotient) = try div.call([.int(7), .int(2)]) else { throw ExampleFailure(description: "div: no record") }
    let (rem, quot) = (try quotient.field("rem"), try quotient.field("quot"))
    try check(rem == .int(1) && quot == .int(3), "div: \(quotient)")
}

func qsortWithASwiftClosure() throws {
    let libc = try SharedLibrary("libc.so.6")
    // README block 2
    let qsort = try libc.function("qsort")            // signature from glibc's debug info
    let compare = try Callback.typed(
        "int (*)(const void *, const void *)", (UnsafeRawPointer, UnsafeRawPointer).self, returning: Int32.self
    ) { a, b in
        let (x, y) = (a.load(as: Int32.self), b.load(as: Int32.self))
        return x < y ? -1 : x > y ? 1 : 0
    }
    var numbers: [Int32] = [5, 3, 9, 1]
    try numbers.withUnsafeMutableBytes { buffer in
        _ = try qsort.call([.pointer(CPointer(buffer.baseAddress)), .uint(4), .uint(4), .callback(compare)])
    }
    // numbers == [1, 3, 5, 9]
    // end
    try check(numbers == [1, 3, 5, 9], "qsort: \(numbers)")
}

func parserOnItsOwn() throws {
    // README block 3
    let header = try CDeclParser.parse("""
        typedef struct { int quot; int rem; } div_t;
        div_t div(int numerator, int denominator);
        """)
    let divType = header.scope.function(named: "div")!         // a CFunctionType
    let layout = try divType.result.layout()                    // size 8, alignment 4
    print(CPrinter().print(header.declarations))                // canonical C

    // Later parses can use earlier declarations, like a small header.
    let more = try CDeclParser.parse("div_t ldiv_like(div_t);", scope: header.scope)
    // end
    try check(layout.size == 8 && layout.alignment == 4 && more.scope.function(named: "ldiv_like") != nil, "div_t: \(layout)")
}

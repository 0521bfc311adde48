// Memory over many bind/call/free and callback make/call/free cycles (issue 19, item 5):
// the resident size after each tenth of the cycles, so that a leak shows as a slope. The
// same shape every time: a binding finds its stub compiled (StubCompiler's idle modules),
// a callback takes a freed trampoline slot.

import ArgumentParser
import CallStub
import Foundation

struct MemoryCycleFigures: Encodable {
    let cycles: Int
    /// RSS in bytes before the cycles and after each tenth of them: binding `add2` through
    /// the JIT, calling it dynamically, dropping the handle.
    let bindingResidentBytes: [Int]
    /// The same for a typed JIT callback `int (*)(int)` made, called from C, freed.
    let callbackResidentBytes: [Int]
    let bindingMicroseconds: Double
    let callbackMicroseconds: Double

    static func measure(library path: String, cycles: Int) throws -> MemoryCycleFigures {
        let library = try SharedLibrary(path, options: BindingOptions(backend: .jit))
        try library.declare(BenchFixtures.header)
        let arguments: [CValue] = [.int(40), .int(2)]
        let tenth = max(cycles / 10, 1)
        // Warm-up: the stub compiled, the first slots and caches made.
        for _ in 0..<1_000 { _ = try library.function("add2").call(arguments) }

        var binding = [CompileFigures.residentBytes()]
        var start = DispatchTime.now().uptimeNanoseconds
        for cycle in 1...cycles {
            let add2 = try library.function("add2")
            guard try add2.call(arguments) == .int(42) else { throw ValidationError("add2 returned a wrong sum") }
            if cycle % tenth == 0 { binding.append(CompileFigures.residentBytes()) }
        }
        let bindingMicroseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(cycles)

        typealias IntCallback = @convention(c) (Int32) -> Int32
        func makeCallback() throws -> Callback {
            try Callback.typed("int (*)(int)", Int32.self, returning: Int32.self, backend: .jit) { $0 &+ 1 }
        }
        for _ in 0..<1_000 { _ = try makeCallback() }
        var callback = [CompileFigures.residentBytes()]
        start = DispatchTime.now().uptimeNanoseconds
        for cycle in 1...cycles {
            let made = try makeCallback()
            let answer = made.withPointer { unsafeBitCast($0.raw!, to: IntCallback.self)(41) }
            guard answer == 42 else { throw ValidationError("the callback returned \(answer)") }
            if cycle % tenth == 0 { callback.append(CompileFigures.residentBytes()) }
        }
        let callbackMicroseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(cycles)
        return MemoryCycleFigures(
            cycles: cycles, bindingResidentBytes: binding, callbackResidentBytes: callback,
            bindingMicroseconds: bindingMicroseconds, callbackMicroseconds: callbackMicroseconds)
    }

    func lines() -> [String] {
        func row(_ name: String, _ resident: [Int], _ microseconds: Double) -> String {
            let megabytes = resident.map { String(format: "%.1f", Double($0) / 1e6) }.joined(separator: " ")
            let growth = Double(resident.last! - resident[1]) / Double(cycles - cycles / 10)
            return String(
                format: "  %@: %.2f µs a cycle; RSS MB at 0, 10%%, …, 100%%: %@ (%+.2f bytes a cycle after the first tenth)",
                name, microseconds, megabytes, growth)
        }
        return [
            "memory over \(cycles) cycles of the same shape:",
            row("JIT binding of add2 made, called, dropped", bindingResidentBytes, bindingMicroseconds),
            row("JIT callback int(int) made, called from C, freed", callbackResidentBytes, callbackMicroseconds),
        ]
    }
}

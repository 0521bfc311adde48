// Oracle work (compiling probes, running processes) spread over the processors.

import Foundation
import Locks

/// `transform` applied to every element, as many at once as GCD runs (one per
/// processor); the results come back in the elements' order.
public func concurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], _ transform: @Sendable (Element) -> Result
) -> [Result] {
    let results = Lock<[Result?]>(Array(repeating: nil, count: elements.count))
    DispatchQueue.concurrentPerform(iterations: elements.count) { index in
        let value = transform(elements[index])
        results.withLock { $0[index] = value }
    }
    return results.withLock { $0.map { $0! } }
}

/// `body(i)` for i in 0..<threads, each on a thread of its own, all released at once (a
/// race test needs them overlapping, which GCD's pool does not promise on a busy machine);
/// the results come back in order.
public func onThreadsAtOnce<Result: Sendable>(_ threads: Int, _ body: @escaping @Sendable (Int) -> Result) -> [Result] {
    let results = Lock<[Result?]>(Array(repeating: nil, count: threads))
    let ready = DispatchGroup()
    let done = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<threads {
        ready.enter()
        done.enter()
        Thread.detachNewThread {
            ready.leave()
            start.wait()
            let value = body(index)
            results.withLock { $0[index] = value }
            done.leave()
        }
    }
    ready.wait()
    for _ in 0..<threads { start.signal() }
    done.wait()
    return results.withLock { $0.map { $0! } }
}

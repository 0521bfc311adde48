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

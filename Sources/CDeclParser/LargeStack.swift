// The parser recurses once per nesting level; its depth is bounded, but the stack a
// caller's thread offers is not known (512 KB on some worker threads, and debug-build
// frames are large). Parsing therefore runs on a thread of its own with a stack big
// enough for the deepest input the depth limit admits, so no input can overflow it.

import Glibc

/// Runs `body` on a new thread with a stack of `stackSize` bytes and returns its result.
/// The caller waits; the stack's pages are only touched as far as the recursion goes.
func withLargeStack<Result>(stackSize: Int = 64 << 20, _ body: () -> Result) -> Result {
    var result: Result?
    withoutActuallyEscaping(body) { escapable in
        let task = StackTask { result = escapable() }
        let context = Unmanaged.passRetained(task).toOpaque()
        defer { Unmanaged<StackTask>.fromOpaque(context).release() }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { raw in
            Unmanaged<StackTask>.fromOpaque(raw!).takeUnretainedValue().body()
            return nil
        }, context)
        if created == 0 {
            pthread_join(thread, nil)
        } else {
            task.body()  // no thread could be made: run here, within the caller's stack
        }
    }
    return result!
}

/// The work handed to the parsing thread. The caller waits for the thread to finish
/// before it reads what the work wrote, so nothing is accessed concurrently.
private final class StackTask: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

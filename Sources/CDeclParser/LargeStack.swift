// The parser recurses once per nesting level; its depth is bounded (96 levels), but the
// stack a caller's thread offers is not known (512 KB on some worker threads, and
// debug-build frames are large). A parse runs on the caller's thread when its stack has
// room for as many levels as the input has characters (each level takes one at least;
// 32 KB a level, on top of 512 KB, and the parser's deep-nesting tests pass in a debug
// build, whatever thread runs them); otherwise on a thread with a 64 MB
// stack, made once and kept (a thread per parse cost more than most parses), whose
// callers take turns: handing a parse to another thread and back costs more than most
// parses too, so the caller's own stack is the usual place.

import Glibc

/// Runs `body`, a parse of `inputLength` bytes, where the stack has room for its deepest
/// recursion: on the caller's thread, or on the large-stack thread (the caller waits).
func withLargeStack<Result>(inputLength: Int, _ body: () -> Result) -> Result {
    let needed = 512 << 10 + min(inputLength, 96) * (32 << 10)
    if let room = CallerStack.room(), room > needed { return body() }
    var result: Result?
    withoutActuallyEscaping(body) { escapable in
        LargeStackThread.shared.run { result = escapable() }
    }
    return result!
}

/// How much stack the calling thread has left, from its bounds (read once per thread).
private enum CallerStack {
    /// The lowest usable address of each thread's stack.
    static let lowerBound: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    /// glibc's pthread_getattr_np (a GNU extension Swift's Glibc module does not declare).
    static let getAttributes: (@convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> Int32)? =
        dlsym(nil, "pthread_getattr_np").map { unsafeBitCast($0, to: (@convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> Int32).self) }

    /// Bytes between here and the stack's guard page; nil when the bounds are unknown.
    static func room() -> Int? {
        var low = UInt(bitPattern: pthread_getspecific(lowerBound))
        if low == 0 {
            guard let getAttributes else { return nil }
            var attributes = pthread_attr_t()
            guard getAttributes(pthread_self(), &attributes) == 0 else { return nil }
            defer { pthread_attr_destroy(&attributes) }
            var address: UnsafeMutableRawPointer?
            var size = 0
            var guardSize = 0
            guard pthread_attr_getstack(&attributes, &address, &size) == 0, let address else { return nil }
            pthread_attr_getguardsize(&attributes, &guardSize)
            low = UInt(bitPattern: address) + UInt(guardSize)
            pthread_setspecific(lowerBound, UnsafeRawPointer(bitPattern: low))
        }
        var marker = 0
        let here = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        return here > low ? Int(here - low) : 0
    }
}

/// One thread with a 64 MB stack (its pages are only touched as far as a recursion goes)
/// serving one piece of work at a time.
private final class LargeStackThread: @unchecked Sendable {
    static let shared = LargeStackThread()
    static let stackSize = 64 << 20
    /// Set on the thread itself.
    static let onThread: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    // `mutex` guards `work`, `done` and `thread`; callers queue on `turn`. (Allocated: a
    // pthread object must not move, and `&` on a stored property may pass a copy.)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let turn = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let posted = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var work: (() -> Void)?
    private var done = false
    private var thread: pthread_t?

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(turn, nil)
        pthread_cond_init(posted, nil)
        pthread_cond_init(finished, nil)
    }

    /// Runs `body` on the thread (started on first use); when no thread can be made, on
    /// the caller's stack.
    func run(_ body: @escaping () -> Void) {
        if pthread_getspecific(Self.onThread) != nil {
            body()
            return
        }
        pthread_mutex_lock(turn)
        defer { pthread_mutex_unlock(turn) }
        pthread_mutex_lock(mutex)
        if thread == nil && !start() {
            pthread_mutex_unlock(mutex)
            body()
            return
        }
        work = body
        done = false
        pthread_cond_signal(posted)
        while !done { pthread_cond_wait(finished, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Starts the thread (with `mutex` held); false when it cannot be made.
    private func start() -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, Self.stackSize)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var created = pthread_t()
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard pthread_create(&created, &attributes, { raw in
            Unmanaged<LargeStackThread>.fromOpaque(raw!).takeUnretainedValue().serve()
        }, context) == 0 else { return false }
        thread = created
        return true
    }

    private func serve() -> Never {
        pthread_setspecific(Self.onThread, UnsafeRawPointer(bitPattern: 1))
        pthread_mutex_lock(mutex)
        while true {
            while work == nil { pthread_cond_wait(posted, mutex) }
            var body = work
            work = nil
            pthread_mutex_unlock(mutex)
            body?()
            // Dropped before the caller hears it is done: the work refers to the caller's
            // frame (withoutActuallyEscaping), which is gone once the caller returns.
            body = nil
            pthread_mutex_lock(mutex)
            done = true
            pthread_cond_signal(finished)
        }
    }
}

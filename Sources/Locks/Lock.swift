// The lock every module uses. Ordinarily it is Swift's `Synchronization.Mutex` (a futex
// word, no allocation). ThreadSanitizer does not see futex hand-offs, so under TSan a
// Mutex reports races on every value it protects (docs/robustness.md shows a 15-line
// program without CallStub doing so); builds made with `-D CALLSTUB_TSAN_LOCKS`
// (`scripts/test --sanitize=thread` passes it) use a pthread mutex instead, which TSan
// models, so that what it reports is real.

#if CALLSTUB_TSAN_LOCKS
import Glibc
#else
import Synchronization
#endif

/// A value that is read and written only while a lock is held.
public struct Lock<Value: ~Copyable>: ~Copyable, @unchecked Sendable {
    #if CALLSTUB_TSAN_LOCKS
    @usableFromInline let storage: PthreadLocked<Value>
    #else
    @usableFromInline let mutex: Mutex<Value>
    #endif

    /// A lock protecting `initialValue`. Inlinable for the same reason as `withLock`: made
    /// unspecialised, each lock's first creation instantiated `Mutex<Value>`'s metadata at
    /// run time (~11,000 instructions on a new process's first cached stub).
    @inlinable
    public init(_ initialValue: consuming sending Value) {
        #if CALLSTUB_TSAN_LOCKS
        storage = PthreadLocked(initialValue)
        #else
        mutex = Mutex(initialValue)
        #endif
    }

    /// Runs `body` with the value while holding the lock; other threads wait. Inlinable,
    /// so that each use is specialised where it is written: an unspecialised call looked
    /// up the generic metadata of its closure types on every call (~280 instructions).
    @inlinable
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        #if CALLSTUB_TSAN_LOCKS
        try storage.withLock(body)
        #else
        try mutex.withLock(body)
        #endif
    }
}

#if CALLSTUB_TSAN_LOCKS
/// The value and a heap-allocated pthread mutex (a pthread mutex must not move).
@usableFromInline
final class PthreadLocked<Value: ~Copyable>: @unchecked Sendable {
    @usableFromInline let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    @usableFromInline var value: Value

    @usableFromInline
    init(_ value: consuming Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable
    func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#endif

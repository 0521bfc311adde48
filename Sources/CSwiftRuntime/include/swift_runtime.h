// Swift runtime entry points the optimizer must not see as such (Sources/CallStub/CallTarget.swift).
#ifndef CALLSTUB_SWIFT_RUNTIME_H
#define CALLSTUB_SWIFT_RUNTIME_H

/// Retains a Swift object whose only strong reference the calling thread holds, with the
/// runtime's non-atomic increment: no other thread can touch its reference count then, so
/// the locked add (~4.7 ns here) buys nothing. Out of line: declared to Swift as
/// `swift_nonatomic_retain` itself, the call was merged into an atomic `swift_retain`.
void *callstub_retain_uniquely_held(void *object);

#endif

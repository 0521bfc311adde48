// A call the Swift optimizer cannot rewrite (include/swift_runtime.h).
#include "swift_runtime.h"

// The Swift runtime's own entry point (swift/Runtime/HeapObject.h), in libswiftCore.
extern void *swift_nonatomic_retain(void *object);

void *callstub_retain_uniquely_held(void *object) { return swift_nonatomic_retain(object); }

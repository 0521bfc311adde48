// Register calls of variadic functions (Sources/CallStub/RegisterCall.swift).
#ifndef CALLSTUB_REGISTER_CALL_H
#define CALLSTUB_REGISTER_CALL_H

#include <stdint.h>

#include "register_call.generated.h"  // prototyped functions

// A variadic function called with every integer argument register filled and `vectors`
// doubles: C's own variadic call sets %al to the number of vector registers used (System
// V x86-64 psABI 3.5.7), which a Swift call cannot. The six integer words are passed
// whether the function takes them or not: a callee reads no register it has no argument
// for. Inline, so that the switch folds once `vectors` is a constant at the Swift caller.
typedef uint64_t (*callstub_variadic_integer_result)(uint64_t, ...);
typedef double (*callstub_variadic_vector_result)(uint64_t, ...);

static inline __attribute__((always_inline)) uint64_t callstub_variadic_call_integer(
    const void *function, int vectors, uint64_t g0, uint64_t g1, uint64_t g2, uint64_t g3, uint64_t g4, uint64_t g5, double v0, double v1, double v2, double v3, double v4, double v5, double v6, double v7) {
    switch (vectors) {
    case 0: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5);
    case 1: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0);
    case 2: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1);
    case 3: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2);
    case 4: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3);
    case 5: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4);
    case 6: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5);
    case 7: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6);
    default: return ((callstub_variadic_integer_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6, v7);
    }
}

static inline __attribute__((always_inline)) double callstub_variadic_call_vector(
    const void *function, int vectors, uint64_t g0, uint64_t g1, uint64_t g2, uint64_t g3, uint64_t g4, uint64_t g5, double v0, double v1, double v2, double v3, double v4, double v5, double v6, double v7) {
    switch (vectors) {
    case 0: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5);
    case 1: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0);
    case 2: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1);
    case 3: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2);
    case 4: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3);
    case 5: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4);
    case 6: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5);
    case 7: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6);
    default: return ((callstub_variadic_vector_result)function)(g0, g1, g2, g3, g4, g5, v0, v1, v2, v3, v4, v5, v6, v7);
    }
}

#endif

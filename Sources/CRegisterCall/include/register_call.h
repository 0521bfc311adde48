// Register calls of typed handles (Sources/CallStub/RegisterCall.swift): the C function
// types, one per count of INTEGER and SSE arguments, are generated
// (scripts/generate-typed-functions.py). Prototyped and variadic functions take the same
// call: the types are variadic, so C sets %al (System V x86-64 psABI 3.5.7) on every call.
#ifndef CALLSTUB_REGISTER_CALL_H
#define CALLSTUB_REGISTER_CALL_H

#include "register_call.generated.h"

#endif

// The register calls are inline functions of include/register_call.generated.h
// (scripts/generate-typed-functions.py); a C target needs a source file of its own.
#include "register_call.generated.h"

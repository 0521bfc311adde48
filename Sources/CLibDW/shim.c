// Intentionally small: the C target needs one translation unit; helpers for libdw
// macros that Swift cannot import go here.
#include "CLibDW.h"

// Wrappers for LLVM's static-inline initialisers, which Swift cannot call directly.
#include "CLLVM.h"

int CLLVM_InitializeNativeTarget(void) {
    if (LLVMInitializeNativeTarget()) return 1;
    if (LLVMInitializeNativeAsmPrinter()) return 1;
    if (LLVMInitializeNativeAsmParser()) return 1;
    return 0;
}

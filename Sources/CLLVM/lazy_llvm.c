// libLLVM loaded on first use, not at process start (issue 19): CallStub does not link
// libLLVM. Each LLVM C function it calls is defined here as a hidden two-instruction
// forwarder (`jmp *address(%rip)`) through an address that CLLVM_Load fills in with
// dlsym, after dlopen of libLLVM. A program that calls only through libffi never maps the
// library (10-16 ms and 36-49 MB of start-up otherwise). Before CLLVM_Load succeeds every
// address is `called_before_load`, which stops the program: that is a bug in CallStub
// (every use of LLVM loads it first, LLVMBackend/LLVMLibrary.swift).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "CLLVM.h"
#include "llvm/Config/llvm-config.h"

// The LLVM C functions CallStub calls (with the target initialisers the static inline
// LLVMInitializeNative* of llvm-c/Target.h call). A function missing here is a link error.
#define CALLSTUB_LLVM_FUNCTIONS(F) \
    F(LLVMAddAttributeAtIndex) F(LLVMAddCallSiteAttribute) F(LLVMAddFunction) \
    F(LLVMAppendBasicBlockInContext) F(LLVMArrayType2) F(LLVMBuildAlloca) F(LLVMBuildCall2) \
    F(LLVMBuildExtractValue) F(LLVMBuildInBoundsGEP2) F(LLVMBuildInsertValue) F(LLVMBuildLoad2) \
    F(LLVMBuildRet) F(LLVMBuildRetVoid) F(LLVMBuildSExt) F(LLVMBuildStore) F(LLVMBuildZExt) \
    F(LLVMConstInt) F(LLVMConstIntToPtr) F(LLVMContextCreate) F(LLVMContextDispose) \
    F(LLVMCreateBuilderInContext) F(LLVMCreateEnumAttribute) F(LLVMCreateMemoryBufferWithMemoryRangeCopy) \
    F(LLVMCreateTargetMachine) F(LLVMCreateTypeAttribute) F(LLVMDisposeBuilder) F(LLVMDisposeErrorMessage) \
    F(LLVMDisposeMessage) F(LLVMDisposeModule) F(LLVMDoubleTypeInContext) F(LLVMFloatTypeInContext) \
    F(LLVMFunctionType) F(LLVMGetDefaultTargetTriple) F(LLVMGetEnumAttributeKindForName) \
    F(LLVMGetErrorMessage) F(LLVMGetParam) \
    F(LLVMGetTargetFromTriple) F(LLVMGetUndef) F(LLVMIntTypeInContext) F(LLVMModuleCreateWithNameInContext) \
    F(LLVMOrcCreateLLJIT) F(LLVMOrcCreateLLJITBuilder) F(LLVMOrcCreateNewThreadSafeContext) \
    F(LLVMOrcCreateNewThreadSafeModule) F(LLVMOrcDisposeLLJIT) F(LLVMOrcDisposeThreadSafeContext) \
    F(LLVMOrcDisposeThreadSafeModule) F(LLVMOrcJITDylibCreateResourceTracker) \
    F(LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine) F(LLVMOrcLLJITAddLLVMIRModule) \
    F(LLVMOrcLLJITAddLLVMIRModuleWithRT) F(LLVMOrcLLJITBuilderSetJITTargetMachineBuilder) \
    F(LLVMOrcLLJITGetDataLayoutStr) F(LLVMOrcLLJITGetMainJITDylib) F(LLVMOrcLLJITGetTripleString) \
    F(LLVMOrcLLJITLookup) F(LLVMOrcReleaseResourceTracker) F(LLVMOrcResourceTrackerRemove) \
    F(LLVMOrcThreadSafeContextGetContext) F(LLVMParseIRInContext) F(LLVMPointerTypeInContext) \
    F(LLVMPositionBuilderAtEnd) F(LLVMPrintModuleToString) F(LLVMSetAlignment) F(LLVMSetInstructionCallConv) \
    F(LLVMStructTypeInContext) F(LLVMVectorType) F(LLVMVerifyModule) F(LLVMVoidTypeInContext) \
    F(LLVMX86FP80TypeInContext) F(LLVMOrcLLJITGetObjTransformLayer) F(LLVMOrcObjectTransformLayerSetTransform) \
    F(LLVMOrcLLJITGetExecutionSession) F(LLVMOrcExecutionSessionSetErrorReporter) \
    F(LLVMGetBufferStart) F(LLVMGetBufferSize) F(LLVMInitializeX86TargetInfo) F(LLVMInitializeX86Target) \
    F(LLVMInitializeX86TargetMC) F(LLVMInitializeX86AsmPrinter) F(LLVMInitializeX86AsmParser)

static void called_before_load(void) {
    fputs("CallStub: an LLVM function was called before libLLVM was loaded (a bug in CallStub)\n", stderr);
    abort();
}

// The addresses the forwarders jump through, and the forwarders (x86-64 SysV: a jump
// leaves every argument register and the stack as the caller set them).
#define DEFINE_FORWARDER(name) \
    __attribute__((visibility("hidden"), used)) void *callstub_llvm_##name = (void *)called_before_load; \
    __asm__(".text\n.globl " #name "\n.hidden " #name "\n.type " #name ", @function\n.p2align 4\n" #name \
            ":\n\tjmp *callstub_llvm_" #name "(%rip)\n.size " #name ", .-" #name "\n");
CALLSTUB_LLVM_FUNCTIONS(DEFINE_FORWARDER)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_failure[600];
static int loaded;

/// The library: $CALLSTUB_LLVM_LIBRARY if set (a path or a name), else LLVM 19's soname,
/// else the development link name.
static void load(void) {
    const char *chosen = getenv("CALLSTUB_LLVM_LIBRARY");
    const char *candidates[] = {chosen ? chosen : "libLLVM.so.19.1", chosen ? NULL : "libLLVM-19.so", NULL};
    void *library = NULL;
    for (int i = 0; candidates[i] && !library; i++) {
        library = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (!library) snprintf(load_failure, sizeof load_failure, "libLLVM could not be loaded: %s", dlerror());
    }
    if (!library) return;
    // libLLVM registered its destructors while it loaded: an exit gate handler registered
    // now runs before them (exit_gate.c), so an exit from a thread other than the main one
    // during the JIT's creation waits for it.
    CLLVM_ExitGateRegisterAtExit();
    // All or nothing: the addresses change only once every function was found.
    enum { count = 0
#define COUNT(name) + 1
        CALLSTUB_LLVM_FUNCTIONS(COUNT)
#undef COUNT
    };
    void *found[count];
    int index = 0;
#define FIND(name) \
    if (!(found[index++] = dlsym(library, #name))) { \
        snprintf(load_failure, sizeof load_failure, "libLLVM has no %s: not LLVM 19?", #name); \
        return; \
    }
    CALLSTUB_LLVM_FUNCTIONS(FIND)
#undef FIND
    index = 0;
#define STORE(name) __atomic_store_n(&callstub_llvm_##name, found[index++], __ATOMIC_RELEASE);
    CALLSTUB_LLVM_FUNCTIONS(STORE)
#undef STORE
    loaded = 1;
}

const char *CLLVM_Load(void) {
    pthread_once(&load_once, load);
    return loaded ? NULL : load_failure;
}

const char *CLLVM_HeaderVersion(void) { return LLVM_VERSION_STRING; }

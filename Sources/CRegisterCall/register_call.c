// The thunk of register callbacks; see include/register_call.h. (The variadic register
// calls are inline functions of the header.)
#include "register_call.h"

__attribute__((naked)) void callstub_register_callback_thunk(void) {
    __asm__ volatile("pushq %r13\n\t"         // callee-saved in C; also aligns the stack to 16
                     "movq 8(%r10), %r13\n\t" // the closure's context (swiftself)
                     "callq *(%r10)\n\t"      // the closure's function
                     "popq %r13\n\t"
                     "retq\n\t");
}

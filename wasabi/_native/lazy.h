/* Lazy compilation: per-function entry stubs and the native resolver.
 *
 * A wrt_lazy belongs to one lazily compiled module (shared by all its
 * instances). It holds, per function index, a code slot (NULL until the
 * function is compiled, then its machine code) and a small machine-code stub
 * that every caller may use as the function's code address at any time:
 *
 *     stub_i:  rax = codes[i]; if (rax) jmp rax;          -- compiled: one load + jmp
 *              r10d = i; r11 = the wrt_lazy; jmp wrt_lazy_trampoline
 *
 * The trampoline saves the argument registers, calls wrt_lazy_resolve (which
 * takes the GIL, asks Python to compile, and returns the code or traps with
 * TRAP_COMPILE_ERROR), restores the arguments and jumps to the code, so the
 * stub has the callee's own signature whatever it is. Stubs are written by the
 * runtime (about 32 bytes each), not by LLVM (about 0.1 ms each).
 */
#ifndef WASABI_LAZY_H
#define WASABI_LAZY_H

#include <stdint.h>
#include "vmctx.h"

typedef struct wrt_lazy wrt_lazy;

/* Called with the GIL held: compile function `index` of `owner` (the Python
 * compiler object), store its code address in *code and return 0; or keep
 * the Python exception for this thread and return nonzero. `deep` is nonzero
 * when this thread's stack has too little room left to run LLVM on it. */
typedef int (*wrt_lazy_dispatch_fn)(void* owner, uint32_t index, int deep, void** code);

int wrt_lazy_supported(void);                  /* native stubs exist for this CPU */
void wrt_lazy_set_dispatch(wrt_lazy_dispatch_fn fn);
/* `owner` is borrowed: it must outlive every call through the stubs */
wrt_lazy* wrt_lazy_new(uint32_t count, void* owner);
void wrt_lazy_free(wrt_lazy* lz);
void* wrt_lazy_stub(wrt_lazy* lz, uint32_t index);
void* wrt_lazy_code(wrt_lazy* lz, uint32_t index);             /* NULL: not compiled */
void wrt_lazy_publish(wrt_lazy* lz, uint32_t index, void* code);
/* record->code = code if it still is `expected` (atomically); 1 if replaced */
int wrt_lazy_patch_record(wrt_func* record, void* expected, void* code);
/* hot swap: record->code, then record->vmctx; only while no thread runs the
 * record's instance (a call between the two stores would pair them wrongly) */
void wrt_lazy_set_record(wrt_func* record, void* code, void* vmctx);
/* some thread is inside the instance of this vmctx (the entry gate) */
int wrt_lazy_vmctx_busy(void* vmctx);

/* the stack room below which the resolver asks for compilation elsewhere */
#define LAZY_INLINE_STACK_ROOM (2u << 20)

#endif

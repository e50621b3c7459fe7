/* The C API of a wasabi shared library (issue 16, `wasabi compile --dylib`).
 *
 * A library holds the module's machine code, a generated description (a
 * wsa_module plus the wsa_dylib below, wasabi/aot/dylib_c.py) and the runtime
 * without Python (standalone.c and the files it links). The generated wrappers
 * <name>_instantiate, <name>_call_<export>, ... call the functions here:
 *
 * - an instance is a VMContext of its own (the first member: the code's vmctx)
 *   whose imported function records are the host's C functions, called with the
 *   instance's `env` pointer first: {fn, env, type id};
 * - a call goes through the export's array-call thunk (parameters and results
 *   in 16-byte slots, as wasabi's Python entry does) inside a setjmp entry, so a
 *   trap returns its code to C instead of ending the process; the thread's last
 *   trap code is kept for <name>_last_trap;
 * - the thread is prepared on its first call (stack limit at %fs:0x70, as in
 *   an executable; an alternate signal stack; the fault handler, which chains
 *   to any handler installed before it).
 *
 * The same library can be loaded by wasabi.load_dylib instead: the code then runs
 * against the extension's runtime (the builtin table is rebound, see dylib_c.py)
 * and the C API refuses to instantiate (WSA_ERROR_BOUND), and the other way round.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "standalone.h"
#include "dylib.h"

#define STATE_FREE 0
#define STATE_PYTHON 1
#define STATE_C 2

static __thread __attribute__((tls_model("initial-exec"))) int tls_last_trap;

typedef struct wsa_instance {
    VMContext ctx;              /* first: compiled code gets &ctx */
    const wsa_dylib* lib;
} wsa_instance;

/* claim the library for C (once wasabi.load_dylib bound it to the extension, never) */
static int claim_for_c(const wsa_dylib* lib) {
    int expected = STATE_FREE;
    if (__atomic_compare_exchange_n(lib->state, &expected, STATE_C, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < lib->num_ranges; i++)
            wrt_register_code_range((uintptr_t)lib->ranges[2 * i],
                                    (uintptr_t)lib->ranges[2 * i + 1]);
        return 0;
    }
    return expected == STATE_C ? 0 : WSA_ERROR_BOUND;
}

/* wasabi.load_dylib (runtime/dylib.py): the builtin table -> the extension's builtins
 * (`addresses`, in builtin_names' order), unless the C API claimed the library first */
__attribute__((visibility("default")))
int wasabi_dylib_bind(const wsa_dylib* lib, void* const* addresses) {
    int expected = STATE_FREE;
    if (!__atomic_compare_exchange_n(lib->state, &expected, STATE_PYTHON, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE) && expected != STATE_PYTHON)
        return WSA_ERROR_BOUND;
    for (uint32_t i = 0; i < lib->num_builtins; i++)
        __atomic_store_n(&lib->builtin_table[i], addresses[i], __ATOMIC_RELEASE);
    return 0;
}

int wsa_dl_instantiate(const wsa_dylib* lib, void* const* imports, void* env, void** out) {
    const wsa_module* m = lib->module;
    *out = NULL;
    if (!lib->c_supported)
        return WSA_ERROR_UNSUPPORTED;
    int status = claim_for_c(lib);
    if (status != 0)
        return status;
    if (wsa_thread_prepare() != 0)
        return WSA_ERROR_THREAD;
    for (uint32_t i = 0; i < m->num_imports; i++)
        if (!imports || !imports[i])
            return WSA_ERROR_IMPORT;
    wsa_instance* inst = calloc(1, sizeof *inst);
    if (!inst)
        return WSA_ERROR_MEMORY;
    VMContext* ctx = &inst->ctx;
    if (!(ctx->funcs = calloc(m->num_funcs ? m->num_funcs : 1, sizeof(wrt_func)))) {
        free(inst);
        return WSA_ERROR_MEMORY;
    }
    inst->lib = lib;
    ctx->kind = WRT_KIND_VMCTX;
    ctx->stack_limit_tpoff = 0x70;          /* standalone.c: glibc's __private_ss */
    for (uint32_t i = 0; i < m->num_imports; i++) {
        ctx->funcs[i].code = imports[i];
        ctx->funcs[i].vmctx = env;
        ctx->funcs[i].type_id = m->type_ids[m->func_types[i]];
    }
    if (m->has_memory) {
        ctx->memory = wrt_memory_new(m->memory_min, m->memory_max, 1, 0);
        if (!ctx->memory) {
            wsa_dl_free(inst);
            return WSA_ERROR_MEMORY;
        }
        ctx->mem_base = ctx->memory->base;
    }
    wsa_define_functions(m, ctx);
    wsa_define_globals(m, ctx);
    if (wsa_define_tables(m, ctx) != 0) {
        wsa_dl_free(inst);
        return WSA_ERROR_MEMORY;
    }
    wsa_define_segments(m, ctx);
    status = wsa_apply_segments(m, ctx);
    if (status == 0)
        status = wsa_run_start(m, ctx);
    if (status != 0) {
        tls_last_trap = status;
        wsa_dl_free(inst);
        return status;
    }
    *out = inst;
    return 0;
}

int wsa_dl_call(void* instance, uint32_t func, void* thunk, void* slots) {
    wsa_instance* inst = instance;
    if (wsa_thread_prepare() != 0)
        return tls_last_trap = WSA_ERROR_THREAD;
    wrt_func* rec = &inst->ctx.funcs[func];
    return tls_last_trap = wsa_call_thunk(thunk, rec->code, rec->vmctx, slots);
}

uint8_t* wsa_dl_memory(void* instance, uint64_t* size) {
    wsa_instance* inst = instance;
    wrt_memory* mem = inst->ctx.memory;
    if (size)
        *size = mem ? mem->size : 0;
    return mem ? mem->base : NULL;
}

void wsa_dl_free(void* instance) {
    wsa_instance* inst = instance;
    if (!inst)
        return;
    wsa_free_parts(inst->lib->module, &inst->ctx);
    free(inst->ctx.funcs);
    free(inst);
}

int wsa_dl_last_trap(void) { return tls_last_trap; }

const char* wsa_dl_trap_message(const wsa_dylib* lib, int code) {
    const wsa_module* m = lib->module;
    switch (code) {
    case 0: return "no trap";
    case WSA_ERROR_IMPORT: return "an import is missing (a NULL function pointer)";
    case WSA_ERROR_MEMORY: return "out of memory";
    case WSA_ERROR_THREAD: return "cannot prepare the thread (stack bounds, signal handler)";
    case WSA_ERROR_BOUND: return "the library is in use by wasabi.load_dylib in this process";
    case WSA_ERROR_UNSUPPORTED:
        return "this module cannot be instantiated from C (imports other than functions, "
               "or several memories)";
    }
    const char* text = wsa_trap_message(m, code);
    return text ? text : "unknown trap";
}

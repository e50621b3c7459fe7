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
 * - WASI: a module importing WASI functions is given wasabi's (the ones the
 *   executables link) by a configuration, a wasi_ctx set up by the
 *   <name>_wasi_* functions (dylib_wasi.c) that instantiation takes over; the
 *   instance owns it from then on and frees it. proc_exit traps with
 *   TRAP_WASI_EXIT as in Python; the status says "exited", the code is kept in
 *   the ctx (<name>_exit_code) and the host carries on.
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
#include "wasi.h"
#include "dylib.h"

#define STATE_FREE 0
#define STATE_PYTHON 1
#define STATE_C 2

static __thread __attribute__((tls_model("initial-exec"))) int tls_last_trap;
/* the code of this thread's last proc_exit that ended a call or an instantiation */
static __thread __attribute__((tls_model("initial-exec"))) int32_t tls_last_exit;

typedef struct wsa_instance {
    VMContext ctx;              /* first: compiled code gets &ctx */
    const wsa_dylib* lib;
    wasi_ctx* wasi;             /* the instance's own, or NULL */
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

/* the imports' records: the host's functions with `env`, WASI's with the config */
static int link_imports(const wsa_module* m, VMContext* ctx, void* const* imports, void* env,
                        const wsa_dl_link* links, wasi_ctx* wasi) {
    for (uint32_t i = 0; i < m->num_imports; i++) {
        const char* name = links ? links[i].wasi_name : NULL;
        void* fn = name ? wsa_wasi_function(links[i].snapshot0, name)
                        : (imports ? imports[i] : NULL);
        if (!fn)
            return WSA_ERROR_IMPORT;
        ctx->funcs[i].code = fn;
        ctx->funcs[i].vmctx = name ? (void*)wasi : env;
        ctx->funcs[i].type_id = m->type_ids[m->func_types[i]];
    }
    return 0;
}

static int needs_wasi(const wsa_module* m, const wsa_dl_link* links) {
    for (uint32_t i = 0; links && i < m->num_imports; i++)
        if (links[i].wasi_name)
            return 1;
    return 0;
}

/* a trap code of the start function: proc_exit's code is this thread's last exit */
static int start_failed(wsa_instance* inst, int status) {
    tls_last_trap = status;
    if (status == TRAP_WASI_EXIT)
        tls_last_exit = wasi_take_exit_code();
    wsa_dl_free(inst);
    return status;
}

static int instantiate(const wsa_dylib* lib, void* const* imports, void* env,
                       const wsa_dl_link* links, wasi_ctx** wasi, void** out) {
    const wsa_module* m = lib->module;
    if (!lib->c_supported)
        return WSA_ERROR_UNSUPPORTED;
    int status = claim_for_c(lib);
    if (status != 0)
        return status;
    if (wsa_thread_prepare() != 0)
        return WSA_ERROR_THREAD;
    if (needs_wasi(m, links) && !*wasi)
        return WSA_ERROR_NO_WASI;
    wsa_instance* inst = calloc(1, sizeof *inst);
    if (!inst)
        return WSA_ERROR_MEMORY;
    VMContext* ctx = &inst->ctx;
    if (!(ctx->funcs = calloc(m->num_funcs ? m->num_funcs : 1, sizeof(wrt_func)))) {
        free(inst);
        return WSA_ERROR_MEMORY;
    }
    inst->lib = lib;
    inst->wasi = *wasi;                 /* the instance's now: freed with it */
    *wasi = NULL;
    ctx->kind = WRT_KIND_VMCTX;
    ctx->stack_limit_tpoff = 0x70;          /* standalone.c: glibc's __private_ss */
    if ((status = link_imports(m, ctx, imports, env, links, inst->wasi)) != 0) {
        wsa_dl_free(inst);
        return status;
    }
    if (m->has_memory) {
        ctx->memory = wrt_memory_new(m->memory_min, m->memory_max, 1, 0);
        if (!ctx->memory) {
            wsa_dl_free(inst);
            return WSA_ERROR_MEMORY;
        }
        ctx->mem_base = ctx->memory->base;
        /* the memory object itself: WASI sees its size as it grows */
        if (inst->wasi)
            wasi_ctx_bind_memory(inst->wasi, ctx->memory);
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
    if (status != 0)
        return start_failed(inst, status);
    *out = inst;
    return 0;
}

int wsa_dl_instantiate(const wsa_dylib* lib, void* const* imports, void* env,
                       const wsa_dl_link* links, wasi_ctx* wasi, void** out) {
    *out = NULL;
    int status = instantiate(lib, imports, env, links, &wasi, out);
    wasi_ctx_free(wasi);                /* not taken by an instance: the config ends here */
    return status;
}

int wsa_dl_call(void* instance, uint32_t func, void* thunk, void* slots) {
    wsa_instance* inst = instance;
    if (wsa_thread_prepare() != 0)
        return tls_last_trap = WSA_ERROR_THREAD;
    wrt_func* rec = &inst->ctx.funcs[func];
    int status = wsa_call_thunk(thunk, rec->code, rec->vmctx, slots);
    /* proc_exit noted its code for the thread it ran on (wasi_ctx.c): exactly this
     * call's, whatever other threads do with the instance meanwhile */
    if (status == TRAP_WASI_EXIT)
        tls_last_exit = wasi_take_exit_code();
    return tls_last_trap = status;
}

int32_t wsa_dl_exit_code(void* instance) {
    wsa_instance* inst = instance;
    if (!inst)
        return tls_last_exit;
    if (!inst->wasi)
        return 0;
    wasi_ctx_lock(inst->wasi);          /* another thread may be exiting */
    int32_t code = inst->wasi->exited ? inst->wasi->exit_code : 0;
    wasi_ctx_unlock(inst->wasi);
    return code;
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
    wasi_ctx_free(inst->wasi);          /* first: it points at the memory */
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
    case WSA_ERROR_NO_WASI:
        return "the module imports WASI: instantiate it with a WASI configuration";
    case WSA_ERROR_WASI: return "a WASI configuration call failed (errno says why)";
    case TRAP_WASI_EXIT: return "the program exited (WASI proc_exit): see its exit code";
    case WSA_ERROR_UNSUPPORTED:
        return "this module cannot be instantiated from C (imports other than functions, "
               "or several memories)";
    }
    const char* text = wsa_trap_message(m, code);
    return text ? text : "unknown trap";
}

/* What a wasabi AOT executable links: the generated description of one module
 * (wasabi/aot/cgen.py writes a `wsa_module` and a main() that calls wsa_main)
 * and the runtime built without Python (standalone.c plus memory.c, tables.c,
 * signals.c, memory_backing.c and the WASI files). */
#ifndef WASABI_STANDALONE_H
#define WASABI_STANDALONE_H

#include <stdint.h>

typedef struct wsa_data {
    const uint8_t* bytes;
    uint64_t len;
    int64_t offset;             /* active: where in memory 0; -1: passive */
} wsa_data;

typedef struct wsa_elem {
    const int32_t* funcs;       /* function indices, -1 for ref.null */
    uint32_t count;
    uint32_t table;
    int64_t offset;             /* active: where in `table`; -1 passive; -2 declarative */
} wsa_elem;

typedef struct wsa_global {
    uint64_t lo, hi;            /* the initial value's bits */
    int32_t func;               /* >= 0: the value is ref.func of this index */
} wsa_global;

typedef struct wsa_table {
    uint64_t min, max;          /* max TABLE_NO_MAX: none */
    uint64_t elem_type;
} wsa_table;

typedef struct wsa_module {
    uint32_t num_funcs, num_imports;
    void* const* code;          /* the defined functions, index - num_imports */
    const uint32_t* func_types; /* type index of every function */
    const char* const* imports; /* the WASI name of every imported function */
    int snapshot0;              /* the imports are wasi_unstable's */
    uint32_t num_types;
    const uint64_t* type_ids;   /* per type index: equal for equal signatures */
    uint32_t num_globals;
    const wsa_global* globals;
    int has_memory;
    uint64_t memory_min, memory_max;
    uint32_t num_tables;
    const wsa_table* tables;
    uint32_t num_datas;
    const wsa_data* datas;
    uint32_t num_elems;
    const wsa_elem* elems;
    int32_t start;              /* the start function, or -1 */
    int32_t entry;              /* the _start export, or -1 */
    const char* const* trap_messages;   /* by trap code */
    uint32_t num_trap_messages;
    const void* code_begin;
    const void* code_end;
    int fuel;                   /* compiled with fuel accounting (--fuel N at run time) */
} wsa_module;

/* The pieces of an instantiation, for the shared libraries' C API (dylib.c).
 * `ctx` is a VMContext (vmctx.h) whose funcs array holds the imports. */
struct VMContext;
int wsa_thread_prepare(void);       /* this thread's stack limit, altstack, signal handler */
void wsa_define_functions(const wsa_module* m, struct VMContext* ctx);
void wsa_define_globals(const wsa_module* m, struct VMContext* ctx);
int wsa_define_tables(const wsa_module* m, struct VMContext* ctx);
void wsa_define_segments(const wsa_module* m, struct VMContext* ctx);
int wsa_apply_segments(const wsa_module* m, struct VMContext* ctx);   /* 0 or a trap code */
int wsa_run_start(const wsa_module* m, struct VMContext* ctx);        /* 0 or a trap code */
void wsa_free_parts(const wsa_module* m, struct VMContext* ctx);
/* the message of trap `code` (the module's table), or NULL */
const char* wsa_trap_message(const wsa_module* m, int code);
/* the WASI function `name` of wasi_unstable (snapshot0) or wasi_snapshot_preview1, or NULL */
void* wsa_wasi_function(int snapshot0, const char* name);
/* an array-call thunk(fn, vmctx, slots) inside an entry: 0 or the trap code */
int wsa_call_thunk(void* thunk, void* fn, void* vmctx, void* slots);

/* Run the module as `wasabi run` runs a WASI command: runtime options, `--`, the
 * program's arguments (see standalone.c). Returns the process exit status. */
int wsa_main(const wsa_module* m, int argc, char** argv);

#endif

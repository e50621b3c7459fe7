/* The runtime without Python, for AOT executables (issue 16).
 *
 * wasabi/aot/ links an executable from: the module's machine code (the same
 * object `wasabi compile` writes, compiled without interrupt polls), a
 * generated C file describing the module (a wsa_module, see standalone.h),
 * this file, and the Python-free runtime files (memory.c, memory_backing.c,
 * tables.c, signals.c, wasi_*.c). This file stands in for what entry.c,
 * control.c, limits.c and hostcall.c do with Python:
 *
 * - entries and traps: one _setjmp per call into wasm, wasabi_rt_trap
 *   _longjmp()s back (signals.c turns guard-page faults into traps the same way);
 * - the stack limit: compiled code compares %rsp with %fs:wasabi_stack_limit_tpoff.
 *   In the extension that symbol is the TLS offset of entry.c's limit; here it is
 *   0x70, glibc's tcbhead_t.__private_ss: the word x86-64 glibc keeps at a fixed
 *   thread-pointer offset for split-stack code (gcc -fsplit-stack compares %rsp
 *   with %fs:0x70 the same way), unused by anything else in a C program;
 * - gates (one thread per instance) are no-ops: the program is one instance on
 *   one thread, and its only imports are WASI's;
 * - no limiter, no interrupt polls (the code has none), no host calls.
 *
 * wsa_main runs a WASI command as `wasabi run` does: the runtime options come
 * before a `--` (`--dir HOST[::GUEST]`, `--dir-ro HOST[::GUEST]`, `--env K=V`,
 * `--env K`, `--timeout SECONDS`, and `--fuel N` when compiled with fuel);
 * without a `--` every argument is the program's and nothing is preopened.
 * argv[0] is the program's name. Exit status: the program's proc_exit code,
 * 134 after a trap (reported as "wasabi: trap: ..."; also when the timeout
 * passes), 130 after Ctrl-C ("wasabi: interrupted"), 1 when it cannot start.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "builtins.h"
#include "runtime.h"
#include "standalone.h"   /* wasabi/_native/standalone/ */
#include "wasi_imports.h"

#if !defined(__x86_64__)
#error "the standalone runtime's stack check is written for x86-64 (glibc)"
#endif

#define STACK_MARGIN (128u * 1024u)     /* as entry.c: builtins and the signal handler */
#define TRAP_EXIT_STATUS 134
#define ERROR_STATUS 1
#define INTERRUPTED_STATUS 130          /* 128 + SIGINT, as `wasabi run` */

__asm__(".globl wasabi_stack_limit_tpoff\n\t.set wasabi_stack_limit_tpoff, 0x70");

static __thread __attribute__((tls_model("initial-exec"))) jmp_buf* tls_top;
static __thread __attribute__((tls_model("initial-exec"))) uintptr_t tls_stack_low;
static __thread __attribute__((tls_model("initial-exec"))) int tls_prepared;

/* ---- what entry.c, control.c, limits.c and hostcall.c give the extension ---- */

void wasabi_rt_trap(int32_t code) {
    if (!tls_top)
        abort();
    _longjmp(*tls_top, code ? code : TRAP_UNREACHABLE);
}

void wrt_trap_from_signal(int code) { _longjmp(*tls_top, code); }
int wrt_in_entry(void) { return tls_top != NULL; }
uintptr_t wrt_thread_stack_low(void) { return tls_stack_low; }
int wrt_eintr_retry(void) { return 1; }            /* no Python handler to run: retry */
int wrt_limiter_allows(void* limiter, int kind, uint64_t current, uint64_t desired,
                       uint64_t maximum) {
    (void)limiter, (void)kind, (void)current, (void)desired, (void)maximum;
    return 1;
}
void wasabi_rt_gate_enter(void* callee) { (void)callee; }
void wasabi_rt_gate_leave(void* callee) { (void)callee; }
void wasabi_rt_poll(void* vmctx) { (void)vmctx; }
/* nothing forces the limit here (no interrupts): a failed entry check is an overflow */
/* (the symbol is a register-keeping trampoline: builtins.h) */
void wsa_stack_slow(void* vmctx);
WASABI_REGISTER_KEEPING(wasabi_rt_stack_slow, wsa_stack_slow);
void wsa_stack_slow(void* vmctx) {
    (void)vmctx;
    wasabi_rt_trap(TRAP_STACK_EXHAUSTED);
}
void wasabi_rt_host_call(void* hostrec, void* slots) {
    (void)hostrec, (void)slots;
    abort();                    /* no host functions in an executable */
}

/* ---- the thread: stack bounds, the limit compiled code reads, an altstack ---- */

/* The lowest address of the main thread's stack as glibc's pthread_getattr_np gives
 * it (the top of the stack mapping minus RLIMIT_STACK), without its parse of
 * /proc/self/maps (70 us of a 0.5 ms hello-world). The top comes from the kernel's
 * layout: execve copies the program's file name (AT_EXECFN) first, ending a pointer
 * below the top. 0 where that cannot be had (no AT_EXECFN, no finite limit, a
 * thread other than the main one, a top that is not above the stack pointer). */
static uintptr_t main_stack_low(void) {
    if (getpid() != (pid_t)syscall(SYS_gettid))
        return 0;
    const char* execfn = (const char*)getauxval(AT_EXECFN);
    struct rlimit limit;
    if (!execfn || getrlimit(RLIMIT_STACK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t top = ((uintptr_t)execfn + strlen(execfn) + 1 + page - 1) & ~(page - 1);
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t size = (uintptr_t)limit.rlim_cur & ~(page - 1);
    if (top <= here || size <= top - here)
        return 0;
    return top - size;
}

int wsa_thread_prepare(void) {
    if (tls_prepared)
        return 0;
    tls_stack_low = main_stack_low();
    if (!tls_stack_low) {
        pthread_attr_t attr;
        void* addr = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) != 0)
            return -1;
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
        tls_stack_low = (uintptr_t)addr;
    }
    uintptr_t limit = tls_stack_low + STACK_MARGIN;
    __asm__ volatile("movq %0, %%fs:0x70" : : "r"(limit) : "memory");
    if (wrt_altstack_ensure() != 0)
        return -1;
    if (wrt_signals_ensure() != 0)
        return -1;
    tls_prepared = 1;
    return 0;
}

/* ---- calls into wasm ---- */

typedef void (*wsa_void_fn)(void* vmctx);
typedef void (*wsa_thunk_fn)(void* fn, void* vmctx, void* slots);

static int run_wasm(const wsa_module* m, uint32_t index, VMContext* ctx) {
    jmp_buf buf;
    jmp_buf* volatile outer = tls_top;
    wsa_void_fn fn = (wsa_void_fn)m->code[index - m->num_imports];
    int code = _setjmp(buf);
    if (code == 0) {
        tls_top = &buf;
        fn(ctx);
    }
    tls_top = outer;
    return code;
}

int wsa_run_start(const wsa_module* m, VMContext* ctx) {
    return m->start >= 0 ? run_wasm(m, (uint32_t)m->start, ctx) : 0;
}

/* thunk(fn, vmctx, slots) (an array-call thunk: parameters and results in 16-byte
 * slots) inside an entry: 0, or the trap code */
int wsa_call_thunk(void* thunk, void* fn, void* vmctx, void* slots) {
    jmp_buf buf;
    jmp_buf* volatile outer = tls_top;
    int code = _setjmp(buf);
    if (code == 0) {
        tls_top = &buf;
        ((wsa_thunk_fn)thunk)(fn, vmctx, slots);
    }
    tls_top = outer;
    return code;
}

/* ---- instantiation ---- */

static void* xcalloc(size_t n, size_t size) {
    void* p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("wasabi: error: out of memory\n", stderr);
        exit(ERROR_STATUS);
    }
    return p;
}

static int fail(const char* what, const char* detail) {
    fprintf(stderr, "wasabi: error: %s%s\n", what, detail ? detail : "");
    return -1;
}

void* wsa_wasi_function(int snapshot0, const char* name) {
    const wasi_export* e = wasi_exports(snapshot0);
    while (e->name && strcmp(e->name, name) != 0)
        e++;
    return e->fn;           /* the table ends with a NULL name and fn */
}

static int link_wasi(const wsa_module* m, VMContext* ctx, wasi_ctx* wasi) {
    for (uint32_t i = 0; i < m->num_imports; i++) {
        void* fn = wsa_wasi_function(m->snapshot0, m->imports[i]);
        if (!fn)
            return fail("unknown WASI import ", m->imports[i]);
        ctx->funcs[i].code = fn;
        ctx->funcs[i].vmctx = wasi;
        ctx->funcs[i].type_id = m->type_ids[m->func_types[i]];
    }
    return 0;
}

void wsa_define_functions(const wsa_module* m, VMContext* ctx) {
    for (uint32_t i = m->num_imports; i < m->num_funcs; i++) {
        ctx->funcs[i].code = m->code[i - m->num_imports];
        ctx->funcs[i].vmctx = ctx;
        ctx->funcs[i].type_id = m->type_ids[m->func_types[i]];
    }
    ctx->type_ids = (uint64_t*)m->type_ids;
}

void wsa_define_globals(const wsa_module* m, VMContext* ctx) {
    uint8_t* cells = xcalloc(m->num_globals, GLOBAL_CELL_SIZE);
    ctx->globals = xcalloc(m->num_globals, sizeof(uint8_t*));
    for (uint32_t i = 0; i < m->num_globals; i++) {
        uint8_t* cell = cells + (size_t)i * GLOBAL_CELL_SIZE;
        uint64_t words[2] = {m->globals[i].lo, m->globals[i].hi};
        if (m->globals[i].func >= 0)
            words[0] = (uint64_t)(uintptr_t)&ctx->funcs[m->globals[i].func];
        memcpy(cell, words, sizeof words);
        ctx->globals[i] = cell;
    }
}

int wsa_define_tables(const wsa_module* m, VMContext* ctx) {
    ctx->tables = xcalloc(m->num_tables, sizeof(wrt_table*));
    for (uint32_t i = 0; i < m->num_tables; i++) {
        const wsa_table* t = &m->tables[i];
        ctx->tables[i] = wrt_table_new(t->min, t->max, t->elem_type, 0);
        if (!ctx->tables[i])
            return fail("cannot allocate a table", NULL);
    }
    return 0;
}

void wsa_define_segments(const wsa_module* m, VMContext* ctx) {
    ctx->datas = xcalloc(m->num_datas, sizeof(wrt_segment));
    for (uint32_t i = 0; i < m->num_datas; i++) {
        ctx->datas[i].ptr = (void*)m->datas[i].bytes;
        ctx->datas[i].len = m->datas[i].len;
    }
    ctx->elems = xcalloc(m->num_elems, sizeof(wrt_segment));
    for (uint32_t i = 0; i < m->num_elems; i++) {
        const wsa_elem* e = &m->elems[i];
        uint64_t* refs = xcalloc(e->count, sizeof(uint64_t));
        for (uint32_t k = 0; k < e->count; k++)
            refs[k] = e->funcs[k] < 0 ? 0 : (uint64_t)(uintptr_t)&ctx->funcs[e->funcs[k]];
        ctx->elems[i].ptr = refs;
        ctx->elems[i].len = e->count;
    }
}

/* active element then data segments, in order (a failure traps, as in the
 * spec); active and declarative segments are dropped afterwards */
int wsa_apply_segments(const wsa_module* m, VMContext* ctx) {
    for (uint32_t i = 0; i < m->num_elems; i++) {
        const wsa_elem* e = &m->elems[i];
        if (e->offset >= 0) {
            int code = wrt_table_init(ctx->tables[e->table], &ctx->elems[i], (uint64_t)e->offset,
                                      0, e->count);
            if (code)
                return code;
        }
        if (e->offset != -1)
            ctx->elems[i].len = 0;
    }
    for (uint32_t i = 0; i < m->num_datas; i++) {
        const wsa_data* d = &m->datas[i];
        if (d->offset < 0)
            continue;
        int code = wrt_memory_init(ctx->memory, &ctx->datas[i], (uint64_t)d->offset, 0, d->len);
        if (code)
            return code;
        ctx->datas[i].len = 0;
    }
    return 0;
}

/* what wsa_define_* allocated (the VMContext and its funcs array are the caller's) */
void wsa_free_parts(const wsa_module* m, VMContext* ctx) {
    if (ctx->globals && m->num_globals)
        free(ctx->globals[0]);          /* the cells, one block */
    free(ctx->globals);
    for (uint32_t i = 0; ctx->tables && i < m->num_tables; i++)
        if (ctx->tables[i])
            wrt_table_free(ctx->tables[i]);
    free(ctx->tables);
    free(ctx->datas);
    for (uint32_t i = 0; ctx->elems && i < m->num_elems; i++)
        free(ctx->elems[i].ptr);
    free(ctx->elems);
    if (ctx->memory)
        wrt_memory_free(ctx->memory);
}

const char* wsa_trap_message(const wsa_module* m, int code) {
    return code > 0 && (uint32_t)code < m->num_trap_messages ? m->trap_messages[code] : NULL;
}

/* ---- Ctrl-C and --timeout: the process ends, as `wasabi run` ends ---- */

/* Both end the process from the signal handler, wherever the program is (in
 * compiled code, in a WASI call, in the runtime): the lines are made before,
 * so the handler only writes and exits (both async-signal-safe). */
static char deadline_line[128];

static void write_all(const char* text) {
    size_t n = strlen(text);
    while (n) {
        ssize_t w = write(2, text, n);
        if (w <= 0)
            return;
        text += w;
        n -= (size_t)w;
    }
}

static void on_interrupt(int sig) {
    (void)sig;
    write_all("wasabi: interrupted\n");
    _exit(INTERRUPTED_STATUS);
}

static void on_deadline(int sig) {
    (void)sig;
    write_all(deadline_line);
    _exit(TRAP_EXIT_STATUS);
}

static int stop_on_signals(const wsa_module* m, double timeout) {
    struct sigaction cur, sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    /* a Ctrl-C the shell has us ignore (a background job) stays ignored */
    if (sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN) {
        sa.sa_handler = on_interrupt;
        sigaction(SIGINT, &sa, NULL);
    }
    if (timeout <= 0)
        return 0;
    const char* text = wsa_trap_message(m, TRAP_DEADLINE);
    snprintf(deadline_line, sizeof deadline_line, "wasabi: trap: %s\n",
             text ? text : "deadline exceeded");
    sa.sa_handler = on_deadline;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return -1;
    struct itimerval timer;
    memset(&timer, 0, sizeof timer);
    timer.it_value.tv_sec = (time_t)timeout;
    timer.it_value.tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6);
    if (timer.it_value.tv_sec == 0 && timer.it_value.tv_usec == 0)
        timer.it_value.tv_usec = 1;       /* 0 would disarm it */
    return setitimer(ITIMER_REAL, &timer, NULL);
}

/* ---- the command line ---- */

typedef struct options {
    char* args;                 /* NUL-terminated strings back to back */
    size_t args_size;
    uint32_t args_count;
    char* env;
    size_t env_size;
    uint32_t env_count;
    double timeout;             /* seconds; 0: none */
    int64_t fuel;               /* the fuel the program starts with (compiled with fuel) */
} options;

static void append(char** buf, size_t* size, uint32_t* count, const char* a, const char* b) {
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    *buf = realloc(*buf, *size + la + lb + 1);
    if (!*buf)
        exit(ERROR_STATUS);
    memcpy(*buf + *size, a, la);
    if (b)
        memcpy(*buf + *size + la, b, lb);
    (*buf)[*size + la + lb] = 0;
    *size += la + lb + 1;
    (*count)++;
}

static int preopen(wasi_ctx* wasi, const char* spec, int readonly) {
    char* host = strdup(spec);
    char* sep = strstr(host, "::");
    const char* guest = host;
    if (sep) {
        *sep = 0;
        guest = sep + 2;
    }
    if (!*host || !*guest) {
        free(host);
        return fail("expected --dir HOST[::GUEST], got ", spec);
    }
    int fd = wasi_ctx_preopen(wasi, host, guest, readonly);
    free(host);
    if (fd < 0)
        return fail("cannot open the directory ", spec);
    return 0;
}

/* runtime options up to a `--` (when there is one), then the program's arguments */
static int parse_command_line(const wsa_module* m, int argc, char** argv, wasi_ctx* wasi,
                              options* o) {
    int dashes = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dashes = i;
            break;
        }
    append(&o->args, &o->args_size, &o->args_count, argv[0], NULL);
    for (int i = 1; i < dashes; i++) {
        const char* value = i + 1 < dashes ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "--dir-ro") == 0) {
            if (!value || preopen(wasi, value, argv[i][5] != 0) != 0)
                return value ? -1 : fail("--dir needs HOST[::GUEST]", NULL);
        } else if (strcmp(argv[i], "--env") == 0) {
            if (!value)
                return fail("--env needs K=V", NULL);
            if (strchr(value, '=')) {
                append(&o->env, &o->env_size, &o->env_count, value, NULL);
            } else {            /* K alone: the host's value, as `wasabi run --env K` */
                const char* host = getenv(value);
                char* kv = malloc(strlen(value) + 2);
                sprintf(kv, "%s=", value);
                append(&o->env, &o->env_size, &o->env_count, kv, host ? host : "");
                free(kv);
            }
        } else if (strcmp(argv[i], "--timeout") == 0) {
            char* end = NULL;
            o->timeout = value ? strtod(value, &end) : -1;
            if (!value || end == value || *end || !(o->timeout >= 0))
                return fail("--timeout needs a number of seconds", NULL);
        } else if (strcmp(argv[i], "--fuel") == 0) {
            char* end = NULL;
            o->fuel = value ? strtoll(value, &end, 10) : -1;
            if (!value || end == value || *end || o->fuel < 0)
                return fail("--fuel needs a whole number of fuel units", NULL);
            if (!m->fuel)
                return fail("--fuel: this executable was compiled without fuel accounting "
                            "(wasabi compile --exe --fuel)", NULL);
        } else {
            return fail("unknown runtime option (before --): ", argv[i]);
        }
        i++;
    }
    for (int i = dashes ? dashes + 1 : 1; i < argc; i++)
        append(&o->args, &o->args_size, &o->args_count, argv[i], NULL);
    return 0;
}

static int report_trap(const wsa_module* m, int code) {
    if (code == TRAP_WASI_EXIT)
        return wasi_take_exit_code() & 0xFF;
    const char* text = wsa_trap_message(m, code);
    if (!text)
        text = "trap";
    int64_t element = wrt_take_trap_element();
    if (code == TRAP_UNINITIALIZED_ELEMENT && element >= 0)
        fprintf(stderr, "wasabi: trap: %s %lld\n", text, (long long)element);
    else
        fprintf(stderr, "wasabi: trap: %s\n", text);
    return TRAP_EXIT_STATUS;
}

int wsa_main(const wsa_module* m, int argc, char** argv) {
    if (wsa_thread_prepare() != 0)
        return fail("cannot prepare the thread (stack bounds, signal handlers)", NULL), ERROR_STATUS;
    wrt_register_code_range((uintptr_t)m->code_begin, (uintptr_t)m->code_end);
    wasi_ctx* wasi = wasi_ctx_new();
    options o = {.fuel = INT64_MAX};
    if (!wasi || parse_command_line(m, argc, argv, wasi, &o) != 0)
        return ERROR_STATUS;
    if (stop_on_signals(m, o.timeout) != 0)
        return fail("cannot arm the timeout", NULL), ERROR_STATUS;
    if (wasi_ctx_set_args(wasi, o.args, (uint32_t)o.args_size, o.args_count) != 0 ||
        wasi_ctx_set_env(wasi, o.env ? o.env : "", (uint32_t)o.env_size, o.env_count) != 0)
        return fail("cannot set the arguments", NULL), ERROR_STATUS;
    for (int slot = 0; slot < 3; slot++)
        if (wasi_ctx_set_stdio_host(wasi, slot, slot) != 0)
            return fail("cannot give the program its standard streams", NULL), ERROR_STATUS;

    VMContext* ctx = xcalloc(1, sizeof(VMContext));
    ctx->kind = WRT_KIND_VMCTX;
    ctx->stack_limit_tpoff = 0x70;
    static int64_t fuel_cell;       /* the store's fuel: compiled code draws from it */
    fuel_cell = o.fuel;
    ctx->fuel = &fuel_cell;
    ctx->funcs = xcalloc(m->num_funcs, sizeof(wrt_func));
    if (m->has_memory) {
        ctx->memory = wrt_memory_new(m->memory_min, m->memory_max, 1, 0);
        if (!ctx->memory)
            return fail("cannot reserve the program's memory", NULL), ERROR_STATUS;
        ctx->mem_base = ctx->memory->base;
        wasi_ctx_bind_memory(wasi, ctx->memory);
    }
    if (link_wasi(m, ctx, wasi) != 0)
        return ERROR_STATUS;
    wsa_define_functions(m, ctx);
    wsa_define_globals(m, ctx);
    if (wsa_define_tables(m, ctx) != 0)
        return ERROR_STATUS;
    wsa_define_segments(m, ctx);
    int code = wsa_apply_segments(m, ctx);
    if (code)
        return report_trap(m, code);
    if (m->start >= 0 && (code = run_wasm(m, (uint32_t)m->start, ctx)) != 0)
        return report_trap(m, code);
    if (m->entry >= 0 && (code = run_wasm(m, (uint32_t)m->entry, ctx)) != 0)
        return report_trap(m, code);
    return 0;
}

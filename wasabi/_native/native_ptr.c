/* Exports as native function pointers (export.address) and numpy ufunc loops.
 *
 * export.address is a small JIT wrapper with the export's C signature
 * (wasabi/compiler/ufunc.py: native_wrapper_ir) that puts its arguments in
 * slots and calls wasabi_native_call. That enters like every other entry
 * (thread setup, instance gate, _setjmp) but leaves the GIL as the caller has
 * it. A trap never unwinds through the caller's frames: the entry returns its
 * code, kept for this thread until wasabi.last_trap() takes it, and the
 * wrapper returns zero.
 *
 * A ufunc loop (wasabi_ufunc_inner, numpy's PyUFuncGenericFunction) runs the
 * compiled strided loop in chunks inside one entry, polling the instance's
 * interrupt word between chunks (the inlined bodies may have no polls).
 */
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "fastcall.h"
#include "runtime.h"

typedef struct {
    void* thunk;            /* the signature's array thunk */
    void* fn;               /* the export's code */
    VMContext* vmctx;       /* the instance it is bound to */
} wrt_native_rec;

static WRT_TLS int tls_native_trap;   /* code of the pending trap, 0 for none */

int32_t wasabi_native_call(const wrt_native_rec* rec, void* slots) {
    int code = wrt_call_thunk_foreign(rec->thunk, rec->fn, rec->vmctx, slots);
    if (code != 0)
        tls_native_trap = code;
    return code;
}

int wrt_native_take_trap(void) {
    int code = tls_native_trap;
    tls_native_trap = 0;
    return code;
}

/* ---- ufunc loops ---- */
typedef void (*wrt_strided_loop)(VMContext* vmctx, char** args, int64_t n, const int64_t* steps,
                                 int64_t* progress);

#define WRT_UFUNC_MAX_ARGS 32
#define WRT_UFUNC_CHUNK 65536   /* elements between interrupt polls */

typedef struct {
    wrt_strided_loop loop;
    VMContext* vmctx;
    int nargs;
    int poll;               /* the code is interruptible: poll between chunks */
    int nclones;            /* parallel=True: clones for the other threads */
    VMContext** clones;
    int64_t min_chunk;      /* elements a thread gets at least */
} wrt_ufunc_data;

typedef struct {
    const wrt_ufunc_data* d;
    char** args;
    int64_t n;
    const int64_t* steps;
    int64_t done;           /* elements finished before the current chunk */
    int64_t progress;       /* the loop's index inside the current chunk */
} wrt_ufunc_run;

static void ufunc_body(void* arg) {
    wrt_ufunc_run* run = arg;
    const wrt_ufunc_data* d = run->d;
    char* chunk_args[WRT_UFUNC_MAX_ARGS];
    volatile uint64_t* interrupt = &d->vmctx->interrupt;
    while (run->done < run->n) {
        /* before each chunk, as a function entry polls: a pending interrupt stops
         * the call at its first element, and one never names element n */
        if (d->poll && *interrupt)
            wasabi_rt_poll(d->vmctx);
        int64_t m = run->n - run->done;
        if (m > WRT_UFUNC_CHUNK)
            m = WRT_UFUNC_CHUNK;
        for (int k = 0; k < d->nargs; k++)
            chunk_args[k] = run->args[k] + run->done * run->steps[k];
        d->loop(d->vmctx, chunk_args, m, run->steps, &run->progress);
        run->done += m;
        run->progress = 0;
    }
}


/* the trap's reporter (Cython): takes the GIL itself */
typedef void (*wrt_ufunc_trap_fn)(int code, int64_t element, char** args, const int64_t* steps,
                                  void* data);
static wrt_ufunc_trap_fn ufunc_trap;

void wrt_set_ufunc_trap(wrt_ufunc_trap_fn fn) { ufunc_trap = fn; }

/* One thread's part of a parallel loop: elements [lo, lo + run.n). */
typedef struct {
    wrt_ufunc_data d;       /* the loop's data with this part's vmctx */
    wrt_ufunc_run run;
    char* args[WRT_UFUNC_MAX_ARGS];
    int64_t lo;
    int code;
    pthread_t thread;
    int started;
} wrt_ufunc_part;

static void* part_main(void* arg) {
    wrt_ufunc_part* p = arg;
    p->code = wrt_call_body_foreign(p->d.vmctx, ufunc_body, &p->run);
    return NULL;
}

/* Splits [0, n) into `parts` ranges, runs part 0 here and the others on new
 * threads, each on its own clone; reports the trap of the lowest range. */
static void run_parallel(const wrt_ufunc_data* d, char** args, int64_t n, const int64_t* steps,
                         int parts) {
    wrt_ufunc_part* ps = calloc((size_t)parts, sizeof *ps);
    if (!ps) {
        ufunc_trap(-2, 0, args, steps, (void*)d);    /* -2: out of memory */
        return;
    }
    int64_t lo = 0;
    for (int i = 0; i < parts; i++) {
        wrt_ufunc_part* p = &ps[i];
        int64_t len = n / parts + (i < n % parts);
        p->d = *d;
        p->d.vmctx = i == 0 ? d->vmctx : d->clones[i - 1];
        p->lo = lo;
        for (int k = 0; k < d->nargs; k++)
            p->args[k] = args[k] + lo * steps[k];
        p->run.d = &p->d;
        p->run.args = p->args;
        p->run.n = len;
        p->run.steps = steps;
        lo += len;
    }
    for (int i = 1; i < parts; i++)
        ps[i].started = pthread_create(&ps[i].thread, NULL, part_main, &ps[i]) == 0;
    part_main(&ps[0]);
    for (int i = 1; i < parts; i++) {
        if (ps[i].started)
            pthread_join(ps[i].thread, NULL);
        else
            part_main(&ps[i]);      /* no thread: run it here, still on its clone */
    }
    for (int i = 0; i < parts; i++) {
        if (ps[i].code != 0) {
            wrt_ufunc_part* p = &ps[i];
            ufunc_trap(p->code, p->lo + p->run.done + p->run.progress, args, steps, (void*)d);
            break;
        }
    }
    free(ps);
}

void wasabi_ufunc_inner(char** args, const intptr_t* dims, const intptr_t* steps, void* data) {
    const wrt_ufunc_data* d = data;
    int64_t n = dims[0];
    if (d->nclones > 0 && d->min_chunk > 0 && n >= 2 * d->min_chunk) {
        int64_t parts = n / d->min_chunk;
        if (parts > d->nclones + 1)
            parts = d->nclones + 1;
        run_parallel(d, args, n, (const int64_t*)steps, (int)parts);
        return;
    }
    wrt_ufunc_run run;
    run.d = d;
    run.args = args;
    run.n = n;
    run.steps = (const int64_t*)steps;
    run.done = 0;
    run.progress = 0;
    int code = wrt_call_body_foreign(d->vmctx, ufunc_body, &run);
    if (code != 0)
        ufunc_trap(code, run.done + run.progress, args, run.steps, data);
}

/* ---- making the ufunc ---- */
typedef void (*wrt_ufunc_generic)(char**, const intptr_t*, const intptr_t*, void*);
typedef PyObject* (*wrt_from_func_and_data)(wrt_ufunc_generic*, void* const*, const char*, int,
                                            int, int, int, const char*, const char*, int);

/* The head of numpy's PyUFuncObject (numpy/ufuncobject.h, the same since numpy
 * 1.0): `obj` is a reference the ufunc drops when it dies, where the loops'
 * data is kept alive (frompyfunc keeps its callable there). */
typedef struct {
    PyObject_HEAD
    int nin, nout, nargs;
    int identity;
    void* functions;
    void* const* data;
    int ntypes;
    int reserved1;
    const char* name;
    const char* types;
    const char* doc;
    void* ptr;
    PyObject* obj;
} wrt_ufunc_head;

/* api: numpy's ufunc C-API table (the _UFUNC_API capsule); funcs: ntypes
 * slots filled here with wasabi_ufunc_inner; keep: owns every array passed */
PyObject* wrt_ufunc_new(void** api, wrt_ufunc_generic* funcs, void* const* data,
                        const char* types, int ntypes, int nin, int nout, const char* name,
                        const char* doc, PyObject* keep) {
    for (int k = 0; k < ntypes; k++)
        funcs[k] = (wrt_ufunc_generic)wasabi_ufunc_inner;
    wrt_from_func_and_data make = (wrt_from_func_and_data)api[1];
    PyObject* ufunc = make(funcs, data, types, ntypes, nin, nout, -1 /* PyUFunc_None */, name,
                           doc, 0);
    if (!ufunc)
        return NULL;
    wrt_ufunc_head* head = (wrt_ufunc_head*)ufunc;
    Py_INCREF(keep);
    Py_XSETREF(head->obj, keep);
    return ufunc;
}

size_t wrt_ufunc_data_size(void) { return sizeof(wrt_ufunc_data); }

void wrt_ufunc_data_set(void* data, void* loop, void* vmctx, int nargs, int poll,
                        void* clones, int nclones, int64_t min_chunk) {
    wrt_ufunc_data* d = data;
    d->clones = clones;
    d->nclones = nclones;
    d->min_chunk = min_chunk;
    d->loop = (wrt_strided_loop)loop;
    d->vmctx = vmctx;
    d->nargs = nargs;
    d->poll = poll;
}

void* wrt_native_call_address(void) { return (void*)wasabi_native_call; }

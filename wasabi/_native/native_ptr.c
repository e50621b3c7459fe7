/* Exports as native function pointers (export.address) and numpy ufunc loops.
 *
 * export.address is a small JIT wrapper with the export's C signature
 * (wasabi/compiler/native_wrapper.py) that puts its arguments in slots and
 * calls wasabi_native_call. That enters like every other entry (thread setup,
 * instance gate, _setjmp) but leaves the GIL as the caller has it. A trap never
 * unwinds through the caller's frames: the entry returns its code, kept for
 * this thread until wasabi.last_trap() takes it, and the wrapper returns zero.
 * (Exports that can neither trap nor touch instance state skip all of this:
 * their body is inlined in the wrapper.)
 *
 * A ufunc loop (wasabi_ufunc_inner, numpy's PyUFuncGenericFunction) runs the
 * compiled strided loop (wasabi/compiler/ufunc.py) in chunks inside one entry,
 * polling the instance's interrupt word between chunks (the inlined bodies may
 * have no polls); parallel=True shares the chunks out over a pool of threads.
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

/* ---- parallel=True ----
 * The elements are cut into chunks that the participating threads claim in
 * increasing order from one counter (dynamic scheduling): a thread on a core
 * that is busy with something else takes fewer chunks instead of holding the
 * whole call up, as a fixed split would. Participant 0 is the calling thread,
 * on the instance; participant i on clone i - 1, run by a worker of a pool
 * kept for the process (threads are made once, not per call).
 *
 * Traps: a participant stops at its first trap and no chunk is claimed after
 * it; chunks are claimed in order, so every element below the lowest trapping
 * element ran, and that element is the one reported (as in the one-thread run). */
typedef struct wrt_par_job wrt_par_job;

typedef struct {
    wrt_par_job* job;
    VMContext* vmctx;
    int64_t start;          /* first element of the chunk running */
    int64_t progress;       /* the loop's index inside it */
    int code;               /* 0, a trap code, or WRT_BUSY (nothing ran) */
} wrt_par_part;

struct wrt_par_job {
    const wrt_ufunc_data* d;
    char** args;
    const int64_t* steps;
    int64_t n, chunk;
    int nparts;
    int pending;            /* workers still running (under pool_mu) */
    char pad_[64];
    int64_t next;           /* atomic: first element of the next unclaimed chunk */
    int stop;               /* atomic: a participant trapped */
    char pad2_[64];
    wrt_par_part parts[];
};

static void par_body(void* arg) {
    wrt_par_part* p = arg;
    wrt_par_job* job = p->job;
    const wrt_ufunc_data* d = job->d;
    char* chunk_args[WRT_UFUNC_MAX_ARGS];
    for (;;) {
        if (__atomic_load_n(&job->stop, __ATOMIC_RELAXED))
            return;
        if (d->poll && __atomic_load_n(&p->vmctx->interrupt, __ATOMIC_RELAXED))
            wasabi_rt_poll(p->vmctx);
        int64_t start = __atomic_fetch_add(&job->next, job->chunk, __ATOMIC_RELAXED);
        if (start >= job->n)
            return;
        int64_t m = job->n - start < job->chunk ? job->n - start : job->chunk;
        for (int k = 0; k < d->nargs; k++)
            chunk_args[k] = job->args[k] + start * job->steps[k];
        p->start = start;
        p->progress = 0;
        d->loop(p->vmctx, chunk_args, m, job->steps, &p->progress);
    }
}

static void par_run(wrt_par_part* p) {
    p->code = wrt_call_body_foreign(p->vmctx, par_body, p);
    if (p->code != 0)
        __atomic_store_n(&p->job->stop, 1, __ATOMIC_RELAXED);
}

/* the pool: idle workers wait on their own condition variable for a part */
typedef struct wrt_worker {
    pthread_cond_t cv;
    wrt_par_part* part;     /* set by the caller, cleared by the worker when done */
    struct wrt_worker* next_idle;
} wrt_worker;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static wrt_worker* pool_idle;
static pthread_once_t pool_fork_once = PTHREAD_ONCE_INIT;

/* a forked child has none of the parent's workers: forget them (they leak) */
static void pool_after_fork_child(void) {
    pthread_mutex_init(&pool_mu, NULL);
    pthread_cond_init(&pool_done, NULL);
    pool_idle = NULL;
}

static void pool_fork_register(void) { pthread_atfork(NULL, NULL, pool_after_fork_child); }

static void* worker_main(void* arg) {
    wrt_worker* w = arg;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (!w->part)
            pthread_cond_wait(&w->cv, &pool_mu);
        wrt_par_part* p = w->part;
        pthread_mutex_unlock(&pool_mu);
        par_run(p);
        pthread_mutex_lock(&pool_mu);
        w->part = NULL;
        w->next_idle = pool_idle;
        pool_idle = w;
        if (--p->job->pending == 0)
            pthread_cond_broadcast(&pool_done);
    }
    return NULL;
}

/* An idle worker, or a new one (NULL if no thread can be made); under pool_mu. */
static wrt_worker* worker_take(void) {
    wrt_worker* w = pool_idle;
    if (w) {
        pool_idle = w->next_idle;
        return w;
    }
    pthread_once(&pool_fork_once, pool_fork_register);
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_cond_init(&w->cv, NULL);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&t, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (failed) {
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    return w;
}

/* Participant 0's body: it holds the instance (so a busy instance runs
 * nothing anywhere), hands parts 1.. to workers, then claims chunks itself. */
static void par_lead(void* arg) {
    wrt_par_part* p = arg;
    wrt_par_job* job = p->job;
    pthread_mutex_lock(&pool_mu);
    for (int i = 1; i < job->nparts; i++) {
        wrt_worker* w = worker_take();
        if (!w)
            break;          /* fewer threads: the others take its chunks */
        job->pending++;
        w->part = &job->parts[i];
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&pool_mu);
    par_body(p);
}

static void run_parallel(const wrt_ufunc_data* d, char** args, int64_t n, const int64_t* steps,
                         int parts) {
    wrt_par_job* job = calloc(1, sizeof *job + (size_t)parts * sizeof(wrt_par_part));
    if (!job) {
        ufunc_trap(-2, 0, args, steps, (void*)d);    /* -2: out of memory */
        return;
    }
    job->d = d;
    job->args = args;
    job->steps = steps;
    job->n = n;
    job->nparts = parts;
    /* some chunks per thread to balance, not so small that claiming them costs */
    int64_t chunk = n / ((int64_t)parts * 16);
    job->chunk = chunk < 1024 ? 1024 : chunk > WRT_UFUNC_CHUNK ? WRT_UFUNC_CHUNK : chunk;
    for (int i = 0; i < parts; i++) {
        job->parts[i].job = job;
        job->parts[i].vmctx = i == 0 ? d->vmctx : d->clones[i - 1];
    }
    wrt_par_part* lead = &job->parts[0];
    lead->code = wrt_call_body_foreign(lead->vmctx, par_lead, lead);
    if (lead->code != 0)
        __atomic_store_n(&job->stop, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&pool_mu);
    while (job->pending)
        pthread_cond_wait(&pool_done, &pool_mu);
    pthread_mutex_unlock(&pool_mu);
    /* the lowest trapping element; a busy instance (nothing ran) first */
    wrt_par_part* first = lead->code == WRT_BUSY ? lead : NULL;
    for (int i = 0; i < parts && lead->code != WRT_BUSY; i++) {
        wrt_par_part* p = &job->parts[i];
        if (p->code != 0 && p->code != WRT_BUSY
                && (!first || p->start + p->progress < first->start + first->progress))
            first = p;
    }
    if (first)
        ufunc_trap(first->code, first->start + first->progress, args, steps, (void*)d);
    free(job);
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

/* Tables: arrays of u64 references (wrt_func* or PyObject*; 0 = null).
 *
 * A table's element array never moves: a table may be shared (exported and
 * imported) and read by call_indirect on one thread while another grows it, so
 * growing must not free or move what a reader holds. Each table reserves its
 * capacity once, the way memories do: min(maximum, TABLE_RESERVE_CAP) elements
 * (or its initial size, if larger). A small capacity is one calloc; a larger
 * one an mmap'd PROT_NONE reservation whose pages are made accessible as the
 * table grows. table.grow past the capacity returns -1 (the spec allows a
 * grow to fail). Elements beyond the size are never written, so they are
 * still zero (null) when the table grows over them.
 *
 * Sizes only increase, and a grow writes the new elements before it publishes
 * the new size (a release store): a reader that checked an index against any
 * size it read may access that element. Grows of one table are serialized by
 * its lock (two threads may grow a shared table at once).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "builtins.h"
#include "runtime.h"

#define MAX_TABLE_ELEMS 0xFFFFFFFFull
/* the capacity reserved for a table without a smaller maximum: 2**24 elements
 * (128 MiB of address space, committed only as it grows) */
#define TABLE_RESERVE_CAP (1ull << 24)
/* capacities up to this many bytes are allocated (and zeroed) whole */
#define SMALL_TABLE_BYTES 16384u
#define PAGE 4096u

typedef struct table_impl {
    wrt_table rec;              /* first: a wrt_table* is a table_impl* */
    uint64_t capacity;          /* elements the array can hold without moving */
    uint64_t committed;         /* bytes of the array that are accessible */
    uint64_t reserved;          /* bytes mmap'd (0: the array is a calloc) */
    pthread_mutex_t grow_lock;
    void* limiter;              /* its store's limiter (limits.c), or NULL */
} table_impl;

#define TABLE_IMPL(t) ((table_impl*)(t))

/* ---- a pool of released reservations ----
 * A reservation costs an mmap, an mprotect, a page fault and a munmap (about 8 us,
 * as much as the rest of a small instantiation); an instance per request would
 * pay it for every table without a small maximum. A freed table whose array has
 * few accessible bytes is zeroed and kept for the next table of the same
 * reservation size instead, its pages still accessible and faulted in. */
#define POOL_MAX 64
#define POOL_KEEP_BYTES 65536u

typedef struct pooled {
    void* base;
    uint64_t reserved, committed;
} pooled;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled pool[POOL_MAX];
static int pool_count;

static int pool_take(table_impl* ti) {
    int found = 0;
    pthread_mutex_lock(&pool_lock);
    for (int i = pool_count - 1; i >= 0; i--) {
        if (pool[i].reserved == ti->reserved) {
            ti->rec.elems = pool[i].base;
            ti->committed = pool[i].committed;
            pool[i] = pool[--pool_count];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return found;
}

static int pool_give(table_impl* ti) {
    if (ti->committed > POOL_KEEP_BYTES)
        return 0;
    /* elements beyond the size were never written: they are zero already */
    memset(ti->rec.elems, 0, ti->rec.size * sizeof(uint64_t));
    int kept = 0;
    pthread_mutex_lock(&pool_lock);
    if (pool_count < POOL_MAX) {
        pool[pool_count++] = (pooled){ti->rec.elems, ti->reserved, ti->committed};
        kept = 1;
    }
    pthread_mutex_unlock(&pool_lock);
    return kept;
}

/* The element index of this thread's last call_indirect through a null entry: its trap
 * message names it ("uninitialized element 2"), as the spec's reference interpreter does. */
static WRT_TLS int64_t tls_trap_element = -1;

void wasabi_rt_trap_element(int32_t index) {
    tls_trap_element = (uint32_t)index;
    wasabi_rt_trap(TRAP_UNINITIALIZED_ELEMENT);
}

int64_t wrt_take_trap_element(void) {
    int64_t index = tls_trap_element;
    tls_trap_element = -1;
    return index;
}

static uint64_t round_up(uint64_t n, uint64_t to) {
    return (n + to - 1) / to * to;
}

/* max: the declared maximum, or lower, the store's table_elements limit */
static uint64_t capacity_for(uint64_t size, uint64_t max) {
    uint64_t limit = max < MAX_TABLE_ELEMS ? max : MAX_TABLE_ELEMS;
    uint64_t cap = limit < TABLE_RESERVE_CAP ? limit : TABLE_RESERVE_CAP;
    return cap > size ? cap : size;
}

/* make the first `bytes` of a reserved array accessible; 0 on success */
static int commit(table_impl* ti, uint64_t bytes) {
    if (bytes <= ti->committed)
        return 0;
    bytes = round_up(bytes, PAGE);
    if (bytes > ti->reserved)
        bytes = ti->reserved;
    if (mprotect((uint8_t*)ti->rec.elems + ti->committed, bytes - ti->committed,
                 PROT_READ | PROT_WRITE) != 0)
        return -1;
    ti->committed = bytes;
    return 0;
}

static int reserve(table_impl* ti, uint64_t size) {
    uint64_t bytes = ti->capacity * sizeof(uint64_t);
    if (bytes <= SMALL_TABLE_BYTES || ti->capacity == size) {
        ti->rec.elems = calloc(ti->capacity ? ti->capacity : 1, sizeof(uint64_t));
        ti->committed = bytes;
        return ti->rec.elems ? 0 : -1;
    }
    ti->reserved = round_up(bytes, PAGE);
    if (!pool_take(ti)) {
        void* p = mmap(NULL, ti->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (p == MAP_FAILED) {
            ti->reserved = 0;
            return -1;
        }
        ti->rec.elems = p;
    }
    return commit(ti, size * sizeof(uint64_t));
}

static void release(table_impl* ti) {
    if (!ti->reserved)
        free(ti->rec.elems);
    else if (!pool_give(ti))
        munmap(ti->rec.elems, ti->reserved);
}

/* The capacity is the limit: table.grow past it fails. A store's
 * table_elements limit lowers it (and the reservation) without changing the
 * type's maximum. */
wrt_table* wrt_table_new_limited(uint64_t size, uint64_t max, uint64_t limit, uint64_t elem_type,
                                 uint64_t init) {
    uint64_t grow_to = limit < max ? limit : max;
    if (size > MAX_TABLE_ELEMS || size > grow_to)
        return NULL;
    table_impl* ti = calloc(1, sizeof *ti);
    if (!ti)
        return NULL;
    ti->capacity = capacity_for(size, grow_to);
    if (reserve(ti, size) != 0) {
        release(ti);
        free(ti);
        return NULL;
    }
    pthread_mutex_init(&ti->grow_lock, NULL);
    wrt_table* t = &ti->rec;
    for (uint64_t i = 0; init && i < size; i++)
        t->elems[i] = init;
    t->size = size;
    t->max = max;
    t->elem_type = elem_type;
    return t;
}

wrt_table* wrt_table_new(uint64_t size, uint64_t max, uint64_t elem_type, uint64_t init) {
    return wrt_table_new_limited(size, max, max, elem_type, init);
}

void wrt_table_set_limiter(wrt_table* t, void* limiter) {
    TABLE_IMPL(t)->limiter = limiter;
}

void wrt_table_free(wrt_table* t) {
    if (!t)
        return;
    table_impl* ti = TABLE_IMPL(t);
    release(ti);
    pthread_mutex_destroy(&ti->grow_lock);
    free(ti);
}

uint64_t wrt_table_capacity(wrt_table* t) {
    return TABLE_IMPL(t)->capacity;
}

int64_t wrt_table_grow(wrt_table* t, uint64_t delta, uint64_t init) {
    table_impl* ti = TABLE_IMPL(t);
    pthread_mutex_lock(&ti->grow_lock);
    uint64_t old = t->size;
    int64_t result = (int64_t)old;
    if (delta > ti->capacity - old || commit(ti, (old + delta) * sizeof(uint64_t)) != 0) {
        result = -1;
    } else if (delta) {
        for (uint64_t i = old; init && i < old + delta; i++)
            t->elems[i] = init;
        /* a reader that sees the new size sees the new elements */
        __atomic_store_n(&t->size, old + delta, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&ti->grow_lock);
    return result;
}

static int in_bounds(uint64_t start, uint64_t n, uint64_t limit) {
    return start <= limit && n <= limit - start;
}

int wrt_table_fill(wrt_table* t, uint64_t dst, uint64_t ref, uint64_t n) {
    if (!in_bounds(dst, n, t->size))
        return TRAP_OOB_TABLE;
    for (uint64_t i = 0; i < n; i++)
        t->elems[dst + i] = ref;
    return 0;
}

int wrt_table_copy(wrt_table* dt, wrt_table* st, uint64_t dst, uint64_t src, uint64_t n) {
    if (!in_bounds(dst, n, dt->size) || !in_bounds(src, n, st->size))
        return TRAP_OOB_TABLE;
    memmove(dt->elems + dst, st->elems + src, n * sizeof(uint64_t));
    return 0;
}

int wrt_table_init(wrt_table* t, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n) {
    if (!in_bounds(src, n, seg->len) || !in_bounds(dst, n, t->size))
        return TRAP_OOB_TABLE;
    memcpy(t->elems + dst, (const uint64_t*)seg->ptr + src, n * sizeof(uint64_t));
    return 0;
}

/* ---- builtins ---- */

static wrt_table* table_of(void* vmctx, int32_t index) {
    return ((VMContext*)vmctx)->tables[(uint32_t)index];
}

static void trap_if(int code) {
    if (code)
        wasabi_rt_trap(code);
}

void* wasabi_rt_table_get(void* vmctx, int32_t table, int32_t index) {
    wrt_table* t = table_of(vmctx, table);
    if ((uint32_t)index >= t->size)
        wasabi_rt_trap(TRAP_OOB_TABLE);
    return (void*)(uintptr_t)t->elems[(uint32_t)index];
}

void wasabi_rt_table_set(void* vmctx, int32_t table, int32_t index, void* ref) {
    wrt_table* t = table_of(vmctx, table);
    if ((uint32_t)index >= t->size)
        wasabi_rt_trap(TRAP_OOB_TABLE);
    t->elems[(uint32_t)index] = (uint64_t)(uintptr_t)ref;
}

int32_t wasabi_rt_table_size(void* vmctx, int32_t table) {
    return (int32_t)table_of(vmctx, table)->size;
}

/* The store's limiter on a grow by delta elements; not asked about a grow the
 * capacity refuses anyway, or of 0 elements (as memory.c) */
static __attribute__((noinline, cold)) int limiter_allows(wrt_table* t, uint64_t delta) {
    table_impl* ti = TABLE_IMPL(t);
    uint64_t old = __atomic_load_n(&t->size, __ATOMIC_ACQUIRE);
    if (delta == 0 || delta > ti->capacity - old)
        return 1;
    return wrt_limiter_allows(ti->limiter, WRT_LIMIT_TABLE, old, old + delta, t->max);
}

int32_t wasabi_rt_table_grow(void* vmctx, int32_t table, void* init, int32_t delta) {
    wrt_table* t = table_of(vmctx, table);
    if (__builtin_expect(TABLE_IMPL(t)->limiter != NULL, 0) && !limiter_allows(t, (uint32_t)delta))
        return -1;
    return (int32_t)wrt_table_grow(t, (uint32_t)delta, (uint64_t)(uintptr_t)init);
}

void wasabi_rt_table_fill(void* vmctx, int32_t table, int32_t dst, void* ref, int32_t n) {
    trap_if(wrt_table_fill(table_of(vmctx, table), (uint32_t)dst, (uint64_t)(uintptr_t)ref, (uint32_t)n));
}

void wasabi_rt_table_copy(void* vmctx, int32_t dst_table, int32_t src_table, int32_t dst, int32_t src,
                          int32_t n) {
    trap_if(wrt_table_copy(table_of(vmctx, dst_table), table_of(vmctx, src_table), (uint32_t)dst,
                           (uint32_t)src, (uint32_t)n));
}

void wasabi_rt_table_init(void* vmctx, int32_t table, int32_t elem, int32_t dst, int32_t src, int32_t n) {
    wrt_segment* seg = &((VMContext*)vmctx)->elems[(uint32_t)elem];
    trap_if(wrt_table_init(table_of(vmctx, table), seg, (uint32_t)dst, (uint32_t)src, (uint32_t)n));
}

void wasabi_rt_elem_drop(void* vmctx, int32_t elem) {
    ((VMContext*)vmctx)->elems[(uint32_t)elem].len = 0;
}

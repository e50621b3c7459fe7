/* Tables: arrays of u64 references (wrt_func* or PyObject*; 0 = null).
 * The element array may move when the table grows; code reloads table->elems. */
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "runtime.h"

#define MAX_TABLE_ELEMS 0xFFFFFFFFull

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

wrt_table* wrt_table_new(uint64_t size, uint64_t max, uint64_t elem_type, uint64_t init) {
    if (size > MAX_TABLE_ELEMS || size > max)
        return NULL;
    wrt_table* t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->elems = calloc(size ? size : 1, sizeof(uint64_t));
    if (!t->elems) {
        free(t);
        return NULL;
    }
    for (uint64_t i = 0; init && i < size; i++)
        t->elems[i] = init;
    t->size = size;
    t->max = max;
    t->elem_type = elem_type;
    return t;
}

void wrt_table_free(wrt_table* t) {
    if (!t)
        return;
    free(t->elems);
    free(t);
}

int64_t wrt_table_grow(wrt_table* t, uint64_t delta, uint64_t init) {
    uint64_t old = t->size;
    uint64_t limit = t->max < MAX_TABLE_ELEMS ? t->max : MAX_TABLE_ELEMS;
    if (delta > limit - old)
        return -1;
    if (delta == 0)
        return (int64_t)old;
    uint64_t* elems = realloc(t->elems, (old + delta) * sizeof(uint64_t));
    if (!elems)
        return -1;
    for (uint64_t i = old; i < old + delta; i++)
        elems[i] = init;
    t->elems = elems;
    t->size = old + delta;
    return (int64_t)old;
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

int32_t wasabi_rt_table_grow(void* vmctx, int32_t table, void* init, int32_t delta) {
    return (int32_t)wrt_table_grow(table_of(vmctx, table), (uint32_t)delta, (uint64_t)(uintptr_t)init);
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

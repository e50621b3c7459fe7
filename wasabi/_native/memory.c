/* Linear memories: address-space reservations whose base never moves.
 *
 * Guarded memories reserve MEMORY_RESERVATION (8 GiB) PROT_NONE, so that any
 * i32 address plus any u32 offset lands inside the reservation and faults;
 * compiled code then needs no bounds checks. Unguarded memories (explicit
 * bounds-check mode) reserve only up to their maximum size; code compares
 * each access with memory->size. What backs the accessible bytes (a memfd,
 * so that clones can share them copy-on-write) is memory_backing.c's part.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "builtins.h"
#include "memory_backing.h"
#include "runtime.h"

static void* reserve(uint64_t bytes) {
    if (bytes == 0)
        bytes = 4096;   /* mmap refuses 0; a page keeps base non-NULL and distinct */
    void* p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static uint64_t unguarded_reservation(uint64_t min_pages, uint64_t max_pages, uint8_t** base) {
    /* up to the maximum, so that growing never moves the base; when that much
     * address space is refused, only the minimum (grow then fails: allowed) */
    uint64_t want = max_pages * WASM_PAGE_SIZE;
    *base = reserve(want);
    if (*base)
        return want;
    want = min_pages * WASM_PAGE_SIZE;
    *base = reserve(want);
    return *base ? want : 0;
}

wrt_memory* wrt_memory_new(uint64_t min_pages, uint64_t max_pages, int guarded, int cow) {
    if (max_pages > WASM_MAX_PAGES)
        max_pages = WASM_MAX_PAGES;
    if (min_pages > max_pages)
        return NULL;
    memory_impl* impl = calloc(1, sizeof *impl);
    if (!impl)
        return NULL;
    wrt_memory* mem = &impl->rec;
    uint8_t* base;
    uint64_t reserved;
    if (guarded) {
        reserved = MEMORY_RESERVATION;
        base = reserve(reserved);
    } else {
        reserved = unguarded_reservation(min_pages, max_pages, &base);
    }
    if (!base) {
        free(impl);
        return NULL;
    }
    uint64_t size = min_pages * WASM_PAGE_SIZE;
    mem->base = base;
    mem->size = size;
    if (backing_init(impl, size, cow) != 0) {
        munmap(base, reserved ? reserved : 4096);
        free(impl);
        return NULL;
    }
    mem->max_pages = max_pages;
    mem->reserved = reserved;
    mem->flags = guarded ? MEMORY_FLAG_GUARDED : 0;
    if (guarded)
        wrt_register_reservation((uintptr_t)base, (uintptr_t)base + reserved);
    return mem;
}

void wrt_memory_free(wrt_memory* mem) {
    if (!mem)
        return;
    if (mem->flags & MEMORY_FLAG_GUARDED)
        wrt_unregister_reservation((uintptr_t)mem->base, (uintptr_t)mem->base + mem->reserved);
    backing_release(MEMORY_IMPL(mem));
    munmap(mem->base, mem->reserved ? mem->reserved : 4096);
    free(MEMORY_IMPL(mem));
}

/* under the backing lock: two threads growing one (imported) memory must not
 * both map the same pages or both see the old size */
int64_t wrt_memory_grow(wrt_memory* mem, uint64_t delta_pages) {
    backing_lock();
    int64_t old_pages = (int64_t)(mem->size / WASM_PAGE_SIZE);
    uint64_t new_size = ((uint64_t)old_pages + delta_pages) * WASM_PAGE_SIZE;
    if (delta_pages > mem->max_pages - (uint64_t)old_pages || new_size > mem->reserved ||
        (delta_pages && backing_grow(MEMORY_IMPL(mem), mem->size, new_size) != 0))
        old_pages = -1;   /* e.g. overcommit refused: wasm sees a failed grow */
    else   /* a release store: another thread that sees the new size sees the pages */
        __atomic_store_n(&mem->size, new_size, __ATOMIC_RELEASE);
    backing_unlock();
    return old_pages;
}

void wrt_memory_set_limiter(wrt_memory* mem, void* limiter, uint64_t declared_max_bytes) {
    memory_impl* m = MEMORY_IMPL(mem);
    m->limiter = limiter;
    m->declared_max = declared_max_bytes;
    if (limiter)
        mem->flags |= MEMORY_FLAG_LIMITER;
    else
        mem->flags &= ~(uint64_t)MEMORY_FLAG_LIMITER;
}

/* [start, start+n) inside [0, limit): written so that nothing can overflow */
static int in_bounds(uint64_t start, uint64_t n, uint64_t limit) {
    return start <= limit && n <= limit - start;
}

int wrt_memory_fill(wrt_memory* mem, uint64_t dst, uint8_t value, uint64_t n) {
    if (!in_bounds(dst, n, mem->size))
        return TRAP_OOB_MEMORY;
    memset(mem->base + dst, value, n);
    return 0;
}

int wrt_memory_copy(wrt_memory* dmem, wrt_memory* smem, uint64_t dst, uint64_t src, uint64_t n) {
    if (!in_bounds(dst, n, dmem->size) || !in_bounds(src, n, smem->size))
        return TRAP_OOB_MEMORY;
    memmove(dmem->base + dst, smem->base + src, n);
    return 0;
}

int wrt_memory_init(wrt_memory* mem, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n) {
    /* a dropped segment has length 0, so only n = 0 at src = 0 passes */
    if (!in_bounds(src, n, seg->len) || !in_bounds(dst, n, mem->size))
        return TRAP_OOB_MEMORY;
    memcpy(mem->base + dst, (const uint8_t*)seg->ptr + src, n);
    return 0;
}

/* ---- builtins: wasm operands are u32, so every argument is zero-extended ---- */

static wrt_memory* memory_of(void* vmctx, int32_t index) {
    (void)index;   /* Wasm 2.0: one memory, vmctx->memory */
    return ((VMContext*)vmctx)->memory;
}

static void trap_if(int code) {
    if (code)
        wasabi_rt_trap(code);
}

/* The store's limiter on a grow by delta pages. A grow the maximum refuses
 * anyway (or of 0 pages) is not put to it, as in wasmtime. Out of line: only
 * memories with a limiter come here. */
static __attribute__((noinline, cold)) int limiter_allows(wrt_memory* mem, uint64_t delta) {
    uint64_t old = __atomic_load_n(&mem->size, __ATOMIC_ACQUIRE) / WASM_PAGE_SIZE;
    if (delta == 0 || delta > mem->max_pages - old)
        return 1;
    memory_impl* m = MEMORY_IMPL(mem);
    return wrt_limiter_allows(m->limiter, WRT_LIMIT_MEMORY, old * WASM_PAGE_SIZE,
                              (old + delta) * WASM_PAGE_SIZE, m->declared_max);
}

int32_t wasabi_rt_memory_grow(void* vmctx, int32_t mem, int32_t delta_pages) {
    wrt_memory* m = memory_of(vmctx, mem);
    if (__builtin_expect((m->flags & MEMORY_FLAG_LIMITER) != 0, 0) &&
        !limiter_allows(m, (uint32_t)delta_pages))
        return -1;
    return (int32_t)wrt_memory_grow(m, (uint32_t)delta_pages);
}

void wasabi_rt_memory_fill(void* vmctx, int32_t mem, int32_t dst, int32_t value, int32_t n) {
    trap_if(wrt_memory_fill(memory_of(vmctx, mem), (uint32_t)dst, (uint8_t)value, (uint32_t)n));
}

void wasabi_rt_memory_copy(void* vmctx, int32_t dst_mem, int32_t src_mem, int32_t dst, int32_t src,
                           int32_t n) {
    trap_if(wrt_memory_copy(memory_of(vmctx, dst_mem), memory_of(vmctx, src_mem), (uint32_t)dst,
                            (uint32_t)src, (uint32_t)n));
}

void wasabi_rt_memory_init(void* vmctx, int32_t mem, int32_t data, int32_t dst, int32_t src,
                           int32_t n) {
    wrt_segment* seg = &((VMContext*)vmctx)->datas[(uint32_t)data];
    trap_if(wrt_memory_init(memory_of(vmctx, mem), seg, (uint32_t)dst, (uint32_t)src, (uint32_t)n));
}

void wasabi_rt_data_drop(void* vmctx, int32_t data) {
    ((VMContext*)vmctx)->datas[(uint32_t)data].len = 0;
}

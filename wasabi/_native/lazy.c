/* Lazy compilation: entry stubs written by the runtime, and the resolver.
 *
 * See lazy.h for the scheme. Memory of one wrt_lazy (one mmap):
 *
 *     [head: 32 bytes][stub 0][stub 1]...    read + execute
 *     [codes[0], codes[1], ...]              read + write, page aligned
 *
 * The stubs reach their code slot RIP-relative, which is why the slots live in
 * the same mapping. A code slot only ever goes from NULL to an address
 * (release store; the stub's plain load sees either value, and both are valid
 * ways into the function).
 *
 * Only x86-64 has stubs so far (wrt_lazy_supported() == 0 elsewhere; the
 * Python side then compiles the module in one batch up front).
 */
#include <Python.h>     /* first, as Python.h requires */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builtins.h"
#include "fastcall.h"
#include "lazy.h"
#include "runtime.h"

#define HEAD_SIZE 32
#define STUB_SIZE 32

struct wrt_lazy {
    uint8_t* region;
    size_t region_size;
    void** codes;           /* inside region, one per function index */
    uint32_t count;
    void* owner;            /* borrowed PyObject*: the Python compiler */
};

static wrt_lazy_dispatch_fn lazy_dispatch;

void wrt_lazy_set_dispatch(wrt_lazy_dispatch_fn fn) { lazy_dispatch = fn; }

void* wrt_lazy_code(wrt_lazy* lz, uint32_t index) {
    return __atomic_load_n(&lz->codes[index], __ATOMIC_ACQUIRE);
}

void wrt_lazy_publish(wrt_lazy* lz, uint32_t index, void* code) {
    __atomic_store_n(&lz->codes[index], code, __ATOMIC_RELEASE);
}

int wrt_lazy_patch_record(wrt_func* record, void* expected, void* code) {
    return __atomic_compare_exchange_n(&record->code, &expected, code, 0, __ATOMIC_RELEASE,
                                       __ATOMIC_RELAXED);
}

void wrt_lazy_set_record(wrt_func* record, void* code, void* vmctx) {
    __atomic_store_n(&record->code, code, __ATOMIC_RELEASE);
    __atomic_store_n(&record->vmctx, vmctx, __ATOMIC_RELEASE);
}

int wrt_lazy_vmctx_busy(void* vmctx) { return WRT_GATE_OWNER((VMContext*)vmctx) != 0; }

void* wrt_lazy_stub(wrt_lazy* lz, uint32_t index) {
    return lz->region + HEAD_SIZE + (size_t)index * STUB_SIZE;
}

/* Called by the trampoline (with the GIL released or kept by the entry, as
 * for host calls): the code of function `index`, compiled now if needed. It
 * never returns on failure: the exception is kept for this thread and the
 * entry re-raises it (TRAP_COMPILE_ERROR). */
__attribute__((visibility("hidden"), used)) void* wrt_lazy_resolve(wrt_lazy* lz, uint32_t index) {
    void* code = wrt_lazy_code(lz, index);
    if (code)
        return code;        /* another caller compiled it since the stub looked */
    /* LLVM needs far more stack than the entry's margin: on a deeply recursed
     * wasm stack the Python side compiles on another thread and waits */
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t low = wrt_thread_stack_low();
    int deep = !low || here < low || here - low < LAZY_INLINE_STACK_ROOM;
    int failed = 1;
    void* released = NULL;
    int how = wrt_host_call_enter(&released);
    if (how == WRT_GIL_UNKNOWN) {
        PyGILState_STATE gil = PyGILState_Ensure();
        if (lazy_dispatch)
            failed = lazy_dispatch(lz->owner, index, deep, &code);
        PyGILState_Release(gil);
    } else {
        if (lazy_dispatch)
            failed = lazy_dispatch(lz->owner, index, deep, &code);
        wrt_host_call_leave(how);
    }
    if (failed || !code)
        wasabi_rt_trap(TRAP_COMPILE_ERROR);
    return code;
}

#if defined(__x86_64__) && !defined(_WIN32)

/* Entered from a stub with r11 = the wrt_lazy, r10d = the function index and
 * the callee's arguments untouched: rdi..r9 and xmm0..xmm7 (v128 arguments use
 * whole xmm registers) are saved, stack arguments stay where they are, so the
 * final jmp looks to the code like the original call. */
__asm__(
    "    .text\n"
    "    .p2align 4\n"
    "    .globl wrt_lazy_trampoline\n"
    "    .hidden wrt_lazy_trampoline\n"
    "    .type wrt_lazy_trampoline, @function\n"
    "wrt_lazy_trampoline:\n"
    "    pushq %rbp\n"
    "    movq %rsp, %rbp\n"
    "    subq $176, %rsp\n"              /* 6 GPRs + 8 xmm; keeps rsp 16-aligned */
    "    movq %rdi, 0(%rsp)\n"
    "    movq %rsi, 8(%rsp)\n"
    "    movq %rdx, 16(%rsp)\n"
    "    movq %rcx, 24(%rsp)\n"
    "    movq %r8, 32(%rsp)\n"
    "    movq %r9, 40(%rsp)\n"
    "    movdqu %xmm0, 48(%rsp)\n"
    "    movdqu %xmm1, 64(%rsp)\n"
    "    movdqu %xmm2, 80(%rsp)\n"
    "    movdqu %xmm3, 96(%rsp)\n"
    "    movdqu %xmm4, 112(%rsp)\n"
    "    movdqu %xmm5, 128(%rsp)\n"
    "    movdqu %xmm6, 144(%rsp)\n"
    "    movdqu %xmm7, 160(%rsp)\n"
    "    movq %r11, %rdi\n"
    "    movl %r10d, %esi\n"
    "    call wrt_lazy_resolve\n"
    "    movq 0(%rsp), %rdi\n"
    "    movq 8(%rsp), %rsi\n"
    "    movq 16(%rsp), %rdx\n"
    "    movq 24(%rsp), %rcx\n"
    "    movq 32(%rsp), %r8\n"
    "    movq 40(%rsp), %r9\n"
    "    movdqu 48(%rsp), %xmm0\n"
    "    movdqu 64(%rsp), %xmm1\n"
    "    movdqu 80(%rsp), %xmm2\n"
    "    movdqu 96(%rsp), %xmm3\n"
    "    movdqu 112(%rsp), %xmm4\n"
    "    movdqu 128(%rsp), %xmm5\n"
    "    movdqu 144(%rsp), %xmm6\n"
    "    movdqu 160(%rsp), %xmm7\n"
    "    leave\n"
    "    jmp *%rax\n"
    "    .size wrt_lazy_trampoline, .-wrt_lazy_trampoline\n");

void wrt_lazy_trampoline(void);

int wrt_lazy_supported(void) { return 1; }

static uint8_t* put_bytes(uint8_t* p, const char* bytes, size_t n) {
    memcpy(p, bytes, n);
    return p + n;
}

static uint8_t* put32(uint8_t* p, int64_t value) {
    int32_t v = (int32_t)value;
    memcpy(p, &v, 4);
    return p + 4;
}

static uint8_t* put64(uint8_t* p, const void* value) {
    uint64_t v = (uint64_t)(uintptr_t)value;
    memcpy(p, &v, 8);
    return p + 8;
}

/* head: r11 = lz; rax = trampoline; jmp rax (absolute: the mapping may lie
 * anywhere relative to this library) */
static void write_head(uint8_t* p, wrt_lazy* lz) {
    uint8_t* end = p + HEAD_SIZE;
    p = put64(put_bytes(p, "\x49\xBB", 2), lz);
    p = put64(put_bytes(p, "\x48\xB8", 2), (const void*)wrt_lazy_trampoline);
    p = put_bytes(p, "\xFF\xE0", 2);
    memset(p, 0xCC, end - p);
}

static void write_stub(uint8_t* p, uint32_t index, void** slot, uint8_t* head) {
    uint8_t* end = p + STUB_SIZE;
    p = put_bytes(p, "\xF3\x0F\x1E\xFA", 4);                 /* endbr64 (a nop without CET) */
    p = put_bytes(p, "\x48\x8B\x05", 3);                     /* mov rax, [rip + slot] */
    p = put32(p, (uint8_t*)slot - (p + 4));
    p = put_bytes(p, "\x48\x85\xC0", 3);                     /* test rax, rax */
    p = put_bytes(p, "\x74\x02", 2);                         /* je slow */
    p = put_bytes(p, "\xFF\xE0", 2);                         /* jmp rax */
    p = put_bytes(p, "\x41\xBA", 2);                         /* slow: mov r10d, index */
    p = put32(p, (int64_t)index);
    p = put_bytes(p, "\xE9", 1);                             /* jmp head */
    p = put32(p, head - (p + 4));
    memset(p, 0xCC, end - p);
}

static size_t round_up(size_t n, size_t page) { return (n + page - 1) / page * page; }

wrt_lazy* wrt_lazy_new(uint32_t count, void* owner) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t code_size = round_up(HEAD_SIZE + (size_t)count * STUB_SIZE, page);
    size_t data_size = round_up((count ? count : 1) * sizeof(void*), page);
    wrt_lazy* lz = calloc(1, sizeof *lz);
    if (!lz)
        return NULL;
    void* region = mmap(NULL, code_size + data_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) {
        free(lz);
        return NULL;
    }
    lz->region = region;
    lz->region_size = code_size + data_size;
    lz->codes = (void**)(lz->region + code_size);      /* zeroed by mmap */
    lz->count = count;
    lz->owner = owner;
    write_head(lz->region, lz);
    for (uint32_t i = 0; i < count; i++)
        write_stub(wrt_lazy_stub(lz, i), i, &lz->codes[i], lz->region);
    if (mprotect(lz->region, code_size, PROT_READ | PROT_EXEC) != 0) {
        munmap(lz->region, lz->region_size);
        free(lz);
        return NULL;
    }
    return lz;
}

#else

int wrt_lazy_supported(void) { return 0; }

wrt_lazy* wrt_lazy_new(uint32_t count, void* owner) {
    (void)count;
    (void)owner;
    return NULL;
}

#endif

void wrt_lazy_free(wrt_lazy* lz) {
    if (!lz)
        return;
    munmap(lz->region, lz->region_size);
    free(lz);
}

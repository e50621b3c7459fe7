/* What baseline code needs at run time: the rare numeric operations as C
 * functions (with wasm's exact rules), and the executable memory it lives in.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

/* ---- numbers ---- */

/* min/max: a NaN operand gives a NaN (a + b quiets it, keeping its payload, as the
 * compiled code's minss/maxss sequence would); -0 is below +0. One pair per type. */
#define MIN_MAX(T, min_name, max_name)                      \
    T min_name(T a, T b) {                                  \
        if (a != a || b != b)                               \
            return a + b;                                   \
        if (a == b)                                         \
            return signbit(a) ? a : b;                      \
        return a < b ? a : b;                               \
    }                                                       \
    T max_name(T a, T b) {                                  \
        if (a != a || b != b)                               \
            return a + b;                                   \
        if (a == b)                                         \
            return signbit(a) ? b : a;                      \
        return a > b ? a : b;                               \
    }

MIN_MAX(float, wb_f32_min, wb_f32_max)
MIN_MAX(double, wb_f64_min, wb_f64_max)

/* kind: 1 unsigned, 2 a 64-bit result, 4 saturating. `value` is exact for f32
 * sources too (every float is a double). Traps as the spec words them: NaN is an
 * invalid conversion, out of range an overflow. */
uint64_t wb_trunc(uint32_t kind, double value) {
    int is_unsigned = kind & 1, is64 = kind & 2, sat = kind & 4;
    if (value != value) {
        if (sat)
            return 0;
        wasabi_rt_trap(TRAP_INVALID_CONVERSION);
    }
    double t = trunc(value);
    double lo, hi;          /* the range: lo <= t < hi */
    uint64_t min, max;
    if (is_unsigned) {
        lo = 0.0;
        hi = is64 ? 18446744073709551616.0 : 4294967296.0;
        min = 0;
        max = is64 ? UINT64_MAX : UINT32_MAX;
    } else {
        lo = is64 ? -9223372036854775808.0 : -2147483648.0;
        hi = is64 ? 9223372036854775808.0 : 2147483648.0;
        min = is64 ? (uint64_t)INT64_MIN : (uint32_t)INT32_MIN;
        max = is64 ? (uint64_t)INT64_MAX : (uint32_t)INT32_MAX;
    }
    if (t < lo || t >= hi) {
        if (!sat)
            wasabi_rt_trap(TRAP_INT_OVERFLOW);
        return t < lo ? min : max;
    }
    if (is_unsigned)
        return is64 ? (uint64_t)t : (uint32_t)t;
    return is64 ? (uint64_t)(int64_t)t : (uint32_t)(int32_t)t;
}

float wb_f32_convert_u64(uint64_t v) { return (float)v; }
double wb_f64_convert_u64(uint64_t v) { return (double)v; }

/* ---- executable memory ----
 *
 * Each chunk is one memfd mapped twice: written through a read-write view and
 * run through a read-execute one. Code is only ever added (a function's code
 * never changes once published), so no page is ever writable and executable at
 * once, and a thread running code in a chunk is never disturbed by a later add.
 *
 * The mappings are shared, so a forked child sees its parent's chunks as the
 * same pages: after a fork the child adds only to chunks of its own (a chunk
 * from an earlier generation counts as full), or parent and child would write
 * their code over each other's. */

#define CHUNK_SIZE (4u << 20)

typedef struct wb_chunk {
    uint8_t* rw;
    uint8_t* rx;
    size_t size, used;
    unsigned generation;        /* fork_generation when it was made */
    struct wb_chunk* next;
} wb_chunk;

static unsigned fork_generation;
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void) { fork_generation++; }

static void install_fork_hook(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

struct wb_arena {
    pthread_mutex_t lock;
    wb_chunk* chunks;       /* the newest first */
    size_t bytes;
};

wb_arena* wb_arena_new(void) {
    pthread_once(&fork_hook_once, install_fork_hook);
    wb_arena* a = calloc(1, sizeof *a);
    if (a)
        pthread_mutex_init(&a->lock, NULL);
    return a;
}

static wb_chunk* new_chunk(size_t need) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = need > CHUNK_SIZE ? (need + page - 1) / page * page : CHUNK_SIZE;
    int fd = memfd_create("wasabi-baseline", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    wb_chunk* ch = NULL;
    void* rw = MAP_FAILED;
    void* rx = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail;
    rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (rw == MAP_FAILED || rx == MAP_FAILED)
        goto fail;
    ch = calloc(1, sizeof *ch);
    if (!ch)
        goto fail;
    if (wrt_register_code_range((uintptr_t)rx, (uintptr_t)rx + size) != 0)
        goto fail;
    close(fd);
    ch->rw = rw;
    ch->rx = rx;
    ch->size = size;
    ch->generation = fork_generation;
    return ch;
fail:
    free(ch);
    if (rw != MAP_FAILED)
        munmap(rw, size);
    if (rx != MAP_FAILED)
        munmap(rx, size);
    close(fd);
    return NULL;
}

void* wb_arena_add(wb_arena* a, const uint8_t* code, size_t size) {
    pthread_mutex_lock(&a->lock);
    wb_chunk* ch = a->chunks;
    if (!ch || ch->size - ch->used < size || ch->generation != fork_generation) {
        ch = new_chunk(size);
        if (!ch) {
            pthread_mutex_unlock(&a->lock);
            return NULL;
        }
        ch->next = a->chunks;
        a->chunks = ch;
    }
    size_t at = ch->used;
    memcpy(ch->rw + at, code, size);
    ch->used = (at + size + 15) & ~(size_t)15;
    if (ch->used > ch->size)
        ch->used = ch->size;
    a->bytes += size;
    pthread_mutex_unlock(&a->lock);
    return ch->rx + at;
}

size_t wb_arena_bytes(wb_arena* a) { return a ? a->bytes : 0; }

void wb_arena_free(wb_arena* a) {
    if (!a)
        return;
    wb_chunk* ch = a->chunks;
    while (ch) {
        wb_chunk* next = ch->next;
        wrt_unregister_code_range((uintptr_t)ch->rx, (uintptr_t)ch->rx + ch->size);
        munmap(ch->rw, ch->size);
        munmap(ch->rx, ch->size);
        free(ch);
        ch = next;
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Where a linear memory's accessible bytes live (memory_backing.c).
 *
 * Internal to memory.c and memory_backing.c: compiled code and the ABI only
 * ever see the wrt_memory record at the start of a memory_impl. */
#ifndef WASABI_MEMORY_BACKING_H
#define WASABI_MEMORY_BACKING_H

#include <stdint.h>
#include "vmctx.h"

enum memory_backing {
    BACKING_ANON = 0,     /* anonymous pages (a memfd was refused) */
    BACKING_SHARED = 1,   /* the memory's own image, mapped MAP_SHARED */
    BACKING_PRIVATE = 2,  /* a frozen image mapped copy-on-write, anonymous beyond it */
};

/* a memfd holding a memory's bytes; frozen (never written) once any memory
 * maps it MAP_PRIVATE, and shared by every memory cloned from that state */
typedef struct wrt_image {
    int fd;
    int refs;             /* memories mapping it; under the backing lock */
} wrt_image;

typedef struct memory_impl {
    wrt_memory rec;             /* first: a wrt_memory* is a memory_impl* */
    int backing;                /* enum memory_backing */
    wrt_image* image;           /* SHARED and PRIVATE */
    uint64_t image_bytes;       /* [0, image_bytes) maps the image */
    struct memory_impl* prev;   /* the list of SHARED memories (for fork) */
    struct memory_impl* next;
    void* limiter;              /* its store's limiter (a PyObject* its NativeMemory keeps),
                                 * asked by memory.grow when MEMORY_FLAG_LIMITER is set */
    uint64_t declared_max;      /* bytes, what the limiter is told; UINT64_MAX: none */
} memory_impl;

#define MEMORY_IMPL(mem) ((memory_impl*)(mem))

/* make [0, size) of a fresh reservation readable and writable; a memfd image
 * (SHARED) when cow, else (or when refused) anonymous pages */
int backing_init(memory_impl* m, uint64_t size, int cow);
/* the lock over backings; memory.grow holds it around its check and backing_grow */
void backing_lock(void);
void backing_unlock(void);
/* make [old_size, new_size) readable and writable (memory.grow); lock held */
int backing_grow(memory_impl* m, uint64_t old_size, uint64_t new_size);
/* drop the image reference; the caller unmaps the reservation */
void backing_release(memory_impl* m);

#endif

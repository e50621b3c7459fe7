/* Memory backing: where a linear memory's bytes live, so that a clone can
 * share them copy-on-write instead of copying every byte.
 *
 * A memory starts SHARED (or ANON, below): its bytes are a memfd (its "image") mapped
 * MAP_SHARED over the start of its reservation, so all it writes is in the
 * file. Cloning freezes the source: the same address is mapped MAP_PRIVATE
 * from the same file (one mmap; the bytes are unchanged, they are in the
 * file), and nobody writes that image again. The clone maps the image
 * MAP_PRIVATE too. From then on each of the two gets its own copy of a page
 * only when it writes it (PRIVATE). Cloning a PRIVATE memory maps its image
 * and copies just the pages it wrote since the freeze (its "dirty" pages:
 * anonymous pages in /proc/self/pagemap), so a clone costs page tables plus
 * what changed, not every byte (up to half the pages; past that the source
 * is frozen again, into a new image). Growing a PRIVATE memory adds anonymous
 * pages beyond the image.
 *
 * fork(): a child would share a SHARED memory's writes with the parent (and
 * the parent's with the child), so a pthread_atfork handler freezes every
 * SHARED memory first; PRIVATE memories fork copy-on-write like any memory.
 *
 * When memfd_create is refused (an old kernel, a sandbox), when the fd table
 * is three quarters full (the rest is the embedder's), or
 * the embedder asked for it (Options(memory="anonymous"): a shmem page costs
 * about twice an anonymous one to fault in and four times to free), the
 * memory is ANON, plain anonymous pages, and a clone copies every byte.
 *
 * One lock guards backings, images' reference counts and the SHARED list;
 * it is taken only when a memory is created, grown, cloned, freed or forked.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "memory_backing.h"
#include "runtime.h"

#define RW (PROT_READ | PROT_WRITE)
#define PAGE 4096u

static pthread_mutex_t backing_lock_ = PTHREAD_MUTEX_INITIALIZER;
static memory_impl* shared_memories;   /* every SHARED memory, for fork */
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

/* ---- the SHARED list ---- */

static void list_add(memory_impl* m) {
    m->prev = NULL;
    m->next = shared_memories;
    if (shared_memories)
        shared_memories->prev = m;
    shared_memories = m;
}

static void list_remove(memory_impl* m) {
    if (m->prev)
        m->prev->next = m->next;
    else
        shared_memories = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->prev = m->next = NULL;
}

/* ---- images ---- */

/* memfds may use the lower three quarters of the fd table: the rest stays for
 * the embedding program's files and sockets (a server with many live instances
 * must still accept connections); past it memories are anonymous */
static int fd_in_budget(int fd) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return 1;
    return (rlim_t)fd < limit.rlim_cur / 4 * 3;
}

static wrt_image* image_new(uint64_t bytes) {
    int fd = memfd_create("wasabi-memory", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (!fd_in_budget(fd)) {
        close(fd);
        return NULL;
    }
    wrt_image* img = malloc(sizeof *img);
    if (!img || ftruncate(fd, (off_t)bytes) != 0) {
        free(img);
        close(fd);
        return NULL;
    }
    img->fd = fd;
    img->refs = 1;
    return img;
}

static void image_unref(wrt_image* img) {
    if (img && --img->refs == 0) {
        close(img->fd);
        free(img);
    }
}

/* ---- mappings inside a reservation ---- */

/* map [offset, offset+bytes) of the image at base+offset */
static int map_image(uint8_t* base, uint64_t offset, uint64_t bytes, wrt_image* img, int shared) {
    if (bytes == 0)
        return 0;
    int flags = MAP_FIXED | (shared ? MAP_SHARED : MAP_PRIVATE | MAP_NORESERVE);
    void* p = mmap(base + offset, bytes, RW, flags, img->fd, (off_t)offset);
    return p == MAP_FAILED ? -1 : 0;
}

/* fresh zero pages at [at, at+bytes); prot 0 puts the reservation back */
static int map_anon(uint8_t* at, uint64_t bytes, int prot) {
    if (bytes == 0)
        return 0;
    void* p = mmap(at, bytes, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

/* ---- freezing ---- */

/* SHARED -> PRIVATE: the same bytes, now copy-on-write over a frozen image.
 * On failure the bytes are still all in the image: map them shared again. */
static int freeze(memory_impl* m) {
    if (m->backing != BACKING_SHARED)
        return 0;
    if (map_image(m->rec.base, 0, m->image_bytes, m->image, 0) != 0) {
        map_image(m->rec.base, 0, m->image_bytes, m->image, 1);
        return -1;
    }
    list_remove(m);
    m->backing = BACKING_PRIVATE;
    return 0;
}

static void fork_prepare(void) {
    pthread_mutex_lock(&backing_lock_);
    memory_impl* next;
    for (memory_impl* m = shared_memories; m; m = next) {
        next = m->next;
        freeze(m);
    }
}

static void fork_done(void) {
    pthread_mutex_unlock(&backing_lock_);
}

static void install_fork_handler(void) {
    pthread_atfork(fork_prepare, fork_done, fork_done);
}

/* ---- the interface to memory.c ---- */

int backing_init(memory_impl* m, uint64_t size, int cow) {
    pthread_once(&fork_handler_once, install_fork_handler);
    wrt_image* img = cow ? image_new(size) : NULL;
    if (img && map_image(m->rec.base, 0, size, img, 1) == 0) {
        pthread_mutex_lock(&backing_lock_);
        m->backing = BACKING_SHARED;
        m->image = img;
        m->image_bytes = size;
        list_add(m);
        pthread_mutex_unlock(&backing_lock_);
        return 0;
    }
    image_unref(img);   /* never shared: no lock needed */
    m->backing = BACKING_ANON;
    return map_anon(m->rec.base, size, RW);
}

void backing_lock(void) {
    pthread_mutex_lock(&backing_lock_);
}

void backing_unlock(void) {
    pthread_mutex_unlock(&backing_lock_);
}

int backing_grow(memory_impl* m, uint64_t old_size, uint64_t new_size) {
    uint64_t delta = new_size - old_size;
    if (m->backing != BACKING_SHARED)
        return mprotect(m->rec.base + old_size, delta, RW);   /* e.g. overcommit refused */
    if (ftruncate(m->image->fd, (off_t)new_size) != 0 ||
        map_image(m->rec.base, old_size, delta, m->image, 1) != 0) {
        map_anon(m->rec.base + old_size, delta, PROT_NONE);   /* no hole in the guard */
        return -1;
    }
    m->image_bytes = new_size;
    return 0;
}

void backing_release(memory_impl* m) {
    pthread_mutex_lock(&backing_lock_);
    if (m->backing == BACKING_SHARED)
        list_remove(m);
    image_unref(m->image);
    m->image = NULL;
    pthread_mutex_unlock(&backing_lock_);
}

/* ---- cloning ---- */

/* d becomes plain zeroed pages (it is about to get every byte). Lock held.
 * -1: done; -2: d is unusable. */
static int make_anon(memory_impl* d) {
    if (map_anon(d->rec.base, d->rec.size, RW) != 0)
        return -2;
    if (d->backing == BACKING_SHARED)
        list_remove(d);
    image_unref(d->image);
    d->image = NULL;
    d->backing = BACKING_ANON;
    /* transparent huge pages where the system allows them on request (numpy
     * asks for them too): 512x fewer faults for the copy that follows */
    madvise(d->rec.base, d->rec.size, MADV_HUGEPAGE);
    return -1;
}

/* d (fresh, the same size as s) maps s's frozen image copy-on-write, and
 * fresh zero pages beyond it. Lock held. 0: done; -1: d is zeroed anonymous
 * memory instead (copy into it); -2: d is unusable. */
static int adopt_image(memory_impl* d, memory_impl* s) {
    uint64_t size = d->rec.size;
    if (map_image(d->rec.base, 0, s->image_bytes, s->image, 0) != 0 ||
        map_anon(d->rec.base + s->image_bytes, size - s->image_bytes, RW) != 0) {
        return make_anon(d);
    }
    if (d->backing == BACKING_SHARED)
        list_remove(d);
    image_unref(d->image);
    s->image->refs++;
    d->image = s->image;
    d->image_bytes = s->image_bytes;
    d->backing = BACKING_PRIVATE;
    return 0;
}

static void copy_pages(uint8_t* dst, const uint8_t* src, uint64_t first, uint64_t end) {
    if (dst && end > first)
        memcpy(dst + first * PAGE, src + first * PAGE, (end - first) * PAGE);
}

/* The pages of src that differ from its image: the ones it has its own copy
 * of (present or swapped, and not the file's page); the pages it never wrote
 * read from the image. Copies them to dst (unless dst is NULL) and returns
 * how many there are. Without /proc/self/pagemap every page counts. */
static uint64_t dirty_pages(uint8_t* dst, const uint8_t* src, uint64_t bytes) {
    enum { CHUNK = 8192 };
    uint64_t npages = bytes / PAGE;
    uint64_t* entries = NULL;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        entries = malloc(CHUNK * sizeof *entries);
    uint64_t dirty = 0, run = 0, i = 0;   /* a run of dirty pages starts at run */
    int in_run = 0;
    for (; entries && i < npages; i += CHUNK) {
        uint64_t n = npages - i < CHUNK ? npages - i : CHUNK;
        off_t at = (off_t)(((uintptr_t)src / PAGE + i) * sizeof *entries);
        if (pread(fd, entries, n * sizeof *entries, at) != (ssize_t)(n * sizeof *entries))
            break;   /* unreadable: the rest counts as dirty */
        for (uint64_t j = 0; j < n; j++) {
            uint64_t e = entries[j];
            int own = ((e >> 63) | (e >> 62)) & 1 && !((e >> 61) & 1);
            if (own && !in_run) {
                run = i + j;
                in_run = 1;
            } else if (!own && in_run) {
                copy_pages(dst, src, run, i + j);
                dirty += i + j - run;
                in_run = 0;
            }
        }
    }
    if (!in_run)
        run = i < npages ? i : npages;
    copy_pages(dst, src, run, npages);
    dirty += npages - run;
    free(entries);
    if (fd >= 0)
        close(fd);
    return dirty;
}

/* A PRIVATE memory most of whose pages are its own: its bytes go into a new
 * image (one pwrite, no page faults), which it then maps privately, so that
 * this clone and later ones share pages again and its own copies are freed.
 * Lock held. 0 on success; on failure nothing changed. */
static int refreeze(memory_impl* s) {
    uint64_t size = s->rec.size;
    wrt_image* img = image_new(size);
    if (!img)
        return -1;
    for (uint64_t done = 0; done < size;) {
        ssize_t n = pwrite(img->fd, s->rec.base + done, size - done, (off_t)done);
        if (n <= 0) {
            image_unref(img);
            return -1;
        }
        done += (uint64_t)n;
    }
    if (map_image(s->rec.base, 0, size, img, 0) != 0) {
        /* the bytes are all in img, which nobody else maps: map it shared */
        map_image(s->rec.base, 0, size, img, 1);
        image_unref(s->image);
        s->image = img;
        s->image_bytes = size;
        s->backing = BACKING_SHARED;
        list_add(s);
        return freeze(s);
    }
    image_unref(s->image);
    s->image = img;
    s->image_bytes = size;
    return 0;
}

/* Every clone of a memfd-backed memory is copy-on-write: dst maps src's
 * frozen image and gets copies of the pages src wrote since (found in
 * pagemap). When those are more than half, src is frozen again into a new
 * image first (a pwrite of every byte: no faults, and src drops its own
 * copies). A plain anonymous src is copied whole into huge pages. */
int64_t wrt_memory_clone_contents(wrt_memory* dst, wrt_memory* src) {
    memory_impl* d = MEMORY_IMPL(dst);
    memory_impl* s = MEMORY_IMPL(src);
    pthread_mutex_lock(&backing_lock_);
    uint64_t size = src->size;   /* read under the lock: grows take it too */
    if (dst->size != size) {
        pthread_mutex_unlock(&backing_lock_);
        return -2;   /* src grew (another thread): the caller grows dst and calls again */
    }
    int rc;
    uint64_t dirty = 0;   /* a memory frozen just now has no pages of its own: no scan */
    int was_shared = s->backing == BACKING_SHARED;
    if (freeze(s) == 0 && s->backing == BACKING_PRIVATE) {
        if (!was_shared)
            dirty = dirty_pages(NULL, src->base, size);
        if (dirty * 2 > size / PAGE && refreeze(s) == 0)
            dirty = 0;     /* if it fails, the dirty pages are copied below */
        rc = adopt_image(d, s);
    } else {
        rc = make_anon(d);
    }
    pthread_mutex_unlock(&backing_lock_);
    if (rc == -2)
        return -1;
    if (rc == 0)
        return dirty ? (int64_t)dirty_pages(dst->base, src->base, size) : 0;
    memcpy(dst->base, src->base, size);
    return (int64_t)(size / PAGE);
}

const char* wrt_memory_backing(wrt_memory* mem) {
    static const char* const names[] = {"anon", "shared", "private"};   /* by enum memory_backing */
    return names[MEMORY_IMPL(mem)->backing];
}

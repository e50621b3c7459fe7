/* The WASI context: configuration (args, environment, stdio, preopens), the fd
 * table, and the host -> WASI translations every import shares. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi.h"

/* proc_exit's status for the Python side, which sees only the trap code:
 * the trap goes to this thread's innermost entry, so a thread-local is exact */
static __thread int32_t last_exit_code;

int32_t wasi_take_exit_code(void) {
    int32_t code = last_exit_code;
    last_exit_code = 0;
    return code;
}

void wasi_note_exit(wasi_ctx* c, int32_t code) {
    c->exit_code = code;
    c->exited = 1;
    last_exit_code = code;
}

/* the chunk of slots [first, first + WASI_FD_CHUNK): 0 or WASI_ENOMEM */
static int add_chunk(wasi_ctx* c) {
    wasi_fd* chunk = calloc(WASI_FD_CHUNK, sizeof *chunk);
    if (!chunk)
        return WASI_ENOMEM;
    for (int i = 0; i < WASI_FD_CHUNK; i++)
        chunk[i].host = -1;
    c->fd_chunks[c->fd_count / WASI_FD_CHUNK] = chunk;
    c->fd_count += WASI_FD_CHUNK;
    return 0;
}

wasi_ctx* wasi_ctx_new(void) {
    wasi_ctx* c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (add_chunk(c) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

void wasi_ctx_free(wasi_ctx* c) {
    if (!c)
        return;
    for (uint32_t i = 0; i < c->fd_count; i++)
        wasi_fd_release(wasi_fd_slot(c, i));
    for (uint32_t i = 0; i < c->fd_count / WASI_FD_CHUNK; i++)
        free(c->fd_chunks[i]);
    for (uint32_t i = 0; i < c->root_count; i++)
        wasi_fd_release(&c->root_entries[i]);
    free(c->root_entries);
    for (int i = 0; i < 3; i++)
        free(c->stdio[i].data);
    free(c->args);
    free(c->env);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void wasi_ctx_lock(wasi_ctx* c) { pthread_mutex_lock(&c->lock); }
void wasi_ctx_unlock(wasi_ctx* c) { pthread_mutex_unlock(&c->lock); }

void wasi_ctx_bind_memory(wasi_ctx* c, wrt_memory* mem) {
    wasi_ctx_lock(c);                   /* not under a running import */
    c->vm.memory = mem;
    c->vm.mem_base = mem ? mem->base : NULL;
    wasi_ctx_unlock(c);
}

static int copy_strings(char** dst, uint32_t* dst_size, uint32_t* dst_count, const char* strings,
                        uint32_t size, uint32_t count) {
    char* copy = malloc(size ? size : 1);
    if (!copy)
        return -ENOMEM;
    if (size)
        memcpy(copy, strings, size);
    free(*dst);
    *dst = copy;
    *dst_size = size;
    *dst_count = count;
    return 0;
}

int wasi_ctx_set_args(wasi_ctx* c, const char* strings, uint32_t size, uint32_t count) {
    return copy_strings(&c->args, &c->args_size, &c->args_count, strings, size, count);
}

int wasi_ctx_set_env(wasi_ctx* c, const char* strings, uint32_t size, uint32_t count) {
    return copy_strings(&c->env, &c->env_size, &c->env_count, strings, size, count);
}

/* ---- the fd table ---- */

wasi_fd* wasi_fd_get(wasi_ctx* c, uint32_t fd) {
    if (fd >= c->fd_count)
        return NULL;
    wasi_fd* e = wasi_fd_slot(c, fd);
    return e->kind ? e : NULL;
}

int wasi_fd_alloc(wasi_ctx* c, uint32_t lowest, uint32_t* out) {
    for (uint32_t i = lowest; i < c->fd_count; i++) {
        if (!wasi_fd_slot(c, i)->kind) {
            *out = i;
            return 0;
        }
    }
    if (c->fd_count >= WASI_MAX_FDS)
        return WASI_EMFILE;
    /* lowest < WASI_FD_CHUNK <= fd_count: the new chunk's first slot is free */
    uint32_t first = c->fd_count;
    int err = add_chunk(c);
    if (err)
        return err;
    *out = first;
    return 0;
}

void wasi_fd_release(wasi_fd* e) {
    if (!e->kind)
        return;
    if (e->dir)
        closedir(e->dir);
    if (e->host >= 0)
        close(e->host);
    free(e->preopen_name);
    memset(e, 0, sizeof *e);
    e->host = -1;
}

/* ---- stdio ---- */

static wasi_fd* stdio_slot(wasi_ctx* c, int slot) {
    wasi_fd* e = wasi_fd_slot(c, (uint32_t)slot);
    wasi_fd_release(e);
    return e;
}

uint8_t wasi_filetype_from_mode(unsigned mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
    case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
    case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
    default: return WASI_FILETYPE_UNKNOWN;     /* pipes have no WASI type */
    }
}

/* Rights a host fd of this type can have, limited by its open mode. Rights
 * are reported and can be dropped (fd_fdstat_set_rights), but otherwise the
 * host decides, as in wasmtime: a read-only fd loses only FD_WRITE, so that
 * fdatasync works and ftruncate fails the way the kernel says (EINVAL). */
uint64_t wasi_rights_for_host(int fd, uint8_t filetype) {
    uint64_t rights;
    if (filetype == WASI_FILETYPE_REGULAR_FILE || filetype == WASI_FILETYPE_BLOCK_DEVICE)
        rights = R_FILE_ALL;
    else if (filetype == WASI_FILETYPE_DIRECTORY)
        rights = R_DIR_ALL;
    else if (filetype == WASI_FILETYPE_SOCKET_STREAM)
        rights = R_SOCKET_ALL;
    else
        rights = R_STREAM_ALL;
    int mode = fcntl(fd, F_GETFL);
    if (mode >= 0 && (mode & O_ACCMODE) == O_RDONLY)
        rights &= ~R_FD_WRITE;
    if (mode >= 0 && (mode & O_ACCMODE) == O_WRONLY)
        rights &= ~(R_FD_READ | R_FD_READDIR);
    return rights;
}

int wasi_ctx_set_stdio_host(wasi_ctx* c, int slot, int host_fd) {
    if (slot < 0 || slot > 2)
        return -EINVAL;
    struct stat st;
    if (fstat(host_fd, &st) != 0)
        return -errno;
    /* our own descriptor: the guest may close it without closing the host's */
    int fd = fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    wasi_fd* e = stdio_slot(c, slot);
    e->kind = WASI_FD_HOST;
    e->host = fd;
    e->filetype = wasi_filetype_from_mode(st.st_mode);
    e->rights_base = wasi_rights_for_host(fd, e->filetype);
    /* the guest must not seek in a shared terminal or pipe; files are fine */
    if (e->filetype != WASI_FILETYPE_REGULAR_FILE)
        e->rights_base &= ~(R_FD_SEEK | R_FD_TELL);
    e->rights_inheriting = 0;
    return 0;
}

int wasi_ctx_set_stdio_buffer(wasi_ctx* c, int slot, const uint8_t* input, size_t len) {
    if (slot < 0 || slot > 2)
        return -EINVAL;
    wasi_buffer* b = &c->stdio[slot];
    free(b->data);
    memset(b, 0, sizeof *b);
    if (len) {
        b->data = malloc(len);
        if (!b->data)
            return -ENOMEM;
        memcpy(b->data, input, len);
        b->len = b->cap = len;
    }
    wasi_fd* e = stdio_slot(c, slot);
    e->kind = slot == 0 ? WASI_FD_BUF_IN : WASI_FD_BUF_OUT;
    e->host = -1;
    e->buffer = b;
    e->filetype = WASI_FILETYPE_UNKNOWN;
    e->rights_base = (slot == 0 ? R_FD_READ : R_FD_WRITE) | R_FD_FILESTAT_GET |
                     R_POLL_FD_READWRITE | R_FD_FDSTAT_SET_FLAGS;
    return 0;
}

/* ---- preopens ---- */

int wasi_ctx_preopen(wasi_ctx* c, const char* host_path, const char* guest_name, int readonly) {
    int fd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char* name = strdup(guest_name);
    uint32_t slot;
    /* preopens come after the stdio slots, even unconfigured ones */
    int err = name ? wasi_fd_alloc(c, 3, &slot) : WASI_ENOMEM;
    if (err) {
        free(name);
        close(fd);
        return err == WASI_EMFILE ? -EMFILE : -ENOMEM;
    }
    wasi_fd* e = wasi_fd_slot(c, slot);
    e->kind = WASI_FD_HOST;
    e->host = fd;
    e->filetype = WASI_FILETYPE_DIRECTORY;
    e->readonly = readonly ? 1 : 0;
    e->is_preopen = 1;
    e->preopen_name = name;
    e->preopen_name_len = (uint32_t)strlen(name);
    /* a read-only preopen reports the same rights as a writable one (as
     * wasmtime does): wasi-libc then asks for write rights when the program
     * opens for writing, and path_open refuses with EPERM up front instead of
     * handing out an fd whose writes fail later */
    e->rights_base = R_DIR_ALL;
    e->rights_inheriting = R_DIR_ALL | R_FILE_ALL;
    /* with a virtual root, the directory is also one of its entries */
    if (c->has_root && (err = wasi_root_add(c, guest_name, e)) != 0) {
        wasi_fd_release(e);
        return -err;
    }
    return (int)slot;
}

/* ---- copies (a clone's state, or a later instance's) ---- */

static int copy_entry(wasi_ctx* dst, const wasi_ctx* src, wasi_fd* to, const wasi_fd* from) {
    *to = *from;
    to->host = -1;
    to->dir = NULL;                  /* fd_readdir reopens and seeks by cookie */
    to->dir_index = 0;
    to->preopen_name = NULL;
    if (from->buffer)                /* one of src's stdio buffers: the same of dst's */
        to->buffer = &dst->stdio[from->buffer - src->stdio];
    if (from->preopen_name && !(to->preopen_name = strdup(from->preopen_name)))
        return ENOMEM;
    /* the same open file description, as after fork(): offsets are shared */
    if (from->host >= 0 && (to->host = fcntl(from->host, F_DUPFD_CLOEXEC, 3)) < 0)
        return errno;
    return 0;
}

static int copy_buffer(wasi_buffer* to, const wasi_buffer* from) {
    *to = *from;
    to->data = NULL;
    if (from->cap) {
        if (!(to->data = malloc(from->cap)))
            return ENOMEM;
        memcpy(to->data, from->data, from->len);
    }
    return 0;
}

static wasi_ctx* copy_locked(wasi_ctx* src, int* failed_fd, int* host_errno) {
    *failed_fd = -1;
    *host_errno = ENOMEM;
    wasi_ctx* c = wasi_ctx_new();
    if (!c)
        return NULL;
    if (wasi_ctx_set_args(c, src->args, src->args_size, src->args_count) ||
        wasi_ctx_set_env(c, src->env, src->env_size, src->env_count))
        goto fail;
    for (int i = 0; i < 3; i++)
        if (copy_buffer(&c->stdio[i], &src->stdio[i]))
            goto fail;
    c->exit_code = src->exit_code;
    c->exited = src->exited;
    while (c->fd_count < src->fd_count)
        if (add_chunk(c))
            goto fail;
    if (src->root_count) {
        c->root_entries = calloc(src->root_count, sizeof *c->root_entries);
        if (!c->root_entries)
            goto fail;
        for (uint32_t i = 0; i < src->root_count; i++) {
            c->root_count = i + 1;           /* released with the rest on failure */
            if ((*host_errno = copy_entry(c, src, &c->root_entries[i], &src->root_entries[i])))
                goto fail;
        }
        *host_errno = ENOMEM;
    }
    c->has_root = src->has_root;
    for (uint32_t i = 0; i < src->fd_count; i++) {
        const wasi_fd* from = wasi_fd_slot(src, i);
        if (!from->kind)
            continue;
        int err = copy_entry(c, src, wasi_fd_slot(c, i), from);
        if (err) {
            *failed_fd = (int)i;
            *host_errno = err;
            goto fail;
        }
    }
    return c;
fail:
    wasi_ctx_free(c);
    return NULL;
}

wasi_ctx* wasi_ctx_copy(wasi_ctx* src, int* failed_fd, int* host_errno) {
    wasi_ctx_lock(src);
    wasi_ctx* c = copy_locked(src, failed_fd, host_errno);
    wasi_ctx_unlock(src);
    return c;
}

/* ---- host -> WASI ---- */

int wasi_errno_from_host(int e) {
    switch (e) {
    case 0: return WASI_ESUCCESS;
    case E2BIG: return WASI_E2BIG;
    case EACCES: return WASI_EACCES;
    case EADDRINUSE: return WASI_EADDRINUSE;
    case EADDRNOTAVAIL: return WASI_EADDRNOTAVAIL;
    case EAFNOSUPPORT: return WASI_EAFNOSUPPORT;
    case EAGAIN: return WASI_EAGAIN;
    case EALREADY: return WASI_EALREADY;
    case EBADF: return WASI_EBADF;
    case EBADMSG: return WASI_EBADMSG;
    case EBUSY: return WASI_EBUSY;
    case ECANCELED: return WASI_ECANCELED;
    case ECHILD: return WASI_ECHILD;
    case ECONNABORTED: return WASI_ECONNABORTED;
    case ECONNREFUSED: return WASI_ECONNREFUSED;
    case ECONNRESET: return WASI_ECONNRESET;
    case EDEADLK: return WASI_EDEADLK;
    case EDESTADDRREQ: return WASI_EDESTADDRREQ;
    case EDOM: return WASI_EDOM;
    case EDQUOT: return WASI_EDQUOT;
    case EEXIST: return WASI_EEXIST;
    case EFAULT: return WASI_EFAULT;
    case EFBIG: return WASI_EFBIG;
    case EHOSTUNREACH: return WASI_EHOSTUNREACH;
    case EIDRM: return WASI_EIDRM;
    case EILSEQ: return WASI_EILSEQ;
    case EINPROGRESS: return WASI_EINPROGRESS;
    case EINTR: return WASI_EINTR;
    case EINVAL: return WASI_EINVAL;
    case EIO: return WASI_EIO;
    case EISCONN: return WASI_EISCONN;
    case EISDIR: return WASI_EISDIR;
    case ELOOP: return WASI_ELOOP;
    case EMFILE: return WASI_EMFILE;
    case EMLINK: return WASI_EMLINK;
    case EMSGSIZE: return WASI_EMSGSIZE;
    case EMULTIHOP: return WASI_EMULTIHOP;
    case ENAMETOOLONG: return WASI_ENAMETOOLONG;
    case ENETDOWN: return WASI_ENETDOWN;
    case ENETRESET: return WASI_ENETRESET;
    case ENETUNREACH: return WASI_ENETUNREACH;
    case ENFILE: return WASI_ENFILE;
    case ENOBUFS: return WASI_ENOBUFS;
    case ENODEV: return WASI_ENODEV;
    case ENOENT: return WASI_ENOENT;
    case ENOEXEC: return WASI_ENOEXEC;
    case ENOLCK: return WASI_ENOLCK;
    case ENOLINK: return WASI_ENOLINK;
    case ENOMEM: return WASI_ENOMEM;
    case ENOMSG: return WASI_ENOMSG;
    case ENOPROTOOPT: return WASI_ENOPROTOOPT;
    case ENOSPC: return WASI_ENOSPC;
    case ENOSYS: return WASI_ENOSYS;
    case ENOTCONN: return WASI_ENOTCONN;
    case ENOTDIR: return WASI_ENOTDIR;
    case ENOTEMPTY: return WASI_ENOTEMPTY;
    case ENOTRECOVERABLE: return WASI_ENOTRECOVERABLE;
    case ENOTSOCK: return WASI_ENOTSOCK;
    case EOPNOTSUPP: return WASI_ENOTSUP;    /* == ENOTSUP on Linux */
    case ENOTTY: return WASI_ENOTTY;
    case ENXIO: return WASI_ENXIO;
    case EOVERFLOW: return WASI_EOVERFLOW;
    case EOWNERDEAD: return WASI_EOWNERDEAD;
    case EPERM: return WASI_EPERM;
    case EPIPE: return WASI_EPIPE;
    case EPROTO: return WASI_EPROTO;
    case EPROTONOSUPPORT: return WASI_EPROTONOSUPPORT;
    case EPROTOTYPE: return WASI_EPROTOTYPE;
    case ERANGE: return WASI_ERANGE;
    case EROFS: return WASI_EROFS;
    case ESPIPE: return WASI_ESPIPE;
    case ESRCH: return WASI_ESRCH;
    case ESTALE: return WASI_ESTALE;
    case ETIMEDOUT: return WASI_ETIMEDOUT;
    case ETXTBSY: return WASI_ETXTBSY;
    case EXDEV: return WASI_EXDEV;
    default: return WASI_EIO;
    }
}

static uint64_t timespec_ns(const struct timespec* ts) {
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

void wasi_write_filestat(uint8_t* out, const struct stat* st, int snapshot0) {
    wasi_st_u64(out + 0, (uint64_t)st->st_dev);
    wasi_st_u64(out + 8, (uint64_t)st->st_ino);
    memset(out + 16, 0, 8);
    wasi_st_u8(out + 16, wasi_filetype_from_mode(st->st_mode));
    if (snapshot0) {
        /* wasi_unstable: nlink is a u32 at 20, everything after moves up by 8 */
        wasi_st_u32(out + 20, (uint32_t)st->st_nlink);
        wasi_st_u64(out + 24, (uint64_t)st->st_size);
        wasi_st_u64(out + 32, timespec_ns(&st->st_atim));
        wasi_st_u64(out + 40, timespec_ns(&st->st_mtim));
        wasi_st_u64(out + 48, timespec_ns(&st->st_ctim));
        return;
    }
    wasi_st_u64(out + 24, (uint64_t)st->st_nlink);
    wasi_st_u64(out + 32, (uint64_t)st->st_size);
    wasi_st_u64(out + 40, timespec_ns(&st->st_atim));
    wasi_st_u64(out + 48, timespec_ns(&st->st_mtim));
    wasi_st_u64(out + 56, timespec_ns(&st->st_ctim));
}

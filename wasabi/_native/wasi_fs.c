/* The fd_* imports: reads and writes (zero-copy readv/writev on guest
 * memory), seeking, fd state, file stats, directory listing, preopens. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_imports.h"

#define IOV_BATCH 64    /* host iovecs per readv/writev: on the stack, no allocation */

/* The fd's entry when it is open and has `right`; *err says why not. A missing
 * read or write right is EBADF (as POSIX and wasmtime say for a file opened
 * the other way), a missing seek right on a stream ESPIPE (on a directory
 * EBADF, as wasmtime says), any other missing
 * right ENOTCAPABLE. */
static wasi_fd* fd_with(wasi_ctx* c, int32_t fd, uint64_t right, int* err) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e) {
        *err = WASI_EBADF;
        return NULL;
    }
    uint64_t missing = right & ~e->rights_base;
    if (missing) {
        if (missing & (R_FD_READ | R_FD_WRITE))
            *err = WASI_EBADF;
        else if (missing & (R_FD_SEEK | R_FD_TELL))
            /* a stream has no position to move; a directory is no file */
            *err = e->filetype == WASI_FILETYPE_DIRECTORY ? WASI_EBADF : WASI_ESPIPE;
        else
            *err = WASI_ENOTCAPABLE;
        return NULL;
    }
    *err = 0;
    return e;
}

/* Host iovecs for guest iovecs [first, first+count) of the array at `iovs`
 * (checked by the caller); every buffer is checked against memory. */
static int gather(wasi_ctx* c, const uint8_t* iovs, uint32_t first, uint32_t count,
                  struct iovec* out) {
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t* rec = iovs + 8 * (uint64_t)(first + i);
        uint32_t ptr = wasi_ld_u32(rec), len = wasi_ld_u32(rec + 4);
        uint8_t* host = wasi_mem(c, ptr, len);
        if (!host)
            return WASI_EFAULT;
        out[i].iov_base = host;
        out[i].iov_len = len;
    }
    return 0;
}

typedef ssize_t (*vector_io)(int fd, const struct iovec* iov, int n, off_t offset);

/* One buffer (what a C program's read() and write() become): the plain system
 * call, which is 60-75 ns cheaper than its vector form on Linux (measured, 16-byte
 * writes to a file), about a fifth of such a write's cost. */
static ssize_t do_readv(int fd, const struct iovec* iov, int n, off_t off) {
    (void)off;
    return n == 1 ? read(fd, iov[0].iov_base, iov[0].iov_len) : readv(fd, iov, n);
}
static ssize_t do_writev(int fd, const struct iovec* iov, int n, off_t off) {
    (void)off;
    return n == 1 ? write(fd, iov[0].iov_base, iov[0].iov_len) : writev(fd, iov, n);
}
static ssize_t do_preadv(int fd, const struct iovec* iov, int n, off_t off) {
    return n == 1 ? pread(fd, iov[0].iov_base, iov[0].iov_len, off) : preadv(fd, iov, n, off);
}
static ssize_t do_pwritev(int fd, const struct iovec* iov, int n, off_t off) {
    return n == 1 ? pwrite(fd, iov[0].iov_base, iov[0].iov_len, off) : pwritev(fd, iov, n, off);
}

/* Run `io` over all guest iovecs in batches; stops at a short transfer (as a
 * single readv/writev would). The total is capped below 2^31 so it fits the
 * guest's u32 (Linux transfers at most ~2 GiB per call anyway). */
static int host_vector_io(wasi_ctx* c, int host, vector_io io, uint32_t iovs, uint32_t count,
                          int64_t offset, uint64_t* total) {
    const uint8_t* arr = wasi_mem(c, iovs, 8 * (uint64_t)count);
    if (!arr)
        return WASI_EFAULT;
    struct iovec batch[IOV_BATCH];
    *total = 0;
    for (uint32_t first = 0; first < count; first += IOV_BATCH) {
        uint32_t n = count - first < IOV_BATCH ? count - first : IOV_BATCH;
        int err = gather(c, arr, first, n, batch);
        if (err)
            return *total ? 0 : err;
        size_t wanted = 0;
        for (uint32_t i = 0; i < n; i++)
            wanted += batch[i].iov_len;
        ssize_t done;
        do {
            done = io(host, batch, (int)n, (off_t)(offset + (int64_t)*total));
        } while (done < 0 && errno == EINTR && wrt_eintr_retry());
        if (done < 0 && errno == EINTR)
            return WASI_STOPPED_BY_SIGNAL;   /* even after a partial transfer: it raised */
        if (done < 0)
            return *total ? 0 : wasi_errno_from_host(errno);
        *total += (uint64_t)done;
        if ((size_t)done < wanted || *total >= (1u << 31))
            break;
    }
    return 0;
}

static int buffer_append(wasi_buffer* b, const void* data, size_t n) {
    if (n == 0)
        return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t* grown = realloc(b->data, cap);
        if (!grown)
            return WASI_ENOMEM;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

/* in-memory streams: copy each guest iovec to or from the buffer */
static int buffer_io(wasi_ctx* c, wasi_fd* e, uint32_t iovs, uint32_t count, int writing,
                     uint64_t* total) {
    const uint8_t* arr = wasi_mem(c, iovs, 8 * (uint64_t)count);
    if (!arr)
        return WASI_EFAULT;
    wasi_buffer* b = e->buffer;
    *total = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t ptr = wasi_ld_u32(arr + 8 * (uint64_t)i), len = wasi_ld_u32(arr + 8 * (uint64_t)i + 4);
        uint8_t* host = wasi_mem(c, ptr, len);
        if (!host)
            return *total ? 0 : WASI_EFAULT;
        if (writing) {
            int err = buffer_append(b, host, len);
            if (err)
                return *total ? 0 : err;
            *total += len;
        } else {
            size_t left = b->len - b->pos, n = len < left ? len : left;
            if (n)
                memcpy(host, b->data + b->pos, n);
            b->pos += n;
            *total += n;
            if (n < len)
                break;
        }
    }
    return 0;
}

static int32_t transfer(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t iovs_len, int writing,
                        int positioned, int64_t offset, int32_t result_ptr) {
    int err;
    uint64_t right = (writing ? R_FD_WRITE : R_FD_READ) | (positioned ? R_FD_SEEK : 0);
    wasi_fd* e = fd_with(c, fd, right, &err);
    if (!e)
        return err;
    if (!wasi_mem(c, (uint32_t)result_ptr, 4))
        return WASI_EFAULT;
    uint64_t total = 0;
    if (e->kind == WASI_FD_VROOT) {
        return WASI_EISDIR;              /* no rights reach here: a second lock */
    } else if (e->kind == WASI_FD_HOST) {
        if (positioned && offset < 0)
            return WASI_EINVAL;
        vector_io io = positioned ? (writing ? do_pwritev : do_preadv)
                                  : (writing ? do_writev : do_readv);
        err = host_vector_io(c, e->host, io, (uint32_t)iovs, (uint32_t)iovs_len, offset, &total);
    } else if (positioned) {
        err = WASI_ESPIPE;
    } else {
        err = buffer_io(c, e, (uint32_t)iovs, (uint32_t)iovs_len, writing, &total);
    }
    if (err)
        return err;
    return wasi_put_u32(c, (uint32_t)result_ptr, (uint32_t)total);
}

int32_t wasi_fd_write(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int32_t nwritten) {
    return transfer(c, fd, iovs, n, 1, 0, 0, nwritten);
}

int32_t wasi_fd_read(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int32_t nread) {
    return transfer(c, fd, iovs, n, 0, 0, 0, nread);
}

int32_t wasi_fd_pwrite(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int64_t offset,
                       int32_t nwritten) {
    return transfer(c, fd, iovs, n, 1, 1, offset, nwritten);
}

int32_t wasi_fd_pread(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int64_t offset,
                      int32_t nread) {
    return transfer(c, fd, iovs, n, 0, 1, offset, nread);
}

/* ---- position ---- */

static int32_t seek(wasi_ctx* c, int32_t fd, int64_t offset, int whence, int32_t result) {
    int err;
    /* fd_tell's right suffices to ask for the position */
    uint64_t right = (offset == 0 && whence == SEEK_CUR) ? R_FD_TELL : R_FD_SEEK;
    wasi_fd* e = fd_with(c, fd, right, &err);
    if (!e)
        return err;
    if (!wasi_mem(c, (uint32_t)result, 8))
        return WASI_EFAULT;
    if (e->kind != WASI_FD_HOST)
        return WASI_ESPIPE;
    off_t pos = lseek(e->host, (off_t)offset, whence);
    if (pos < 0)
        return wasi_errno_from_host(errno);
    return wasi_put_u64(c, (uint32_t)result, (uint64_t)pos);
}

int32_t wasi_fd_seek(wasi_ctx* c, int32_t fd, int64_t offset, int32_t whence, int32_t result) {
    static const int host_whence[3] = {SEEK_SET, SEEK_CUR, SEEK_END};
    if ((uint32_t)whence > 2)
        return WASI_EINVAL;
    return seek(c, fd, offset, host_whence[whence], result);
}

/* wasi_unstable numbers whence differently: cur 0, end 1, set 2 */
int32_t wasi_fd_seek_snapshot0(wasi_ctx* c, int32_t fd, int64_t offset, int32_t whence,
                               int32_t result) {
    static const int host_whence[3] = {SEEK_CUR, SEEK_END, SEEK_SET};
    if ((uint32_t)whence > 2)
        return WASI_EINVAL;
    return seek(c, fd, offset, host_whence[whence], result);
}

int32_t wasi_fd_tell(wasi_ctx* c, int32_t fd, int32_t result) {
    return seek(c, fd, 0, SEEK_CUR, result);
}

/* ---- fd lifetime and syncing ---- */

int32_t wasi_fd_close(wasi_ctx* c, int32_t fd) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e)
        return WASI_EBADF;
    wasi_fd_release(e);
    return 0;
}

int32_t wasi_fd_renumber(wasi_ctx* c, int32_t from, int32_t to) {
    wasi_fd* src = wasi_fd_get(c, (uint32_t)from);
    wasi_fd* dst = wasi_fd_get(c, (uint32_t)to);
    if (!src || !dst)
        return WASI_EBADF;
    if (src == dst)
        return 0;
    wasi_fd_release(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);    /* moved, not closed */
    src->host = -1;
    return 0;
}

static int32_t sync_fd(wasi_ctx* c, int32_t fd, uint64_t right, int data_only) {
    int err;
    wasi_fd* e = fd_with(c, fd, right, &err);
    if (!e)
        return err;
    if (e->kind != WASI_FD_HOST)
        return 0;                   /* in-memory streams are always "on disk" */
    int rc = data_only ? fdatasync(e->host) : fsync(e->host);
    return rc == 0 ? 0 : wasi_errno_from_host(errno);
}

int32_t wasi_fd_sync(wasi_ctx* c, int32_t fd) { return sync_fd(c, fd, R_FD_SYNC, 0); }
int32_t wasi_fd_datasync(wasi_ctx* c, int32_t fd) { return sync_fd(c, fd, R_FD_DATASYNC, 1); }

int32_t wasi_fd_advise(wasi_ctx* c, int32_t fd, int64_t offset, int64_t len, int32_t advice) {
    static const int host_advice[6] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                       POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_ADVISE, &err);
    if (!e)
        return err;
    if ((uint32_t)advice > 5 || offset < 0 || len < 0)
        return WASI_EINVAL;
    if (e->kind != WASI_FD_HOST)
        return WASI_ESPIPE;
    return wasi_errno_from_host(posix_fadvise(e->host, offset, len, host_advice[advice]));
}

int32_t wasi_fd_allocate(wasi_ctx* c, int32_t fd, int64_t offset, int64_t len) {
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_ALLOCATE, &err);
    if (!e)
        return err;
    if (offset < 0 || len <= 0)
        return WASI_EINVAL;
    if (e->readonly)
        return WASI_EPERM;
    if (e->kind != WASI_FD_HOST)
        return WASI_ESPIPE;
    return wasi_errno_from_host(posix_fallocate(e->host, offset, len));
}

/* ---- fd state ---- */

static uint16_t fdflags_of(wasi_fd* e) {
    if (e->kind != WASI_FD_HOST)
        return e->fdflags;
    int fl = fcntl(e->host, F_GETFL);
    if (fl < 0)
        return 0;
    uint16_t out = 0;
    if (fl & O_APPEND) out |= WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK) out |= WASI_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC) out |= WASI_FDFLAG_SYNC;   /* O_SYNC includes O_DSYNC's bit */
    else if (fl & O_DSYNC) out |= WASI_FDFLAG_DSYNC;
    return out;
}

int32_t wasi_fd_fdstat_get(wasi_ctx* c, int32_t fd, int32_t buf) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e)
        return WASI_EBADF;
    uint8_t* out = wasi_mem(c, (uint32_t)buf, 24);
    if (!out)
        return WASI_EFAULT;
    memset(out, 0, 24);
    wasi_st_u8(out, e->filetype);
    wasi_st_u16(out + 2, fdflags_of(e));
    wasi_st_u64(out + 8, e->rights_base);
    wasi_st_u64(out + 16, e->rights_inheriting);
    return 0;
}

int32_t wasi_fd_fdstat_set_flags(wasi_ctx* c, int32_t fd, int32_t flags) {
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_FDSTAT_SET_FLAGS, &err);
    if (!e)
        return err;
    if (flags & ~(WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK))
        return (flags & ~0x1F) ? WASI_EINVAL : WASI_ENOTSUP;  /* sync modes are fixed at open */
    if (e->kind != WASI_FD_HOST) {
        e->fdflags = (uint16_t)flags;
        return 0;
    }
    int fl = fcntl(e->host, F_GETFL);
    if (fl < 0)
        return wasi_errno_from_host(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
    if (flags & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    return fcntl(e->host, F_SETFL, fl) == 0 ? 0 : wasi_errno_from_host(errno);
}

/* rights can only be dropped, never gained */
int32_t wasi_fd_fdstat_set_rights(wasi_ctx* c, int32_t fd, int64_t base, int64_t inheriting) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e)
        return WASI_EBADF;
    if (((uint64_t)base & ~e->rights_base) || ((uint64_t)inheriting & ~e->rights_inheriting))
        return WASI_ENOTCAPABLE;
    e->rights_base = (uint64_t)base;
    e->rights_inheriting = (uint64_t)inheriting;
    return 0;
}

/* ---- file stats ---- */

static int32_t fd_filestat(wasi_ctx* c, int32_t fd, int32_t buf, int snapshot0) {
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_FILESTAT_GET, &err);
    if (!e)
        return err;
    uint8_t* out = wasi_mem(c, (uint32_t)buf, snapshot0 ? 56 : 64);
    if (!out)
        return WASI_EFAULT;
    struct stat st;
    if (e->kind == WASI_FD_VROOT) {
        wasi_root_stat(&st);
    } else if (e->kind != WASI_FD_HOST) {
        memset(&st, 0, sizeof st);          /* an in-memory stream: no inode, no times */
        if (e->buffer)
            st.st_size = (off_t)e->buffer->len;
    } else if (fstat(e->host, &st) != 0) {
        return wasi_errno_from_host(errno);
    }
    wasi_write_filestat(out, &st, snapshot0);
    if (e->kind == WASI_FD_BUF_IN || e->kind == WASI_FD_BUF_OUT)
        wasi_st_u8(out + 16, WASI_FILETYPE_UNKNOWN);
    return 0;
}

int32_t wasi_fd_filestat_get(wasi_ctx* c, int32_t fd, int32_t buf) {
    return fd_filestat(c, fd, buf, 0);
}

int32_t wasi_fd_filestat_get_snapshot0(wasi_ctx* c, int32_t fd, int32_t buf) {
    return fd_filestat(c, fd, buf, 1);
}

int32_t wasi_fd_filestat_set_size(wasi_ctx* c, int32_t fd, int64_t size) {
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_FILESTAT_SET_SIZE, &err);
    if (!e)
        return err;
    if (size < 0)
        return WASI_EINVAL;
    if (e->readonly)
        return WASI_EPERM;
    if (e->kind != WASI_FD_HOST)
        return WASI_EINVAL;
    return ftruncate(e->host, size) == 0 ? 0 : wasi_errno_from_host(errno);
}

static int to_timespec(int64_t ns, int set, int now, struct timespec* ts) {
    if (set && now)
        return WASI_EINVAL;
    ts->tv_sec = 0;
    if (now) {
        ts->tv_nsec = UTIME_NOW;
    } else if (set) {
        ts->tv_sec = (time_t)((uint64_t)ns / 1000000000u);
        ts->tv_nsec = (long)((uint64_t)ns % 1000000000u);
    } else {
        ts->tv_nsec = UTIME_OMIT;
    }
    return 0;
}

int wasi_make_times(int64_t atim, int64_t mtim, int32_t fst, struct timespec ts[2]) {
    if (fst & ~0xF)
        return WASI_EINVAL;
    if (to_timespec(atim, fst & WASI_FST_ATIM, fst & WASI_FST_ATIM_NOW, &ts[0]) ||
        to_timespec(mtim, fst & WASI_FST_MTIM, fst & WASI_FST_MTIM_NOW, &ts[1]))
        return WASI_EINVAL;
    return 0;
}

int32_t wasi_fd_filestat_set_times(wasi_ctx* c, int32_t fd, int64_t atim, int64_t mtim,
                                   int32_t fst_flags) {
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_FILESTAT_SET_TIMES, &err);
    if (!e)
        return err;
    struct timespec ts[2];
    if ((err = wasi_make_times(atim, mtim, fst_flags, ts)) != 0)
        return err;
    if (e->kind == WASI_FD_VROOT)
        return WASI_EROFS;
    if (e->readonly)
        return WASI_EPERM;
    if (e->kind != WASI_FD_HOST)
        return WASI_EINVAL;
    return futimens(e->host, ts) == 0 ? 0 : wasi_errno_from_host(errno);
}

/* ---- preopens ---- */

int32_t wasi_fd_prestat_get(wasi_ctx* c, int32_t fd, int32_t buf) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e || !e->is_preopen)
        return WASI_EBADF;
    uint8_t* out = wasi_mem(c, (uint32_t)buf, 8);
    if (!out)
        return WASI_EFAULT;
    memset(out, 0, 8);                       /* tag 0: a directory */
    wasi_st_u32(out + 4, e->preopen_name_len);
    return 0;
}

int32_t wasi_fd_prestat_dir_name(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len) {
    wasi_fd* e = wasi_fd_get(c, (uint32_t)fd);
    if (!e || !e->is_preopen)
        return WASI_EBADF;
    uint8_t* out = wasi_mem(c, (uint32_t)path, (uint32_t)path_len);
    if (!out)
        return WASI_EFAULT;
    if ((uint32_t)path_len < e->preopen_name_len)
        return WASI_ENAMETOOLONG;
    memcpy(out, e->preopen_name, e->preopen_name_len);
    return 0;
}

/* ---- directory listing ---- */

static uint8_t dirent_type(DIR* dir, const struct dirent* d) {
    switch (d->d_type) {
    case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR: return WASI_FILETYPE_DIRECTORY;
    case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
    case DT_UNKNOWN: {
        struct stat st;
        if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return wasi_filetype_from_mode(st.st_mode);
        return WASI_FILETYPE_UNKNOWN;
    }
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

/* The fd's directory stream positioned at entry `cookie` (cookies count
 * entries from 0: telldir values are opaque and need not fit a guest's view). */
static int dir_seek(wasi_fd* e, uint64_t cookie) {
    if (!e->dir) {
        /* a fresh open file description: the stream's position is its own */
        int fd = openat(e->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return wasi_errno_from_host(errno);
        e->dir = fdopendir(fd);
        if (!e->dir) {
            int saved = errno;
            close(fd);
            return wasi_errno_from_host(saved);
        }
        e->dir_index = 0;
    }
    if (cookie < e->dir_index) {
        rewinddir(e->dir);
        e->dir_index = 0;
    }
    while (e->dir_index < cookie) {
        if (!readdir(e->dir))
            break;                           /* past the end: nothing more to list */
        e->dir_index++;
    }
    return 0;
}

int32_t wasi_fd_readdir(wasi_ctx* c, int32_t fd, int32_t buf, int32_t buf_len, int64_t cookie,
                        int32_t bufused) {
    int err;
    wasi_fd* e = fd_with(c, fd, R_FD_READDIR, &err);
    if (!e)
        return err;
    if (e->kind != WASI_FD_VROOT &&
        (e->kind != WASI_FD_HOST || e->filetype != WASI_FILETYPE_DIRECTORY))
        return WASI_ENOTDIR;
    uint8_t* out = wasi_mem(c, (uint32_t)buf, (uint32_t)buf_len);
    if (!out || !wasi_mem(c, (uint32_t)bufused, 4))
        return WASI_EFAULT;
    if (e->kind == WASI_FD_VROOT) {
        uint32_t used;
        wasi_root_readdir(c, out, (uint32_t)buf_len, (uint64_t)cookie, &used);
        return wasi_put_u32(c, (uint32_t)bufused, used);
    }
    if ((err = dir_seek(e, (uint64_t)cookie)) != 0)
        return err;
    uint32_t used = 0, room = (uint32_t)buf_len;
    while (used < room && e->dir_index >= (uint64_t)cookie) {
        errno = 0;
        struct dirent* d = readdir(e->dir);
        if (!d) {
            if (errno)
                return wasi_errno_from_host(errno);
            break;
        }
        e->dir_index++;
        uint8_t header[24];
        uint32_t namlen = (uint32_t)strlen(d->d_name);
        memset(header, 0, sizeof header);
        wasi_st_u64(header, e->dir_index);              /* d_next: the following entry */
        wasi_st_u64(header + 8, (uint64_t)d->d_ino);
        wasi_st_u32(header + 16, namlen);
        wasi_st_u8(header + 20, dirent_type(e->dir, d));
        /* the last entry may be cut short: bufused == buf_len tells the guest */
        uint32_t n = room - used < 24 ? room - used : 24;
        memcpy(out + used, header, n);
        used += n;
        n = room - used < namlen ? room - used : namlen;
        memcpy(out + used, d->d_name, n);
        used += n;
    }
    return wasi_put_u32(c, (uint32_t)bufused, used);
}

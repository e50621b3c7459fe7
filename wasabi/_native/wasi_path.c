/* Guest paths, resolved inside the sandbox, and the path_* imports.
 *
 * A guest path is walked component by component from the directory fd it is
 * relative to, as wasmtime (cap-std) does on kernels without openat2: every
 * directory is opened with O_PATH | O_NOFOLLOW, every symlink is read with
 * readlinkat and its target spliced into the rest of the path, `..` pops the
 * walk's own stack of directory fds and fails with EPERM at its bottom. An
 * absolute path or symlink target fails with EPERM. So nothing -- `..`,
 * symlinks, a directory renamed mid-walk -- reaches outside the preopen: the
 * final operation always runs as an *at() call on a directory fd inside it,
 * on a final component that is not followed (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_imports.h"

#define MAX_SYMLINK_EXPANSIONS 40

typedef struct walk {
    int* fds;           /* fds[0]: the base directory (borrowed); above it: owned */
    int depth;          /* index of the current directory in fds */
    int cap;
} walk;

static void walk_close(walk* w, int keep_top) {
    for (int i = 1; i <= w->depth; i++)
        if (!(keep_top && i == w->depth))
            close(w->fds[i]);
    free(w->fds);
}

static int walk_push(walk* w, int fd) {
    if (w->depth + 1 >= w->cap) {
        int cap = w->cap * 2;
        int* grown = realloc(w->fds, (size_t)cap * sizeof *grown);
        if (!grown)
            return WASI_ENOMEM;
        w->fds = grown;
        w->cap = cap;
    }
    w->fds[++w->depth] = fd;
    return 0;
}

/* The target of symlink `name` spliced before `rest`, into `path`; 0, a WASI
 * errno, or -1 when `name` is not a symlink. */
static int splice_symlink(int dirfd, const char* name, const char* rest, char* path) {
    char target[WASI_PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof target);
    if (n < 0)
        return errno == EINVAL ? -1 : wasi_errno_from_host(errno);
    if ((size_t)n >= sizeof target)
        return WASI_ENAMETOOLONG;
    if (n == 0)
        return WASI_ENOENT;
    if (target[0] == '/')
        return WASI_EPERM;             /* an absolute target leaves the sandbox */
    /* path = target "/" rest; `rest` may point into `path` itself */
    size_t rest_len = strlen(rest), sep = rest_len ? 1 : 0;
    if ((size_t)n + sep + rest_len + 1 > WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    memmove(path + n + sep, rest, rest_len + 1);
    memcpy(path, target, (size_t)n);
    if (sep)
        path[n] = '/';
    return 0;
}

/* Walk `path` (a writable NUL-terminated copy) from w->fds[0]; leaves the
 * directory of the final component on top of `w` and its name in `out`. */
static int walk_path(walk* w, char* path, int follow_final, wasi_resolved* out) {
    int expansions = 0;
    char* p = path;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p) {                       /* ended on a directory: "x/..", "." */
            strcpy(out->name, ".");
            return 0;
        }
        char* end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char* after = p + len;
        while (*after == '/')
            after++;
        int last = *after == '\0';
        int trailing = last && end != NULL;
        char component[WASI_PATH_MAX];
        memcpy(component, p, len);
        component[len] = '\0';
        if (strcmp(component, ".") == 0) {
            p = after;
            continue;
        }
        if (strcmp(component, "..") == 0) {
            if (w->depth == 0)
                return WASI_EPERM;       /* above the preopen */
            close(w->fds[w->depth--]);
            p = after;
            continue;
        }
        out->trailing_slash = trailing;
        if (last && !follow_final && !trailing) {
            memcpy(out->name, component, len + 1);
            return 0;
        }
        int err = splice_symlink(w->fds[w->depth], component, after, path);
        if (err == 0) {
            if (++expansions > MAX_SYMLINK_EXPANSIONS)
                return WASI_ELOOP;
            /* a symlink named with a trailing slash keeps naming a directory */
            if (trailing && path[strlen(path) - 1] != '/') {
                size_t l = strlen(path);
                if (l + 2 > WASI_PATH_MAX)
                    return WASI_ENAMETOOLONG;
                path[l] = '/';
                path[l + 1] = '\0';
            }
            p = path;
            continue;
        }
        if (err > 0 && !(err == WASI_ENOENT && last))
            return err;
        if (last) {                      /* a non-symlink, or a name to create */
            memcpy(out->name, component, len + 1);
            return 0;
        }
        int fd = openat(w->fds[w->depth], component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wasi_errno_from_host(errno);
        if ((err = walk_push(w, fd)) != 0) {
            close(fd);
            return err;
        }
        p = after;
    }
}

int wasi_guest_path(wasi_ctx* c, uint32_t path_ptr, uint32_t path_len, char* path) {
    const uint8_t* guest = wasi_mem(c, path_ptr, path_len);
    if (!guest)
        return WASI_EFAULT;
    if (path_len >= WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    if (path_len == 0)
        return WASI_ENOENT;
    if (memchr(guest, '\0', path_len))
        return WASI_EINVAL;
    if (guest[0] == '/')
        return WASI_EPERM;               /* absolute paths name nothing in a sandbox */
    memcpy(path, guest, path_len);
    path[path_len] = '\0';
    return 0;
}

int wasi_walk(int base, char* path, int follow_final, wasi_resolved* out) {
    walk w = {malloc(16 * sizeof(int)), 0, 16};
    if (!w.fds)
        return WASI_ENOMEM;
    w.fds[0] = base;
    int err = walk_path(&w, path, follow_final, out);
    if (err) {
        walk_close(&w, 0);
        return err;
    }
    out->dirfd = w.fds[w.depth];
    out->owned = w.depth > 0;
    walk_close(&w, 1);
    return 0;
}

int wasi_resolve(wasi_ctx* c, uint32_t dirfd, uint64_t right, uint32_t path_ptr,
                 uint32_t path_len, int follow_final, wasi_resolved* out, wasi_fd** dir_entry) {
    out->dirfd = -1;
    out->owned = 0;
    out->trailing_slash = 0;
    out->at_root = 0;
    wasi_fd* e = wasi_fd_get(c, dirfd);
    if (!e)
        return WASI_EBADF;
    if (e->kind != WASI_FD_VROOT &&
        (e->kind != WASI_FD_HOST || e->filetype != WASI_FILETYPE_DIRECTORY))
        return WASI_ENOTDIR;
    if ((e->rights_base & right) != right)
        return WASI_ENOTCAPABLE;
    char path[WASI_PATH_MAX];
    int err = wasi_guest_path(c, path_ptr, path_len, path);
    if (err)
        return err;
    if (e->kind == WASI_FD_VROOT)
        return wasi_root_resolve(c, e, right, path, follow_final, out, dir_entry);
    if ((err = wasi_walk(e->host, path, follow_final, out)) != 0)
        return err;
    out->inheriting = e->rights_inheriting;
    if (dir_entry)
        *dir_entry = e;
    return 0;
}

void wasi_resolved_done(wasi_resolved* r) {
    if (r->owned && r->dirfd >= 0)
        close(r->dirfd);
    r->dirfd = -1;
    r->owned = 0;
}

/* ---- path_open ---- */

static int host_open_flags(int32_t oflags, uint64_t base, int32_t fdflags, int trailing) {
    int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
    int want_read = (base & (R_FD_READ | R_FD_READDIR)) != 0;
    int want_write = (base & R_WRITE_ANY) != 0;
    if (want_write)
        flags |= want_read ? O_RDWR : O_WRONLY;
    if (oflags & WASI_O_CREAT) flags |= O_CREAT;
    if (oflags & WASI_O_EXCL) flags |= O_EXCL;
    if (oflags & WASI_O_TRUNC) flags |= O_TRUNC;
    if ((oflags & WASI_O_DIRECTORY) || trailing) flags |= O_DIRECTORY;
    if (fdflags & WASI_FDFLAG_APPEND) flags |= O_APPEND;
    if (fdflags & WASI_FDFLAG_DSYNC) flags |= O_DSYNC;
    if (fdflags & WASI_FDFLAG_SYNC) flags |= O_SYNC;
    if (fdflags & WASI_FDFLAG_RSYNC) flags |= O_RSYNC;
    if (fdflags & WASI_FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
    return flags;
}

/* write rights asked for, but none that writes data (FD_WRITE), creates,
 * truncates or appends: for a directory they mean nothing */
static int incidental_write(int32_t oflags, uint64_t base, int32_t fdflags) {
    return (base & R_WRITE_ANY) && !(base & R_FD_WRITE) &&
           !(oflags & (WASI_O_CREAT | WASI_O_TRUNC | WASI_O_EXCL)) &&
           !(fdflags & WASI_FDFLAG_APPEND);
}

/* path_open of the virtual root itself: another fd of it. Rights that write
 * data are refused as a host directory refuses them; what would create or
 * truncate was refused while resolving (EROFS) */
static int32_t open_root(wasi_ctx* c, uint64_t base, uint64_t inheriting, int32_t fdflags,
                         int32_t fd_out) {
    if ((base & R_FD_WRITE) || (fdflags & WASI_FDFLAG_APPEND))
        return WASI_EISDIR;
    uint32_t slot;
    int err = wasi_fd_alloc(c, 0, &slot);
    if (err)
        return err;
    wasi_fd* e = wasi_fd_slot(c, slot);
    e->kind = WASI_FD_VROOT;
    e->host = -1;
    e->filetype = WASI_FILETYPE_DIRECTORY;
    e->readonly = 1;
    e->rights_base = base & R_DIR_ALL;
    e->rights_inheriting = inheriting;
    wasi_put_u32(c, (uint32_t)fd_out, slot);
    return 0;
}

int32_t wasi_path_open(wasi_ctx* c, int32_t dirfd, int32_t dirflags, int32_t path,
                       int32_t path_len, int32_t oflags, int64_t rights_base,
                       int64_t rights_inheriting, int32_t fdflags, int32_t fd_out) {
    if (!wasi_mem(c, (uint32_t)fd_out, 4))
        return WASI_EFAULT;
    uint64_t base = (uint64_t)rights_base;
    uint64_t needed = R_PATH_OPEN;
    if (oflags & WASI_O_CREAT) needed |= R_PATH_CREATE_FILE;
    if (oflags & WASI_O_TRUNC) needed |= R_PATH_FILESTAT_SET_SIZE;
    /* O_CREAT | O_EXCL never follows a final symlink (POSIX) */
    int follow = (dirflags & WASI_LOOKUP_SYMLINK_FOLLOW) &&
                 (oflags & (WASI_O_CREAT | WASI_O_EXCL)) != (WASI_O_CREAT | WASI_O_EXCL);
    wasi_resolved r;
    wasi_fd* dir;
    int err = wasi_resolve(c, (uint32_t)dirfd, needed, (uint32_t)path, (uint32_t)path_len,
                           follow, &r, &dir);
    if (err)
        return err;
    if (r.at_root)
        return open_root(c, base, (uint64_t)rights_inheriting & r.inheriting, fdflags, fd_out);
    /* what the new fd inherits, read now: nothing of `dir` is used after the
     * slot allocation below (the table no longer moves, but keep it local) */
    uint8_t readonly = dir->readonly;
    uint64_t dir_inheriting = r.inheriting;
    int fd = -1, open_errno = 0;
    if (incidental_write(oflags, base, fdflags)) {
        /* a directory opened with rights that only matter for files (Rust's std
         * and wasi-libc reopen a preopen with its own rights, FD_DATASYNC
         * among them): open it as the directory it is, read-only (wasmtime
         * does the same); anything else falls through to the checks below */
        fd = openat(r.dirfd, r.name, host_open_flags(oflags, 0, fdflags, 1), 0);
        open_errno = errno;
        if (fd < 0 && (open_errno != ENOTDIR || (oflags & WASI_O_DIRECTORY) || r.trailing_slash)) {
            wasi_resolved_done(&r);
            return wasi_errno_from_host(open_errno);
        }
    }
    if (fd < 0) {
        if (readonly && ((oflags & (WASI_O_CREAT | WASI_O_TRUNC)) || (base & R_WRITE_ANY) ||
                         (fdflags & WASI_FDFLAG_APPEND))) {
            wasi_resolved_done(&r);
            return WASI_EPERM;
        }
        fd = openat(r.dirfd, r.name, host_open_flags(oflags, base, fdflags, r.trailing_slash), 0666);
        open_errno = errno;
    }
    wasi_resolved_done(&r);
    if (fd < 0)
        return wasi_errno_from_host(open_errno);
    struct stat st;
    uint32_t slot;
    if (fstat(fd, &st) != 0 || (err = wasi_fd_alloc(c, 0, &slot)) != 0) {
        err = err ? err : wasi_errno_from_host(errno);
        close(fd);
        return err;
    }
    wasi_fd* e = wasi_fd_slot(c, slot);
    e->kind = WASI_FD_HOST;
    e->host = fd;
    e->filetype = wasi_filetype_from_mode(st.st_mode);
    e->readonly = readonly;
    /* the rights asked for (and inheritable), as far as the host fd allows:
     * the same request gives the same rights through any directory that
     * passes them on. One exception: wasi-libc asks for no FD_DATASYNC,
     * FD_ALLOCATE or FD_FILESTAT_SET_SIZE when reading, yet fdatasync,
     * fallocate and ftruncate must reach the host, which answers by the open
     * mode (as in wasmtime); on an fd not open for writing they can change
     * nothing, so they come with it always */
    uint64_t host_rights = wasi_rights_for_host(fd, e->filetype);
    uint64_t implied = (host_rights & R_FD_WRITE) ? 0 : (R_WRITE_ANY & ~R_FD_WRITE);
    e->rights_base = ((base & dir_inheriting) | implied) & host_rights;
    e->rights_inheriting = (uint64_t)rights_inheriting & dir_inheriting;
    wasi_put_u32(c, (uint32_t)fd_out, slot);
    return 0;
}

/* ---- the other path operations ---- */

/* resolve, and refuse changes below a read-only preopen */
static int resolve_for_change(wasi_ctx* c, int32_t dirfd, uint64_t right, int32_t path,
                              int32_t path_len, int follow, wasi_resolved* r) {
    wasi_fd* dir;
    int err = wasi_resolve(c, (uint32_t)dirfd, right, (uint32_t)path, (uint32_t)path_len,
                           follow, r, &dir);
    if (!err && (dir->readonly || r->at_root)) {
        /* the virtual root refuses changes while resolving: this is a second lock */
        err = r->at_root ? WASI_EROFS : WASI_EPERM;
        wasi_resolved_done(r);
    }
    return err;
}

static int32_t done_with(wasi_resolved* r, int rc) {
    int saved = errno;
    wasi_resolved_done(r);
    return rc == 0 ? 0 : wasi_errno_from_host(saved);
}

int32_t wasi_path_create_directory(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len) {
    wasi_resolved r;
    int err = resolve_for_change(c, fd, R_PATH_CREATE_DIRECTORY, path, path_len, 0, &r);
    if (err)
        return err;
    return done_with(&r, mkdirat(r.dirfd, r.name, 0777));
}

int32_t wasi_path_remove_directory(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len) {
    wasi_resolved r;
    int err = resolve_for_change(c, fd, R_PATH_REMOVE_DIRECTORY, path, path_len, 0, &r);
    if (err)
        return err;
    return done_with(&r, unlinkat(r.dirfd, r.name, AT_REMOVEDIR));
}

/* "name/" must name a directory: ENOTDIR when it does not */
static int check_trailing_dir(wasi_resolved* r) {
    struct stat st;
    if (!r->trailing_slash)
        return 0;
    if (fstatat(r->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return wasi_errno_from_host(errno);
    return S_ISDIR(st.st_mode) ? 0 : WASI_ENOTDIR;
}

int32_t wasi_path_unlink_file(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len) {
    wasi_resolved r;
    int err = resolve_for_change(c, fd, R_PATH_UNLINK_FILE, path, path_len, 0, &r);
    if (err)
        return err;
    if (r.trailing_slash) {
        err = check_trailing_dir(&r);
        wasi_resolved_done(&r);
        return err ? err : WASI_EISDIR;
    }
    return done_with(&r, unlinkat(r.dirfd, r.name, 0));
}

int32_t wasi_path_rename(wasi_ctx* c, int32_t fd, int32_t old_path, int32_t old_len,
                         int32_t new_fd, int32_t new_path, int32_t new_len) {
    wasi_resolved from, to;
    int err = resolve_for_change(c, fd, R_PATH_RENAME_SOURCE, old_path, old_len, 0, &from);
    if (err)
        return err;
    err = resolve_for_change(c, new_fd, R_PATH_RENAME_TARGET, new_path, new_len, 0, &to);
    if (!err && (from.trailing_slash || to.trailing_slash))
        err = check_trailing_dir(&from);
    if (!err && renameat(from.dirfd, from.name, to.dirfd, to.name) != 0)
        err = wasi_errno_from_host(errno);
    wasi_resolved_done(&from);
    wasi_resolved_done(&to);
    return err;
}

int32_t wasi_path_symlink(wasi_ctx* c, int32_t old_path, int32_t old_len, int32_t fd,
                          int32_t new_path, int32_t new_len) {
    const uint8_t* target = wasi_mem(c, (uint32_t)old_path, (uint32_t)old_len);
    if (!target)
        return WASI_EFAULT;
    if ((uint32_t)old_len >= WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    if (old_len == 0)
        return WASI_ENOENT;
    if (memchr(target, '\0', (uint32_t)old_len))
        return WASI_EINVAL;
    if (target[0] == '/')
        return WASI_EPERM;         /* a link out of the sandbox, for host programs to follow */
    char contents[WASI_PATH_MAX];
    memcpy(contents, target, (uint32_t)old_len);
    contents[old_len] = '\0';
    wasi_resolved r;
    int err = resolve_for_change(c, fd, R_PATH_SYMLINK, new_path, new_len, 0, &r);
    if (err)
        return err;
    if (r.trailing_slash) {
        struct stat st;
        err = fstatat(r.dirfd, r.name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? WASI_EEXIST : WASI_ENOENT;
        wasi_resolved_done(&r);
        return err;
    }
    return done_with(&r, symlinkat(contents, r.dirfd, r.name));
}

int32_t wasi_path_readlink(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len,
                           int32_t buf, int32_t buf_len, int32_t bufused) {
    uint8_t* out = wasi_mem(c, (uint32_t)buf, (uint32_t)buf_len);
    if (!out || !wasi_mem(c, (uint32_t)bufused, 4))
        return WASI_EFAULT;
    wasi_resolved r;
    int err = wasi_resolve(c, (uint32_t)fd, R_PATH_READLINK, (uint32_t)path, (uint32_t)path_len,
                           0, &r, NULL);
    if (err)
        return err;
    if (r.at_root)
        return WASI_EINVAL;              /* a directory, not a link */
    char target[WASI_PATH_MAX];
    ssize_t n = readlinkat(r.dirfd, r.name, target, sizeof target);
    int saved = errno;
    wasi_resolved_done(&r);
    if (n < 0)
        return wasi_errno_from_host(saved);
    size_t copied = (size_t)n < (uint32_t)buf_len ? (size_t)n : (uint32_t)buf_len;
    memcpy(out, target, copied);
    return wasi_put_u32(c, (uint32_t)bufused, (uint32_t)copied);
}

static int32_t path_filestat(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                             int32_t path_len, int32_t buf, int snapshot0) {
    uint8_t* out = wasi_mem(c, (uint32_t)buf, snapshot0 ? 56 : 64);
    if (!out)
        return WASI_EFAULT;
    wasi_resolved r;
    int err = wasi_resolve(c, (uint32_t)fd, R_PATH_FILESTAT_GET, (uint32_t)path,
                           (uint32_t)path_len, flags & WASI_LOOKUP_SYMLINK_FOLLOW, &r, NULL);
    if (err)
        return err;
    struct stat st;
    int rc = 0;
    if (r.at_root)
        wasi_root_stat(&st);
    else
        rc = fstatat(r.dirfd, r.name, &st, AT_SYMLINK_NOFOLLOW);
    int saved = errno;
    wasi_resolved_done(&r);
    if (rc != 0)
        return wasi_errno_from_host(saved);
    if (r.trailing_slash && !S_ISDIR(st.st_mode))
        return WASI_ENOTDIR;
    wasi_write_filestat(out, &st, snapshot0);
    return 0;
}

int32_t wasi_path_filestat_get(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                               int32_t path_len, int32_t buf) {
    return path_filestat(c, fd, flags, path, path_len, buf, 0);
}

int32_t wasi_path_filestat_get_snapshot0(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                                         int32_t path_len, int32_t buf) {
    return path_filestat(c, fd, flags, path, path_len, buf, 1);
}

int32_t wasi_path_filestat_set_times(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                                     int32_t path_len, int64_t atim, int64_t mtim,
                                     int32_t fst_flags) {
    struct timespec ts[2];
    int err = wasi_make_times(atim, mtim, fst_flags, ts);
    if (err)
        return err;
    wasi_resolved r;
    err = resolve_for_change(c, fd, R_PATH_FILESTAT_SET_TIMES, path, path_len,
                             flags & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
    if (err)
        return err;
    return done_with(&r, utimensat(r.dirfd, r.name, ts, AT_SYMLINK_NOFOLLOW));
}

int32_t wasi_path_link(wasi_ctx* c, int32_t old_fd, int32_t old_flags, int32_t old_path,
                       int32_t old_len, int32_t new_fd, int32_t new_path, int32_t new_len) {
    /* both sides change: a link out of a read-only preopen would let the
     * writable side rewrite the read-only file (EPERM, as wasmtime) */
    wasi_resolved from, to;
    int err = resolve_for_change(c, old_fd, R_PATH_LINK_SOURCE, old_path, old_len,
                                 old_flags & WASI_LOOKUP_SYMLINK_FOLLOW, &from);
    if (err)
        return err;
    err = resolve_for_change(c, new_fd, R_PATH_LINK_TARGET, new_path, new_len, 0, &to);
    if (err) {
        wasi_resolved_done(&from);
        return err;
    }
    if (to.trailing_slash || from.trailing_slash)
        err = WASI_ENOENT;        /* hard links to directories do not exist */
    if (!err && linkat(from.dirfd, from.name, to.dirfd, to.name, 0) != 0)
        err = wasi_errno_from_host(errno);
    wasi_resolved_done(&from);
    wasi_resolved_done(&to);
    return err;
}

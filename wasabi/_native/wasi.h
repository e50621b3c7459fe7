/* WASI preview 1 (wasi_snapshot_preview1, and the few wasi_unstable layouts
 * that differ) in plain C: no Python, so that the AOT executables link it too.
 *
 * Compiled wasm calls each import through its wrt_func record as
 * f(record.vmctx, params...). For a WASI import that vmctx is the wasi_ctx,
 * whose first member is a VMContext header: it carries the bound instance
 * memory (mem_base, memory) and lets the runtime's entries (stack limit,
 * thread gate) treat a WASI function like a compiled one when Python calls it.
 *
 * Every guest pointer is checked against the memory's current size before use;
 * a bad pointer or length gives WASI_EFAULT / WASI_EINVAL, never a host access.
 *
 * Threads: every import runs with the ctx's lock held (the wrappers in
 * wasi_misc.c's import table), so calls on one ctx are serialised whoever makes
 * them: the instance's compiled code, Python calling an import (or an export
 * that re-exports one), a clone being copied from it. The fd table never moves
 * (fixed chunks), so a wasi_fd* stays valid across wasi_fd_alloc.
 */
#ifndef WASABI_WASI_H
#define WASABI_WASI_H

#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vmctx.h"

/* Not a WASI errno (those are u16): a blocking call was interrupted by SIGINT and
 * Python's handler raised; the import's wrapper unlocks and traps with that
 * exception (wasi_misc.c LOCKED). */
#define WASI_STOPPED_BY_SIGNAL 0x10000

/* A blocking host call failed with EINTR: retry it (nonzero) or stop with the
 * exception Python's SIGINT handler raised (0); control.c */
int wrt_eintr_retry(void);

/* ---- errno (witx `errno`, u16) ---- */
enum {
    WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
    WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6, WASI_EALREADY = 7,
    WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10, WASI_ECANCELED = 11, WASI_ECHILD = 12,
    WASI_ECONNABORTED = 13, WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15, WASI_EDEADLK = 16,
    WASI_EDESTADDRREQ = 17, WASI_EDOM = 18, WASI_EDQUOT = 19, WASI_EEXIST = 20,
    WASI_EFAULT = 21, WASI_EFBIG = 22, WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24,
    WASI_EILSEQ = 25, WASI_EINPROGRESS = 26, WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29,
    WASI_EISCONN = 30, WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33, WASI_EMLINK = 34,
    WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36, WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38,
    WASI_ENETRESET = 39, WASI_ENETUNREACH = 40, WASI_ENFILE = 41, WASI_ENOBUFS = 42,
    WASI_ENODEV = 43, WASI_ENOENT = 44, WASI_ENOEXEC = 45, WASI_ENOLCK = 46, WASI_ENOLINK = 47,
    WASI_ENOMEM = 48, WASI_ENOMSG = 49, WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51,
    WASI_ENOSYS = 52, WASI_ENOTCONN = 53, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55,
    WASI_ENOTRECOVERABLE = 56, WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58, WASI_ENOTTY = 59,
    WASI_ENXIO = 60, WASI_EOVERFLOW = 61, WASI_EOWNERDEAD = 62, WASI_EPERM = 63,
    WASI_EPIPE = 64, WASI_EPROTO = 65, WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67,
    WASI_ERANGE = 68, WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71, WASI_ESTALE = 72,
    WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74, WASI_EXDEV = 75, WASI_ENOTCAPABLE = 76,
};

/* ---- rights (u64 bit set) ---- */
#define WASI_RIGHT(n) ((uint64_t)1 << (n))
#define R_FD_DATASYNC            WASI_RIGHT(0)
#define R_FD_READ                WASI_RIGHT(1)
#define R_FD_SEEK                WASI_RIGHT(2)
#define R_FD_FDSTAT_SET_FLAGS    WASI_RIGHT(3)
#define R_FD_SYNC                WASI_RIGHT(4)
#define R_FD_TELL                WASI_RIGHT(5)
#define R_FD_WRITE               WASI_RIGHT(6)
#define R_FD_ADVISE              WASI_RIGHT(7)
#define R_FD_ALLOCATE            WASI_RIGHT(8)
#define R_PATH_CREATE_DIRECTORY  WASI_RIGHT(9)
#define R_PATH_CREATE_FILE       WASI_RIGHT(10)
#define R_PATH_LINK_SOURCE       WASI_RIGHT(11)
#define R_PATH_LINK_TARGET       WASI_RIGHT(12)
#define R_PATH_OPEN              WASI_RIGHT(13)
#define R_FD_READDIR             WASI_RIGHT(14)
#define R_PATH_READLINK          WASI_RIGHT(15)
#define R_PATH_RENAME_SOURCE     WASI_RIGHT(16)
#define R_PATH_RENAME_TARGET     WASI_RIGHT(17)
#define R_PATH_FILESTAT_GET      WASI_RIGHT(18)
#define R_PATH_FILESTAT_SET_SIZE WASI_RIGHT(19)
#define R_PATH_FILESTAT_SET_TIMES WASI_RIGHT(20)
#define R_FD_FILESTAT_GET        WASI_RIGHT(21)
#define R_FD_FILESTAT_SET_SIZE   WASI_RIGHT(22)
#define R_FD_FILESTAT_SET_TIMES  WASI_RIGHT(23)
#define R_PATH_SYMLINK           WASI_RIGHT(24)
#define R_PATH_REMOVE_DIRECTORY  WASI_RIGHT(25)
#define R_PATH_UNLINK_FILE       WASI_RIGHT(26)
#define R_POLL_FD_READWRITE      WASI_RIGHT(27)
#define R_SOCK_SHUTDOWN          WASI_RIGHT(28)
#define R_SOCK_ACCEPT            WASI_RIGHT(29)
#define R_ALL                    (WASI_RIGHT(30) - 1)

/* what a regular file / a directory / a stream can ever be granted */
#define R_FILE_ALL (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | \
                    R_FD_TELL | R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET | \
                    R_FD_FILESTAT_SET_SIZE | R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
#define R_DIR_ALL  (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_DATASYNC | R_FD_ADVISE | \
                    R_PATH_CREATE_DIRECTORY | R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | \
                    R_PATH_LINK_TARGET | R_PATH_OPEN | R_FD_READDIR | R_PATH_READLINK | \
                    R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET | R_PATH_FILESTAT_GET | \
                    R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES | R_FD_FILESTAT_GET | \
                    R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK | R_PATH_REMOVE_DIRECTORY | \
                    R_PATH_UNLINK_FILE | R_POLL_FD_READWRITE)
#define R_STREAM_ALL (R_FD_READ | R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET | \
                      R_POLL_FD_READWRITE | R_FD_SYNC | R_FD_DATASYNC)
#define R_SOCKET_ALL (R_STREAM_ALL | R_SOCK_SHUTDOWN | R_SOCK_ACCEPT)
/* requesting any of these in path_open opens the host file for writing */
#define R_WRITE_ANY (R_FD_DATASYNC | R_FD_WRITE | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE)

/* ---- other witx enums and flags ---- */
enum { WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1, WASI_FILETYPE_CHARACTER_DEVICE = 2,
       WASI_FILETYPE_DIRECTORY = 3, WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
       WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7 };
enum { WASI_FDFLAG_APPEND = 1, WASI_FDFLAG_DSYNC = 2, WASI_FDFLAG_NONBLOCK = 4,
       WASI_FDFLAG_RSYNC = 8, WASI_FDFLAG_SYNC = 16 };
enum { WASI_O_CREAT = 1, WASI_O_DIRECTORY = 2, WASI_O_EXCL = 4, WASI_O_TRUNC = 8 };
enum { WASI_LOOKUP_SYMLINK_FOLLOW = 1 };
enum { WASI_FST_ATIM = 1, WASI_FST_ATIM_NOW = 2, WASI_FST_MTIM = 4, WASI_FST_MTIM_NOW = 8 };
enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };
enum { WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1, WASI_CLOCK_PROCESS_CPUTIME = 2,
       WASI_CLOCK_THREAD_CPUTIME = 3 };
enum { WASI_EVENT_CLOCK = 0, WASI_EVENT_FD_READ = 1, WASI_EVENT_FD_WRITE = 2 };
enum { WASI_SUBCLOCK_ABSTIME = 1 };
enum { WASI_EVENTRW_HANGUP = 1 };

/* ---- the fd table ---- */
enum { WASI_FD_HOST = 1,        /* a host file descriptor (file, dir, tty, pipe, socket) */
       WASI_FD_BUF_IN = 2,      /* reads from an in-memory byte string (stdin) */
       WASI_FD_BUF_OUT = 3,     /* writes append to an in-memory buffer (stdout/stderr) */
       WASI_FD_VROOT = 4 };     /* the virtual read-only root "/" (wasi_root.c): no host fd */

typedef struct wasi_buffer {
    uint8_t* data;
    size_t len, cap, pos;       /* pos: read position of an input buffer */
} wasi_buffer;

typedef struct wasi_fd {
    uint8_t kind;               /* 0: free slot */
    uint8_t filetype;
    uint8_t readonly;           /* below a read-only preopen: nothing may change */
    uint8_t is_preopen;
    uint16_t fdflags;           /* for in-memory streams (host fds ask the kernel) */
    int host;                   /* host fd, -1 for in-memory streams */
    uint64_t rights_base, rights_inheriting;
    char* preopen_name;         /* guest-visible name of a preopened directory */
    uint32_t preopen_name_len;
    DIR* dir;                   /* fd_readdir's stream (on a dup of host), NULL until used */
    uint64_t dir_index;         /* cookie of the entry `dir` returns next */
    wasi_buffer* buffer;        /* in-memory stream: one of the ctx's stdio buffers */
} wasi_fd;

#define WASI_MAX_FDS 65536
#define WASI_FD_CHUNK 64        /* slots per chunk: chunks are allocated, never moved */

typedef struct wasi_ctx {
    VMContext vm;               /* first: mem_base and memory are the bound memory */
    pthread_mutex_t lock;       /* held by every import call (wasi_misc.c) */
    char* args;                 /* NUL-terminated strings back to back */
    uint32_t args_count, args_size;
    char* env;                  /* "K=V" strings back to back */
    uint32_t env_count, env_size;
    wasi_fd* fd_chunks[WASI_MAX_FDS / WASI_FD_CHUNK];
    uint32_t fd_count;          /* slots in allocated chunks (a multiple of WASI_FD_CHUNK) */
    wasi_buffer stdio[3];       /* in-memory stdin/stdout/stderr when configured so */
    int32_t exit_code;
    int32_t exited;
    /* the virtual root's entries (wasi_root.c), when the ctx has one: one record
     * per directory mapped under a plain name, sorted by name, each with its own
     * host fd (a duplicate of the preopen's, so closing the preopen's fd keeps
     * it listed) and the preopen's read-only flag and rights */
    wasi_fd* root_entries;
    uint32_t root_count;
    uint8_t has_root;
} wasi_ctx;

/* slot i (< fd_count): its address never changes while the ctx lives */
static inline wasi_fd* wasi_fd_slot(wasi_ctx* c, uint32_t i) {
    return &c->fd_chunks[i / WASI_FD_CHUNK][i % WASI_FD_CHUNK];
}

/* ---- guest memory: every access goes through these ---- */

/* host address of guest bytes [ptr, ptr+len), or NULL when any is outside memory */
static inline uint8_t* wasi_mem(wasi_ctx* c, uint32_t ptr, uint64_t len) {
    wrt_memory* m = c->vm.memory;
    if (!m || (uint64_t)ptr + len > m->size)
        return NULL;
    return m->base + ptr;
}

/* little-endian stores and loads on unaligned guest bytes (hosts are little-endian) */
static inline void wasi_st_u8(uint8_t* p, uint8_t v) { *p = v; }
static inline void wasi_st_u16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
static inline void wasi_st_u32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wasi_st_u64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t wasi_ld_u16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t wasi_ld_u32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t wasi_ld_u64(const uint8_t* p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* store a u32 / u64 result at a guest pointer: 0 or WASI_EFAULT */
static inline int wasi_put_u32(wasi_ctx* c, uint32_t ptr, uint32_t v) {
    uint8_t* p = wasi_mem(c, ptr, 4);
    if (!p)
        return WASI_EFAULT;
    wasi_st_u32(p, v);
    return 0;
}
static inline int wasi_put_u64(wasi_ctx* c, uint32_t ptr, uint64_t v) {
    uint8_t* p = wasi_mem(c, ptr, 8);
    if (!p)
        return WASI_EFAULT;
    wasi_st_u64(p, v);
    return 0;
}

/* ---- wasi_ctx.c: the context, its fd table, configuration ---- */
wasi_ctx* wasi_ctx_new(void);
void wasi_ctx_free(wasi_ctx* c);
/* A copy of `src`'s whole state (args, env, stdio buffers, fd table with every
 * host fd duplicated, preopens), bound to no memory; NULL on failure with
 * *failed_fd the guest fd that could not be copied (-1: out of memory). */
wasi_ctx* wasi_ctx_copy(wasi_ctx* src, int* failed_fd, int* host_errno);
void wasi_ctx_lock(wasi_ctx* c);
void wasi_ctx_unlock(wasi_ctx* c);
void wasi_ctx_bind_memory(wasi_ctx* c, wrt_memory* mem);
int wasi_ctx_set_args(wasi_ctx* c, const char* strings, uint32_t size, uint32_t count);
int wasi_ctx_set_env(wasi_ctx* c, const char* strings, uint32_t size, uint32_t count);
/* stdio slot 0..2: inherit/file a host fd (duplicated), or an in-memory stream */
int wasi_ctx_set_stdio_host(wasi_ctx* c, int slot, int host_fd);
int wasi_ctx_set_stdio_buffer(wasi_ctx* c, int slot, const uint8_t* input, size_t len);
/* preopen a host directory under a guest name; returns the fd, or -errno */
int wasi_ctx_preopen(wasi_ctx* c, const char* host_path, const char* guest_name, int readonly);
/* wasi_root.c: give the ctx the virtual read-only root "/" as a preopen (before
 * the directories, which it then lists): the fd, or -errno */
int wasi_ctx_virtual_root(wasi_ctx* c);
int32_t wasi_take_exit_code(void);
void wasi_note_exit(wasi_ctx* c, int32_t code);           /* proc_exit, before the trap */

wasi_fd* wasi_fd_get(wasi_ctx* c, uint32_t fd);            /* NULL: not open */
/* lowest free slot >= lowest; may add a chunk, never moves existing slots */
int wasi_fd_alloc(wasi_ctx* c, uint32_t lowest, uint32_t* out);
void wasi_fd_release(wasi_fd* e);                          /* closes host resources */
int wasi_errno_from_host(int host_errno);
uint8_t wasi_filetype_from_mode(unsigned mode);
/* the rights a host fd of this type and open mode can have */
uint64_t wasi_rights_for_host(int fd, uint8_t filetype);
/* fill a 64-byte filestat from a struct stat (snapshot0: 56 bytes, u32 nlink) */
void wasi_write_filestat(uint8_t* out, const struct stat* st, int snapshot0);

/* ---- wasi_misc.c ---- */
/* the host clock of a WASI clock id: 0 or WASI_EINVAL */
int wasi_host_clock(int32_t id, clockid_t* out);

/* ---- wasi_fs.c ---- */
/* the utimensat times for (atim, mtim, fst_flags): 0 or WASI_EINVAL */
int wasi_make_times(int64_t atim, int64_t mtim, int32_t fst_flags, struct timespec ts[2]);

/* ---- wasi_path.c: resolving guest paths inside a directory fd ---- */
#define WASI_PATH_MAX 4096
typedef struct wasi_resolved {
    int dirfd;                  /* the directory holding the final component */
    int owned;                  /* dirfd must be closed by wasi_resolved_done */
    char name[WASI_PATH_MAX];   /* the final component ("." for the directory itself) */
    int trailing_slash;         /* the path ended in '/': it names a directory */
    int at_root;                /* the path names the virtual root itself: dirfd is -1 */
    uint64_t inheriting;        /* the rights a new fd below the path's directory may get */
} wasi_resolved;
int wasi_resolve(wasi_ctx* c, uint32_t dirfd, uint64_t right, uint32_t path_ptr,
                 uint32_t path_len, int follow_final, wasi_resolved* out, wasi_fd** dir_entry);
void wasi_resolved_done(wasi_resolved* r);
/* internal to wasi_path.c / wasi_root.c: the guest path as a C string (0 or errno) */
int wasi_guest_path(wasi_ctx* c, uint32_t path_ptr, uint32_t path_len, char* path);
/* walk the writable `path` from host directory `base` (never above it) */
int wasi_walk(int base, char* path, int follow_final, wasi_resolved* out);

/* ---- wasi_root.c: the virtual root ---- */
/* rights whose operation changes the directory holding the final component */
#define R_PATH_CHANGES (R_PATH_CREATE_DIRECTORY | R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | \
                        R_PATH_LINK_TARGET | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET | \
                        R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES | R_PATH_SYMLINK | \
                        R_PATH_REMOVE_DIRECTORY | R_PATH_UNLINK_FILE)
/* add a preopened directory (its guest name and host fd) to the root's entries */
int wasi_root_add(wasi_ctx* c, const char* guest_name, const wasi_fd* preopen);
/* wasi_resolve for a path relative to the root fd `root` */
int wasi_root_resolve(wasi_ctx* c, wasi_fd* root, uint64_t right, char* path,
                      int follow_final, wasi_resolved* out, wasi_fd** dir_entry);
/* the root's stat: a directory of no device */
void wasi_root_stat(struct stat* st);
/* fd_readdir on a root fd: ".", "..", then the entries */
int wasi_root_readdir(wasi_ctx* c, uint8_t* out, uint32_t room, uint64_t cookie, uint32_t* used);

/* ---- the imports (wasi_misc.c keeps their name/signature table) ---- */
typedef struct wasi_export {
    const char* name;
    void* fn;
    const char* params;         /* one char per wasm parameter: 'i' i32, 'I' i64 */
    const char* results;        /* "i" (the errno) or "" (proc_exit) */
} wasi_export;
const wasi_export* wasi_exports(int snapshot0);   /* NULL-terminated */

#endif

/* args, environ, clocks, random, proc_*, sched_yield, and the table of all
 * imports (name, C function, wasm signature) that the Python side links. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include "builtins.h"
#include "wasi_imports.h"

/* ---- args and environ: NUL-terminated strings back to back ---- */

static int32_t strings_sizes(wasi_ctx* c, uint32_t count, uint32_t size, int32_t count_ptr,
                             int32_t size_ptr) {
    if (!wasi_mem(c, (uint32_t)count_ptr, 4) || !wasi_mem(c, (uint32_t)size_ptr, 4))
        return WASI_EFAULT;
    wasi_put_u32(c, (uint32_t)count_ptr, count);
    wasi_put_u32(c, (uint32_t)size_ptr, size);
    return 0;
}

static int32_t strings_get(wasi_ctx* c, const char* strings, uint32_t count, uint32_t size,
                           int32_t ptrs, int32_t buf) {
    uint8_t* table = wasi_mem(c, (uint32_t)ptrs, 4 * (uint64_t)count);
    uint8_t* out = wasi_mem(c, (uint32_t)buf, size);
    if (!table || !out)
        return WASI_EFAULT;
    if (size)
        memcpy(out, strings, size);
    uint32_t offset = 0;
    for (uint32_t i = 0; i < count; i++) {
        wasi_st_u32(table + 4 * (uint64_t)i, (uint32_t)buf + offset);
        offset += (uint32_t)strlen(strings + offset) + 1;
    }
    return 0;
}

int32_t wasi_args_sizes_get(wasi_ctx* c, int32_t argc, int32_t argv_buf_size) {
    return strings_sizes(c, c->args_count, c->args_size, argc, argv_buf_size);
}

int32_t wasi_args_get(wasi_ctx* c, int32_t argv, int32_t argv_buf) {
    return strings_get(c, c->args, c->args_count, c->args_size, argv, argv_buf);
}

int32_t wasi_environ_sizes_get(wasi_ctx* c, int32_t count, int32_t buf_size) {
    return strings_sizes(c, c->env_count, c->env_size, count, buf_size);
}

int32_t wasi_environ_get(wasi_ctx* c, int32_t environ, int32_t environ_buf) {
    return strings_get(c, c->env, c->env_count, c->env_size, environ, environ_buf);
}

/* ---- clocks ---- */

int wasi_host_clock(int32_t id, clockid_t* out) {
    switch (id) {
    case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return 0;
    case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
    case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
    case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return WASI_EINVAL;
    }
}

int32_t wasi_clock_res_get(wasi_ctx* c, int32_t id, int32_t result) {
    clockid_t host;
    struct timespec ts;
    if (wasi_host_clock(id, &host))
        return WASI_EINVAL;
    if (clock_getres(host, &ts) != 0)
        return wasi_errno_from_host(errno);
    return wasi_put_u64(c, (uint32_t)result, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

int32_t wasi_clock_time_get(wasi_ctx* c, int32_t id, int64_t precision, int32_t result) {
    (void)precision;     /* the host clock is as precise as it gets */
    clockid_t host;
    struct timespec ts;
    if (wasi_host_clock(id, &host))
        return WASI_EINVAL;
    if (clock_gettime(host, &ts) != 0)
        return wasi_errno_from_host(errno);
    return wasi_put_u64(c, (uint32_t)result, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* ---- random ---- */

int32_t wasi_random_get(wasi_ctx* c, int32_t buf, int32_t len) {
    uint8_t* out = wasi_mem(c, (uint32_t)buf, (uint32_t)len);
    if (!out)
        return WASI_EFAULT;
    size_t done = 0, want = (uint32_t)len;
    while (done < want) {
        ssize_t n = getrandom(out + done, want - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wasi_errno_from_host(errno);
        }
        done += (size_t)n;
    }
    return 0;
}

/* ---- process ---- */

void wasi_proc_exit(wasi_ctx* c, int32_t code) {
    wasi_note_exit(c, code);
    /* TRAP_WASI_EXIT (vmctx.h, the one trap table): the status is in the ctx and in
     * wasi_take_exit_code(); leaves the wasm frames and the host carries on */
    wasabi_rt_trap(TRAP_WASI_EXIT);
}

int32_t wasi_proc_raise(wasi_ctx* c, int32_t sig) {
    (void)c;
    (void)sig;
    return WASI_ENOSYS;                 /* no signals in the sandbox (wasmtime agrees) */
}

int32_t wasi_sched_yield(wasi_ctx* c) {
    (void)c;
    sched_yield();
    return 0;
}

/* ---- every import under its ctx's lock ----
 *
 * The table below hands out these wrappers: whoever calls an import (the
 * instance's code, Python, another instance it was re-exported to, on any
 * thread), calls on one ctx run one at a time, so the fd table and the memory
 * binding never change under a running import. Uncontended, the lock costs
 * two atomic operations per call. proc_exit unlocks before it traps, and so
 * does a blocking call stopped by Ctrl-C (WASI_STOPPED_BY_SIGNAL). */

#define LOCKED(fn, DECL, ARGS)                          \
    static int32_t locked_##fn DECL {                   \
        wasi_ctx_lock(c);                               \
        int32_t result_ = fn ARGS;                      \
        wasi_ctx_unlock(c);                             \
        if (result_ == WASI_STOPPED_BY_SIGNAL)          \
            wasabi_rt_trap(TRAP_HOST_EXCEPTION);        \
        return result_;                                 \
    }

LOCKED(wasi_args_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_args_sizes_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_environ_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_environ_sizes_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_clock_res_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_clock_time_get, (wasi_ctx* c, int32_t pa, int64_t pb, int32_t pc), (c, pa, pb, pc))
LOCKED(wasi_fd_advise,
       (wasi_ctx* c, int32_t pa, int64_t pb, int64_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_fd_allocate, (wasi_ctx* c, int32_t pa, int64_t pb, int64_t pc), (c, pa, pb, pc))
LOCKED(wasi_fd_close, (wasi_ctx* c, int32_t pa), (c, pa))
LOCKED(wasi_fd_datasync, (wasi_ctx* c, int32_t pa), (c, pa))
LOCKED(wasi_fd_fdstat_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_fdstat_set_flags, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_fdstat_set_rights,
       (wasi_ctx* c, int32_t pa, int64_t pb, int64_t pc),
       (c, pa, pb, pc))
LOCKED(wasi_fd_filestat_set_size, (wasi_ctx* c, int32_t pa, int64_t pb), (c, pa, pb))
LOCKED(wasi_fd_filestat_set_times,
       (wasi_ctx* c, int32_t pa, int64_t pb, int64_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_fd_pread,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int64_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_fd_prestat_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_prestat_dir_name, (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc), (c, pa, pb, pc))
LOCKED(wasi_fd_pwrite,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int64_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_fd_read,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_fd_readdir,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int64_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_fd_renumber, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_sync, (wasi_ctx* c, int32_t pa), (c, pa))
LOCKED(wasi_fd_tell, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_write,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_path_create_directory,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc),
       (c, pa, pb, pc))
LOCKED(wasi_path_filestat_set_times,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int64_t pe, int64_t pf,
        int32_t pg),
       (c, pa, pb, pc, pd, pe, pf, pg))
LOCKED(wasi_path_link,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe, int32_t pf,
        int32_t pg),
       (c, pa, pb, pc, pd, pe, pf, pg))
LOCKED(wasi_path_open,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe, int64_t pf,
        int64_t pg, int32_t ph, int32_t pi),
       (c, pa, pb, pc, pd, pe, pf, pg, ph, pi))
LOCKED(wasi_path_readlink,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe, int32_t pf),
       (c, pa, pb, pc, pd, pe, pf))
LOCKED(wasi_path_remove_directory,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc),
       (c, pa, pb, pc))
LOCKED(wasi_path_rename,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe, int32_t pf),
       (c, pa, pb, pc, pd, pe, pf))
LOCKED(wasi_path_symlink,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_path_unlink_file, (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc), (c, pa, pb, pc))
LOCKED(wasi_proc_raise, (wasi_ctx* c, int32_t pa), (c, pa))
LOCKED(wasi_random_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_sched_yield, (wasi_ctx* c), (c))
LOCKED(wasi_sock_recv,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe, int32_t pf),
       (c, pa, pb, pc, pd, pe, pf))
LOCKED(wasi_sock_send,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_sock_shutdown, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_filestat_get, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_seek,
       (wasi_ctx* c, int32_t pa, int64_t pb, int32_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_path_filestat_get,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_poll_oneoff,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_sock_accept, (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc), (c, pa, pb, pc))
LOCKED(wasi_fd_filestat_get_snapshot0, (wasi_ctx* c, int32_t pa, int32_t pb), (c, pa, pb))
LOCKED(wasi_fd_seek_snapshot0,
       (wasi_ctx* c, int32_t pa, int64_t pb, int32_t pc, int32_t pd),
       (c, pa, pb, pc, pd))
LOCKED(wasi_path_filestat_get_snapshot0,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd, int32_t pe),
       (c, pa, pb, pc, pd, pe))
LOCKED(wasi_poll_oneoff_snapshot0,
       (wasi_ctx* c, int32_t pa, int32_t pb, int32_t pc, int32_t pd),
       (c, pa, pb, pc, pd))

static void locked_wasi_proc_exit(wasi_ctx* c, int32_t code) {
    wasi_ctx_lock(c);
    wasi_note_exit(c, code);
    wasi_ctx_unlock(c);
    wasabi_rt_trap(TRAP_WASI_EXIT);     /* as wasi_proc_exit, with no lock held */
}

/* ---- the import table ---- */

#define EXPORT(name, fn, params, results) {name, (void*)fn, params, results}

#define COMMON_EXPORTS                                                              \
    EXPORT("args_get", locked_wasi_args_get, "ii", "i"),                                   \
    EXPORT("args_sizes_get", locked_wasi_args_sizes_get, "ii", "i"),                       \
    EXPORT("environ_get", locked_wasi_environ_get, "ii", "i"),                             \
    EXPORT("environ_sizes_get", locked_wasi_environ_sizes_get, "ii", "i"),                 \
    EXPORT("clock_res_get", locked_wasi_clock_res_get, "ii", "i"),                         \
    EXPORT("clock_time_get", locked_wasi_clock_time_get, "iIi", "i"),                      \
    EXPORT("fd_advise", locked_wasi_fd_advise, "iIIi", "i"),                               \
    EXPORT("fd_allocate", locked_wasi_fd_allocate, "iII", "i"),                            \
    EXPORT("fd_close", locked_wasi_fd_close, "i", "i"),                                    \
    EXPORT("fd_datasync", locked_wasi_fd_datasync, "i", "i"),                              \
    EXPORT("fd_fdstat_get", locked_wasi_fd_fdstat_get, "ii", "i"),                         \
    EXPORT("fd_fdstat_set_flags", locked_wasi_fd_fdstat_set_flags, "ii", "i"),             \
    EXPORT("fd_fdstat_set_rights", locked_wasi_fd_fdstat_set_rights, "iII", "i"),          \
    EXPORT("fd_filestat_set_size", locked_wasi_fd_filestat_set_size, "iI", "i"),           \
    EXPORT("fd_filestat_set_times", locked_wasi_fd_filestat_set_times, "iIIi", "i"),       \
    EXPORT("fd_pread", locked_wasi_fd_pread, "iiiIi", "i"),                                \
    EXPORT("fd_prestat_get", locked_wasi_fd_prestat_get, "ii", "i"),                       \
    EXPORT("fd_prestat_dir_name", locked_wasi_fd_prestat_dir_name, "iii", "i"),            \
    EXPORT("fd_pwrite", locked_wasi_fd_pwrite, "iiiIi", "i"),                              \
    EXPORT("fd_read", locked_wasi_fd_read, "iiii", "i"),                                   \
    EXPORT("fd_readdir", locked_wasi_fd_readdir, "iiiIi", "i"),                            \
    EXPORT("fd_renumber", locked_wasi_fd_renumber, "ii", "i"),                             \
    EXPORT("fd_sync", locked_wasi_fd_sync, "i", "i"),                                      \
    EXPORT("fd_tell", locked_wasi_fd_tell, "ii", "i"),                                     \
    EXPORT("fd_write", locked_wasi_fd_write, "iiii", "i"),                                 \
    EXPORT("path_create_directory", locked_wasi_path_create_directory, "iii", "i"),        \
    EXPORT("path_filestat_set_times", locked_wasi_path_filestat_set_times, "iiiiIIi", "i"),\
    EXPORT("path_link", locked_wasi_path_link, "iiiiiii", "i"),                            \
    EXPORT("path_open", locked_wasi_path_open, "iiiiiIIii", "i"),                          \
    EXPORT("path_readlink", locked_wasi_path_readlink, "iiiiii", "i"),                     \
    EXPORT("path_remove_directory", locked_wasi_path_remove_directory, "iii", "i"),        \
    EXPORT("path_rename", locked_wasi_path_rename, "iiiiii", "i"),                         \
    EXPORT("path_symlink", locked_wasi_path_symlink, "iiiii", "i"),                        \
    EXPORT("path_unlink_file", locked_wasi_path_unlink_file, "iii", "i"),                  \
    EXPORT("proc_exit", locked_wasi_proc_exit, "i", ""),                                   \
    EXPORT("proc_raise", locked_wasi_proc_raise, "i", "i"),                                \
    EXPORT("random_get", locked_wasi_random_get, "ii", "i"),                               \
    EXPORT("sched_yield", locked_wasi_sched_yield, "", "i"),                               \
    EXPORT("sock_recv", locked_wasi_sock_recv, "iiiiii", "i"),                             \
    EXPORT("sock_send", locked_wasi_sock_send, "iiiii", "i"),                              \
    EXPORT("sock_shutdown", locked_wasi_sock_shutdown, "ii", "i")

static const wasi_export preview1_exports[] = {
    COMMON_EXPORTS,
    EXPORT("fd_filestat_get", locked_wasi_fd_filestat_get, "ii", "i"),
    EXPORT("fd_seek", locked_wasi_fd_seek, "iIii", "i"),
    EXPORT("path_filestat_get", locked_wasi_path_filestat_get, "iiiii", "i"),
    EXPORT("poll_oneoff", locked_wasi_poll_oneoff, "iiii", "i"),
    EXPORT("sock_accept", locked_wasi_sock_accept, "iii", "i"),
    {NULL, NULL, NULL, NULL},
};

static const wasi_export snapshot0_exports[] = {
    COMMON_EXPORTS,
    EXPORT("fd_filestat_get", locked_wasi_fd_filestat_get_snapshot0, "ii", "i"),
    EXPORT("fd_seek", locked_wasi_fd_seek_snapshot0, "iIii", "i"),
    EXPORT("path_filestat_get", locked_wasi_path_filestat_get_snapshot0, "iiiii", "i"),
    EXPORT("poll_oneoff", locked_wasi_poll_oneoff_snapshot0, "iiii", "i"),
    {NULL, NULL, NULL, NULL},
};

const wasi_export* wasi_exports(int snapshot0) {
    return snapshot0 ? snapshot0_exports : preview1_exports;
}

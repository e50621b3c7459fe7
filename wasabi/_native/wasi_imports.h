/* The WASI imports as compiled wasm calls them: f(ctx, wasm params...).
 * i32 parameters are int32_t, i64 ones int64_t; every function but proc_exit
 * returns the WASI errno. The `_snapshot0` variants are wasi_unstable's
 * layouts where they differ from wasi_snapshot_preview1. */
#ifndef WASABI_WASI_IMPORTS_H
#define WASABI_WASI_IMPORTS_H

#include "wasi.h"

int32_t wasi_args_get(wasi_ctx* c, int32_t argv, int32_t argv_buf);
int32_t wasi_args_sizes_get(wasi_ctx* c, int32_t argc, int32_t argv_buf_size);
int32_t wasi_environ_get(wasi_ctx* c, int32_t environ, int32_t environ_buf);
int32_t wasi_environ_sizes_get(wasi_ctx* c, int32_t count, int32_t buf_size);
int32_t wasi_clock_res_get(wasi_ctx* c, int32_t id, int32_t result);
int32_t wasi_clock_time_get(wasi_ctx* c, int32_t id, int64_t precision, int32_t result);
int32_t wasi_random_get(wasi_ctx* c, int32_t buf, int32_t len);
int32_t wasi_sched_yield(wasi_ctx* c);
void wasi_proc_exit(wasi_ctx* c, int32_t code);
int32_t wasi_proc_raise(wasi_ctx* c, int32_t sig);
int32_t wasi_poll_oneoff(wasi_ctx* c, int32_t in, int32_t out, int32_t n, int32_t nevents);
int32_t wasi_poll_oneoff_snapshot0(wasi_ctx* c, int32_t in, int32_t out, int32_t n, int32_t nevents);

int32_t wasi_fd_advise(wasi_ctx* c, int32_t fd, int64_t offset, int64_t len, int32_t advice);
int32_t wasi_fd_allocate(wasi_ctx* c, int32_t fd, int64_t offset, int64_t len);
int32_t wasi_fd_close(wasi_ctx* c, int32_t fd);
int32_t wasi_fd_datasync(wasi_ctx* c, int32_t fd);
int32_t wasi_fd_fdstat_get(wasi_ctx* c, int32_t fd, int32_t buf);
int32_t wasi_fd_fdstat_set_flags(wasi_ctx* c, int32_t fd, int32_t flags);
int32_t wasi_fd_fdstat_set_rights(wasi_ctx* c, int32_t fd, int64_t base, int64_t inheriting);
int32_t wasi_fd_filestat_get(wasi_ctx* c, int32_t fd, int32_t buf);
int32_t wasi_fd_filestat_get_snapshot0(wasi_ctx* c, int32_t fd, int32_t buf);
int32_t wasi_fd_filestat_set_size(wasi_ctx* c, int32_t fd, int64_t size);
int32_t wasi_fd_filestat_set_times(wasi_ctx* c, int32_t fd, int64_t atim, int64_t mtim,
                                   int32_t fst_flags);
int32_t wasi_fd_pread(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int64_t offset,
                      int32_t nread);
int32_t wasi_fd_prestat_get(wasi_ctx* c, int32_t fd, int32_t buf);
int32_t wasi_fd_prestat_dir_name(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len);
int32_t wasi_fd_pwrite(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int64_t offset,
                       int32_t nwritten);
int32_t wasi_fd_read(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int32_t nread);
int32_t wasi_fd_readdir(wasi_ctx* c, int32_t fd, int32_t buf, int32_t buf_len, int64_t cookie,
                        int32_t bufused);
int32_t wasi_fd_renumber(wasi_ctx* c, int32_t from, int32_t to);
int32_t wasi_fd_seek(wasi_ctx* c, int32_t fd, int64_t offset, int32_t whence, int32_t result);
int32_t wasi_fd_seek_snapshot0(wasi_ctx* c, int32_t fd, int64_t offset, int32_t whence,
                               int32_t result);
int32_t wasi_fd_sync(wasi_ctx* c, int32_t fd);
int32_t wasi_fd_tell(wasi_ctx* c, int32_t fd, int32_t result);
int32_t wasi_fd_write(wasi_ctx* c, int32_t fd, int32_t iovs, int32_t n, int32_t nwritten);

int32_t wasi_path_create_directory(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len);
int32_t wasi_path_filestat_get(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                               int32_t path_len, int32_t buf);
int32_t wasi_path_filestat_get_snapshot0(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                                         int32_t path_len, int32_t buf);
int32_t wasi_path_filestat_set_times(wasi_ctx* c, int32_t fd, int32_t flags, int32_t path,
                                     int32_t path_len, int64_t atim, int64_t mtim,
                                     int32_t fst_flags);
int32_t wasi_path_link(wasi_ctx* c, int32_t old_fd, int32_t old_flags, int32_t old_path,
                       int32_t old_len, int32_t new_fd, int32_t new_path, int32_t new_len);
int32_t wasi_path_open(wasi_ctx* c, int32_t dirfd, int32_t dirflags, int32_t path,
                       int32_t path_len, int32_t oflags, int64_t rights_base,
                       int64_t rights_inheriting, int32_t fdflags, int32_t fd_out);
int32_t wasi_path_readlink(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len,
                           int32_t buf, int32_t buf_len, int32_t bufused);
int32_t wasi_path_remove_directory(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len);
int32_t wasi_path_rename(wasi_ctx* c, int32_t fd, int32_t old_path, int32_t old_len,
                         int32_t new_fd, int32_t new_path, int32_t new_len);
int32_t wasi_path_symlink(wasi_ctx* c, int32_t old_path, int32_t old_len, int32_t fd,
                          int32_t new_path, int32_t new_len);
int32_t wasi_path_unlink_file(wasi_ctx* c, int32_t fd, int32_t path, int32_t path_len);

int32_t wasi_sock_accept(wasi_ctx* c, int32_t fd, int32_t flags, int32_t fd_out);
int32_t wasi_sock_recv(wasi_ctx* c, int32_t fd, int32_t ri_data, int32_t ri_len,
                       int32_t ri_flags, int32_t ro_datalen, int32_t ro_flags);
int32_t wasi_sock_send(wasi_ctx* c, int32_t fd, int32_t si_data, int32_t si_len,
                       int32_t si_flags, int32_t so_datalen);
int32_t wasi_sock_shutdown(wasi_ctx* c, int32_t fd, int32_t how);

#endif

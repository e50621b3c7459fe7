/* Bad pointers and lengths handed straight to the WASI imports (no wasi-libc
 * wrappers, which would touch the memory themselves). Each must give an errno. */
#include <stdint.h>
#include <stdio.h>

#define WASI(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
WASI(fd_write) int32_t w_fd_write(int32_t, int32_t, int32_t, int32_t);
WASI(fd_read) int32_t w_fd_read(int32_t, int32_t, int32_t, int32_t);
WASI(fd_seek) int32_t w_fd_seek(int32_t, int64_t, int32_t, int32_t);
WASI(args_get) int32_t w_args_get(int32_t, int32_t);
WASI(args_sizes_get) int32_t w_args_sizes_get(int32_t, int32_t);
WASI(environ_get) int32_t w_environ_get(int32_t, int32_t);
WASI(clock_time_get) int32_t w_clock_time_get(int32_t, int64_t, int32_t);
WASI(random_get) int32_t w_random_get(int32_t, int32_t);
WASI(path_open) int32_t w_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t,
                                    int32_t, int32_t);
WASI(path_symlink) int32_t w_path_symlink(int32_t, int32_t, int32_t, int32_t, int32_t);
WASI(fd_readdir) int32_t w_fd_readdir(int32_t, int32_t, int32_t, int64_t, int32_t);
WASI(fd_prestat_dir_name) int32_t w_fd_prestat_dir_name(int32_t, int32_t, int32_t);
WASI(poll_oneoff) int32_t w_poll_oneoff(int32_t, int32_t, int32_t, int32_t);
WASI(fd_fdstat_get) int32_t w_fd_fdstat_get(int32_t, int32_t);
WASI(sock_recv) int32_t w_sock_recv(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
WASI(proc_raise) int32_t w_proc_raise(int32_t);

#define BAD ((int32_t)0xFFFFFFF0u)

static uint32_t iov[2];
static int32_t out;
static char text[] = "hi";

static void expect(const char* what, int32_t got, int32_t want) {
    printf("%-26s %d %s\n", what, got, got == want ? "ok" : "UNEXPECTED");
}

int main(void) {
    int32_t end = (int32_t)(__builtin_wasm_memory_size(0) * 65536u);
    int32_t p_iov = (int32_t)(uintptr_t)iov, p_out = (int32_t)(uintptr_t)&out;
    int32_t p_text = (int32_t)(uintptr_t)text;
    iov[0] = (uint32_t)p_text;
    iov[1] = 2;
    expect("write ok", w_fd_write(1, p_iov, 1, p_out), 0);
    expect("write iovs out", w_fd_write(1, BAD, 1, p_out), 21);
    expect("write iovs count huge", w_fd_write(1, p_iov, 0x20000000, p_out), 21);
    expect("write nwritten out", w_fd_write(1, p_iov, 1, BAD), 21);
    expect("write nwritten at end", w_fd_write(1, p_iov, 1, end - 2), 21);
    iov[0] = (uint32_t)BAD;
    expect("write buf out", w_fd_write(1, p_iov, 1, p_out), 21);
    iov[0] = (uint32_t)p_text;
    iov[1] = 0xFFFFFFFFu;
    expect("write len huge", w_fd_write(1, p_iov, 1, p_out), 21);
    expect("read len huge", w_fd_read(0, p_iov, 1, p_out), 21);
    iov[1] = 2;
    expect("write bad fd", w_fd_write(999, p_iov, 1, p_out), 8);
    expect("write negative fd", w_fd_write(-1, p_iov, 1, p_out), 8);
    expect("seek bad whence", w_fd_seek(3, 0, 7, p_out), 28);
    expect("args_sizes_get out", w_args_sizes_get(BAD, p_out), 21);
    expect("args_get out", w_args_get(BAD, BAD), 21);
    expect("environ_get out", w_environ_get(end, end), 21);
    expect("clock out", w_clock_time_get(1, 0, BAD), 21);
    expect("clock bad id", w_clock_time_get(99, 0, p_out), 28);
    expect("random past end", w_random_get(end - 8, 16), 21);
    expect("random ok", w_random_get(p_out, 4), 0);
    expect("path_open path out", w_path_open(3, 0, BAD, 8, 0, 2, 0, 0, p_out), 21);
    expect("path_open len huge", w_path_open(3, 0, p_text, 0x7FFFFFFF, 0, 2, 0, 0, p_out), 21);
    expect("path_open fd out", w_path_open(3, 0, p_text, 1, 0, 2, 0, 0, BAD), 21);
    expect("path_open not a dir fd", w_path_open(1, 0, p_text, 1, 0, 2, 0, 0, p_out), 54);
    expect("symlink target out", w_path_symlink(BAD, 4, 3, p_text, 2), 21);
    expect("readdir buf out", w_fd_readdir(3, BAD, 100, 0, p_out), 21);
    expect("prestat name out", w_fd_prestat_dir_name(3, BAD, 1), 21);
    expect("poll none", w_poll_oneoff(p_out, p_out, 0, p_out), 28);
    expect("poll huge count", w_poll_oneoff(p_out, p_out, 0x10000000, p_out), 21);
    expect("fdstat out", w_fd_fdstat_get(1, BAD), 21);
    expect("sock_recv on a file", w_sock_recv(3, p_iov, 1, 0, p_out, p_out), 57);
    expect("proc_raise", w_proc_raise(6), 52);
    return 0;
}

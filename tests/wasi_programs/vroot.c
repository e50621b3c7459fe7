/* The virtual read-only root "/" (wasmer's WASI layout, WasiConfig(virtual_root=True)).
 * The host maps "data" (writable: f.txt, sub/, link_out -> ../ro/r.txt) and "ro"
 * (read-only: r.txt). Lists "/" as Rust's fs::read_dir("/") does (opendir/readdir),
 * reads through it, and tries every change in the root and every way out of an
 * entry; prints each result. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void result(const char* what, int rc) {
    if (rc >= 0)
        printf("%-30s ok\n", what);
    else
        printf("%-30s errno %d (%s)\n", what, errno, strerror(errno));
    errno = 0;
}

static void close_ok(const char* what, int fd) {
    result(what, fd);
    if (fd >= 0)
        close(fd);
}

/* the preopens as fd_prestat_get / fd_prestat_dir_name report them */
static void preopens(void) {
    for (__wasi_fd_t fd = 3; fd < 8; fd++) {
        __wasi_prestat_t pre;
        if (__wasi_fd_prestat_get(fd, &pre) != 0)
            continue;
        char name[64] = {0};
        __wasi_fd_prestat_dir_name(fd, (uint8_t*)name, pre.u.dir.pr_name_len);
        __wasi_fdstat_t st;
        __wasi_fd_fdstat_get(fd, &st);
        printf("preopen fd %u: \"%s\" (len %u) filetype %u\n", fd, name,
               (unsigned)pre.u.dir.pr_name_len, st.fs_filetype);
    }
}

static int by_name(const void* a, const void* b) {
    return strcmp(*(char* const*)a, *(char* const*)b);
}

/* a directory's entries, sorted, each with (d) when readdir says it is a directory */
static void list(const char* path) {
    DIR* d = opendir(path);
    if (!d) {
        printf("opendir %s: %s\n", path, strerror(errno));
        return;
    }
    char* names[64];
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) && n < 64) {
        names[n] = malloc(strlen(e->d_name) + 3);
        sprintf(names[n++], "%s(%c)", e->d_name, e->d_type == DT_DIR ? 'd' : '-');
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    printf("%s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void cat(const char* path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("read %-25s errno %d (%s)\n", path, errno, strerror(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("read %-25s %zd \"%s\"\n", path, n, buf);
}

/* through a directory fd opened on "/" itself, as Rust's std does (openat) */
static void through_root_fd(void) {
    DIR* d = opendir("/");
    if (!d) {
        printf("opendir / for openat: %s\n", strerror(errno));
        return;
    }
    int fd = dirfd(d);
    struct stat st;
    result("fstat root fd", fstat(fd, &st));
    printf("root is a directory: %d\n", S_ISDIR(st.st_mode));
    close_ok("openat root data/f.txt", openat(fd, "data/f.txt", O_RDONLY));
    close_ok("openat root ./../data/f.txt", openat(fd, "./../data/f.txt", O_RDONLY));
    close_ok("openat root data/new.txt", openat(fd, "data/new.txt", O_WRONLY | O_CREAT, 0644));
    close_ok("openat root ro/new.txt", openat(fd, "ro/new.txt", O_WRONLY | O_CREAT, 0644));
    close_ok("openat root ro/r.txt write", openat(fd, "ro/r.txt", O_WRONLY));
    close_ok("openat root data/../ro/r.txt", openat(fd, "data/../ro/r.txt", O_RDONLY));
    close_ok("openat root data/../../x", openat(fd, "data/../../x", O_RDONLY));
    close_ok("openat root new.txt", openat(fd, "new.txt", O_WRONLY | O_CREAT, 0644));
    close_ok("openat root . for writing", openat(fd, ".", O_WRONLY));
    close_ok("openat root missing", openat(fd, "missing", O_RDONLY));
    result("mkdirat root d", mkdirat(fd, "d", 0755));
    result("unlinkat root data", unlinkat(fd, "data", AT_REMOVEDIR));
    closedir(d);
}

int main(void) {
    struct stat st;
    preopens();
    list("/");
    list("/data");
    result("stat /", stat("/", &st));
    printf("/ is a directory: %d\n", S_ISDIR(st.st_mode));
    result("stat /data", stat("/data", &st));
    printf("/data is a directory: %d\n", S_ISDIR(st.st_mode));
    cat("/data/f.txt");
    cat("data/f.txt");
    cat("/ro/r.txt");
    cat("/../data/f.txt");
    cat("/missing/x");
    cat("/data/../ro/r.txt");
    cat("/data/link_out");
    through_root_fd();
    /* nothing in the root itself changes */
    result("mkdir /newdir", mkdir("/newdir", 0755));
    close_ok("create /new.txt", open("/new.txt", O_WRONLY | O_CREAT, 0644));
    close_ok("open / for writing", open("/", O_WRONLY));
    result("rmdir /data", rmdir("/data"));
    result("unlink /ro", unlink("/ro"));
    result("rename /data /moved", rename("/data", "/moved"));
    result("rename /data/f.txt /f.txt", rename("/data/f.txt", "/f.txt"));
    result("symlink /lnk", symlink("data", "/lnk"));
    result("link /data/f.txt /hard", link("/data/f.txt", "/hard"));
    /* below a writable entry, it does */
    close_ok("create /data/made.txt", open("/data/made.txt", O_WRONLY | O_CREAT, 0644));
    result("mkdir /data/sub/d", mkdir("/data/sub/d", 0755));
    result("mkdir /ro/d", mkdir("/ro/d", 0755));
    return 0;
}

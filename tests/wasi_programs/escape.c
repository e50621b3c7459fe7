/* Escape attempts from the preopened "." (the host builds: inner/f.txt, and
 * symlinks out_rel -> ../outside/secret.txt, out_abs -> <abs outside>,
 * out_dir -> ../outside, chain -> hop, hop -> ../outside, loop_a <-> loop_b,
 * ok_link -> inner/f.txt, ok_dir -> inner, via -> ok_dir). Prints each result;
 * every escape must fail, the links that stay inside must work. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void result(const char* what, int rc) {
    if (rc >= 0)
        printf("%-28s ok\n", what);
    else
        printf("%-28s errno %d (%s)\n", what, errno, strerror(errno));
    errno = 0;
}

/* path_open straight from the preopen fd, bypassing wasi-libc's path logic */
static void raw_open(const char* what, const char* path, int follow) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(3, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path,
                                        0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
    printf("%-28s wasi errno %d\n", what, e);
    if (e == 0)
        __wasi_fd_close(fd);
}

int main(void) {
    struct stat st;
    result("open ../outside", open("../outside/secret.txt", O_RDONLY));
    result("open inner/../../outside", open("inner/../../outside/secret.txt", O_RDONLY));
    result("open out_rel", open("out_rel", O_RDONLY));
    result("open out_abs", open("out_abs", O_RDONLY));
    result("open out_dir/secret.txt", open("out_dir/secret.txt", O_RDONLY));
    result("open chain/secret.txt", open("chain/secret.txt", O_RDONLY));
    result("open loop_a", open("loop_a", O_RDONLY));
    result("open out_rel nofollow", open("out_rel", O_RDONLY | O_NOFOLLOW));
    result("create via out_dir", open("out_dir/new.txt", O_WRONLY | O_CREAT, 0644));
    result("stat out_rel", stat("out_rel", &st));
    result("lstat out_rel", lstat("out_rel", &st));
    result("stat out_dir/", stat("out_dir/", &st));
    result("opendir out_dir", open("out_dir", O_RDONLY | O_DIRECTORY));
    result("link inner/f.txt out", link("inner/f.txt", "../outside/hard"));
    result("link secret in", link("../outside/secret.txt", "hard"));
    result("link via out_dir", link("out_dir/secret.txt", "hard2"));
    result("rename out", rename("inner/f.txt", "../outside/moved"));
    result("rename in", rename("../outside/secret.txt", "stolen"));
    result("rename via out_dir", rename("inner/f.txt", "out_dir/moved"));
    result("mkdir ../outside/d", mkdir("../outside/d", 0755));
    result("mkdir out_dir/d", mkdir("out_dir/d", 0755));
    result("unlink ../outside", unlink("../outside/secret.txt"));
    result("unlink out_dir/secret", unlink("out_dir/secret.txt"));
    result("rmdir ..", rmdir(".."));
    result("symlink abs target", symlink("/etc/passwd", "new_abs"));
    result("symlink rel target", symlink("../outside", "made"));
    result("open made/secret.txt", open("made/secret.txt", O_RDONLY));
    result("unlink made", unlink("made"));
    result("truncate out_rel", truncate("out_rel", 0));
    struct timespec t[2] = {{0, 0}, {0, 0}};
    result("utimensat out_rel", utimensat(AT_FDCWD, "out_rel", t, 0));
    char buf[64];
    result("readlink out_rel", (int)readlink("out_rel", buf, sizeof buf));
    result("open ok_link", open("ok_link", O_RDONLY));
    result("open inner/..", open("inner/..", O_RDONLY | O_DIRECTORY));
    result("open ok_dir/f.txt", open("ok_dir/f.txt", O_RDONLY));
    result("open via/f.txt", open("via/f.txt", O_RDONLY));
    result("open via/../inner/f.txt", open("via/../inner/f.txt", O_RDONLY));
    result("open via/../../outside", open("via/../../outside/secret.txt", O_RDONLY));
    raw_open("raw /etc/passwd", "/etc/passwd", 0);
    raw_open("raw ..", "..", 0);
    raw_open("raw inner/../..", "inner/../..", 0);
    raw_open("raw out_rel follow", "out_rel", 1);
    raw_open("raw out_abs follow", "out_abs", 1);
    raw_open("raw out_rel nofollow", "out_rel", 0);
    raw_open("raw empty", "", 0);
    raw_open("raw inner/..", "inner/..", 0);
    return 0;
}

/* In a read-only preopen: reading works, every change fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void result(const char* what, long rc) {
    if (rc >= 0)
        printf("%-20s ok (%ld)\n", what, rc);
    else
        printf("%-20s errno %d (%s)\n", what, errno, strerror(errno));
    errno = 0;
}

int main(void) {
    int fd = open("data.txt", O_RDONLY);
    result("open read", fd);
    char buf[16];
    result("read", read(fd, buf, sizeof buf));
    result("write on it", write(fd, "x", 1));
    result("ftruncate it", ftruncate(fd, 0));
    result("open write", open("data.txt", O_WRONLY));
    result("open rdwr", open("data.txt", O_RDWR));
    result("open append", open("data.txt", O_WRONLY | O_APPEND));
    result("open trunc", open("data.txt", O_RDONLY | O_TRUNC));
    result("create", open("new.txt", O_WRONLY | O_CREAT, 0644));
    result("mkdir", mkdir("d", 0755));
    result("unlink", unlink("data.txt"));
    result("rename", rename("data.txt", "moved.txt"));
    result("symlink", symlink("data.txt", "l"));
    result("link", link("data.txt", "h"));
    result("rmdir sub", rmdir("sub"));
    struct timespec t[2] = {{0, 0}, {0, 0}};
    result("utimensat", utimensat(AT_FDCWD, "data.txt", t, 0));
    result("futimens", futimens(fd, t));
    struct stat st;
    result("stat", stat("data.txt", &st));
    return 0;
}

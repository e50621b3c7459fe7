/* File work inside the preopened ".": create, read, append, seek, pread/pwrite,
 * truncate, stat, rename, symlinks, hard links, times, listing, removal.
 * Leaves result.txt behind for the host to check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check(const char* what, int ok) {
    printf("%s: %s\n", what, ok ? "ok" : strerror(errno));
}

static void show(const char* path) {
    char buf[256] = {0};
    FILE* f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    printf("%s = [%.*s]\n", path, (int)n, buf);
}

static int count_entries(const char* dir) {
    DIR* d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

int main(void) {
    check("mkdir work", mkdir("work", 0755) == 0);
    FILE* f = fopen("work/a.txt", "w");
    check("fopen w", f != NULL);
    fprintf(f, "hello\nworld\n");
    fclose(f);
    show("work/a.txt");
    f = fopen("work/a.txt", "a");
    fputs("again\n", f);
    fclose(f);
    show("work/a.txt");

    int fd = open("work/a.txt", O_RDWR);
    check("open rdwr", fd >= 0);
    printf("seek 6 -> %lld\n", (long long)lseek(fd, 6, SEEK_SET));
    check("write XY", write(fd, "XY", 2) == 2);
    printf("tell -> %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    printf("size -> %lld\n", (long long)lseek(fd, 0, SEEK_END));
    char buf[32] = {0};
    printf("pread -> %zd [%.5s]\n", pread(fd, buf, 5, 0), buf);
    check("pwrite", pwrite(fd, "zz", 2, 2) == 2);
    printf("tell after pread/pwrite -> %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    check("ftruncate 9", ftruncate(fd, 9) == 0);
    struct stat st;
    check("fstat", fstat(fd, &st) == 0);
    printf("fstat size=%lld reg=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    close(fd);
    show("work/a.txt");

    check("stat dir", stat("work", &st) == 0 && S_ISDIR(st.st_mode));
    check("rename", rename("work/a.txt", "work/b.txt") == 0);
    check("old name gone", access("work/a.txt", F_OK) != 0 && errno == ENOENT);
    check("symlink", symlink("b.txt", "work/link") == 0);
    char target[64] = {0};
    printf("readlink -> %zd [%s]\n", readlink("work/link", target, sizeof target - 1), target);
    show("work/link");
    check("lstat link", lstat("work/link", &st) == 0 && S_ISLNK(st.st_mode));
    check("hard link", link("work/b.txt", "work/hard") == 0);
    check("nlink 2", stat("work/b.txt", &st) == 0 && st.st_nlink == 2);

    struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
    check("utimensat", utimensat(AT_FDCWD, "work/b.txt", times, 0) == 0);
    check("mtime set", stat("work/b.txt", &st) == 0 && st.st_mtim.tv_sec == 1234567890);

    check("mkdir many", mkdir("work/many", 0755) == 0);
    for (int i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "work/many/file-with-a-long-name-%03d.txt", i);
        int f2 = open(name, O_WRONLY | O_CREAT, 0644);
        if (f2 < 0 || close(f2) != 0) {
            check("create many", 0);
            break;
        }
    }
    printf("many entries -> %d\n", count_entries("work/many"));
    for (int i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "work/many/file-with-a-long-name-%03d.txt", i);
        unlink(name);
    }
    check("rmdir many", rmdir("work/many") == 0);

    check("rmdir non-empty fails", rmdir("work") != 0 && errno == ENOTEMPTY);
    check("unlink link", unlink("work/link") == 0);
    check("unlink hard", unlink("work/hard") == 0);
    check("unlink dir fails", unlink("work") != 0 && errno == EISDIR);
    check("rename out", rename("work/b.txt", "result.txt") == 0);
    check("rmdir", rmdir("work") == 0);
    printf("entries in . -> %d\n", count_entries("."));
    return 0;
}

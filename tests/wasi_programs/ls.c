/* Lists each directory named in argv, sorted: type, size (files), name. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int by_name(const void* a, const void* b) {
    return strcmp(*(char* const*)a, *(char* const*)b);
}

static int list(const char* dir) {
    DIR* d = opendir(dir);
    if (!d) {
        printf("%s: %s\n", dir, strerror(errno));
        return 1;
    }
    char* names[4096];
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) && n < 4096)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    printf("%s: %d entries\n", dir, n);
    for (int i = 0; i < n; i++) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (lstat(path, &st) != 0)
            printf("  ? %s (%s)\n", names[i], strerror(errno));
        else if (S_ISDIR(st.st_mode))
            printf("  d %s\n", names[i]);
        else if (S_ISLNK(st.st_mode))
            printf("  l %s\n", names[i]);
        else
            printf("  f %lld %s\n", (long long)st.st_size, names[i]);
        free(names[i]);
    }
    return 0;
}

int main(int argc, char** argv) {
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed |= list(argv[i]);
    return failed;
}

/* Reads all of stdin; prints its size, line count and an upper-cased copy. */
#include <ctype.h>
#include <poll.h>
#include <stdio.h>

int main(void) {
    struct pollfd p = {0, POLLIN, 0};
    int ready = poll(&p, 1, 1000);
    printf("poll: %d %s\n", ready, (p.revents & POLLIN) ? "readable" : "-");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, stdin);
    int lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += buf[i] == '\n';
        buf[i] = (char)toupper((unsigned char)buf[i]);
    }
    printf("bytes=%zu lines=%d eof=%d\n", n, lines, feof(stdin) != 0);
    fwrite(buf, 1, n, stdout);
    return 0;
}

/* N (argv[1], default 1,000,000) 16-byte write() calls to out.bin: one fd_write each. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000000;
    int fd = open("out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    for (int i = 0; i < n; i++)
        if (write(fd, "0123456789abcdef", 16) != 16)
            return 2;
    return close(fd) == 0 ? 0 : 3;
}

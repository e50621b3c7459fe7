/* Allocates 1 MiB blocks (touching each) until malloc fails or LIMIT MiB are
 * held, then prints how many it got. Usage: alloc LIMIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* blocks[4096];

int main(int argc, char** argv) {
    int limit = argc > 1 ? atoi(argv[1]) : 64;
    int got = 0;
    while (got < limit && got < 4096) {
        char* block = malloc(1 << 20);
        if (!block)
            break;
        memset(block, got + 1, 1 << 20);
        blocks[got++] = block;   /* kept and read below: the compiler cannot drop them */
    }
    long sum = 0;
    for (int i = 0; i < got; i++)
        sum += blocks[i][i];
    printf("allocated %d MiB (check %ld)\n", got, sum);
    return 0;
}

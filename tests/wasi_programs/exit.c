/* Ways to end: exit() deep in the stack (atexit handlers and stdio flush run),
 * return from main, _Exit (no flush). Usage: exit CODE exit|return|_exit */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void goodbye(void) { puts("atexit handler ran"); }

static void deep(int depth, int code) {
    if (depth == 0) {
        printf("exiting with %d\n", code);
        exit(code);
    }
    deep(depth - 1, code);
}

int main(int argc, char** argv) {
    if (argc < 3)
        return 99;
    int code = atoi(argv[1]);
    atexit(goodbye);
    puts("started");
    if (strcmp(argv[2], "return") == 0)
        return code;
    if (strcmp(argv[2], "_exit") == 0) {
        fflush(stdout);
        printf("this line is lost: _Exit does not flush\n");
        _Exit(code);
    }
    deep(20, code);
    return 98;
}

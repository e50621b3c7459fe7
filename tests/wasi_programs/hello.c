/* printf/puts, stderr, args and environment; exits with argv[1] when given. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    const char* names[] = {"GREETING", "EMPTY", "MISSING"};
    for (int i = 0; i < 3; i++) {
        const char* value = getenv(names[i]);
        printf("%s=%s\n", names[i], value ? value : "(unset)");
    }
    puts("puts works");
    fprintf(stderr, "to stderr\n");
    return argc > 1 ? atoi(argv[1]) : 0;
}

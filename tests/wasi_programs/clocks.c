/* Clocks, sleeping (poll_oneoff) and randomness; prints only engine-independent facts. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    long long real = ns(CLOCK_REALTIME);
    printf("realtime after 2020: %d\n", real > 1577836800LL * 1000000000LL);
    printf("time() agrees: %d\n", (long long)time(NULL) - real / 1000000000LL <= 1);
    long long prev = ns(CLOCK_MONOTONIC);
    int monotonic = 1;
    for (int i = 0; i < 1000; i++) {
        long long now = ns(CLOCK_MONOTONIC);
        monotonic &= now >= prev;
        prev = now;
    }
    printf("monotonic: %d\n", monotonic);
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("resolution <= 1ms: %d\n", res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);

    long long t0 = ns(CLOCK_MONOTONIC);
    struct timespec nap = {0, 30 * 1000000};
    nanosleep(&nap, NULL);
    long long slept = ns(CLOCK_MONOTONIC) - t0;
    printf("nanosleep 30ms: %d\n", slept >= 30000000LL && slept < 2000000000LL);
    t0 = ns(CLOCK_MONOTONIC);
    poll(NULL, 0, 20);
    slept = ns(CLOCK_MONOTONIC) - t0;
    printf("poll timeout 20ms: %d\n", slept >= 20000000LL && slept < 2000000000LL);

    unsigned char a[32], b[32];
    getentropy(a, sizeof a);
    getentropy(b, sizeof b);
    printf("random differs: %d\n", memcmp(a, b, sizeof a) != 0);
    return 0;
}

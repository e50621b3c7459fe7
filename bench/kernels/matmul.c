/* Scalar loops that native compilers vectorise, for issue 15's target: matrix
 * multiplies in i32 and f64, i-k-j order (the inner loop is a saxpy over a row).
 * Built to wasm32 without SIMD (clang -O2: the loops stay scalar in the wasm) and to
 * native code by gcc -O2 and clang -O2 -march=native (which vectorises them). Each
 * returns a checksum that every engine must reproduce. */
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))
#define N 160

static int32_t ia[N * N], ib[N * N], ic[N * N];
static double fa[N * N], fb[N * N], fc[N * N];

EXPORT int64_t mm_i32(int reps) {
    for (int i = 0; i < N * N; i++) { ia[i] = i % 13 - 6; ib[i] = i % 7 - 3; }
    int64_t sum = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < N * N; i++) ic[i] = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                int32_t a = ia[i * N + k];
                for (int j = 0; j < N; j++) ic[i * N + j] += a * ib[k * N + j];
            }
        for (int i = 0; i < N; i++) sum += ic[i * N + (i + r) % N];
        ia[r % (N * N)] += 1;
    }
    return sum;
}

EXPORT int64_t mm_f64(int reps) {
    for (int i = 0; i < N * N; i++) { fa[i] = (i % 13) * 0.25; fb[i] = (i % 7) * 0.5; }
    double trace = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < N * N; i++) fc[i] = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double a = fa[i * N + k];
                for (int j = 0; j < N; j++) fc[i * N + j] += a * fb[k * N + j];
            }
        for (int i = 0; i < N; i++) trace += fc[i * N + i];
        fa[r % (N * N)] += 1.0;
    }
    return (int64_t)trace;
}

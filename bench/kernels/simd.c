/* SIMD kernels for bench/test_simd.py: one source for wasm32 (clang -msimd128) and native.
 *
 * The vector code uses the GCC vector extensions, which both compilers understand:
 * clang turns them into wasm simd128 instructions, gcc -O2 into SSE2. So the wasm
 * and the native build run the same vector algorithm, and the comparison measures
 * the engines, not the auto-vectorizers. No libc: the data comes from a small LCG.
 *
 * Each kernel takes a repeat count and returns an int64 checksum that must be the
 * same on every engine (float results are returned as their bit patterns; the
 * operation order is fixed and nothing is fused, see -ffp-contract=off).
 */
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

typedef float f32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef int16_t i16x8 __attribute__((vector_size(16)));
typedef uint16_t u16x8 __attribute__((vector_size(16)));
typedef uint8_t u8x8 __attribute__((vector_size(8)));
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef int16_t i16x4 __attribute__((vector_size(8)));
/* unaligned views for loads and stores at any byte offset */
typedef f32x4 f32x4_u __attribute__((aligned(1)));
typedef i16x4 i16x4_u __attribute__((aligned(1)));
typedef u8x8 u8x8_u __attribute__((aligned(1)));

static uint32_t lcg_state;

static uint32_t lcg(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

/* ---- dot product of float vectors: 4 accumulators of 4 lanes ---- */

#define DOT_N 4096
static float dot_a[DOT_N], dot_b[DOT_N];

static void dot_init(void) {
    lcg_state = 1;
    for (int i = 0; i < DOT_N; i++) {
        dot_a[i] = (float)(int32_t)(lcg() & 0xFFFF) / 32768.0f - 1.0f;
        dot_b[i] = (float)(int32_t)(lcg() & 0xFFFF) / 32768.0f - 1.0f;
    }
}

static float dot_f32(const float *a, const float *b, int n) {
    f32x4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    for (int i = 0; i < n; i += 16) {
        s0 += *(const f32x4_u *)(a + i) * *(const f32x4_u *)(b + i);
        s1 += *(const f32x4_u *)(a + i + 4) * *(const f32x4_u *)(b + i + 4);
        s2 += *(const f32x4_u *)(a + i + 8) * *(const f32x4_u *)(b + i + 8);
        s3 += *(const f32x4_u *)(a + i + 12) * *(const f32x4_u *)(b + i + 12);
    }
    f32x4 s = (s0 + s1) + (s2 + s3);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

EXPORT int64_t k_dot_f32(int32_t reps) {
    dot_init();
    float total = 0.0f;
    for (int r = 0; r < reps; r++) {
        dot_b[r & (DOT_N - 1)] += 0.5f;          /* each round sees different data */
        total += dot_f32(dot_a, dot_b, DOT_N);
    }
    union { float f; uint32_t u; } bits = { total };
    return bits.u;
}

/* ---- dot product of int16 vectors, widened to 32-bit lanes ---- */

#define IDOT_N 8192
static int16_t idot_a[IDOT_N], idot_b[IDOT_N];

/* four int16 from memory, sign-extended to 32 bits (wasm: i32x4.load16x4_s) */
static u32x4 widen4(const int16_t *p) {
    return (u32x4)__builtin_convertvector(*(const i16x4_u *)p, i32x4);
}

EXPORT int64_t k_dot_i16(int32_t reps) {
    lcg_state = 7;
    for (int i = 0; i < IDOT_N; i++) {
        idot_a[i] = (int16_t)lcg();
        idot_b[i] = (int16_t)lcg();
    }
    int64_t total = 0;
    for (int r = 0; r < reps; r++) {
        idot_a[r & (IDOT_N - 1)] ^= 0x55;
        u32x4 acc = {0};       /* unsigned: the sums wrap, the same on every engine */
        for (int i = 0; i < IDOT_N; i += 8) {
            acc += widen4(idot_a + i) * widen4(idot_b + i);
            acc += widen4(idot_a + i + 4) * widen4(idot_b + i + 4);
        }
        total += (int64_t)(int32_t)(acc[0] + acc[1] + acc[2] + acc[3]);
    }
    return total;
}

/* ---- 3x3 Gaussian blur of an 8-bit image, 8 pixels per step in 16-bit lanes ---- */

#define IMG_W 512
#define IMG_H 512
static uint8_t img_in[IMG_H][IMG_W], img_out[IMG_H][IMG_W];

static u16x8 widen(const uint8_t *p) {
    return __builtin_convertvector(*(const u8x8_u *)p, u16x8);
}

/* weights 1 2 1 / 2 4 2 / 1 2 1, divided by 16 with rounding */
static void blur_row(int y) {
    const uint8_t *up = img_in[y - 1], *mid = img_in[y], *down = img_in[y + 1];
    for (int x = 1; x + 8 < IMG_W; x += 8) {
        u16x8 top = widen(up + x - 1) + (widen(up + x) << 1) + widen(up + x + 1);
        u16x8 row = widen(mid + x - 1) + (widen(mid + x) << 1) + widen(mid + x + 1);
        u16x8 bot = widen(down + x - 1) + (widen(down + x) << 1) + widen(down + x + 1);
        u16x8 sum = (top + (row << 1) + bot + 8) >> 4;
        *(u8x8_u *)(img_out[y] + x) = __builtin_convertvector(sum, u8x8);
    }
}

EXPORT int64_t k_blur(int32_t reps) {
    lcg_state = 3;
    for (int y = 0; y < IMG_H; y++)
        for (int x = 0; x < IMG_W; x++)
            img_in[y][x] = (uint8_t)lcg();
    int64_t total = 0;
    for (int r = 0; r < reps; r++) {
        img_in[r & (IMG_H - 1)][(r * 7) & (IMG_W - 1)] ^= 0xFF;
        for (int y = 1; y + 1 < IMG_H; y++)
            blur_row(y);
        for (int y = 0; y < IMG_H; y += 17)
            for (int x = 0; x < IMG_W; x += 13)
                total = total * 31 + img_out[y][x];
    }
    return total;
}

/* Compute kernels for the side-by-side benchmarks (bench/test_kernels.py).
 *
 * Built twice from this one file: to wasm32 with clang -O2 (no libc: every buffer is a
 * static array) and natively with gcc -O2 as a shared library. Each kernel takes a size
 * and returns a checksum, so the three engines (wasabi, wasmtime, native) are checked to
 * agree before their times are compared.
 */
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/* recursion: call-bound */
static int fib_rec(int n) { return n < 2 ? n : fib_rec(n - 1) + fib_rec(n - 2); }
EXPORT int64_t k_fib(int n) { return fib_rec(n); }

/* integer loops: sieve of Eratosthenes over a byte array */
static uint8_t sieve_buf[1 << 22];
EXPORT int64_t k_sieve(int n) {
    if (n > (int)sizeof sieve_buf) n = sizeof sieve_buf;
    for (int i = 0; i < n; i++) sieve_buf[i] = 1;
    sieve_buf[0] = sieve_buf[1] = 0;
    for (int i = 2; (int64_t)i * i < n; i++)
        if (sieve_buf[i])
            for (int j = i * i; j < n; j += i) sieve_buf[j] = 0;
    int64_t count = 0;
    for (int i = 0; i < n; i++) count += sieve_buf[i];
    return count;
}

/* floating point: mandelbrot escape counts */
EXPORT int64_t k_mandel(int n) {
    int64_t total = 0;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            double cr = 2.5 * x / n - 2.0, ci = 2.0 * y / n - 1.0;
            double zr = 0, zi = 0;
            int it = 0;
            while (it < 200 && zr * zr + zi * zi < 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                it++;
            }
            total += it;
        }
    }
    return total;
}

/* floating point: n-body style pairwise forces */
#define NB 64
static double px[NB], py[NB], pz[NB], vx[NB], vy[NB], vz[NB];
EXPORT int64_t k_nbody(int steps) {
    for (int i = 0; i < NB; i++) {
        px[i] = i * 0.37; py[i] = i * 0.11 - 3; pz[i] = (i % 7) * 0.5;
        vx[i] = vy[i] = vz[i] = 0;
    }
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < NB; i++) {
            double ax = 0, ay = 0, az = 0;
            for (int j = 0; j < NB; j++) {
                double dx = px[j] - px[i], dy = py[j] - py[i], dz = pz[j] - pz[i];
                double d2 = dx * dx + dy * dy + dz * dz + 0.01;
                double inv = 1.0 / (d2 * d2);
                ax += dx * inv; ay += dy * inv; az += dz * inv;
            }
            vx[i] += ax * 1e-4; vy[i] += ay * 1e-4; vz[i] += az * 1e-4;
        }
        for (int i = 0; i < NB; i++) { px[i] += vx[i]; py[i] += vy[i]; pz[i] += vz[i]; }
    }
    double e = 0;
    for (int i = 0; i < NB; i++) e += vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i];
    return (int64_t)(e * 1e9);
}

/* memory streaming: saxpy + sum over 4M floats */
#define NS (1 << 22)
static float sa[NS], sb[NS];
EXPORT int64_t k_stream(int reps) {
    for (int i = 0; i < NS; i++) { sa[i] = (float)(i & 1023); sb[i] = 1.0f; }
    double sum = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < NS; i++) sb[i] = 0.5f * sa[i] + sb[i];
        for (int i = 0; i < NS; i++) sum += sb[i];
    }
    return (int64_t)sum;
}

/* hashing: FNV-1a and a murmur-style mix over a generated buffer */
static uint8_t hbuf[1 << 20];
EXPORT int64_t k_hash(int reps) {
    for (int i = 0; i < (int)sizeof hbuf; i++) hbuf[i] = (uint8_t)(i * 31 + (i >> 8));
    uint64_t acc = 0;
    for (int r = 0; r < reps; r++) {
        uint32_t h = 2166136261u ^ (uint32_t)r;
        for (int i = 0; i < (int)sizeof hbuf; i++) { h ^= hbuf[i]; h *= 16777619u; }
        uint64_t m = 0x9E3779B97F4A7C15ull * (r + 1);
        for (int i = 0; i + 8 <= (int)sizeof hbuf; i += 8) {
            uint64_t k = 0;
            for (int b = 0; b < 8; b++) k |= (uint64_t)hbuf[i + b] << (8 * b);
            k *= 0xff51afd7ed558ccdull; k ^= k >> 33; m ^= k; m = (m << 27) | (m >> 37); m = m * 5 + 0x52dce729;
        }
        acc += h ^ m;
    }
    return (int64_t)(acc & 0x7fffffffffffffffull);
}

/* sorting: quicksort of pseudo-random ints */
static int32_t sbuf[1 << 20];
static void qsort_i32(int32_t *a, int lo, int hi) {
    while (lo < hi) {
        int32_t p = a[(lo + hi) >> 1];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { qsort_i32(a, lo, j); lo = i; }
        else { qsort_i32(a, i, hi); hi = j; }
    }
}
EXPORT int64_t k_sort(int n) {
    if (n > (int)(sizeof sbuf / sizeof sbuf[0])) n = sizeof sbuf / sizeof sbuf[0];
    uint32_t x = 12345;
    for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; sbuf[i] = (int32_t)(x >> 1); }
    qsort_i32(sbuf, 0, n - 1);
    int64_t check = 0;
    for (int i = 0; i < n; i += 97) check += sbuf[i] >> 8;
    for (int i = 1; i < n; i++) if (sbuf[i - 1] > sbuf[i]) return -1;
    return check;
}

/* an interpreter loop: a small stack-machine bytecode VM running a counting program */
enum { OP_PUSH, OP_ADD, OP_SUB, OP_MUL, OP_DUP, OP_SWAP, OP_JNZ, OP_DROP, OP_LOAD, OP_STORE, OP_HALT };
static const int32_t program[] = {
    OP_STORE, 0,           /* r0 = n (n on stack) */
    OP_PUSH, 0, OP_STORE, 1,  /* r1 = 0 (acc) */
    /* loop (pc = 6) */
    OP_LOAD, 1, OP_LOAD, 0, OP_DUP, OP_MUL, OP_ADD, OP_PUSH, 7, OP_MUL, OP_PUSH, 1000003, OP_SUB, OP_STORE, 1,
    OP_LOAD, 0, OP_PUSH, 1, OP_SUB, OP_DUP, OP_STORE, 0,
    OP_JNZ, 6,
    OP_LOAD, 1, OP_HALT,
};
EXPORT int64_t k_interp(int n) {
    int64_t stack[64], regs[4] = {0};
    int sp = 0, pc = 0;
    stack[sp++] = n;
    for (;;) {
        switch (program[pc++]) {
        case OP_PUSH: stack[sp++] = program[pc++]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] = (stack[sp - 1] * stack[sp]) & 0xffffffffffffll; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; } break;
        case OP_JNZ: { int32_t target = program[pc++]; if (stack[--sp]) pc = target; } break;
        case OP_DROP: sp--; break;
        case OP_LOAD: stack[sp++] = regs[program[pc++]]; break;
        case OP_STORE: regs[program[pc++]] = stack[--sp]; break;
        case OP_HALT: return stack[sp - 1];
        default: return -1;
        }
    }
}

/* matrix multiply: dense double 128x128, cache-friendly i-k-j order */
#define MM 128
static double ma[MM * MM], mb[MM * MM], mc[MM * MM];
EXPORT int64_t k_matmul(int reps) {
    for (int i = 0; i < MM * MM; i++) { ma[i] = (i % 13) * 0.25; mb[i] = (i % 7) * 0.5; }
    double tr = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < MM * MM; i++) mc[i] = 0;
        for (int i = 0; i < MM; i++)
            for (int k = 0; k < MM; k++) {
                double a = ma[i * MM + k];
                for (int j = 0; j < MM; j++) mc[i * MM + j] += a * mb[k * MM + j];
            }
        for (int i = 0; i < MM; i++) tr += mc[i * MM + i];
        ma[r % (MM * MM)] += 1.0;
    }
    return (int64_t)tr;
}

/* string search: naive substring counting over generated text */
static char text[1 << 20];
EXPORT int64_t k_strsearch(int reps) {
    static const char pat[] = "abcab";
    uint32_t x = 2463534242u;
    for (int i = 0; i < (int)sizeof text; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; text[i] = "abc"[x % 3]; }
    int64_t count = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i + 5 <= (int)sizeof text; i++) {
            int j = 0;
            while (j < 5 && text[i + j] == pat[j]) j++;
            if (j == 5) count++;
        }
    }
    return count;
}

/* a hash table: word counts in open addressing with linear probing, keys drawn from
 * a skewed distribution (a few frequent keys, a long tail), then lookups */
#define HT_BITS 16
#define HT_MASK ((1u << HT_BITS) - 1)
static uint32_t ht_keys[1 << HT_BITS];
static int32_t ht_counts[1 << HT_BITS];
static uint32_t ht_find(uint32_t key) {
    uint32_t h = (key * 2654435761u) >> (32 - HT_BITS);
    while (ht_keys[h] != 0 && ht_keys[h] != key) h = (h + 1) & HT_MASK;
    return h;
}
EXPORT int64_t k_hashtable(int n) {
    for (int i = 0; i <= (int)HT_MASK; i++) { ht_keys[i] = 0; ht_counts[i] = 0; }
    uint32_t x = 88172645u;
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        uint32_t r = x % 1000;     /* 1 in 2: one of 64 hot keys; else one of 40,000 */
        uint32_t key = r < 500 ? 1 + r % 64 : 1000 + (x >> 10) % 40000;
        uint32_t h = ht_find(key);
        if (ht_keys[h] == 0) ht_keys[h] = key;
        sum += ++ht_counts[h];
    }
    for (uint32_t key = 1; key < 42000; key += 7) {
        uint32_t h = ht_find(key);
        if (ht_keys[h] == key) sum += ht_counts[h];
    }
    return sum;
}

/* compression: a greedy LZ77 (a hash of 4 bytes to their last position, matches up
 * to 255 bytes within 64 KiB) over text made of words from a small vocabulary */
#define LZ_N (1 << 18)
static uint8_t lz_in[LZ_N], lz_out[LZ_N + LZ_N / 2];
static int32_t lz_head[1 << 14];
static uint32_t load32(const uint8_t *p) {
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
EXPORT int64_t k_compress(int reps) {
    static const char words[] = "the quick brown fox jumps over a lazy dog and runs far away "
                                "from the big red barn while it rains on old green hills ";
    uint32_t x = 2463534242u;
    for (int i = 0; i < LZ_N;) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        int start = x % (sizeof words - 12), len = 3 + (x >> 16) % 9;
        for (int k = 0; k < len && i < LZ_N; k++) lz_in[i++] = words[start + k];
        if (((x >> 8) & 15) == 0 && i < LZ_N) lz_in[i++] = (uint8_t)('0' + (x >> 20) % 10);
    }
    int64_t total = 0;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < (1 << 14); i++) lz_head[i] = -1;
        int ip = 0, op = 0;
        while (ip + 4 <= LZ_N) {
            uint32_t seq = load32(lz_in + ip), h = (seq * 2654435761u) >> 18;
            int cand = lz_head[h];
            lz_head[h] = ip;
            if (cand >= 0 && ip - cand < 65536 && load32(lz_in + cand) == seq) {
                int len = 4;
                while (ip + len < LZ_N && len < 255 && lz_in[cand + len] == lz_in[ip + len]) len++;
                lz_out[op++] = 0xff; lz_out[op++] = (uint8_t)len;
                lz_out[op++] = (uint8_t)(ip - cand); lz_out[op++] = (uint8_t)((ip - cand) >> 8);
                ip += len;
            } else {
                uint8_t c = lz_in[ip++];
                if (c == 0xff) lz_out[op++] = 0xff;
                lz_out[op++] = c;
            }
        }
        while (ip < LZ_N) lz_out[op++] = lz_in[ip++];
        uint32_t check = 0;
        for (int i = 0; i < op; i++) check = check * 31 + lz_out[i];
        total += op + check % 1000;
    }
    return total;
}

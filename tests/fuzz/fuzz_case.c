/* Decoding of fuzz inputs into API scenarios, and the encoder the seed writer uses. */
#include "fuzz_case.h"

#include <limits.h>
#include <string.h>

/* Values that break careless size arithmetic: zero, negatives, the int64 limits and powers of two
 * around the 32-bit limits and near 2^62, where a doubled or multiplied term overflows. */
static const int64_t hostile_values[] = {
    0,
    -1,
    -2,
    -1000,
    INT64_MIN,
    INT64_MIN + 1,
    INT64_MAX,
    INT64_MAX - 1,
    INT64_C(1) << 31,
    (INT64_C(1) << 31) - 1,
    (INT64_C(1) << 32) - 1,
    INT64_C(1) << 32,
    (INT64_C(1) << 32) + 1,
    INT64_C(1) << 39,
    (INT64_C(1) << 40) + 1,
    INT64_C(1) << 61,
    INT64_C(1) << 62,
    INT64_MAX / 2,
    INT64_MAX / 2 + 1,
    -(INT64_C(1) << 62),
};
#define HOSTILE_COUNT (sizeof hostile_values / sizeof hostile_values[0])

static const int odd_algos[] = {-1, 7, 1000, 8, -7, 100, INT_MIN, INT_MAX};
#define ODD_ALGO_COUNT (sizeof odd_algos / sizeof odd_algos[0])
#define ODD_ALGO_BASE 224

static const char long_isa[] = "avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2"
                               "avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2"
                               "avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2"
                               "avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2avx2";
static const char *const unknown_isas[] = {
    "", "none", "AVX2", "avx", "sse4", "scalar ", "avx512f", "x86_64", "neon\n", long_isa,
};
#define UNKNOWN_ISA_COUNT ((int)(sizeof unknown_isas / sizeof unknown_isas[0]))

/* Field kinds: each has its own range of small valid values. */
typedef enum { K_BATCH, K_CHANNELS, K_SPATIAL, K_KERNEL, K_STRIDE, K_PAD, K_DILATION } field_kind;

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint8_t read_byte(reader *r) {
    if (r->left == 0) return 0;
    r->left--;
    return *r->p++;
}

static uint64_t read_le(reader *r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)read_byte(r) << (8 * i);
    return v;
}

/* v in 0..31: mostly lo..common, sometimes lo..rare. */
static int64_t biased(unsigned v, int64_t lo, int64_t common, int64_t rare) {
    int64_t hi = v < 24 ? common : rare;
    return lo + (int64_t)(v % (unsigned)(hi - lo + 1));
}

static int64_t small_value(field_kind kind, unsigned v) {
    switch (kind) {
    case K_BATCH: return biased(v, 1, 2, 4);
    case K_CHANNELS: return biased(v, 1, 6, 16);
    case K_SPATIAL: return biased(v, 1, 8, 20);
    case K_KERNEL: return biased(v, 1, 5, 9);
    case K_STRIDE: return biased(v, 1, 4, 9);
    case K_PAD: return biased(v, 0, 3, 9);
    case K_DILATION: return biased(v, 1, 2, 4);
    }
    return 1;
}

/* One selector byte: low 3 bits pick the mode (0-5 small valid, 6 hostile, 7 raw 8 bytes), the
 * high 5 bits the value. small() gives the small valid value for those 5 bits. */
typedef int64_t small_fn(unsigned v, const void *ctx);

static int64_t read_field(reader *r, small_fn *small, const void *ctx) {
    uint8_t sel = read_byte(r);
    unsigned mode = sel & 7u, v = sel >> 3;
    if (mode == 7) return (int64_t)read_le(r, 8);
    if (mode == 6) return hostile_values[v % HOSTILE_COUNT];
    return small(v, ctx);
}

static int64_t small_of_kind(unsigned v, const void *ctx) {
    return small_value(*(const field_kind *)ctx, v);
}

static int64_t read_kind(reader *r, field_kind kind) { return read_field(r, small_of_kind, &kind); }

/* Output padding: valid (below stride or dilation) most of the time. */
typedef struct out_pad_ctx {
    int64_t stride, dilation;
} out_pad_ctx;

static int64_t small_out_pad(unsigned v, const void *ctx) {
    const out_pad_ctx *c = ctx;
    int64_t limit = c->stride > c->dilation ? c->stride : c->dilation;
    if (v >= 24 || limit < 1 || limit > 64) return (int64_t)(v % 4);
    return (int64_t)(v % (unsigned)limit);
}

/* Groups: a divisor of both channel counts most of the time. */
static int64_t small_groups(unsigned v, const void *ctx) {
    const tconv_shape *s = ctx;
    int64_t a = s->in_channels, b = s->out_channels;
    if (v >= 24 || a < 1 || b < 1 || a > 4096 || b > 4096) return 1 + (int64_t)(v % 6);
    int64_t divisors[64];
    int n = 0;
    for (int64_t d = 1; d <= a && n < 64; d++)
        if (a % d == 0 && b % d == 0) divisors[n++] = d;
    return divisors[v % (unsigned)n];
}

static void decode_shape(reader *r, tconv_shape *s) {
    s->batch = read_kind(r, K_BATCH);
    s->in_channels = read_kind(r, K_CHANNELS);
    s->out_channels = read_kind(r, K_CHANNELS);
    s->in_h = read_kind(r, K_SPATIAL);
    s->in_w = read_kind(r, K_SPATIAL);
    s->kernel_h = read_kind(r, K_KERNEL);
    s->kernel_w = read_kind(r, K_KERNEL);
    s->stride_h = read_kind(r, K_STRIDE);
    s->stride_w = read_kind(r, K_STRIDE);
    s->pad_h = read_kind(r, K_PAD);
    s->pad_w = read_kind(r, K_PAD);
    s->dilation_h = read_kind(r, K_DILATION);
    s->dilation_w = read_kind(r, K_DILATION);
    out_pad_ctx h = {s->stride_h, s->dilation_h}, w = {s->stride_w, s->dilation_w};
    s->out_pad_h = read_field(r, small_out_pad, &h);
    s->out_pad_w = read_field(r, small_out_pad, &w);
    s->groups = read_field(r, small_groups, s);
}

static int decode_algo(uint8_t b) {
    return b < ODD_ALGO_BASE ? b % TCONV_ALGO_COUNT
                             : odd_algos[(b - ODD_ALGO_BASE) % ODD_ALGO_COUNT];
}

static void decode_isa(uint8_t b, fuzz_case *c) {
    int tags = tconv_isa_count();
    int k = b % (2 + tags + UNKNOWN_ISA_COUNT);
    c->isa = NULL;
    if (k == 0)
        c->isa_kind = FUZZ_ISA_NO_OPTIONS;
    else if (k == 1)
        c->isa_kind = FUZZ_ISA_NULL;
    else if (k < 2 + tags)
        c->isa_kind = FUZZ_ISA_TAG, c->isa = tconv_isa_name(k - 2);
    else
        c->isa_kind = FUZZ_ISA_UNKNOWN, c->isa = unknown_isas[k - 2 - tags];
}

/* Pointer byte: low 4 bits the case (7 of 16 values plain), bit 4 drops the bias, bits 5-7 the
 * overlap offset. */
static void decode_pointers(uint8_t b, fuzz_case *c) {
    unsigned k = b & 15u;
    c->pointers = k >= 7 && k < 7 + FUZZ_PTR_COUNT - 1 ? (fuzz_pointers)(k - 6) : FUZZ_PTR_NORMAL;
    c->with_bias = !(b & 16u);
    c->overlap = b >> 5;
}

/* Data byte: low 3 bits the special-value mode (half of the values plain finite data). */
static void decode_data(uint8_t b, fuzz_case *c) {
    unsigned k = b & 7u;
    c->special = k < 4 ? FUZZ_DATA_FINITE : (fuzz_special)(k - 3);
    c->special_pick = b >> 3;
}

void fuzz_decode(const uint8_t *data, size_t size, fuzz_case *c) {
    reader r = {data, size};
    memset(c, 0, sizeof *c);
    decode_shape(&r, &c->shape);
    c->algo = decode_algo(read_byte(&r));
    decode_isa(read_byte(&r), c);
    decode_pointers(read_byte(&r), c);
    decode_data(read_byte(&r), c);
    c->data_seed = (uint32_t)read_le(&r, 4);
}

int fuzz_isa_choice(fuzz_isa_kind kind, int index) {
    switch (kind) {
    case FUZZ_ISA_NO_OPTIONS: return 0;
    case FUZZ_ISA_NULL: return 1;
    case FUZZ_ISA_TAG: return 2 + index;
    case FUZZ_ISA_UNKNOWN: return 2 + tconv_isa_count() + index % UNKNOWN_ISA_COUNT;
    }
    return 0;
}

static size_t put_byte(uint8_t *out, size_t cap, size_t n, unsigned v) {
    if (n < cap) out[n] = (uint8_t)v;
    return n + 1;
}

static uint8_t encode_algo(int algo) {
    if (algo >= 0 && algo < TCONV_ALGO_COUNT) return (uint8_t)algo;
    for (unsigned i = 0; i < ODD_ALGO_COUNT; i++)
        if (odd_algos[i] == algo) return (uint8_t)(ODD_ALGO_BASE + i);
    return ODD_ALGO_BASE; /* not representable: -1 */
}

size_t fuzz_encode(const fuzz_case *c, int isa_choice, uint8_t *out, size_t cap) {
    const tconv_shape *s = &c->shape;
    /* Decode order: see decode_shape. */
    const int64_t fields[16] = {s->batch,      s->in_channels, s->out_channels, s->in_h,
                                s->in_w,       s->kernel_h,    s->kernel_w,     s->stride_h,
                                s->stride_w,   s->pad_h,       s->pad_w,        s->dilation_h,
                                s->dilation_w, s->out_pad_h,   s->out_pad_w,    s->groups};
    size_t n = 0;
    for (int f = 0; f < 16; f++) {
        n = put_byte(out, cap, n, 7); /* raw mode */
        for (int i = 0; i < 8; i++)
            n = put_byte(out, cap, n, (uint8_t)((uint64_t)fields[f] >> (8 * i)));
    }
    n = put_byte(out, cap, n, encode_algo(c->algo));
    n = put_byte(out, cap, n, (unsigned)isa_choice);
    unsigned ptr = c->pointers == FUZZ_PTR_NORMAL ? 0u : 6u + (unsigned)c->pointers;
    n = put_byte(out, cap, n, ptr | (c->with_bias ? 0u : 16u) | (c->overlap & 7u) << 5);
    unsigned data = c->special == FUZZ_DATA_FINITE ? 0u : 3u + (unsigned)c->special;
    n = put_byte(out, cap, n, data | (c->special_pick & 31u) << 3);
    for (int i = 0; i < 4; i++) n = put_byte(out, cap, n, (uint8_t)(c->data_seed >> (8 * i)));
    return n;
}

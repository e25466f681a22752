/* gemm_ukernel_check: every compiled gemm micro-kernel the CPU supports, on edge tiles and small
 * blocked GEMMs, against a double-precision loop; also checks that nothing outside C's tile is
 * written. Plain C (no cmocka): prints shape, index, expected and actual on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/ukernels.h"
#include "tconv.h"

typedef struct gemm_variant {
    const char *isa, *name;
    tconv_gemm_ukernel_fn *fn;
    size_t mr, nr;
} gemm_variant;

/* The variant table, from the same X-macro list as the dispatcher's: gemm rows only. */
#define TCONV_UKERNEL(family, isa, symbol, mr, nr) TCONV_UKERNEL_##family(isa, symbol, mr, nr)
#define TCONV_UKERNEL_gemm(isa, symbol, mr, nr) {#isa, #symbol, symbol, mr, nr},
#define TCONV_UKERNEL_conv(isa, symbol, mr, nr)
#define TCONV_UKERNEL_col2im(isa, symbol, mr, nr)
#define TCONV_UKERNEL_sparse(isa, symbol, mr, nr)
#define TCONV_UKERNEL_sparse_store(isa, symbol, mr, nr)
static const gemm_variant variants[] = {
#include "dispatch/variants.def"
};
#undef TCONV_UKERNEL

#define KC 256 /* the driver's k block: k runs past it below */
#define SENTINEL 1234.5f

static uint64_t rng_state = 88172645463325252ull;
static float uniform(void) { /* xorshift64, in [-1, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 4503599627370496.0 - 1.0);
}

static int failures, checks;

/* Bound for one k-term dot product plus an old C value: any summation order errs by at most
 * gamma_{k+1} times the absolute sum (same derivation as tests/testutil.h). */
static double bound(double abs_sum, size_t k) {
    return 3.0 * (double)(k + 1) * ldexp(1.0, -24) * abs_sum + 1e-30;
}

static void report(const gemm_variant *v, const char *what, size_t m, size_t n, size_t k, int acc,
                   size_t i, size_t j, double expected, double actual, double tol) {
    if (failures++ < 20)
        fprintf(stderr,
                "FAIL %s (%s): %s m=%zu n=%zu k=%zu accumulate=%d at [%zu][%zu]: expected %.9g, "
                "actual %.9g (bound %.3g)\n",
                v->name, v->isa, what, m, n, k, acc, i, j, expected, actual, tol);
}

/* A[m][k] packed as MR-row panels [k][MR] (zero rows past m), B[k][n] as NR-column panels
 * [k][NR]: the layouts of kernels/algos/gemm.c for a k block starting at row pc. Exact-size heap
 * buffers, so a kernel reading past a panel trips AddressSanitizer. */
static float *pack_a(const float *a, size_t m, size_t k, size_t pc, size_t kc, size_t mr) {
    size_t panels = (m + mr - 1) / mr;
    float *p = calloc(panels * kc * mr + 1, sizeof *p); /* +1: no zero-size allocation */
    for (size_t i = 0; i < m; i++)
        for (size_t kk = 0; kk < kc; kk++)
            p[(i / mr) * kc * mr + kk * mr + i % mr] = a[i * k + pc + kk];
    return p;
}

static float *pack_b(const float *b, size_t n, size_t pc, size_t kc, size_t nr) {
    size_t panels = (n + nr - 1) / nr;
    float *p = calloc(panels * kc * nr + 1, sizeof *p);
    for (size_t kk = 0; kk < kc; kk++)
        for (size_t j = 0; j < n; j++)
            p[(j / nr) * kc * nr + kk * nr + j % nr] = b[(pc + kk) * n + j];
    return p;
}

/* C (m x n, leading dimension ldc = n + 3) starts as c0 inside and SENTINEL in the 3 extra columns
 * and in one extra row; after the kernel calls, inside must match the double loop and the
 * sentinels must be intact. */
static void compare(const gemm_variant *v, const char *what, size_t m, size_t n, size_t k, int acc,
                    const float *a, const float *b, const float *c0, const float *c, size_t ldc) {
    for (size_t i = 0; i <= m; i++)
        for (size_t j = 0; j < ldc; j++) {
            checks++;
            double actual = c[i * ldc + j];
            if (i == m || j >= n) {
                if (c[i * ldc + j] != SENTINEL)
                    report(v, "write outside C's tile", m, n, k, acc, i, j, SENTINEL, actual, 0);
                continue;
            }
            double sum = acc ? c0[i * ldc + j] : 0.0, abs_sum = fabs(sum);
            for (size_t p = 0; p < k; p++) {
                sum += (double)a[i * k + p] * b[p * n + j];
                abs_sum += fabs((double)a[i * k + p] * b[p * n + j]);
            }
            double tol = bound(abs_sum, k);
            if (!(fabs(actual - sum) <= tol)) report(v, what, m, n, k, acc, i, j, sum, actual, tol);
        }
}

/* Random A (m x k), B (k x n), C with sentinels; returns C's leading dimension. */
static size_t fill(size_t m, size_t n, size_t k, float **a, float **b, float **c0, float **c) {
    size_t ldc = n + 3;
    *a = malloc((m * k + 1) * sizeof **a), *b = malloc((k * n + 1) * sizeof **b);
    *c0 = malloc((m + 1) * ldc * sizeof **c0), *c = malloc((m + 1) * ldc * sizeof **c);
    for (size_t i = 0; i < m * k; i++) (*a)[i] = uniform();
    for (size_t i = 0; i < k * n; i++) (*b)[i] = uniform();
    for (size_t i = 0; i <= m; i++)
        for (size_t j = 0; j < ldc; j++) (*c0)[i * ldc + j] = i < m && j < n ? uniform() : SENTINEL;
    memcpy(*c, *c0, (m + 1) * ldc * sizeof **c);
    return ldc;
}

/* One call on one (possibly partial) tile: mr <= MR rows, nr <= NR columns, any k. */
static void check_tile(const gemm_variant *v, size_t m, size_t n, size_t k, int acc) {
    float *a, *b, *c0, *c;
    size_t ldc = fill(m, n, k, &a, &b, &c0, &c);
    float *ap = pack_a(a, m, k, 0, k, v->mr), *bp = pack_b(b, n, 0, k, v->nr);
    v->fn(m, n, k, ap, bp, v->nr, c, ldc, acc);
    compare(v, "single tile", m, n, k, acc, a, b, c0, c, ldc);
    free(a), free(b), free(c0), free(c), free(ap), free(bp);
}

/* A whole m x n x k product the way the driver calls the kernel: k in KC blocks (accumulating
 * after the first), every MR x NR tile including the partial ones at the right and bottom. */
static void check_blocked(const gemm_variant *v, size_t m, size_t n, size_t k, int acc) {
    float *a, *b, *c0, *c;
    size_t ldc = fill(m, n, k, &a, &b, &c0, &c);
    for (size_t pc = 0; pc < k || pc == 0; pc += KC) {
        size_t kc = k - pc < KC ? k - pc : KC;
        float *ap = pack_a(a, m, k, pc, kc, v->mr), *bp = pack_b(b, n, pc, kc, v->nr);
        for (size_t jr = 0; jr < n; jr += v->nr)
            for (size_t ir = 0; ir < m; ir += v->mr) {
                size_t rows = m - ir < v->mr ? m - ir : v->mr,
                       cols = n - jr < v->nr ? n - jr : v->nr;
                v->fn(rows, cols, kc, ap + ir * kc, bp + (jr / v->nr) * kc * v->nr, v->nr,
                      c + ir * ldc + jr, ldc, acc || pc > 0);
            }
        free(ap), free(bp);
        if (k == 0) break;
    }
    compare(v, "blocked gemm", m, n, k, acc, a, b, c0, c, ldc);
    free(a), free(b), free(c0), free(c);
}

/* A full tile (nr == NR) read in place: B is a window of NR columns of a wider row-major matrix
 * (ldb > NR, as kernels/algos/gemm.c's sliver path passes x), whose other columns hold NaN, so
 * a kernel that reads outside the window, or steps by NR instead of ldb, poisons C. */
static void check_in_place(const gemm_variant *v, size_t m, size_t k, int acc) {
    size_t n = v->nr, ldb = 3 * v->nr + 5, off = v->nr + 1;
    float *a, *b, *c0, *c;
    size_t ldc = fill(m, n, k, &a, &b, &c0, &c);
    float *wide = malloc((k * ldb + 1) * sizeof *wide);
    for (size_t p = 0; p < k; p++)
        for (size_t j = 0; j < ldb; j++)
            wide[p * ldb + j] = j >= off && j < off + n ? b[p * n + j - off] : NAN;
    float *ap = pack_a(a, m, k, 0, k, v->mr);
    v->fn(m, n, k, ap, wide + off, ldb, c, ldc, acc);
    compare(v, "B read in place (ldb > NR)", m, n, k, acc, a, b, c0, c, ldc);
    free(a), free(b), free(c0), free(c), free(ap), free(wide);
}

static void check_variant(const gemm_variant *v) {
    static const size_t ks[] = {0, 1, 2, 3, 4, 5, 7, 8, 16, 31, 255, 256, 257, 300};
    int before = failures;
    for (size_t mr = 1; mr <= v->mr; mr++)
        for (size_t nr = 1; nr <= v->nr; nr++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
                for (int acc = 0; acc <= 1; acc++) check_tile(v, mr, nr, ks[ki], acc);
    const size_t ms[] = {1, v->mr - 1 ? v->mr - 1 : 1, v->mr, v->mr + 1, 2 * v->mr + 3};
    const size_t ns[] = {1, v->nr - 1 ? v->nr - 1 : 1, v->nr, v->nr + 1, 2 * v->nr + 5};
    const size_t bks[] = {1, 5, KC - 1, KC, KC + 1, 2 * KC + 88};
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 5; j++)
            for (size_t l = 0; l < sizeof bks / sizeof bks[0]; l++)
                for (int acc = 0; acc <= 1; acc++) check_blocked(v, ms[i], ns[j], bks[l], acc);
    static const size_t in_place_ks[] = {1, 7, 64, 300};
    for (size_t mr = 1; mr <= v->mr; mr++)
        for (size_t ki = 0; ki < sizeof in_place_ks / sizeof in_place_ks[0]; ki++)
            for (int acc = 0; acc <= 1; acc++) check_in_place(v, mr, in_place_ks[ki], acc);
    printf("  %-44s %-7s %2zux%-2zu %s\n", v->name, v->isa, v->mr, v->nr,
           failures == before ? "ok" : "FAILED");
}

int main(void) {
    int tested = 0, skipped = 0;
    printf("gemm_ukernel_check: edge tiles (mr<=MR, nr<=NR, k 0..300, accumulate 0/1) and blocked "
           "GEMMs (m, n past MR/NR, k past KC=%d)\n",
           KC);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const gemm_variant *v = &variants[i];
        if (!tconv_isa_supported(v->isa)) {
            printf("  %-44s %-7s skipped: this CPU lacks %s\n", v->name, v->isa, v->isa);
            skipped++;
            continue;
        }
        check_variant(v);
        tested++;
    }
    printf("%d variants tested, %d skipped, %d values checked\n", tested, skipped, checks);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures != 0 || tested == 0;
}

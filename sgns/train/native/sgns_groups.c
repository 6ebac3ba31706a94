/* The native engine's negative mode "group" (sgns_kernel.c has the pair-by-pair loop, and
 * the table layout, the negatives' draws and the learning rates both share).
 *
 * sgns_groups trains the pairs in groups (negative mode "group"; Ji et al. 2016,
 * "Parallelizing Word2Vec in Shared and Distributed Memory", HogBatch): a group is a run of
 * consecutive pairs with one center c, at most `group` long, as the trainer's grouped reading
 * order lays them out (sgns.train.shards). Its m contexts o_1..o_m train their input rows v_o
 * against the center's output row u_c and K negatives n_1..n_K drawn once for the group, as
 * word2vec.c's skip-gram trains the context's input row against the center's output row. With
 * the output rows u_t held at the group's starting values, for each context in turn:
 *
 *     g_j = label_j - sigmoid(u_tj . v_o)   for t_j in (c, n_1, ..., n_K),
 *     d_j += g_j v_o;   v_o += lr_v * sum_j g_j u_tj
 *
 * and at the group's end u_tj += lr_u * d_j. A group touches m + K + 1 rows where pair by pair
 * touches m (K + 2), and its dot products and updates go four output rows at a time (dot4,
 * outer4, gather4), so it is bound by arithmetic rather than by memory. Each pair still has its
 * positive and K negatives (shared with its group), and the same loss.
 *
 * sgns_group_order lays a row group out in such groups, for the trainer's reader.
 */
#include "sgns_common.h"

/* The end of the group that starts at pair lo: the run of pairs with lo's center, at most
 * `group` long, within lo .. end - 1. */
static inline int64_t group_end(const int32_t *centers, int64_t lo, int64_t end, int64_t group)
{
    int64_t hi = lo + 1;
    while (hi < end && hi - lo < group && centers[hi] == centers[lo])
        hi++;
    return hi;
}

/* The rows the group lo .. hi - 1 trains: its center then its k negatives into t (keyed by the
 * group's first pair, so they do not depend on how the batch is sliced); and a prefetch of them
 * and of its contexts' rows into the cache. */
static inline void fetch_group(const float *w, int64_t vocab, int64_t dim, const int32_t *centers,
                               const int32_t *contexts, int64_t lo, int64_t hi, int64_t k,
                               const float *prob, const int64_t *alias, uint64_t seed, int64_t *t)
{
    t[0] = centers[lo];
    for (int64_t j = 1; j <= k; j++)
        t[j] = draw(prob, alias, vocab, seed, lo, k, j - 1);
    for (int64_t x = 0; x < dim + 15; x += 16) { /* each 64-byte line, the row's last too */
        const int64_t at = x < dim ? x : dim - 1;
        for (int64_t j = 0; j <= k; j++)
            __builtin_prefetch(w + (vocab + t[j]) * dim + at, 1, 3);
        for (int64_t i = lo; i < hi; i++)
            __builtin_prefetch(w + contexts[i] * dim + at, 1, 3);
    }
}

/* Four dot products with one row at once: out[j] = u_j . v. Four accumulators in flight, and
 * v read once, where four calls of dot() would chain each sum and read v four times. */
static inline void dot4(const float *restrict v, const float *restrict u0,
                        const float *restrict u1, const float *restrict u2,
                        const float *restrict u3, int64_t n, float *out)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
    for (int64_t i = 0; i < n; i++) {
        const float x = v[i];
        a0 += u0[i] * x;
        a1 += u1[i] * x;
        a2 += u2[i] * x;
        a3 += u3[i] * x;
    }
    out[0] = a0, out[1] = a1, out[2] = a2, out[3] = a3;
}

/* d_j += g_j * v for four rows d_j (v read once). */
static inline void outer4(float *restrict d0, float *restrict d1, float *restrict d2,
                          float *restrict d3, const float *g, const float *restrict v,
                          int64_t n)
{
    const float g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float x = v[i];
        d0[i] += g0 * x;
        d1[i] += g1 * x;
        d2[i] += g2 * x;
        d3[i] += g3 * x;
    }
}

/* v += sum_j c_j u_j over four rows u_j (v written once). */
static inline void gather4(float *restrict v, const float *restrict u0, const float *restrict u1,
                           const float *restrict u2, const float *restrict u3, const float *c,
                           int64_t n)
{
    const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        v[i] += c0 * u0[i] + c1 * u1[i] + c2 * u2[i] + c3 * u3[i];
}

/* The groups of pairs first .. first + n - 1 of a batch (sgns_groups). Scratch from the
 * caller: g ((k + 4) floats), du ((k + 4) * dim) and zero ((dim) zeros): the group's targets
 * are taken four at a time, the last four padded with a row of zeros (and a zero gradient),
 * so every step is one of dot4, outer4 and gather4. Returns the groups' summed loss. */
static double groups(float *w, int64_t vocab, int64_t dim, const int32_t *centers,
                     const int32_t *contexts, int64_t first, int64_t n, int64_t k,
                     int64_t group, const float *prob, const int64_t *alias, uint64_t seed,
                     float lr, int64_t old_words, float old_ratio, float *g, float *du,
                     const float *zero)
{
    int64_t targets[2][SGNS_MAX_NEGATIVES + 1]; /* this group's and the next group's rows */
    const float *u[SGNS_MAX_NEGATIVES + 4];     /* the targets' output rows, then padding */
    float f[SGNS_MAX_NEGATIVES + 4], c[SGNS_MAX_NEGATIVES + 4];
    double loss = 0.0;
    const float lr_old = lr * old_ratio;
    const int64_t end = first + n, padded = (k + 4) / 4 * 4; /* k + 1 targets, to fours */
    int64_t hi = n > 0 ? group_end(centers, first, end, group) : first, which = 0;
    if (n > 0)
        fetch_group(w, vocab, dim, centers, contexts, first, hi, k, prob, alias, seed,
                    targets[0]);
    for (int64_t j = k + 1; j < padded; j++)
        u[j] = zero;
    for (int64_t lo = first; lo < end; which ^= 1) {
        const int64_t *t = targets[which];
        const int64_t cw = t[0], next = hi < end ? group_end(centers, hi, end, group) : hi;
        if (hi < end) /* the next group's rows start coming while this one trains */
            fetch_group(w, vocab, dim, centers, contexts, hi, next, k, prob, alias, seed,
                        targets[which ^ 1]);
        for (int64_t j = 0; j <= k; j++)
            u[j] = w + (vocab + t[j]) * dim;
        memset(du, 0, sizeof(float) * (size_t)(padded * dim));
        for (int64_t i = lo; i < hi; i++) {
            float *v = w + contexts[i] * dim;
            const float lr_v = contexts[i] < old_words ? lr_old : lr;
            double odds = 1.0;
            for (int64_t j = 0; j < padded; j += 4)
                dot4(v, u[j], u[j + 1], u[j + 2], u[j + 3], dim, f + j);
            for (int64_t j = 0; j < padded; j++) {
                if (j > k || (j > 0 && t[j] == cw)) {
                    g[j] = c[j] = 0.0f; /* padding, or a negative equal to the positive */
                    continue;
                }
                /* one exp serves both, as in pairs() */
                const float a = expf(-fabsf(f[j]));
                g[j] = (j == 0 ? 1.0f : 0.0f) - (f[j] >= 0.0f ? 1.0f : a) / (1.0f + a);
                c[j] = g[j] * lr_v;
                loss += fmaxf(j == 0 ? -f[j] : f[j], 0.0f);
                odds *= 1.0 + a;
            }
            loss += log(odds);
            for (int64_t j = 0; j < padded; j += 4) /* the output rows' steps, at v's old value */
                outer4(du + j * dim, du + (j + 1) * dim, du + (j + 2) * dim, du + (j + 3) * dim,
                       g + j, v, dim);
            for (int64_t j = 0; j < padded; j += 4) /* v, at the output rows' old values */
                gather4(v, u[j], u[j + 1], u[j + 2], u[j + 3], c + j, dim);
        }
        for (int64_t j = 0; j <= k; j++)
            axpy(w + (vocab + t[j]) * dim, t[j] < old_words ? lr_old : lr, du + j * dim, dim);
        lo = hi;
        hi = next;
    }
    return loss;
}

/* As sgns_batch, in groups of at most `group` pairs (the header's sgns_groups). Returns 0, 1
 * (training nothing) when dim, k or group is beyond the limits, 2 when its scratch cannot be
 * allocated. */
int sgns_groups(float *w, int64_t vocab, int64_t dim, const int32_t *centers,
                const int32_t *contexts, int64_t n, int64_t *next, int64_t chunk, int64_t k,
                int64_t group, const float *prob, const int64_t *alias, uint64_t seed, float lr,
                int64_t old_words, float old_ratio, double *loss)
{
    *loss = 0.0;
    if (dim > SGNS_MAX_DIM || k > SGNS_MAX_NEGATIVES || group < 1 || group > SGNS_MAX_GROUP)
        return 1;
    const int64_t padded = (k + 4) / 4 * 4;
    float *g = calloc((size_t)(padded + padded * dim + dim), sizeof(float));
    if (g == NULL)
        return 2;
    for (;;) {
        const int64_t lo = __atomic_fetch_add(next, chunk, __ATOMIC_RELAXED);
        if (lo >= n)
            break;
        const int64_t hi = lo + chunk < n ? lo + chunk : n;
        *loss += groups(w, vocab, dim, centers, contexts, lo, hi - lo, k, group, prob, alias,
                        seed, lr, old_words, old_ratio, g, g + padded, g + padded + padded * dim);
    }
    free(g);
    return 0;
}

/* A uniform integer in [0, bound) from draw `i` of stream `seed` (multiply-shift). */
static inline int64_t below(uint64_t seed, uint64_t i, int64_t bound)
{
    return (int64_t)(((splitmix64(seed + i) >> 32) * (uint64_t)bound) >> 32);
}

/* The grouped reading order (negative mode "group") of a row group of n pairs whose centers
 * are sorted, so that each center's pairs are one run: each run's pairs in a random order, cut
 * into groups of at most `group`, the groups in a random order, all drawn from `seed`. Writes
 * the order (n pair indices) into out; `work` is scratch for 3n + 1 int64. Returns 1, writing
 * nothing, when the centers are not sorted (the caller sorts them first), else 0. O(n),
 * where sorting would be O(n log n): the trainer's loader runs it on every row group it reads. */
int sgns_group_order(const int32_t *centers, int64_t n, int64_t group, uint64_t seed,
                     int64_t *out, int64_t *work)
{
    int64_t *pairs = work, *starts = work + n, *shuffled = work + 2 * n + 1, groups = 0;
    uint64_t draws = 0;
    for (int64_t i = 1; i < n; i++)
        if (centers[i] < centers[i - 1])
            return 1;
    for (int64_t lo = 0; lo < n;) { /* each run: shuffled (Fisher-Yates), cut into groups */
        int64_t hi = lo + 1;
        while (hi < n && centers[hi] == centers[lo])
            hi++;
        for (int64_t i = lo; i < hi; i++)
            pairs[i] = i;
        for (int64_t i = hi - lo - 1; i > 0; i--) {
            const int64_t j = below(seed, draws++, i + 1), swap = pairs[lo + i];
            pairs[lo + i] = pairs[lo + j];
            pairs[lo + j] = swap;
        }
        for (int64_t at = lo; at < hi; at += group)
            starts[groups++] = at;
        lo = hi;
    }
    starts[groups] = n;
    for (int64_t g = 0; g < groups; g++) /* the groups in a random order */
        shuffled[g] = g;
    for (int64_t g = groups - 1; g > 0; g--) {
        const int64_t j = below(seed, draws++, g + 1), swap = shuffled[g];
        shuffled[g] = shuffled[j];
        shuffled[j] = swap;
    }
    for (int64_t g = 0, at = 0; g < groups; g++) {
        const int64_t lo = starts[shuffled[g]], hi = starts[shuffled[g] + 1];
        for (int64_t i = lo; i < hi; i++)
            out[at++] = pairs[i];
    }
    return 0;
}

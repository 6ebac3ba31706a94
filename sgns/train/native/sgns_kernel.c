/* The SGNS update of word2vec.c, applied pair by pair in place: the CPU engine's inner loop.
 *
 * Built and loaded at run time by sgns/train/native/build.py (cc -O3 -march=native, cached
 * per source and CPU, with the size limits SGNS_MAX_DIM and SGNS_MAX_NEGATIVES defined there);
 * called through sgns/train/native/kernel.py with ctypes, which releases the GIL, so several
 * Python threads run chunks of one batch at once on the same table (Hogwild, as word2vec.c and
 * gensim).
 *
 * Table layout as sgns/train/table.py: w is (2V, D) float32, rows 0..V-1 the input vectors v
 * (centers), rows V..2V-1 the output vectors u (contexts and negatives). For each pair (c, o)
 * with its own negatives n_1..n_K:
 *
 *     for t in (o, n_1, ..., n_K), skipping a negative equal to o:
 *         f = u_t . v_c;  g = label_t - sigmoid(f)          (label 1 for o, 0 for negatives)
 *         e += g * lr_v * u_t;   u_t += g * lr_u * v_c       (u_t updated at once, as word2vec.c)
 *     v_c += e
 *
 * The negatives are drawn here, from Walker alias tables of count^0.75 (prob, alias: see
 * sgns/train/sampler.py), O(1) each, by a counter-based generator: draw j of pair i of the batch
 * comes from splitmix64(seed + i * k + j), where seed is the batch's key (sgns.train.sampler:
 * batch_key of the rank's negative stream and the step). The draws so depend on the batch and
 * the pair, not on how the batch is sliced across threads, and a resumed run draws them again
 * from the step alone (a checkpoint holds no generator state).
 *
 * lr_v and lr_u are lr, or lr * old_ratio for rows of words with id < old_words (online
 * training: old words move at the increment's lower rate). The loss -log sigmoid(f) for the
 * positive and -log sigmoid(-f) for each negative is summed in double into *loss.
 *
 * The groups of negative mode "group" are in sgns_groups.c; what both share, in sgns_common.h.
 */
#include "sgns_common.h"

/* The negatives that sgns_batch draws for pairs first .. first + n - 1 of a batch, (n, k). */
void sgns_draw(const float *prob, const int64_t *alias, int64_t size, uint64_t seed,
               int64_t first, int64_t n, int64_t k, int64_t *out)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++)
            out[i * k + j] = draw(prob, alias, size, seed, first + i, k, j);
}

/* The rows pair i trains: its context then its k negatives into t; and a prefetch of them and
 * of its center's row into the cache. */
static inline void fetch(const float *w, int64_t vocab, int64_t dim, const int32_t *centers,
                         const int32_t *contexts, int64_t i, int64_t k, const float *prob,
                         const int64_t *alias, uint64_t seed, int64_t *t)
{
    t[0] = contexts[i];
    for (int64_t j = 1; j <= k; j++)
        t[j] = draw(prob, alias, vocab, seed, i, k, j - 1);
    for (int64_t x = 0; x < dim + 15; x += 16) { /* each 64-byte line, the row's last too */
        const int64_t at = x < dim ? x : dim - 1;
        __builtin_prefetch(w + centers[i] * dim + at, 1, 3);
        for (int64_t j = 0; j <= k; j++)
            __builtin_prefetch(w + (vocab + t[j]) * dim + at, 1, 3);
    }
}

/* Pairs first .. first + n - 1 of a batch (centers, contexts point at the batch's start), with
 * dim <= SGNS_MAX_DIM and k <= SGNS_MAX_NEGATIVES (checked by sgns_batch). Returns their summed
 * loss. */
static double pairs(float *w, int64_t vocab, int64_t dim, const int32_t *centers,
                  const int32_t *contexts, int64_t first, int64_t n, int64_t k, const float *prob,
                  const int64_t *alias, uint64_t seed, float lr, int64_t old_words,
                  float old_ratio)
{
    float e[SGNS_MAX_DIM];
    int64_t targets[2][SGNS_MAX_NEGATIVES + 1]; /* this pair's and the next pair's rows */
    double loss = 0.0;
    const float lr_old = lr * old_ratio;
    if (n > 0)
        fetch(w, vocab, dim, centers, contexts, first, k, prob, alias, seed, targets[first & 1]);
    for (int64_t i = first; i < first + n; i++) {
        const int64_t c = centers[i], o = contexts[i];
        const int64_t *t = targets[i & 1];
        float *v = w + c * dim;
        const float lr_v = c < old_words ? lr_old : lr;
        double odds = 1.0; /* prod (1 + a) over the targets: one log per pair for the loss */
        if (i + 1 < first + n) /* the next pair's rows start coming while this one trains */
            fetch(w, vocab, dim, centers, contexts, i + 1, k, prob, alias, seed,
                  targets[(i + 1) & 1]);
        memset(e, 0, sizeof(float) * (size_t)dim);
        for (int64_t j = 0; j <= k; j++) {
            if (j > 0 && t[j] == o)
                continue; /* a negative equal to the positive: no loss, no gradient */
            float *u = w + (vocab + t[j]) * dim;
            const float f = dot(u, v, dim);
            /* one exp serves both: a = exp(-|f|), sigmoid(f) = 1/(1+a) or a/(1+a), and the loss
             * softplus(x) = max(x, 0) + log(1 + a) with x = -f (positive) or f (negative) */
            const float a = expf(-fabsf(f));
            const float s = (f >= 0.0f ? 1.0f : a) / (1.0f + a);
            const float g = (j == 0 ? 1.0f : 0.0f) - s;
            loss += fmaxf(j == 0 ? -f : f, 0.0f);
            odds *= 1.0 + a;
            axpy(e, g * lr_v, u, dim);
            axpy(u, g * (t[j] < old_words ? lr_old : lr), v, dim);
        }
        loss += log(odds);
        axpy(v, 1.0f, e, dim);
    }
    return loss;
}

/* The whole batch of n pairs, by every thread that calls this with the same `next` (zero at
 * the start): each takes the next `chunk` pairs until none are left, so threads that start late
 * or run slower take fewer. Writes the loss of the pairs this caller trained to *loss and
 * returns 0; returns 1 (training nothing) when dim or k is beyond the limits. */
int sgns_batch(float *w, int64_t vocab, int64_t dim, const int32_t *centers,
               const int32_t *contexts, int64_t n, int64_t *next, int64_t chunk, int64_t k,
               const float *prob, const int64_t *alias, uint64_t seed, float lr,
               int64_t old_words, float old_ratio, double *loss)
{
    *loss = 0.0;
    if (dim > SGNS_MAX_DIM || k > SGNS_MAX_NEGATIVES)
        return 1;
    for (;;) {
        const int64_t lo = __atomic_fetch_add(next, chunk, __ATOMIC_RELAXED);
        if (lo >= n)
            return 0;
        const int64_t hi = lo + chunk < n ? lo + chunk : n;
        *loss += pairs(w, vocab, dim, centers, contexts, lo, hi - lo, k, prob, alias, seed, lr,
                       old_words, old_ratio);
    }
}

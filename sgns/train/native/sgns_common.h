/* What sgns_kernel.c and sgns_groups.c share: the size limits (from build.py), the row
 * arithmetic and the counter-based draws of the negatives. */
#ifndef SGNS_COMMON_H
#define SGNS_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(SGNS_MAX_DIM) || !defined(SGNS_MAX_NEGATIVES) || !defined(SGNS_MAX_GROUP)
#error "build with -DSGNS_MAX_DIM=... -DSGNS_MAX_NEGATIVES=... -DSGNS_MAX_GROUP=... (build.py)"
#endif

static inline float dot(const float *restrict a, const float *restrict b, int64_t n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static inline void axpy(float *restrict y, float a, const float *restrict x, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Negative j of pair i (0-based in the whole batch): a column uniform in [0, size) from the
 * high 32 bits (multiply-shift), a coin in [0, 1) from 24 low bits. */
static inline int64_t draw(const float *prob, const int64_t *alias, int64_t size, uint64_t seed,
                           int64_t i, int64_t k, int64_t j)
{
    const uint64_t z = splitmix64(seed + (uint64_t)(i * k + j));
    const int64_t column = (int64_t)(((z >> 32) * (uint64_t)size) >> 32);
    const float coin = (float)(z & 0xFFFFFFu) * (1.0f / 16777216.0f);
    return coin < prob[column] ? column : alias[column];
}

#endif

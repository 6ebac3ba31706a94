"""The alias sampler draws from count ** ns_exponent."""

import numpy as np
import pytest
import torch

from sgns.train.sampler import AliasSampler, alias_tables, batch_key, splitmix64
from sgns.train.seeds import stream_seed


def test_alias_tables_encode_the_distribution_exactly():
    weights = np.array([10.0, 1.0, 0.0, 5.0, 3.5, 0.5])
    prob, alias = alias_tables(weights)
    n = len(weights)
    implied = np.zeros(n)
    for i in range(n):
        implied[i] += prob[i] / n
        implied[alias[i]] += (1 - prob[i]) / n
    np.testing.assert_allclose(implied, weights / weights.sum(), atol=1e-12)


def test_sampled_frequencies_match_count_to_the_three_quarters():
    counts = np.array([5000, 1200, 700, 300, 90, 40, 10, 3, 1, 1])
    sampler = AliasSampler(counts, 0.75)
    draws = 400_000
    ids = sampler.sample((draws,), batch_key(3, 0))
    observed = np.bincount(ids.numpy(), minlength=len(counts))
    expected = counts**0.75 / (counts**0.75).sum() * draws
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 9 degrees of freedom: p(chi2 > 30) is about 4e-4
    # the exponent matters: plain unigram frequencies are far off
    unigram = counts / counts.sum() * draws
    assert ((observed - unigram) ** 2 / unigram).sum() > 1000


def test_same_key_gives_same_negatives_and_shape_as_int_or_tensor():
    sampler = AliasSampler([3, 2, 1], 0.75)
    a = sampler.sample((4, 5), 7)
    b = sampler.sample((4, 5), torch.tensor(7))
    assert a.shape == (4, 5) and a.dtype == torch.int64
    assert torch.equal(a, b)
    assert not torch.equal(a, sampler.sample((4, 5), 8))


def test_splitmix64_is_the_uint64_function_with_wrapping():
    mask = (1 << 64) - 1

    def reference(x):
        x = (x + 0x9E3779B97F4A7C15) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    values = [0, 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 12345678901234567]
    signed = torch.tensor([v - (1 << 64) if v >= 1 << 63 else v for v in values])
    assert [int(z) & mask for z in splitmix64(signed)] == [reference(v) for v in values]


def test_each_rank_and_step_draws_its_own_negatives():
    sampler = AliasSampler(np.arange(1, 1001), 0.75)
    seeds = [stream_seed(1, "negatives", rank) for rank in (0, 1)]
    draws = [sampler.sample((1000,), batch_key(s, 5)) for s in seeds]
    assert (draws[0] != draws[1]).float().mean() > 0.9
    later = sampler.sample((1000,), batch_key(seeds[0], 6))
    assert (draws[0] != later).float().mean() > 0.9
    assert batch_key(seeds[0], torch.tensor(5)) == batch_key(seeds[0], 5) - (1 << 64) * (
        batch_key(seeds[0], 5) >= 1 << 63
    )


def test_alias_tables_reject_bad_weights():
    with pytest.raises(ValueError):
        alias_tables(np.array([0.0, 0.0]))

"""The alias sampler draws from count ** ns_exponent."""

import numpy as np
import pytest
import torch

from sgns.train.sampler import AliasSampler, alias_tables


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
    ids = sampler.sample((draws,), torch.Generator().manual_seed(3))
    observed = np.bincount(ids.numpy(), minlength=len(counts))
    expected = counts**0.75 / (counts**0.75).sum() * draws
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 9 degrees of freedom: p(chi2 > 30) is about 4e-4
    # the exponent matters: plain unigram frequencies are far off
    unigram = counts / counts.sum() * draws
    assert ((observed - unigram) ** 2 / unigram).sum() > 1000


def test_same_generator_seed_gives_same_negatives_and_shape():
    sampler = AliasSampler([3, 2, 1], 0.75)
    a = sampler.sample((4, 5), torch.Generator().manual_seed(7))
    b = sampler.sample((4, 5), torch.Generator().manual_seed(7))
    assert a.shape == (4, 5) and a.dtype == torch.int64
    assert torch.equal(a, b)


def test_alias_tables_reject_bad_weights():
    with pytest.raises(ValueError):
        alias_tables(np.array([0.0, 0.0]))

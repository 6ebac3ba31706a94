"""Negative sampler: draws word ids from count^ns_exponent in O(1) each (Walker's alias method).

The tables are built once on the host in float64 (Vose's construction) and live on the training
device; a draw is one `randint` for a column and one `rand` for the coin, both from the rank's
own `torch.Generator`, so negatives are sampled per batch on the device with no host round trip.
"""

from __future__ import annotations

import numpy as np
import torch


def alias_tables(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias tables for a discrete distribution proportional to `weights` (V,).

    Returns prob (V,) float64 and alias (V,) int64: column i keeps i with probability prob[i] and
    otherwise gives alias[i].
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or len(weights) == 0 or not np.all(weights >= 0) or weights.sum() <= 0:
        raise ValueError("alias tables need a non-empty vector of non-negative weights")
    n = len(weights)
    scaled = weights * (n / weights.sum())
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # Leftovers are 1 up to rounding: they keep themselves.
    return prob, alias


class AliasSampler:
    """Samples negatives on `device` from counts ** exponent."""

    def __init__(self, counts, exponent: float, device: torch.device | str = "cpu"):
        prob, alias = alias_tables(np.asarray(counts, dtype=np.float64) ** exponent)
        self.prob = torch.as_tensor(prob, dtype=torch.float32, device=device)  # (V,)
        self.alias = torch.as_tensor(alias, dtype=torch.int64, device=device)  # (V,)

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Word ids of the given shape (int64, on the sampler's device)."""
        column = torch.randint(len(self.prob), shape, generator=generator, device=self.prob.device)
        coin = torch.rand(shape, generator=generator, device=self.prob.device)
        return torch.where(coin < self.prob[column], column, self.alias[column])

"""Negative sampler: draws word ids from count^ns_exponent in O(1) each (Walker's alias method).

The tables are built once on the host in float64 (Vose's construction) and live on the training
device; draws are counter-based (splitmix64 of a key plus the draw's index, the native kernel's
generator), so negatives are sampled on the device with no host round trip and no generator.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sgns.errors import UsageError


def alias_tables(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias tables for a discrete distribution proportional to `weights` (V,).

    Returns prob (V,) float64 and alias (V,) int64: column i keeps i with probability prob[i] and
    otherwise gives alias[i].
    """
    weights = np.asarray(weights, dtype=np.float64)
    if (weights.ndim != 1 or len(weights) == 0 or not np.all(weights >= 0)
            or not 0 < weights.sum() < np.inf):  # fmt: skip
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


# splitmix64's constants as signed int64 (torch has no uint64 arithmetic; int64 wraps alike)
_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_MIX1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_MIX2 = 0x94D049BB133111EB - (1 << 64)
DRAWS_PER_KEY = 1 << 32  # draws one counter value may use: key(counter) = seed + counter << 32


def _shift_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 as uint64 (torch's >> is arithmetic)."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def splitmix64(x: torch.Tensor) -> torch.Tensor:
    """splitmix64 of each int64 (as uint64, wrapping), as the C kernel computes it."""
    x = x + _GOLDEN
    x = (x ^ _shift_right(x, 30)) * _MIX1
    x = (x ^ _shift_right(x, 27)) * _MIX2
    return x ^ _shift_right(x, 31)


def batch_key(seed: int, counter):
    """The first draw index of batch (or micro-step) `counter` of the stream `seed` (a rank's
    negatives): draws of different counters never overlap. Python int or int64 tensor."""
    if isinstance(counter, torch.Tensor):
        return counter * DRAWS_PER_KEY + seed
    return (seed + counter * DRAWS_PER_KEY) % (1 << 64)


class AliasSampler:
    """Samples negatives on `device` from counts ** exponent.

    Draws are counter-based, as sgns_kernel.c draws them: draw i of key s is
    z = splitmix64(s + i), its column the high 32 bits of z times V over 2**32, its coin the
    low 24 bits over 2**24. So a draw is a pure function of (key, index), held in no generator
    state: the same on CPU and CUDA, inside a compiled or captured step, and after a resume."""

    def __init__(self, counts, exponent: float, device: torch.device | str = "cpu"):
        with np.errstate(over="ignore", divide="ignore"):
            weights = np.asarray(counts, dtype=np.float64) ** exponent
        total = weights.sum() if np.all(np.isfinite(weights)) else np.inf
        if exponent != 1.0 and not (np.isfinite(total) and total > 0):  # (noise: weights given)
            raise UsageError(
                f"--ns-exponent {exponent}: the counts raised to it overflow or vanish for this "
                "vocabulary; use a value near 0.75 (word2vec's; 0: uniform, 1: by frequency)"
            )
        prob, alias = alias_tables(weights)
        self.prob = torch.as_tensor(prob, dtype=torch.float32, device=device)  # (V,)
        self.alias = torch.as_tensor(alias, dtype=torch.int64, device=device)  # (V,)
        self.positions = {}  # shape -> arange, kept so a steady step allocates no index

    def sample(self, shape: tuple[int, ...], key) -> torch.Tensor:
        """Word ids of the given shape (int64, on the sampler's device): draws key + 0, 1, ...
        in row-major order. `key`: an int (as uint64) or an int64 0-dim tensor on the device."""
        index = self.positions.get(shape)
        if index is None:
            count = math.prod(shape)
            index = torch.arange(count, device=self.prob.device).view(shape)
            self.positions[shape] = index
        if not isinstance(key, torch.Tensor):
            key = key - (1 << 64) if key >= 1 << 63 else key
        z = splitmix64(index + key)
        column = (_shift_right(z, 32) * len(self.prob)) >> 32
        coin = (z & 0xFFFFFF).to(torch.float32) * (1.0 / 16777216.0)
        return torch.where(coin < self.prob[column], column, self.alias[column])

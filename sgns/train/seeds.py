"""Every random stream of a training run, derived from --seed: the one place that says how.

Torch streams are named: `stream_seed(seed, name, *ids)` hashes the seed, the stream's name and
its ids (numpy's SeedSequence), so that no two streams share a seed, whatever the numbers
(rank 3's negatives and the growth at increment 3 are different streams):
    "init"        the initial table (one for all ranks: replicas start identical)
    "negatives"   rank r's negative draws (id: r): the key of the counter-based draws
                  (sgns.train.sampler.batch_key), no generator and no state
    "grow"        the new rows when a stage starts at increment i (id: i; all ranks alike)
    "rows"        the permutation (torch.randperm: Fisher-Yates, about half the time of numpy's
                  permutation here) of a sorted row group as it is read (sgns.train.shards;
                  ids: the stage's first increment, the epoch, the shard's increment, pass and
                  place, the row group): a function of the unit alone, so any worker, rank or
                  resumed run that reads the unit in that epoch reads it in the same order
The stream plan's draws (sgns.train.plan) keep the numpy keys they have always had, because a
checkpoint resumes mid-epoch on the order they give: `units_rng` and `replay_rng`.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def stream_seed(seed: int, name: str, *ids: int) -> int:
    """A 63-bit seed for the stream `name` (ids: e.g. the rank), from the run's seed."""
    entropy = np.random.SeedSequence([seed, zlib.crc32(name.encode()), *ids])
    return int(entropy.generate_state(1, np.uint64)[0] >> np.uint64(1))


def stream_generator(seed: int, name: str, *ids: int) -> torch.Generator:
    """A CPU torch.Generator seeded for the stream `name`."""
    return torch.Generator().manual_seed(stream_seed(seed, name, *ids))


def units_rng(seed: int, epoch: int, stage: int = 0) -> np.random.Generator:
    """The shuffle of an epoch's units (stage: its first increment; 0 for the initial stage)."""
    return np.random.default_rng([seed, epoch, stage] if stage else [seed, epoch])


def replay_rng(seed: int, stage: int, epoch: int) -> np.random.Generator:
    """The sample of old units replayed in an epoch of a later stage."""
    return np.random.default_rng([seed, stage, epoch, 1])

"""Batches of one rank's units, as a torch IterableDataset for the DataLoader.

A rank's units (sgns.train.plan), concatenated, are cut into batches of `batch_size` pairs (the
last one shorter); past the rank's data come empty batches (zero pairs) up to the step count
that every rank runs. DataLoader worker w of W produces batches start + w, start + w + W, ...,
which is the order in which the DataLoader hands them out; the batch sequence therefore does not
depend on the number of workers, and a resumed run starts at any batch index directly.
"""

from __future__ import annotations

import bisect

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from sgns.train.shards import RowGroupReader, Unit


class PairBatches(IterableDataset):
    """Batches (centers (n,), contexts (n,)) int32 of one rank's units, from batch `start` to
    `steps` (exclusive); batches past the rank's data are empty. Use with batch_size=None."""

    def __init__(
        self, units: list[Unit], batch_size: int, steps: int, vocab_size: int, start: int = 0
    ):
        self.units, self.batch_size, self.steps, self.start = units, batch_size, steps, start
        self.vocab_size = vocab_size  # ids are checked against it as row groups are read
        self.offsets = np.cumsum([0] + [u.pairs for u in units]).tolist()  # (U+1,)

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        reader = RowGroupReader(self.vocab_size)
        total = self.offsets[-1]
        for i in range(self.start + worker, self.steps, workers):
            lo, hi = min(i * self.batch_size, total), min((i + 1) * self.batch_size, total)
            yield self._read(reader, lo, hi)

    def _read(self, reader, lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
        parts = []
        while lo < hi:
            u = bisect.bisect_right(self.offsets, lo) - 1
            unit_lo = self.offsets[u]
            end = min(hi, self.offsets[u + 1])
            centers, contexts = reader.read(self.units[u])
            parts.append(
                (centers[lo - unit_lo : end - unit_lo], contexts[lo - unit_lo : end - unit_lo])
            )
            lo = end
        if not parts:
            empty = torch.empty(0, dtype=torch.int32)
            return empty, empty.clone()
        if len(parts) == 1:
            return torch.from_numpy(parts[0][0].copy()), torch.from_numpy(parts[0][1].copy())
        return (
            torch.from_numpy(np.concatenate([p[0] for p in parts])),
            torch.from_numpy(np.concatenate([p[1] for p in parts])),
        )

"""Streaming the pairs of a dataset directory: units, their split across ranks, batches.

A unit is one (shard file, row group). Each epoch the units of its pass (sgns.dataset.pass_shards)
are shuffled with a generator seeded by (seed, epoch), so every rank computes the same order
without talking, and dealt greedily to the rank holding the fewest pairs so far: the ranks' pair
counts then differ by at most one row group. A rank's units, concatenated, are cut into batches of
`batch_size` pairs (the last one shorter). Every rank runs the same number of steps: the largest
rank's batch count; a rank that runs out earlier takes empty batches (zero pairs) for the
remaining steps, so it still joins every collective. Each pair is thus seen exactly once per epoch
across all ranks, with no duplicate and no drop; the price is that a short rank idles for at
most ceil(row_group / batch_size) steps per epoch.

Within a rank, DataLoader worker w of W produces batches start + w, start + w + W, ... , which is
the order in which the DataLoader hands them out; the batch sequence therefore does not depend on
the number of workers, and a resumed run starts at any batch index directly.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from sgns import dataset


@dataclass(frozen=True)
class Unit:
    """One row group of one shard: the unit of streaming and of work split."""

    path: str
    row_group: int
    pairs: int


def scan_shard(path: str, vocab_size: int) -> list[int]:
    """Row-group sizes of one shard, after checking it cheaply from its Parquet footer.

    Raises ValueError naming the file when it is unreadable, has the wrong columns, or its column
    statistics show ids outside [0, vocab_size).
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except FileNotFoundError:
        raise FileNotFoundError(f"shard {path} listed in the manifest does not exist") from None
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise ValueError(f"shard {path} is not a readable Parquet file ({e})") from None
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if sorted(names) != sorted(dataset.PAIR_COLUMNS):
        raise ValueError(f"shard {path} has columns {names}, expected {list(dataset.PAIR_COLUMNS)}")
    sizes = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        sizes.append(group.num_rows)
        for c in range(group.num_columns):
            stats = group.column(c).statistics
            if stats is None or not stats.has_min_max or group.num_rows == 0:
                continue
            if stats.min < 0 or stats.max >= vocab_size:
                raise ValueError(
                    f"shard {path} row group {g} has {names[c]} ids in [{stats.min}, {stats.max}] "
                    f"but the vocabulary has {vocab_size} words: the dataset is inconsistent"
                )
    return sizes


def scan_dataset(directory: str, manifest: dict, vocab_size: int) -> dict[str, list[int]]:
    """Row-group sizes of every shard of every pass, keyed by path (checks each shard)."""
    sizes: dict[str, list[int]] = {}
    passes = max(len(inc["passes"]) for inc in manifest["increments"])
    for epoch in range(passes):
        for shard in dataset.pass_shards(directory, manifest, epoch):
            if shard.path not in sizes:
                sizes[shard.path] = scan_shard(shard.path, vocab_size)
                if sum(sizes[shard.path]) != shard.pairs:
                    raise ValueError(
                        f"shard {shard.path} holds {sum(sizes[shard.path])} pairs but the manifest "
                        f"says {shard.pairs}: the dataset is inconsistent"
                    )
    return sizes


def epoch_units(directory: str, manifest: dict, sizes: dict[str, list[int]], epoch: int):
    """All units of the pass that `epoch` reads, in manifest order."""
    return [
        Unit(shard.path, g, n)
        for shard in dataset.pass_shards(directory, manifest, epoch)
        for g, n in enumerate(sizes[shard.path])
    ]


def assign_units(
    units: list[Unit], world_size: int, seed: int, epoch: int, stage: int = 0
) -> list[list[Unit]]:
    """Shuffle units by (seed, epoch[, stage]) and deal each to the rank with the fewest pairs so
    far. `stage`: the first increment of a later training stage (0: the initial one)."""
    key = [seed, epoch, stage] if stage else [seed, epoch]
    order = np.random.default_rng(key).permutation(len(units))
    ranks: list[list[Unit]] = [[] for _ in range(world_size)]
    loads = [0] * world_size
    for i in order:
        r = loads.index(min(loads))
        ranks[r].append(units[i])
        loads[r] += units[i].pairs
    return ranks


def batch_counts(assignment: list[list[Unit]], batch_size: int) -> list[int]:
    """Batches each rank's units make (before padding to the common step count)."""
    return [-(-sum(u.pairs for u in units) // batch_size) for units in assignment]


def batch_sizes(units: list[Unit], batch_size: int, steps: int) -> list[int]:
    """Pairs in each of the `steps` batches of a rank (0 for padding batches)."""
    total = sum(u.pairs for u in units)
    return [max(0, min(batch_size, total - i * batch_size)) for i in range(steps)]


class PairBatches(IterableDataset):
    """Batches (centers (n,), contexts (n,)) int32 of one rank's units, from batch `start` to
    `steps` (exclusive); batches past the rank's data are empty. Use with batch_size=None."""

    def __init__(self, units: list[Unit], batch_size: int, steps: int, start: int = 0):
        self.units, self.batch_size, self.steps, self.start = units, batch_size, steps, start
        self.offsets = np.cumsum([0] + [u.pairs for u in units]).tolist()  # (U+1,)

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        reader = _RowGroupReader()
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


class _RowGroupReader:
    """Reads whole row groups, keeping the last one (consecutive batches share it)."""

    def __init__(self):
        self.key, self.arrays, self.file, self.file_path = None, None, None, None

    def read(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        import pyarrow.parquet as pq

        key = (unit.path, unit.row_group)
        if key != self.key:
            try:
                if unit.path != self.file_path:
                    self.file, self.file_path = pq.ParquetFile(unit.path), unit.path
                table = self.file.read_row_group(unit.row_group, columns=list(dataset.PAIR_COLUMNS))
                arrays = tuple(
                    table.column(c).to_numpy().astype(np.int32, copy=False)
                    for c in dataset.PAIR_COLUMNS
                )
            except Exception as e:
                raise ValueError(
                    f"shard {unit.path} row group {unit.row_group} cannot be read ({e})"
                ) from None
            if len(arrays[0]) != unit.pairs:
                raise ValueError(f"shard {unit.path} row group {unit.row_group} changed size")
            self.key, self.arrays = key, arrays
        return self.arrays

"""The plan of a run: the dataset's checked metadata and every epoch's split of the stream.

Every rank computes the same plan from the manifest and the shards' Parquet footers, with no
communication: which units each rank reads in each epoch, and how many steps all ranks run.
"""

from __future__ import annotations

import dataclasses
import os

from sgns import data, dataset


def rank_batch_pairs(rank_pairs: list[int], batch_size: int, index: int) -> list[int]:
    """Pairs each rank trains on in batch `index` of an epoch (0 on a padding step)."""
    return [max(0, min(batch_size, n - index * batch_size)) for n in rank_pairs]


@dataclasses.dataclass
class EpochPlan:
    units: list[data.Unit]  # this rank's units, in stream order
    rank_pairs: list[int]  # pairs of every rank this epoch
    steps: int  # steps every rank runs this epoch


def make_plans(config, manifest: dict, sizes: dict, world_size: int, rank: int):
    """The stream split of every epoch (identical on all ranks; no communication)."""
    plans = []
    for epoch in range(config.epochs):
        units = data.epoch_units(config.data, manifest, sizes, epoch)
        split = data.assign_units(units, world_size, config.seed, epoch)
        steps = max(data.batch_counts(split, config.batch_size))
        plans.append(EpochPlan(split[rank], [sum(u.pairs for u in s) for s in split], steps))
    return plans


def load_dataset(directory: str):
    """Manifest, words, counts and row-group sizes, after the cheap consistency checks."""
    manifest = dataset.read_manifest(directory)
    path = os.path.join(directory, dataset.VOCAB_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{directory!r} has no {dataset.VOCAB_FILE}")
    words, counts = dataset.read_vocab(directory)
    size = manifest["vocab"].get("size")
    if size != len(words):
        raise ValueError(f"{path} has {len(words)} words but the manifest says {size}")
    if not words:
        raise ValueError(f"{path} is empty: nothing to train")
    sizes = data.scan_dataset(directory, manifest, len(words))
    return manifest, words, counts, sizes

"""The plan of a run: its training stages, and every epoch's split of the stream across ranks.

Every rank computes the same plan from the manifest and the shards' Parquet footers, with no
communication: which units each rank reads in each epoch, and how many steps all ranks run.

Split: each epoch the units of its pass (sgns.dataset.pass_shards) are shuffled with a generator
seeded by (seed, epoch) (sgns.train.seeds.units_rng), so every rank computes the same order
without talking, and dealt greedily to the rank holding the fewest pairs so far: the ranks' pair
counts then differ by at most one row group. Every rank runs the same number of steps, the
largest rank's batch count; a rank that runs out earlier takes empty batches for the remaining
steps, so that it still joins every collective. Each pair is thus seen exactly once per epoch
across all ranks, with no duplicate and no drop; the price is that a short rank idles for at
most ceil(row_group / batch_size) steps per epoch. A unit of a sorted increment also carries the
ids of its rows' permutation (seed, stage, epoch, the unit: sgns.train.shards.epoch_units), so
a resumed run reads every row group in the order it was first read.

A run trains in stages. A stage covers increments [first, end) of the dataset, as the dataset was
right after increment end - 1 (its vocabulary snapshot), for `epochs` epochs: the first stage
covers every increment present when the run starts; each later stage (online training: --resume
after sgns-preprocess --append, or --follow) covers the increments appended since, plus, with
--replay F, a seeded share F of the units of the increments already trained (against forgetting).
"""

from __future__ import annotations

import dataclasses

from sgns import dataset
from sgns.train import seeds
from sgns.train.shards import Unit, epoch_units, load_dataset
from sgns.train.step import decayed_lr


def rank_batch_pairs(rank_pairs: list[int], batch_size: int, index: int) -> list[int]:
    """Pairs each rank trains on in batch `index` of an epoch (0 on a padding step)."""
    return [max(0, min(batch_size, n - index * batch_size)) for n in rank_pairs]


@dataclasses.dataclass
class EpochPlan:
    units: list[Unit]  # this rank's units, in stream order
    rank_pairs: list[int]  # pairs of every rank this epoch
    steps: int  # steps every rank runs this epoch


def assign_units(
    units: list[Unit], world_size: int, seed: int, epoch: int, stage: int = 0
) -> list[list[Unit]]:
    """Shuffle units by (seed, epoch[, stage]) and deal each to the rank with the fewest pairs so
    far. `stage`: the first increment of a later training stage (0: the initial one)."""
    order = seeds.units_rng(seed, epoch, stage).permutation(len(units))
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


def replay_units(units: list[Unit], share: float, seed: int, stage: int, epoch: int):
    """A seeded sample of round(share * len(units)) old units, in their original order."""
    count = round(share * len(units))
    if not count:
        return []
    pick = seeds.replay_rng(seed, stage, epoch).choice(len(units), count, replace=False)
    return [units[i] for i in sorted(pick.tolist())]


def make_plans(config, manifest: dict, sizes: dict, world_size: int, rank: int, first: int = 0):
    """The stream split of every epoch of the stage that starts at increment `first` (identical
    on all ranks; no communication)."""
    plans = []
    new = {**manifest, "increments": manifest["increments"][first:]}
    old = {**manifest, "increments": manifest["increments"][:first]}
    for epoch in range(config.epochs):
        units = epoch_units(config.data, new, sizes, epoch, config.seed, first)
        if first and config.replay:
            every_old = epoch_units(config.data, old, sizes, epoch, config.seed, first)
            units += replay_units(every_old, config.replay, config.seed, first, epoch)
        split = assign_units(units, world_size, config.seed, epoch, first)
        steps = max(batch_counts(split, config.batch_size))
        plans.append(EpochPlan(split[rank], [sum(u.pairs for u in s) for s in split], steps))
    return plans


def manifest_at(manifest: dict, end: int) -> dict:
    """The dataset as it was right after increment end - 1: its increments and the vocabulary
    snapshot that increment wrote (the manifest itself when end is its last increment)."""
    increments = manifest["increments"]
    if not 1 <= end <= len(increments):
        raise ValueError(f"the dataset has {len(increments)} increments, not {end}")
    if end == len(increments):
        return manifest
    if "snapshot" not in manifest["vocab"]:
        raise ValueError("the dataset names no vocabulary snapshots: rebuild it (sgns-preprocess)")
    last = increments[end - 1]
    vocab = {
        "size": last["vocab_size"],
        "snapshot": dataset.snapshot_path(last["index"], dataset.VOCAB_FILE),
    }
    if "vocab_sha256" in last:  # written since 2026-12: the snapshot is checked against it
        vocab["sha256"] = last["vocab_sha256"]
    return {**manifest, "increments": increments[:end], "vocab": vocab}


@dataclasses.dataclass
class TrainingStage:
    """The increments [first, end) trained together, their vocabulary, plans and lr schedule."""

    first: int
    end: int
    base_step: int  # global step at which the stage starts
    lr: float  # lr at its first step, decaying linearly to lr * min_lr_ratio at its last
    words: list[str]
    counts: list[int]
    plans: list[EpochPlan]
    old_words: int = 0  # words trained by earlier stages (their rows' updates are scaled ...)
    old_ratio: float = 1.0  # ... by this: increment_lr / lr

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.plans)

    def lr_at(self, step: int, min_lr_ratio: float) -> float:
        """Linear decay over the stage (word2vec.c's schedule, restarted from self.lr)."""
        return decayed_lr(step, self.base_step, self.total_steps, self.lr, min_lr_ratio)

    def record(self) -> dict:
        """What a checkpoint keeps of the stage (its key "stage")."""
        return {
            "first": self.first,
            "end": self.end,
            "base_step": self.base_step,
            "lr": self.lr,
            "total_steps": self.total_steps,
            "old_words": self.old_words,
            "old_ratio": self.old_ratio,
        }


def load_stage(
    config, manifest, first, end, world_size, rank, base_step, **schedule
) -> TrainingStage:
    """The stage of increments [first, end) of the dataset `manifest` (checks its shards);
    `schedule`: lr, old_words, old_ratio."""
    view = manifest_at(manifest, end)
    _, words, counts, sizes = load_dataset(config.data, view)
    plans = make_plans(config, view, sizes, world_size, rank, first)
    return TrainingStage(first, end, base_step, words=words, counts=counts, plans=plans, **schedule)

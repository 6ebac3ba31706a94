"""The plan of a run: the dataset's checked metadata and every epoch's split of the stream.

Every rank computes the same plan from the manifest and the shards' Parquet footers, with no
communication: which units each rank reads in each epoch, and how many steps all ranks run.

A run trains in stages. A stage covers increments [first, end) of the dataset, as the dataset was
right after increment end - 1 (its vocabulary snapshot), for `epochs` epochs: the first stage
covers every increment present when the run starts; each later stage (online training: --resume
after sgns-preprocess --append, or --follow) covers the increments appended since, plus, with
--replay F, a seeded share F of the units of the increments already trained (against forgetting).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sgns import data, dataset


def rank_batch_pairs(rank_pairs: list[int], batch_size: int, index: int) -> list[int]:
    """Pairs each rank trains on in batch `index` of an epoch (0 on a padding step)."""
    return [max(0, min(batch_size, n - index * batch_size)) for n in rank_pairs]


@dataclasses.dataclass
class EpochPlan:
    units: list[data.Unit]  # this rank's units, in stream order
    rank_pairs: list[int]  # pairs of every rank this epoch
    steps: int  # steps every rank runs this epoch


def replay_units(units: list[data.Unit], share: float, seed: int, stage: int, epoch: int):
    """A seeded sample of round(share * len(units)) old units, in their original order."""
    count = round(share * len(units))
    if not count:
        return []
    pick = np.random.default_rng([seed, stage, epoch, 1]).choice(len(units), count, replace=False)
    return [units[i] for i in sorted(pick.tolist())]


def make_plans(config, manifest: dict, sizes: dict, world_size: int, rank: int, first: int = 0):
    """The stream split of every epoch of the stage that starts at increment `first` (identical
    on all ranks; no communication)."""
    plans = []
    new = {**manifest, "increments": manifest["increments"][first:]}
    old = {**manifest, "increments": manifest["increments"][:first]}
    for epoch in range(config.epochs):
        units = data.epoch_units(config.data, new, sizes, epoch)
        if first and config.replay:
            every_old = data.epoch_units(config.data, old, sizes, epoch)
            units += replay_units(every_old, config.replay, config.seed, first, epoch)
        split = data.assign_units(units, world_size, config.seed, epoch, first)
        steps = max(data.batch_counts(split, config.batch_size))
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
    vocab = {
        "size": increments[end - 1]["vocab_size"],
        "snapshot": dataset.snapshot_path(increments[end - 1]["index"], dataset.VOCAB_FILE),
    }
    return {**manifest, "increments": increments[:end], "vocab": vocab}


def load_dataset(directory: str, manifest: dict | None = None):
    """Manifest, words, counts and row-group sizes, after the cheap consistency checks.

    The words and counts are exactly the manifest's (its snapshot: vocab.tsv may be newer while
    an increment is being added)."""
    manifest = manifest if manifest is not None else dataset.read_manifest(directory)
    try:
        words, counts = dataset.read_manifest_vocab(directory, manifest)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{directory!r} lacks {e.filename}") from None
    if not words:
        raise ValueError(f"the vocabulary of {directory!r} is empty: nothing to train")
    sizes = data.scan_dataset(directory, manifest, len(words))
    return manifest, words, counts, sizes


@dataclasses.dataclass
class Stage:
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
        done = (step - self.base_step) / max(self.total_steps, 1)
        return self.lr * max(min_lr_ratio, 1.0 - done)

    def record(self) -> dict:
        return {
            "first": self.first,
            "end": self.end,
            "base_step": self.base_step,
            "lr": self.lr,
            "total_steps": self.total_steps,
            "old_words": self.old_words,
            "old_ratio": self.old_ratio,
        }


def load_stage(config, manifest, first, end, world_size, rank, base_step, **schedule) -> Stage:
    """The stage of increments [first, end) of the dataset `manifest` (checks its shards);
    `schedule`: lr, old_words, old_ratio."""
    view = manifest_at(manifest, end)
    _, words, counts, sizes = load_dataset(config.data, view)
    plans = make_plans(config, view, sizes, world_size, rank, first)
    return Stage(first, end, base_step, words=words, counts=counts, plans=plans, **schedule)

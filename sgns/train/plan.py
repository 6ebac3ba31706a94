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

With several ranks (real or emulated) an epoch's shuffled units are instead cut into --rounds
chunks, each dealt to the ranks the same way and trained in N episodes of the block scheme
(`BlockEpochPlan`, sgns.train.blocks); its `steps` are those of perfectly balanced buckets, a
fingerprint of the plan (the steps run are known once a chunk is routed).

A run trains in stages. A stage covers increments [first, end) of the dataset, as the dataset was
right after increment end - 1 (its vocabulary snapshot), for `epochs` epochs: the first stage
covers every increment present when the run starts; each later stage (online training: --resume
after sgns-preprocess --append, or --follow) covers the increments appended since, plus, with
--replay F, a seeded share F of the units of the increments already trained (against forgetting).
"""

from __future__ import annotations

import dataclasses
import logging

from sgns import dataset
from sgns.errors import UsageError
from sgns.train import seeds
from sgns.train.shards import Unit, epoch_units, load_dataset
from sgns.train.step import decayed_lr
from sgns.train.table import host_memory

log = logging.getLogger(__name__)


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
    return deal([units[i] for i in order], world_size)


def deal(units: list[Unit], world_size: int) -> list[list[Unit]]:
    """Units in the given order, each to the rank with the fewest pairs so far."""
    ranks: list[list[Unit]] = [[] for _ in range(world_size)]
    loads = [0] * world_size
    for unit in units:
        r = loads.index(min(loads))
        ranks[r].append(unit)
        loads[r] += unit.pairs
    return ranks


@dataclasses.dataclass
class BlockEpochPlan:
    """An epoch of several ranks in the block scheme (sgns.train.episodes): its chunks, each
    as the units every rank reads (chunk -> rank -> units), and their pairs."""

    chunks: list[list[list[Unit]]]
    chunk_pairs: list[int]
    steps: int  # the epoch's steps were every bucket of equal size (the plan's fingerprint)

    @property
    def pairs(self) -> int:
        return sum(self.chunk_pairs)


def block_chunks(units: list[Unit], ranks: int, chunk_pairs: int, seed: int, epoch: int,
                 stage: int = 0) -> list[list[list[Unit]]]:  # fmt: skip
    """The epoch's units shuffled by (seed, epoch[, stage]) as `assign_units` shuffles them,
    cut in that order into chunks of at least `chunk_pairs` pairs (the last one: the rest),
    each dealt to the ranks by pair count."""
    order = seeds.units_rng(seed, epoch, stage).permutation(len(units))
    chunks, current, held = [], [], 0
    for i in order:
        current.append(units[i])
        held += units[i].pairs
        if held >= chunk_pairs:
            chunks.append(current)
            current, held = [], 0
    if current or not chunks:
        chunks.append(current)
    return [deal(chunk, ranks) for chunk in chunks]


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


def make_plans(
    config, manifest: dict, sizes: dict, world_size: int, rank: int, first: int = 0,
    blocks: int = 1,
):  # fmt: skip
    """The stream split of every epoch of the stage that starts at increment `first` (identical
    on all ranks; no communication): EpochPlans, or BlockEpochPlans when `blocks` > 1 (ranks,
    real or emulated, in the block scheme)."""
    plans = []
    new = {**manifest, "increments": manifest["increments"][first:]}
    old = {**manifest, "increments": manifest["increments"][:first]}
    group = config.group_size if config.negative_mode == "group" else 0  # read grouped
    for epoch in range(config.epochs):
        units = epoch_units(config.data, new, sizes, epoch, config.seed, first, group)
        if epoch == 0:
            check_plan_size(config.epochs, len(units))
            if config.epochs * len(units) > LOGGED_PLAN_UNITS:  # seconds to minutes: say so
                log.info("planning %d epochs of %d units each", config.epochs, len(units))
        if first and config.replay:
            every_old = epoch_units(config.data, old, sizes, epoch, config.seed, first, group)
            units += replay_units(every_old, config.replay, config.seed, first, epoch)
        if blocks > 1:
            chunk_pairs = -(-sum(u.pairs for u in units) // config.rounds)
            chunks = block_chunks(units, blocks, chunk_pairs, config.seed, epoch, first)
            pairs = [sum(u.pairs for rank in chunk for u in rank) for chunk in chunks]
            steps = sum(-(-n // (blocks * config.batch_size)) for n in pairs)
            plans.append(BlockEpochPlan(chunks, pairs, steps))
            continue
        split = assign_units(units, world_size, config.seed, epoch, first)
        steps = max(batch_counts(split, config.batch_size))
        plans.append(EpochPlan(split[rank], [sum(u.pairs for u in s) for s in split], steps))
    return plans


# Bytes a unit of a plan holds (a Unit with its order key, in its epoch's list: 225 measured
# with tracemalloc on 200,000 of them). Every rank computes and keeps the whole plan of a stage
# when it starts, so a plan may take at most half of the machine's memory.
PLAN_UNIT_BYTES = 250
LOGGED_PLAN_UNITS = 1_000_000  # a plan this large takes seconds (8 us a unit measured): logged


def check_plan_size(epochs: int, units: int) -> None:
    """Refuse a stage whose plan (epochs x units per epoch) cannot fit in memory, instead of
    computing it for hours and then failing, before the first step."""
    needed = epochs * units * PLAN_UNIT_BYTES
    available = host_memory() // 2
    if needed > available:
        raise UsageError(
            f"--epochs {epochs} over {units} units (row groups) per epoch is a plan of "
            f"{epochs * units:,} units, about {needed / 2**30:.1f} GiB, more than half of this "
            f"machine's memory ({2 * available / 2**30:.1f} GiB); lower --epochs"
        )


def manifest_at(manifest: dict, end: int) -> dict:
    """The dataset as it was right after increment end - 1: its increments and the vocabulary
    snapshot that increment wrote (the manifest itself when end is its last increment)."""
    increments = manifest["increments"]
    if not 1 <= end <= len(increments):
        raise UsageError(f"the dataset has {len(increments)} increments, not {end}")
    if end == len(increments):
        return manifest
    if "snapshot" not in manifest["vocab"]:
        raise UsageError("the dataset names no vocabulary snapshots: rebuild it (sgns-preprocess)")
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
    plans: list  # EpochPlan, or BlockEpochPlan in the block scheme
    old_words: int = 0  # words trained by earlier stages (their rows' updates are scaled ...)
    old_ratio: float = 1.0  # ... by this: increment_lr / lr

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.plans)

    @property
    def total_pairs(self) -> int:
        """Pairs of the stage, all epochs, all ranks."""
        return sum(p.pairs if isinstance(p, BlockEpochPlan) else sum(p.rank_pairs)
                   for p in self.plans)  # fmt: skip

    def pairs_before(self, epoch: int, chunk: int) -> int:
        """Pairs of a block-scheme stage before chunk `chunk` of epoch `epoch`."""
        earlier = sum(p.pairs for p in self.plans[:epoch])
        return earlier + sum(self.plans[epoch].chunk_pairs[:chunk])

    def lr_at_pairs(self, pairs: float, total: int, min_lr_ratio: float) -> float:
        """The linear decay in pairs (the block scheme's): lr after `pairs` of `total`."""
        return self.lr * max(min_lr_ratio, 1.0 - pairs / max(total, 1))

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
    config, manifest, first, end, world_size, rank, base_step, blocks=1, **schedule
) -> TrainingStage:
    """The stage of increments [first, end) of the dataset `manifest` (checks its shards);
    `blocks`: ranks of the block scheme (1: none); `schedule`: lr, old_words, old_ratio."""
    view = manifest_at(manifest, end)
    _, words, counts, sizes = load_dataset(config.data, view)
    plans = make_plans(config, view, sizes, world_size, rank, first, blocks)
    return TrainingStage(first, end, base_step, words=words, counts=counts, plans=plans, **schedule)

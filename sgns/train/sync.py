"""How ranks stay one model: local steps, then one all-reduce of what each rank changed.

Each rank trains its own replica of the (2V, D) table on its share of the stream and keeps a
snapshot of the table as it was at the last synchronisation. Every `every` steps (and at each
epoch end) all ranks all-reduce their change since the snapshot and every rank sets

    table = snapshot + sum over ranks of (table_r - snapshot)              (--sync-combine sum)

so each rank's update counts in full, as if the ranks had trained one after another (summed,
not averaged: averaging divides every rank's update by W, which is how partitioned word2vec
loses the rare words as partitions grow). After it the replicas are identical bit for bit: the
all-reduce hands every rank the same sum, and every rank adds it to the same snapshot.

Summing W changes that each walked a frequent word's row from the same start overshoots as W
grows (measured, BENCHMARKS.md: fine at 2 ranks, diverged at 8). `sqrt` and `mean` divide each
row's sum by the square root of, or by, the number of ranks that moved the row (a changed-flag
column rides along in the same all-reduce): a row one rank alone moved keeps its whole update,
a row all moved is damped. Neither reached gensim's quality at 8 CPU ranks on the dev corpus;
they are there to be measured at scale. `hot` rows of the most frequent words (the vocabulary
is ordered by count: the first rows of each half of the table) can be synchronised the same way
after every step, at 2 * hot * D floats per step.

Memory: the snapshot is a second copy of the table on every rank (and `sqrt` / `mean` build a
third, with its flag column, while they synchronise). One dense all-reduce of a contiguous
buffer is all the scheme asks of the collectives: NCCL and
gloo both have it, it runs at the ring's bandwidth, its size is the table's whatever the batch
and the number of ranks, and it happens every `every` steps instead of every step. What each
sync costs against what it buys: benchmarks/cost_model.py and BENCHMARKS.md.

`Synchroniser.sent_bytes` / `.calls` count the payload handed to all-reduce, for the cost model.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def steps_between(sync_pairs: int, batch_size: int) -> int:
    """Steps between full synchronisations for --sync-pairs (per rank) at --batch-size."""
    return max(1, round(sync_pairs / batch_size))


def make(config, world_size: int, weights: torch.Tensor) -> Synchroniser | None:
    """The stage's synchroniser for `config`'s --sync-* options (None: one rank)."""
    if world_size == 1:
        return None
    every = steps_between(config.sync_pairs, config.batch_size)
    return Synchroniser(weights, world_size, every, config.sync_hot, config.sync_combine)


class Synchroniser:
    """One rank's side of the scheme for one training stage (see the module docstring)."""

    def __init__(
        self, weights: torch.Tensor, world_size: int, every: int, hot: int, combine: str = "sum"
    ):
        """`weights`: the (2V, D) table, identical on every rank now; `every`: steps between
        full synchronisations; `hot`: words whose rows are synchronised after every step;
        `combine`: sum | sqrt | mean (see the module docstring)."""
        self.world_size, self.every, self.combine = world_size, every, combine
        vocab = weights.shape[0] // 2
        self.hot = min(hot, vocab)
        self.snapshot = weights.detach().clone()
        # the hot rows: input rows [0, hot) and output rows [V, V + hot)
        self.hot_parts = (slice(0, self.hot), slice(vocab, vocab + self.hot))
        self.sent_bytes, self.calls = 0, 0
        self.held = (False, False)  # a checkpoint, a stop asked for since the last full sync

    def due(self, step: int) -> bool:
        """Whether global step `step` (steps done) ends with a full synchronisation."""
        return step % self.every == 0

    def after_step(
        self, weights: torch.Tensor, step: int, end: bool, save: bool, stop: bool
    ) -> tuple[bool, bool]:
        """Synchronise after global step `step`: everything when due (or at `end`, an epoch's
        last step), else the hot rows. `save`, `stop`: whether the trainer asks to checkpoint
        (or to stop, which checkpoints) now; returns whether to do so now. One asked for while
        the replicas differ waits for their next full synchronisation (at most --sync-pairs
        away, and always by the epoch's end), so that a checkpoint is every rank's model and a
        resumed run synchronises at the steps an uninterrupted one does."""
        if end or self.due(step):
            self.full(weights)
            save, stop = save or self.held[0], stop or self.held[1]
            self.held = (False, False)
            return save, stop
        if self.hot:
            self._reduce_parts(weights, self.hot_parts)
        self.held = (self.held[0] or save, self.held[1] or stop)
        return False, False

    def full(self, weights: torch.Tensor) -> None:
        """Every row: the replicas are identical afterwards."""
        self._combine(weights, slice(0, weights.shape[0]))

    def _reduce_parts(self, weights: torch.Tensor, parts: tuple[slice, ...]) -> None:
        for part in parts:  # two slices of H rows: two small all-reduces
            self._combine(weights, part)

    def _combine(self, weights: torch.Tensor, rows: slice) -> None:
        """rows = snapshot + the ranks' changes combined (`combine`), with one all-reduce of the
        changes (and, unless summing, a changed-flag column beside them)."""
        snapshot, dim = self.snapshot[rows], weights.shape[1]
        if self.combine == "sum":  # in place: no third copy of the table
            part = weights[rows]
            part.sub_(snapshot)  # this rank's change (R, D)
            self._all_reduce(part)
            part.add_(snapshot)
        else:
            shape = (snapshot.shape[0], dim + 1)
            buffer = torch.empty(shape, dtype=weights.dtype, device=weights.device)
            torch.sub(weights[rows], snapshot, out=buffer[:, :dim])  # this rank's change
            buffer[:, dim] = buffer[:, :dim].ne(0).any(1)  # 1: this rank moved the row
            self._all_reduce(buffer)
            ranks = buffer[:, dim:].clamp_(min=1)  # (R, 1): how many ranks moved each row
            if self.combine == "sqrt":
                ranks.sqrt_()
            torch.addcdiv(snapshot, buffer[:, :dim], ranks, out=weights[rows])
        snapshot.copy_(weights[rows])

    def _all_reduce(self, values: torch.Tensor) -> None:
        self.sent_bytes += values.numel() * values.element_size()
        self.calls += 1
        dist.all_reduce(values)

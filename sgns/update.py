"""One training step on one rank: the tensor step or the native engine, and the row sync.

`Updater` holds what a step needs besides the parameters and the rank's generator (both kept
by the trainer, which checkpoints them): the stage's negative sampler, the native engine when
`engine` is native, and the row cap's scratch. The trainer makes one per stage, since the
sampler and the table follow the stage's vocabulary.

- torch (sgns/step.py): the update of the whole batch is computed at the parameters before the
  step; every rank all-gathers the ranks' (rows, deltas), caps rows summed too often
  (`--row-cap`) and applies them all in rank order.
- native (sgns/native): the batch's pairs are applied one by one in place. With several ranks
  the rows the batch touched are put back and every rank's change to them is applied in rank
  order, so the replicas stay identical.
"""

from __future__ import annotations

import torch

from sgns import distributed as dist_
from sgns.config import TrainConfig
from sgns.grow import scale_old_rows
from sgns.plan import Stage
from sgns.sampler import AliasSampler
from sgns.step import RowLayout, apply_update, cap_repeated_rows, sgns_update


class Updater:
    def __init__(self, config: TrainConfig, ctx: dist_.Context, stage: Stage, threads: int):
        self.config, self.ctx, self.stage = config, ctx, stage
        self.vocab = len(stage.words)
        pooled = config.negative_mode == "pool" and config.pool_scale
        self.scale = config.negatives / config.pool_size if pooled else 1.0
        self.layout = RowLayout(
            config.negative_mode, config.negatives, config.pool_size, self.scale
        )
        # scratch for cap_repeated_rows: zero between steps, one float64 per table row
        self.multiplicity = ((), None)  # (ranks' pair counts, their multiplicity vector)
        self.row_totals = torch.zeros(2 * self.vocab, dtype=torch.float64, device=ctx.device)
        self.sampler = AliasSampler(stage.counts, config.ns_exponent, ctx.device)
        self.native = None
        if config.engine == "native":
            from sgns.native import NativeEngine

            self.native = NativeEngine(self.sampler, config.negatives, threads)

    def close(self) -> None:
        if self.native is not None:
            self.native.close()

    def step(self, weights, generator, centers, contexts, lr: float, batch_pairs: list[int]):
        """One synchronised SGD step of this rank's batch on `weights` (2V, D), in place;
        returns the batch's summed loss (a float64 tensor on the device).

        batch_pairs: every rank's pair count in this step (from the plan), for the row sync.
        """
        if self.native is not None:
            return self._native_step(weights, generator, centers, contexts, lr)
        return self._torch_step(weights, generator, centers, contexts, lr, batch_pairs)

    def _torch_step(self, weights, generator, centers, contexts, lr, batch_pairs):
        config, device, stage = self.config, self.ctx.device, self.stage
        centers = centers.to(device, non_blocking=True).long()  # (B,)
        contexts = contexts.to(device, non_blocking=True).long()  # (B,)
        if centers.numel():
            pool = config.negative_mode == "pool"
            shape = (config.pool_size,) if pool else (centers.numel(), config.negatives)
            negatives = self.sampler.sample(shape, generator)  # (P,) or (B, K)
            rows, deltas, loss = sgns_update(weights, centers, contexts, negatives, lr, self.scale)
            if stage.old_ratio != 1.0:  # an increment: old words move at increment_lr
                deltas = scale_old_rows(rows, deltas, self.vocab, stage.old_words, stage.old_ratio)
        else:  # a padding step: no pairs, but still part of every collective
            rows = torch.empty(0, dtype=torch.int64, device=device)
            deltas = weights.new_empty(0, config.dim)
            loss = torch.zeros((), dtype=torch.float64, device=device)
        sizes = [self.layout.rows(n) for n in batch_pairs] if self.ctx.distributed else None
        rows, deltas = dist_.all_gather_update(rows, deltas, self.ctx.world_size, sizes)
        if config.row_cap:  # on the gathered update: the same on every rank
            counts = tuple(batch_pairs) if self.ctx.distributed else (centers.numel(),)
            if counts != self.multiplicity[0]:  # changes only at an epoch's last, short steps
                self.multiplicity = (counts, self.layout.multiplicity(list(counts)).to(device))
            deltas = cap_repeated_rows(
                rows, deltas, config.row_cap, weights.shape[0], self.multiplicity[1],
                self.row_totals,
            )  # fmt: skip
        apply_update(weights, rows, deltas)
        return loss

    def _native_step(self, weights, generator, centers, contexts, lr):
        # the batch's negatives come from this seed (drawn in C: see sgns/native/sgns_kernel.c)
        seed = int(torch.randint(0, 2**63 - 1, (), generator=generator))
        stage, vocab = self.stage, self.vocab
        old = (stage.old_words, stage.old_ratio) if stage.old_ratio != 1.0 else (0, 1.0)
        if not self.ctx.distributed:
            loss = self.native.step(weights, centers, contexts, seed, lr, *old)
            return torch.tensor(loss, dtype=torch.float64)
        negatives = self.native.negatives(seed, centers.numel())  # (B, K)
        rows = torch.cat([centers.long(), contexts.long() + vocab, negatives.view(-1) + vocab])
        rows = torch.unique(rows)  # (R,) sorted
        before = weights[rows]  # (R, D)
        loss = self.native.step(weights, centers, contexts, seed, lr, *old)
        deltas = weights[rows] - before
        weights[rows] = before
        rows, deltas = dist_.all_gather_update(rows, deltas, self.ctx.world_size)
        apply_update(weights, rows, deltas)
        return torch.tensor(loss, dtype=torch.float64)

"""The two engines that train a rank's batch, and the one place that picks between them.

An engine holds what a step needs besides the parameters and the rank's generator (both kept
by the trainer, which checkpoints them): the stage's negative sampler and its own scratch. The
trainer makes one per training stage, since the sampler and the table follow the stage's
vocabulary. `step(weights, generator, centers, contexts, lr, batch_pairs)` trains the batch
into `weights` in place, synchronised across ranks, and returns its summed loss.

- torch (`TorchEngine`, sgns.train.step): the update of the whole batch is computed at the
  parameters before the step; every rank all-gathers the ranks' (rows, deltas), caps rows summed
  too often (`--row-cap`) and applies them all in rank order. Any device.
- native (`NativeEngine`, sgns.train.native): the batch's pairs are applied one by one in place,
  in C. With several ranks the rows the batch touched are put back and every rank's change to
  them is applied in rank order, so that the replicas stay identical. CPU only.

`resolve` settles engine and negative mode "auto" once, when the run starts: native per-pair on
a CPU where the kernel builds (else torch pool, with a warning), torch pool on CUDA; a resumed
run keeps the engine and mode of its checkpoint.
"""

from __future__ import annotations

import dataclasses

import torch

from sgns.train import distributed, table
from sgns.train.config import TrainConfig
from sgns.train.native import build
from sgns.train.native.kernel import NativeKernel
from sgns.train.plan import TrainingStage
from sgns.train.sampler import AliasSampler
from sgns.train.step import RowLayout, apply_update, cap_repeated_rows, sgns_update


def resolve(config: TrainConfig, device: torch.device, saved: dict | None = None) -> TrainConfig:
    """`config` with engine and negative_mode settled for `device`. `saved`: the config of the
    checkpoint being resumed, whose choices an "auto" keeps (a checkpoint written before the
    engines existed trained the tensor step)."""
    engine, mode = config.engine, config.negative_mode
    if saved is not None:
        engine = saved.get("engine", "torch") if engine == "auto" else engine
        mode = saved.get("negative_mode", mode) if mode == "auto" else mode
    cpu = device.type == "cpu"
    if engine == "native":
        if not cpu:
            raise ValueError("--engine native runs on the CPU; use --device cpu or --engine torch")
        try:
            build.load()
        except build.NativeUnavailable as e:
            raise ValueError(f"--engine native cannot be built here: {e}") from None
    elif engine == "auto":
        fits = config.dim <= build.MAX_DIM and config.negatives <= build.MAX_NEGATIVES
        usable = cpu and mode != "pool" and fits and build.available()
        engine = "native" if usable else "torch"
    if mode == "auto":
        mode = "pair" if engine == "native" else "pool"
    if engine == "native" and mode == "pool":
        raise ValueError("--engine native trains per-pair negatives; use --negative-mode pair")
    return dataclasses.replace(config, engine=engine, negative_mode=mode)


def make_engine(config: TrainConfig, ctx: distributed.Context, stage: TrainingStage, threads: int):
    """The engine of a resolved `config` for one stage."""
    sampler = AliasSampler(stage.counts, config.ns_exponent, ctx.device)
    if config.engine == "native":
        return NativeEngine(config, ctx, stage, sampler, threads)
    return TorchEngine(config, ctx, stage, sampler)


def _old_rows(stage: TrainingStage) -> tuple[int, float]:
    """(old_words, old_ratio) of a stage: the words trained before and their rate's scale."""
    return (stage.old_words, stage.old_ratio) if stage.old_ratio != 1.0 else (0, 1.0)


class TorchEngine:
    def __init__(self, config, ctx, stage: TrainingStage, sampler: AliasSampler):
        self.config, self.ctx, self.stage, self.sampler = config, ctx, stage, sampler
        self.vocab = len(stage.words)
        pooled = config.negative_mode == "pool" and config.pool_scale
        self.scale = config.negatives / config.pool_size if pooled else 1.0
        self.layout = RowLayout(
            config.negative_mode, config.negatives, config.pool_size, self.scale
        )
        self.multiplicity = ((), None)  # (ranks' pair counts, their multiplicity vector)
        # scratch for cap_repeated_rows: zero between steps, one float64 per table row
        rows = table.table_rows(self.vocab)
        self.row_totals = torch.zeros(rows, dtype=torch.float64, device=ctx.device)

    def close(self) -> None:
        pass

    def step(self, weights, generator, centers, contexts, lr: float, batch_pairs: list[int]):
        """One synchronised SGD step of this rank's batch on `weights` (2V, D), in place;
        returns the batch's summed loss (a float64 tensor on the device).

        batch_pairs: every rank's pair count in this step (from the plan), for the row sync.
        """
        config, device = self.config, self.ctx.device
        centers = centers.to(device, non_blocking=True).long()  # (B,)
        contexts = contexts.to(device, non_blocking=True).long()  # (B,)
        if centers.numel():
            pool = config.negative_mode == "pool"
            shape = (config.pool_size,) if pool else (centers.numel(), config.negatives)
            negatives = self.sampler.sample(shape, generator)  # (P,) or (B, K)
            rows, deltas, loss = sgns_update(weights, centers, contexts, negatives, lr, self.scale)
            old_words, old_ratio = _old_rows(self.stage)
            if old_words:  # an increment: old words move at increment_lr
                deltas = table.scale_old_rows(rows, deltas, self.vocab, old_words, old_ratio)
        else:  # a padding step: no pairs, but still part of every collective
            rows = torch.empty(0, dtype=torch.int64, device=device)
            deltas = weights.new_empty(0, config.dim)
            loss = torch.zeros((), dtype=torch.float64, device=device)
        sizes = [self.layout.rows(n) for n in batch_pairs] if self.ctx.distributed else None
        rows, deltas = distributed.all_gather_update(rows, deltas, self.ctx.world_size, sizes)
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


class NativeEngine:
    def __init__(self, config, ctx, stage: TrainingStage, sampler: AliasSampler, threads: int):
        self.ctx, self.stage, self.sampler, self.vocab = ctx, stage, sampler, len(stage.words)
        self.kernel = NativeKernel(sampler, config.negatives, threads)

    def close(self) -> None:
        self.kernel.close()

    def step(self, weights, generator, centers, contexts, lr: float, batch_pairs: list[int]):
        """As TorchEngine.step; the pairs are applied one by one, in C."""
        # the batch's negatives come from this seed (drawn in C: see native/sgns_kernel.c)
        seed = int(torch.randint(0, 2**63 - 1, (), generator=generator))
        old = _old_rows(self.stage)
        if not self.ctx.distributed:
            loss = self.kernel.step(weights, centers, contexts, seed, lr, *old)
            return torch.tensor(loss, dtype=torch.float64)
        negatives = self.kernel.negatives(seed, centers.numel())  # (B, K)
        outputs = table.output_rows(torch.cat([contexts.long(), negatives.view(-1)]), self.vocab)
        rows = torch.unique(torch.cat([centers.long(), outputs]))  # (R,) sorted
        before = weights[rows]  # (R, D)
        loss = self.kernel.step(weights, centers, contexts, seed, lr, *old)
        deltas = weights[rows] - before
        weights[rows] = before
        rows, deltas = distributed.all_gather_update(rows, deltas, self.ctx.world_size)
        apply_update(weights, rows, deltas)
        return torch.tensor(loss, dtype=torch.float64)

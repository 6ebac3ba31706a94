"""The torch engine: the tensor step on any device, in micro-steps, with no host round trip.

A step trains a batch of `batch_size` pairs, always of that shape (a short batch is padded and
its padding masked by the valid count), as batch_size / micro_batch sequential micro-steps.
Each micro-step draws its own negatives (a pool of pool_size, or K per pair), computes the update
of its pairs at the parameters before it (sgns.train.step), caps rows summed too often
(--row-cap) and applies it; the next micro-step sees the result. In the block scheme the pool
spans several micro-steps (`pool_span`, sgns.train.engines.for_blocks): drawn at the span's
first, its rows' deltas summed over the span and applied (capped on their own) at its end.
Ranks train the table blocks they own and exchange blocks between episodes
(sgns.train.exchange), so a step holds no collective. So what one summed update holds, and so
the quality, is set by the micro-step, whatever the batch: a batch is how many pairs one call
(one CUDA graph replay) carries. Cost per pair is flat in the batch; the pool does not grow
with it.

No host-device synchronisation inside a step: negatives come from a counter-based generator
keyed by (rank, step, micro-step) (sgns.train.sampler), the learning rate is computed on the
device from a step counter held there, the loss accumulates on the device, the accumulating
scatter is the unchecked one (sgns.train.step.apply_update), and every shape is fixed. The same
code runs eagerly, under torch.compile(fullgraph=True), or captured once as a CUDA graph and
replayed (`step_mode`).
"""

from __future__ import annotations

import torch

from sgns.errors import UsageError
from sgns.train import table
from sgns.train.plan import TrainingStage
from sgns.train.sampler import AliasSampler, batch_key
from sgns.train.seeds import stream_seed
from sgns.train.step import (
    RowLayout,
    apply_update,
    cap_repeated_rows,
    decayed_lr,
    row_multiplicity,
    sgns_update,
)


def step_mode(config, device: torch.device) -> str:
    """The step mode `auto` means here: a CUDA graph on a GPU, else eager. A step holds no
    collective (ranks exchange blocks between episodes: sgns.train.exchange), so every rank can
    replay one."""
    if config.step_mode != "auto":
        if config.step_mode == "graph" and device.type != "cuda":
            raise UsageError("--step-mode graph needs a CUDA device")
        return config.step_mode
    return "graph" if device.type == "cuda" else "eager"


class TorchEngine:
    """One rank's tensor step for one training stage (see the module docstring)."""

    def __init__(
        self, config, ctx, stage: TrainingStage, sampler: AliasSampler, host_lr: bool = False,
        rank: int | None = None, pool_span: int = 1,
    ):  # fmt: skip
        """`rank` keys the negatives (default: ctx.rank); `host_lr`: take each step's lr from
        the caller (the block scheme's schedule in pairs) instead of computing it on the device
        from the step counter; `pool_span`: micro-steps that share one pool (`_apply_pool`)."""
        if config.negative_mode not in ("pool", "pair"):
            raise ValueError(
                f"negative_mode {config.negative_mode!r}: settle it first (engines.resolve)"
            )
        self.config, self.stage, self.sampler = config, stage, sampler
        self.vocab, device = len(stage.words), ctx.device
        self.micro = config.micro_pairs
        pool = config.pool_size if config.negative_mode == "pool" else None
        table.check_step_fits(self.micro, config.negatives, pool, config.dim, device)
        self.micro_steps = config.batch_size // self.micro
        pooled = config.negative_mode == "pool" and config.pool_scale
        self.scale = config.negatives / config.pool_size if pooled else 1.0
        self.layout = RowLayout(
            config.negative_mode, config.negatives, config.pool_size, self.scale
        )
        pool = config.negative_mode == "pool"
        self.negative_shape = (config.pool_size,) if pool else (self.micro, config.negatives)
        self.seed = stream_seed(config.seed, "negatives", ctx.rank if rank is None else rank)
        self.old_words = stage.old_words if stage.old_ratio != 1.0 else 0
        self.positions = torch.arange(self.micro, device=device)  # (b,)
        ones = torch.ones(self.micro, device=device)
        self.full_multiplicity = row_multiplicity(ones, self.layout)  # (R,) of a full micro-step
        self.step_count = torch.zeros((), dtype=torch.int64, device=device)  # global steps done
        # scratch for cap_repeated_rows: zero between micro-steps, one float32 per table row
        rows = table.table_rows(self.vocab)
        self.row_totals = torch.zeros(rows, device=device)
        self.mode = step_mode(config, device)
        self._run = self._step
        if self.mode == "compile":
            self._run = torch.compile(self._step, fullgraph=True, dynamic=False)
        self.graph = None  # (torch.cuda.CUDAGraph, static inputs, static output) once captured
        self.full = torch.tensor(config.batch_size, device=device)  # a full batch's valid count
        self.host_lr = host_lr
        self.lr_now = torch.zeros((), device=device)  # host_lr: the step's lr, filled per step
        self.span = pool_span if pool else 1
        if self.span > 1:  # the pool's summed deltas and pair updates, applied once per span
            self.pool_deltas = torch.zeros(config.pool_size, config.dim, device=device)
            self.pool_counts = torch.zeros(config.pool_size, device=device)
            self.pool_rows = self.pool_negatives = None  # the span's, drawn at its start

    def close(self) -> None:
        self.graph = None

    def start(self, step: int, weights: torch.Tensor | None = None) -> None:
        """Set the device's step counter (at the start of a stage, and on resume); in graph
        mode, capture the step on `weights` now, before the loader's threads use CUDA."""
        self.step_count.fill_(step)
        if self.mode == "graph" and weights is not None and self.graph is None:
            self._bind(weights)

    def step(self, weights, centers, contexts, valid, step: int, lr: float) -> torch.Tensor:
        """Train a batch (centers, contexts: (batch_size,) int32 or int64 on the device; `valid`
        of them real, an int or a 0-dim device tensor) into `weights` in place; returns its
        summed loss (a float64 0-dim tensor on the device). `step` and `lr` are the host's
        view; the step uses its own device counter (and the host's lr with `host_lr`)."""
        if self.host_lr:
            self.lr_now.fill_(lr)  # a scalar kernel argument: no host sync
        if self.mode == "graph":
            return self._replay(weights, centers, contexts, valid)
        if self.mode == "compile" and not isinstance(valid, torch.Tensor):
            valid = self._valid(valid)  # a tensor: one compiled graph for every count
        return self._run(weights, centers, contexts, valid)

    def _valid(self, valid: int) -> torch.Tensor:
        """A valid count as a device tensor (a full batch's kept there: no transfer)."""
        if valid == self.config.batch_size:
            return self.full
        return torch.tensor(valid, device=self.full.device)

    def _step(self, weights, centers, contexts, valid):
        centers, contexts = centers.long(), contexts.long()
        config, stage = self.config, self.stage
        if self.host_lr:
            lr = self.lr_now
        else:
            lr = decayed_lr(
                self.step_count, stage.base_step, stage.total_steps, stage.lr, config.min_lr_ratio
            )
        loss, pending = None, False  # pending: a span's pool deltas not yet applied
        for m in range(self.micro_steps):
            if m and isinstance(valid, int) and valid <= m * self.micro:
                break  # eager, known on the host: the rest is padding, which changes nothing
            part = slice(m * self.micro, (m + 1) * self.micro)
            count, micro_steps = self.step_count, self.micro_steps
            counter = count if micro_steps == 1 else count * micro_steps + m  # keys the draws
            left = valid - m * self.micro if m else valid  # pairs from this micro-step on
            if self.span > 1 and m % self.span == 0:  # a span's first micro-step draws its pool
                self.pool_negatives = self._draw(counter)
            more = self._micro_step(weights, centers[part], contexts[part], left, counter, lr)
            loss = more if loss is None else loss + more
            pending = self.span > 1 and (m + 1) % self.span != 0
            if self.span > 1 and not pending:
                self._apply_pool(weights)
        if pending:
            self._apply_pool(weights)  # a span cut short by the step's end (or its padding)
        self.step_count += 1
        return loss

    def _draw(self, counter) -> torch.Tensor:
        return self.sampler.sample(self.negative_shape, batch_key(self.seed, counter))

    def _micro_step(self, weights, centers, contexts, valid, counter, lr):
        full = isinstance(valid, int) and valid >= self.micro  # known on the host: no mask
        mask = None if full else (self.positions < valid).to(weights.dtype)  # (b,): 0: padding
        negatives = self._draw(counter) if self.span == 1 else self.pool_negatives
        rows, deltas, loss = sgns_update(
            weights, centers, contexts, negatives, lr, self.scale, mask
        )
        if self.old_words:  # an increment: the words trained before move at increment_lr
            ratio = self.stage.old_ratio
            deltas = table.scale_old_rows(rows, deltas, self.vocab, self.old_words, ratio)
        if mask is None:
            multiplicity = self.full_multiplicity  # (R,)
        else:
            multiplicity = row_multiplicity(mask, self.layout)  # (R,)
        if self.span > 1:  # the pool's part waits for the span's end (`_apply_pool`)
            pairs = 2 * self.micro
            self.pool_rows = rows[pairs:]
            self.pool_deltas += deltas[pairs:]
            self.pool_counts += multiplicity[pairs:]
            rows, deltas, multiplicity = rows[:pairs], deltas[:pairs], multiplicity[:pairs]
        self._apply(weights, rows, deltas, multiplicity)
        return loss

    def _apply(self, weights, rows, deltas, multiplicity) -> None:
        if self.config.row_cap:
            deltas = cap_repeated_rows(
                rows, deltas, self.config.row_cap, weights.shape[0], multiplicity, self.row_totals
            )
        apply_update(weights, rows, deltas)

    def _apply_pool(self, weights) -> None:
        """Apply the span's summed pool deltas (capped on the span's pair updates) and clear
        them. Why a span: see `sgns.train.engines.for_blocks`."""
        self._apply(weights, self.pool_rows, self.pool_deltas, self.pool_counts)
        self.pool_deltas.zero_()
        self.pool_counts.zero_()

    def _replay(self, weights, centers, contexts, valid):
        """The step as a CUDA graph: captured on the first call (after a warm-up on a side
        stream, as CUDA graphs need), replayed after each batch is copied into its inputs."""
        if self.graph is None:
            self._bind(weights)
        if weights.data_ptr() != self.captured_weights:
            raise RuntimeError("a captured step trains the table it was captured with")
        graph, inputs, output = self.graph
        inputs[0].copy_(centers, non_blocking=True)
        inputs[1].copy_(contexts, non_blocking=True)
        if not isinstance(valid, torch.Tensor):
            valid = self._valid(valid)
        inputs[2].copy_(valid, non_blocking=True)
        graph.replay()
        return output.clone()

    def _bind(self, weights) -> None:
        self.graph = self._capture(weights)
        self.captured_weights = weights.data_ptr()

    def _capture(self, weights):
        size, device = self.config.batch_size, weights.device
        inputs = (
            torch.zeros(size, dtype=torch.int32, device=device),  # centers
            torch.zeros(size, dtype=torch.int32, device=device),  # contexts
            torch.zeros((), dtype=torch.int64, device=device),  # valid 0: no update
        )
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up: kernels and workspaces before the capture
            for _ in range(2):
                self._step(weights, *inputs)
        torch.cuda.current_stream().wait_stream(side)
        self.step_count -= 2  # the warm-up steps trained nothing (valid 0) but counted
        graph = torch.cuda.CUDAGraph()
        # thread_local: the loader's and the checkpoint writer's threads keep using CUDA meanwhile
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):  # records; runs nothing
            output = self._step(weights, *inputs)
        return graph, inputs, output

"""The two engines that train a rank's batch, and the one place that picks between them.

An engine holds what a step needs besides the parameters (kept by the trainer, which
checkpoints them): the stage's negative sampler and its own scratch. The trainer makes one per
training stage, since the sampler and the table follow the stage's vocabulary.
`step(weights, centers, contexts, valid, step, lr)` trains the batch (its first `valid` pairs;
the rest is padding) into `weights` in place and returns its summed loss as a device tensor.
Negatives are drawn from keys of (seed, rank, step): no generator state, so a checkpoint needs
none.

- torch (`TorchEngine`, sgns.train.torch_engine): micro-steps of summed updates computed at
  the parameters before each, with no host round trip. Any device.
- native (`NativeEngine`, sgns.train.native): the batch's pairs are applied in place in C, in
  groups of one center's pairs sharing their negatives (negative mode "group", the default), or
  one by one ("pair"). CPU only.

Neither engine talks to other ranks: with several, each trains the blocks its rank owns
(sgns.train.blocks), and the ranks exchange blocks between episodes (sgns.train.exchange).

`resolve` settles engine and negative mode "auto" once, when the run starts: native in groups on
a CPU where the kernel builds (else torch pool, with a warning), torch pool on CUDA; a resumed
run keeps the engine and mode of its checkpoint. The log says what it settled on and why (e.g.
"--negative-mode pool uses the torch engine").
"""

from __future__ import annotations

import dataclasses
import logging

import torch

from sgns.console import environment
from sgns.errors import UsageError
from sgns.train import distributed
from sgns.train.config import TrainConfig
from sgns.train.native import build
from sgns.train.native.kernel import NativeKernel
from sgns.train.plan import TrainingStage
from sgns.train.sampler import AliasSampler, batch_key
from sgns.train.seeds import stream_seed
from sgns.train.table import check_batch_fits
from sgns.train.torch_engine import TorchEngine

log = logging.getLogger(__name__)

# The native engine's negative mode "auto" in one process: groups scored above pairs on all three
# benchmarks (BENCHMARKS.md, "The native engine's groups"), and touch fewer rows per pair. With
# several ranks it is "pair" (the block scheme owns rows by center and context: `resolve`).
NATIVE_MODE = "group"


def resolve(config: TrainConfig, device: torch.device, saved: dict | None = None) -> TrainConfig:
    """`config` with engine and negative_mode settled for `device`, said in the log with why.
    `saved`: the config of the checkpoint being resumed, whose choices an "auto" keeps (a
    checkpoint written before the engines existed trained the tensor step)."""
    engine, mode = config.engine, config.negative_mode
    why = f"--engine {engine}"
    if saved is not None and engine == "auto":
        engine, why = saved.get("engine", "torch"), "the checkpoint's"
    if saved is not None and mode == "auto":
        mode = saved.get("negative_mode", mode)
    cpu = device.type == "cpu"
    if engine == "native":
        if not cpu:
            raise UsageError("--engine native runs on the CPU; use --device cpu or --engine torch")
        try:
            build.load()
        except build.NativeUnavailable as e:
            raise UsageError(f"--engine native cannot be built here: {e}") from None
    elif engine == "auto":
        engine, why = _auto_engine(config, cpu, mode)
    several = config.emulate_ranks > 1 or not environment.ranks().alone
    if mode == "auto":
        mode = ("pair" if several else NATIVE_MODE) if engine == "native" else "pool"
        ranks = " and several ranks" if several and engine == "native" else ""
        why += f"; negative mode auto: {mode} with the {engine} engine{ranks}"
    if mode == "group" and several:
        raise UsageError(
            "--negative-mode group trains one process: the block scheme of several ranks owns "
            "input rows by center and output rows by context, and a group writes the other way "
            "round; use --negative-mode pair"
        )
    if engine == "native" and mode == "pool":
        raise UsageError(
            "--engine native trains per-pair or grouped negatives; use --negative-mode pair or "
            "group"
        )
    if engine == "torch" and mode == "group":
        raise UsageError(
            "--negative-mode group is the native engine's, which cannot train this run ("
            + why
            + "): use --negative-mode pool or pair"
        )
    if engine == "torch" and config.batch_size % config.micro_pairs:
        raise UsageError(
            f"--batch-size {config.batch_size} must be a multiple of --micro-batch "
            f"{config.micro_batch} (or at most it) for the torch engine's micro-steps"
        )
    log.info("engine %s, negative mode %s (%s)", engine, mode, why)
    return dataclasses.replace(config, engine=engine, negative_mode=mode)


def _auto_engine(config: TrainConfig, cpu: bool, mode: str) -> tuple[str, str]:
    """Engine "auto" settled: native on a CPU where it can train the config, else torch; and
    why, as the log says it (an option that switches the engine names itself)."""
    if not cpu:
        return "torch", "engine auto: torch on a GPU"
    if mode == "pool":
        return "torch", "--negative-mode pool uses the torch engine"
    if config.dim > build.MAX_DIM or config.negatives > build.MAX_NEGATIVES:
        too_wide = config.dim > build.MAX_DIM
        said = f"--dim {config.dim}" if too_wide else f"--negatives {config.negatives}"
        return "torch", f"{said} is more than the native engine takes: the torch engine"
    if not build.available():
        return "torch", "engine auto: the native engine does not build here (said above)"
    return "native", "engine auto: native on the CPU"


def for_blocks(config: TrainConfig, ranks: int) -> TrainConfig:
    """The config a rank's torch engine runs in the block scheme: micro-steps of about
    --micro-batch / ranks pairs (the largest divisor of the batch not above it), each with the
    run's whole pool of negatives (--pool-size, scaled by negatives / pool as ever), one pool
    shared by a span of N micro-steps (about --micro-batch pairs), at most MAX_POOL_SPAN
    (`pool_span`).

    Why: a bucket's pairs all have their centers in 1/N of the vocabulary and their contexts in
    another 1/N, so a frequent word's row recurs N times as often in a micro-step as in the
    whole stream, and one summed update of it overshoots as a micro-step N times larger would
    (BENCHMARKS.md, "Figures behind the defaults": larger micro-steps diverged). The pool is
    what one process's micro-step has: drawn once per span, each of its rows moved once, at the
    span's end, by its deltas summed over the span's pairs (computed at the pool rows as the
    span began, but for the context updates a pool row gets meanwhile). Moved at every small
    micro-step, or shrunk with it, the pool lost quality against one process (BENCHMARKS.md,
    "Several ranks"; the screens: benchmarks/log/summaries.md, "Summary, 2026-12-05, later")."""
    if config.engine != "torch" or ranks == 1:
        return config
    target = max(1, config.micro_pairs // ranks)
    micro = max(d for d in range(1, target + 1) if config.batch_size % d == 0)
    return dataclasses.replace(config, micro_batch=micro)  # pool_size, resolved, is kept


# The most micro-steps one pool spans in the block scheme: at 16 emulated ranks a pool over 16
# micro-steps lost SimLex-999 that one over 8 kept (BENCHMARKS.md, "Figures behind the
# defaults").
MAX_POOL_SPAN = 8


def pool_span(config: TrainConfig, blocks: TrainConfig) -> int:
    """Micro-steps of `blocks` (for_blocks(config, N)) that share one pool: as many as make
    up `config`'s micro-step (N), at most MAX_POOL_SPAN."""
    return max(1, min(MAX_POOL_SPAN, config.micro_pairs // blocks.micro_pairs))


def scheme_span(config: TrainConfig, ranks: int) -> int:
    """The pool span a resolved `config` trains with at `ranks` ranks of the block scheme (1:
    one process, the native engine, or per-pair negatives); checkpoints record it."""
    if ranks == 1 or config.engine != "torch" or config.negative_mode != "pool":
        return 1
    return pool_span(config, for_blocks(config, ranks))


def make_engine(
    config: TrainConfig, ctx: distributed.Context, stage: TrainingStage, threads: int,
    rank: int | None = None, noise=None, host_lr: bool = False, span: int = 1,
):  # fmt: skip
    """The engine of a resolved `config` for one stage. The block scheme (sgns.train.episodes)
    makes one per rank it hosts: `rank` keys its draws (default: the process's rank), `noise`
    (V,) weights its negatives (default: count^ns_exponent over the whole vocabulary), and with
    `host_lr` the torch engine takes its lr from the caller; `span`: its micro-steps per pool."""
    check_batch_fits(config.batch_size)
    if noise is None:
        sampler = AliasSampler(stage.counts, config.ns_exponent, ctx.device)
    else:
        sampler = AliasSampler(noise, 1.0, ctx.device)  # weights already raised
    rank = ctx.rank if rank is None else rank
    if config.engine == "native":
        return NativeEngine(config, rank, stage, sampler, threads)
    return TorchEngine(config, ctx, stage, sampler, host_lr=host_lr, rank=rank, pool_span=span)


class NativeEngine:
    def __init__(self, config, rank: int, stage: TrainingStage, sampler: AliasSampler, threads):
        self.stage, self.sampler = stage, sampler
        group = config.group_size if config.negative_mode == "group" else 0
        self.kernel = NativeKernel(sampler, config.negatives, threads, group)
        self.seed = stream_seed(config.seed, "negatives", rank)
        old = stage.old_ratio != 1.0
        self.old = (stage.old_words, stage.old_ratio) if old else (0, 1.0)

    def close(self) -> None:
        self.kernel.close()

    def start(self, step: int, weights=None) -> None:
        pass  # the kernel is keyed by the step it is given

    def step(self, weights, centers, contexts, valid, step: int, lr: float) -> torch.Tensor:
        """As TorchEngine.step; the pairs are applied in groups or one by one, in C, on the
        CPU."""
        centers, contexts = centers[:valid], contexts[:valid]
        seed = batch_key(self.seed, step)  # the batch's negatives: drawn in C from this key
        loss = self.kernel.step(weights, centers, contexts, seed, lr, *self.old)
        return torch.tensor(loss, dtype=torch.float64)

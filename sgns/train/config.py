"""TrainConfig: the one frozen configuration of a training run; its defaults are the only defaults.

It validates itself on construction and does nothing else (no compiler run, no device probe):
`engine` and `negative_mode` "auto" are settled where the engine is built
(sgns.train.engines.resolve). The trainer saves the settled config as RUN/config.json and inside
every checkpoint. Figures behind the defaults: BENCHMARKS.md, "Figures behind the defaults".
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from sgns.train.native.build import MAX_DIM, MAX_NEGATIVES

NEGATIVE_MODES = ("auto", "pool", "pair")
# native: word2vec.c's pair-by-pair update in C on the CPU (sgns.train.native); torch: the tensor
# step (sgns.train.step), on any device; auto: native on a CPU where it builds, else torch.
ENGINES = ("auto", "native", "torch")
EXPORT_VECTORS = ("input", "average")
# How the torch engine runs its step: eager ops, torch.compile, or a captured CUDA graph (auto:
# graph on a CUDA device, eager elsewhere).
STEP_MODES = ("auto", "eager", "compile", "graph")
# Pool mode: pairs per pool negative. Each pool row sums batch_size * negatives / pool_size pair
# updates per step, so the pool grows with the batch to keep that ratio where quality held.
POOL_RATIO = 51.2
MAX_INT = 2**31 - 1  # the most any integer option may be (but --seed; --dim: by its memory)
MAX_PER_CORE = 4  # the most --threads, and --num-workers, per core of the machine
# Online training: in a later stage, the rows of the words trained before start at increment_lr
# and the new words' rows at lr; increment_lr 0 means lr * INCREMENT_LR_RATIO.
INCREMENT_LR_RATIO = 0.125


FLOAT_FIELDS = (
    "ns_exponent", "lr", "min_lr_ratio", "row_cap", "checkpoint_seconds", "increment_lr",
    "replay", "poll_seconds",
)  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run. Paths are kept as given."""

    data: str = ""  # dataset directory (sgns-preprocess output)
    output: str = ""  # run directory: checkpoint, vectors, metrics, config
    dim: int = 100
    negatives: int = 5  # negatives per positive pair (the expected count in pool mode)
    ns_exponent: float = 0.75
    epochs: int = 5
    batch_size: int = 4096  # pairs per rank per step (docs/training.md says how large)
    # torch engine: a step trains its batch in sequential micro-steps of this many pairs, each
    # with its own pool; what one summed update holds, and so what decides quality, is a
    # micro-step (batch_size is then only how much one launch or graph replay carries)
    micro_batch: int = 4096
    step_mode: str = "auto"  # eager | compile | graph (CUDA) | auto: graph on a GPU
    lr: float = 0.025
    min_lr_ratio: float = 1e-4  # lr decays linearly to lr * min_lr_ratio (word2vec.c)
    seed: int = 1
    device: str = "auto"  # auto | cpu | cuda | cuda:N (under torchrun cuda means cuda:LOCAL_RANK)
    num_workers: int = 0  # DataLoader worker processes per rank (0: read in the main process)
    threads: int = 0  # torch intra-op threads (0: leave torch's default)
    # pool: one negative pool per micro-step; pair: negatives per pair; auto: pair with the native
    # engine, pool with the tensor step (settled with the engine: sgns.train.engines.resolve)
    negative_mode: str = "auto"
    engine: str = "auto"
    pool_size: int = 0  # negatives shared by a micro-step in pool mode (0: micro / 51.2)
    pool_scale: bool = True  # pool mode: scale negative gradients by negatives / pool_size
    # Cap on a row's summed update per step, counted in pair updates (step.cap_repeated_rows); at
    # 4096 pairs it only trims pool duplicates and the most frequent words. 0: plain sum.
    row_cap: float = 256
    export_vectors: str = "input"  # vectors written to RUN/vectors.txt: input | average
    # Several ranks (sgns.train.blocks): each owns one input and one output block of the table
    # per episode; an epoch is trained in `rounds` rounds (chunks of the stream) of N episodes,
    # in each of which every rank meets every block. Fewer rounds exchange blocks less often;
    # more keep quality (a round is as if the stream were sorted by block: BENCHMARKS.md).
    rounds: int = 16
    # One process trains as N ranks would (the block scheme, one episode's buckets one after
    # another): the quality of N GPUs measured on one machine. 0: off.
    emulate_ranks: int = 0
    # --emulate-ranks only: negatives from the whole vocabulary instead of the rank's output
    # block (what N real ranks cannot do; measures what the block restriction costs).
    global_negatives: bool = False
    checkpoint_interval: int = 0  # steps between checkpoints (0: by time only)
    checkpoint_seconds: float = 300.0  # seconds between checkpoints (0: by steps only)
    log_interval: int = 100  # steps between metrics.jsonl step records
    tensorboard: bool = False
    resume: bool = False
    stop_after_steps: int = 0  # testing aid: stop (after a checkpoint) at this global step
    # Online training. A later stage (new increments) runs `epochs` epochs over the new
    # increments' pairs; its lr restarts: new words' rows from lr (they are untrained), old
    # words' rows from increment_lr (not the full lr: they are trained), decaying to the end.
    increment_lr: float = 0.0  # 0: lr * INCREMENT_LR_RATIO (resolved on construction)
    replay: float = 0.0  # share of the old increments' units also trained in each later epoch
    follow: bool = False  # after the data present, poll the manifest and train new increments
    poll_seconds: float = 10.0  # --follow: seconds between polls of the manifest
    follow_max_increments: int = 0  # --follow: stop after this many new increments (0: never)

    def __post_init__(self):
        for name in FLOAT_FIELDS:  # inf or nan would pass every comparison below, or none
            if not math.isfinite(getattr(self, name)):
                raise ValueError(
                    f"{_flag(name)} must be a finite number, got {getattr(self, name)}"
                )
        for name, value in dataclasses.asdict(self).items():  # past it: C longs overflow
            if type(value) is int and value > MAX_INT and name not in ("seed", "dim"):
                raise ValueError(f"{_flag(name)} must be at most {MAX_INT}, got {value}")
        positive = ("dim", "negatives", "epochs", "batch_size", "micro_batch", "log_interval")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{_flag(name)} must be >= 1, got {getattr(self, name)}")
        if self.pool_size == 0:  # resolved here, so config.json records the pool actually used
            object.__setattr__(self, "pool_size", self.auto_pool_size)
        if self.pool_size < 1:
            raise ValueError(f"--pool-size must be >= 1, got {self.pool_size}")
        for name in (
            "num_workers",
            "threads",
            "checkpoint_interval",
            "checkpoint_seconds",
            "stop_after_steps",
            "row_cap",
            "follow_max_increments",
            "emulate_ranks",
            "seed",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{_flag(name)} must be >= 0, got {getattr(self, name)}")
        cores = os.cpu_count() or 1
        for name in ("num_workers", "threads"):  # past it, only contention (or a fork bomb)
            if getattr(self, name) > MAX_PER_CORE * cores:
                raise ValueError(
                    f"{_flag(name)} {getattr(self, name)} is more than {MAX_PER_CORE} per core "
                    f"of this machine's {cores}; use at most {MAX_PER_CORE * cores}"
                )
        if not self.lr > 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")
        if self.increment_lr == 0:  # resolved here, so config.json records the rate used
            object.__setattr__(self, "increment_lr", self.lr * INCREMENT_LR_RATIO)
        if not self.increment_lr > 0:
            raise ValueError(
                f"--increment-lr must be > 0 (or 0: --lr / 8), got {self.increment_lr}"
            )
        if not 0 <= self.replay <= 1:
            raise ValueError(f"--replay must be in [0, 1], got {self.replay}")
        if not self.poll_seconds > 0:
            raise ValueError(f"--poll-seconds must be > 0, got {self.poll_seconds}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"--min-lr-ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.engine not in ENGINES:
            raise ValueError(f"--engine {self.engine!r} is not one of {', '.join(ENGINES)}")
        if self.negative_mode not in NEGATIVE_MODES:
            raise ValueError(
                f"--negative-mode {self.negative_mode!r} is not one of {', '.join(NEGATIVE_MODES)}"
            )
        if self.step_mode not in STEP_MODES:
            raise ValueError(
                f"--step-mode {self.step_mode!r} is not one of {', '.join(STEP_MODES)}"
            )
        if self.rounds < 1:
            raise ValueError(f"--rounds must be >= 1, got {self.rounds}")
        if self.global_negatives and self.emulate_ranks < 2:
            raise ValueError(
                "--global-negatives needs --emulate-ranks N >= 2: real ranks draw negatives "
                "from the output block they own"
            )
        if self.export_vectors not in EXPORT_VECTORS:
            raise ValueError(
                f"--export-vectors {self.export_vectors!r} is not one of "
                f"{', '.join(EXPORT_VECTORS)}"
            )
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"--device {self.device!r}: use auto, cpu, cuda or cuda:N")
        if self.engine == "native":
            self._check_native()
        if not self.data or not self.output:
            raise ValueError("--data (the dataset directory) and --output (the run) are needed")

    def _check_native(self) -> None:
        """What engine native needs that a config alone can tell (the build is tried later)."""
        if self.device.startswith("cuda"):
            raise ValueError("--engine native runs on the CPU; use --device cpu or --engine torch")
        if self.negative_mode == "pool":
            raise ValueError("--engine native trains per-pair negatives; use --negative-mode pair")
        if self.dim > MAX_DIM or self.negatives > MAX_NEGATIVES:
            raise ValueError(
                f"--engine native takes --dim <= {MAX_DIM} and --negatives <= {MAX_NEGATIVES}"
            )

    @property
    def auto_pool_size(self) -> int:
        """The pool size --pool-size 0 means: one pool negative per POOL_RATIO pairs."""
        return max(self.negatives, round(self.micro_pairs / POOL_RATIO))

    @property
    def micro_pairs(self) -> int:
        """Pairs per micro-step: --micro-batch, or the whole batch when that is smaller."""
        return min(self.micro_batch, self.batch_size)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _flag(name: str) -> str:
    """The command-line spelling of a field: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")

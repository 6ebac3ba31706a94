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

from sgns.dataset.settings import poll_seconds_problem
from sgns.errors import UsageError
from sgns.train.native.build import MAX_DIM, MAX_GROUP, MAX_NEGATIVES

NEGATIVE_MODES = ("auto", "pool", "pair", "group")
ENGINES = ("auto", "native", "torch")  # native: sgns.train.native; torch: sgns.train.step
EXPORT_VECTORS = ("input", "average")
STEP_MODES = ("auto", "eager", "compile", "graph")  # how the torch engine runs its step
# Pool mode: pairs per pool negative. Each pool row sums micro_pairs * negatives / pool_size
# pair updates per micro-step, so the pool grows with the micro-step to keep that ratio where
# quality held.
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
    """Everything that decides a run. Paths are kept as given. What each field means, its group
    and the engine or mode it applies to: its option in sgns.train.options (the schema the
    command line, --help and docs/commands.md are made from); these defaults are its defaults."""

    data: str = ""
    output: str = ""
    dim: int = 100
    negatives: int = 5
    ns_exponent: float = 0.75
    epochs: int = 5
    batch_size: int = 4096
    # what one summed update holds, and so what decides quality, is a micro-step (batch_size is
    # then only how much one launch or graph replay carries)
    micro_batch: int = 4096
    step_mode: str = "auto"
    lr: float = 0.025
    min_lr_ratio: float = 1e-4  # word2vec.c's
    seed: int = 1
    device: str = "auto"
    num_workers: int = 0
    threads: int = 0
    # engine and negative_mode "auto" are settled with the engine: sgns.train.engines.resolve
    negative_mode: str = "auto"
    engine: str = "auto"
    pool_size: int = 0  # 0: micro_pairs / POOL_RATIO, resolved on construction
    group_size: int = 10
    pool_scale: bool = True
    # at 4096 pairs a cap of 256 only trims pool duplicates and the most frequent words
    row_cap: float = 256
    export_vectors: str = "input"
    # Several ranks (sgns.train.blocks). Fewer rounds exchange blocks less often; more keep
    # quality (a round is as if the stream were sorted by block: BENCHMARKS.md).
    rounds: int = 16
    emulate_ranks: int = 0
    global_negatives: bool = False
    checkpoint_interval: int = 0
    checkpoint_seconds: float = 300.0
    log_interval: int = 100
    tensorboard: bool = False
    resume: bool = False
    stop_after_steps: int = 0  # testing aid: stop (after a checkpoint) at this global step
    # Online training. A later stage (new increments) runs `epochs` epochs over the new
    # increments' pairs; its lr restarts: new words' rows from lr (they are untrained), old
    # words' rows from increment_lr (not the full lr: they are trained), decaying to the end.
    increment_lr: float = 0.0  # 0: lr * INCREMENT_LR_RATIO (resolved on construction)
    replay: float = 0.0
    follow: bool = False
    poll_seconds: float = 10.0
    follow_max_increments: int = 0

    def __post_init__(self):
        for name in FLOAT_FIELDS:  # inf or nan would pass every comparison below, or none
            if not math.isfinite(getattr(self, name)):
                raise UsageError(
                    f"{_flag(name)} must be a finite number, got {getattr(self, name)}"
                )
        for name, value in dataclasses.asdict(self).items():  # past it: C longs overflow
            if type(value) is int and value > MAX_INT and name not in ("seed", "dim"):
                raise UsageError(f"{_flag(name)} must be at most {MAX_INT}, got {value}")
        positive = ("dim", "negatives", "epochs", "batch_size", "micro_batch", "log_interval")
        for name in positive:
            if getattr(self, name) < 1:
                raise UsageError(f"{_flag(name)} must be >= 1, got {getattr(self, name)}")
        if self.pool_size == 0:  # resolved here, so config.json records the pool actually used
            object.__setattr__(self, "pool_size", self.auto_pool_size)
        if self.pool_size < 1:
            raise UsageError(f"--pool-size must be >= 1, got {self.pool_size}")
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
                raise UsageError(f"{_flag(name)} must be >= 0, got {getattr(self, name)}")
        cores = os.cpu_count() or 1
        for name in ("num_workers", "threads"):  # past it, only contention (or a fork bomb)
            if getattr(self, name) > MAX_PER_CORE * cores:
                raise UsageError(
                    f"{_flag(name)} {getattr(self, name)} is more than {MAX_PER_CORE} per core "
                    f"of this machine's {cores}; use at most {MAX_PER_CORE * cores}"
                )
        if not self.lr > 0:
            raise UsageError(f"--lr must be > 0, got {self.lr}")
        if self.increment_lr == 0:  # resolved here, so config.json records the rate used
            object.__setattr__(self, "increment_lr", self.lr * INCREMENT_LR_RATIO)
        if not self.increment_lr > 0:
            raise UsageError(
                f"--increment-lr must be > 0 (or 0: --lr / 8), got {self.increment_lr}"
            )
        if not 0 <= self.replay <= 1:
            raise UsageError(f"--replay must be in [0, 1], got {self.replay}")
        if poll_seconds_problem(self.poll_seconds):  # (as sgns-preprocess --watch's)
            raise UsageError(poll_seconds_problem(self.poll_seconds))
        if not 0 <= self.min_lr_ratio <= 1:
            raise UsageError(f"--min-lr-ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.engine not in ENGINES:
            raise UsageError(f"--engine {self.engine!r} is not one of {', '.join(ENGINES)}")
        if not 1 <= self.group_size <= MAX_GROUP:
            raise UsageError(f"--group-size must be in [1, {MAX_GROUP}], got {self.group_size}")
        if self.negative_mode == "group" and self.engine == "torch":
            raise UsageError("--negative-mode group is the native engine's; use --engine native")
        if self.negative_mode not in NEGATIVE_MODES:
            raise UsageError(
                f"--negative-mode {self.negative_mode!r} is not one of {', '.join(NEGATIVE_MODES)}"
            )
        if self.step_mode not in STEP_MODES:
            raise UsageError(
                f"--step-mode {self.step_mode!r} is not one of {', '.join(STEP_MODES)}"
            )
        if self.rounds < 1:
            raise UsageError(f"--rounds must be >= 1, got {self.rounds}")
        if self.global_negatives and self.emulate_ranks < 2:
            raise UsageError(
                "--global-negatives needs --emulate-ranks N >= 2: real ranks draw negatives "
                "from the output block they own"
            )
        if self.export_vectors not in EXPORT_VECTORS:
            raise UsageError(
                f"--export-vectors {self.export_vectors!r} is not one of "
                f"{', '.join(EXPORT_VECTORS)}"
            )
        if not _is_device(self.device):  # (whether this machine has it: distributed.setup)
            raise UsageError(
                f"--device {self.device!r}: use auto, cpu, cuda or cuda:N (N: a CUDA device's "
                "number, 0, 1, ...)"
            )
        if self.engine == "native":
            self._check_native()
        if not self.data or not self.output:
            raise UsageError("--data (the dataset directory) and --output (the run) are needed")

    def _check_native(self) -> None:
        """What engine native needs that a config alone can tell (the build is tried later)."""
        if self.device.startswith("cuda"):
            raise UsageError("--engine native runs on the CPU; use --device cpu or --engine torch")
        if self.negative_mode == "pool":
            raise UsageError(
                "--engine native trains per-pair or grouped negatives; use --negative-mode pair "
                "or group"
            )
        if self.dim > MAX_DIM or self.negatives > MAX_NEGATIVES:
            raise UsageError(
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


def _is_device(name) -> bool:
    """auto, cpu, cuda or cuda:N, N written as torch reads it (digits, no sign, no leading 0)."""
    if name in ("auto", "cpu", "cuda"):
        return True
    index = name.removeprefix("cuda:") if isinstance(name, str) else ""
    return index != name and index.isascii() and index.isdigit() and str(int(index)) == index

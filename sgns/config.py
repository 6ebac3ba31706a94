"""TrainConfig: the one frozen configuration of a training run; its defaults are the only defaults.

It validates itself on construction, is saved as RUN/config.json and inside every checkpoint, and
`check_resumable` says whether a checkpoint written under one config may continue under another.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

NEGATIVE_MODES = ("auto", "pool", "pair")
# native: word2vec.c's pair-by-pair update in C on the CPU (sgns/native); torch: the tensor step
# (sgns/step.py), on any device. auto: native on a CPU where a C compiler builds it, else torch.
ENGINES = ("auto", "native", "torch")
EXPORT_VECTORS = ("input", "average")
# Fields that change the parameters' shape or the meaning of the saved state: a checkpoint may
# only be resumed under a config that agrees on all of them.
# Pool mode: pairs per pool negative. Each pool row sums batch_size * negatives / pool_size
# updates per step; at 4096 pairs and 80 pool negatives (ratio 51.2) quality beat gensim, while
# 16384 pairs with the same 80 diverged (NaN): the pool grows with the batch to keep the ratio.
POOL_RATIO = 51.2
RESUME_FIELDS = (
    "dim",
    "negatives",
    "ns_exponent",
    "negative_mode",
    "pool_size",
    "batch_size",
    "epochs",
    "lr",
    "min_lr_ratio",
    "seed",
    "pool_scale",
    "engine",
)
# Online training: in a later stage (the increments appended since the last), the rows of the
# words trained before start at increment_lr and the new words' rows at `lr`, both decaying
# linearly over the stage. increment_lr 0 means lr * INCREMENT_LR_RATIO. Measured
# (benchmarks/bench_online.py, BENCHMARKS.md, synthetic 4M tokens, old-row rate lr/8, lr/2, lr):
# old clusters' precision 0.755 / 0.707 / 0.679 (0.828 before the increment), new clusters'
# 0.997 / 0.974 / 0.996, old vectors' cosine to before 0.996 / 0.977 / 0.938.
INCREMENT_LR_RATIO = 0.125


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run. Paths are kept as given."""

    data: str = ""  # dataset directory (sgns-preprocess output)
    output: str = ""  # run directory: checkpoint, vectors, metrics, config
    dim: int = 100
    negatives: int = 5  # negatives per positive pair (the expected count in pool mode)
    ns_exponent: float = 0.75
    epochs: int = 5
    # Pairs per rank per step. Quality was measured to hold (dev corpus, 5 passes) for a global
    # batch (batch_size * ranks) of 4096 and 8192; 16384 diverged or lost quality, on CPU or GPU.
    batch_size: int = 4096
    lr: float = 0.025
    min_lr_ratio: float = 1e-4  # lr decays linearly to lr * min_lr_ratio (word2vec.c)
    seed: int = 1
    device: str = "auto"  # auto | cpu | cuda | cuda:N (under torchrun cuda means cuda:LOCAL_RANK)
    num_workers: int = 0  # DataLoader worker processes per rank (0: read in the main process)
    threads: int = 0  # torch intra-op threads (0: leave torch's default)
    # pool: one negative pool per batch; pair: negatives per pair; auto: pair with the native
    # engine, pool with the tensor step (resolved on construction, as engine)
    negative_mode: str = "auto"
    engine: str = "auto"
    pool_size: int = 0  # negatives shared by the batch in pool mode (0: batch_size / 51.2)
    pool_scale: bool = True  # pool mode: scale negative gradients by negatives / pool_size
    # Cap on a row's summed update per step, counted in pair updates (step.cap_repeated_rows); at
    # 4096 pairs it only trims pool duplicates and the most frequent words. Measured, 256 vs off,
    # pool mode: SimLex +0.005 on two datasets, analogy +0.1 / +0.3 points. 0: plain sum.
    row_cap: float = 256
    export_vectors: str = "input"  # vectors written to RUN/vectors.txt: input | average
    checkpoint_interval: int = 2000  # steps between checkpoints (0: only at epoch ends)
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
        if self.pool_size == 0:  # resolved here, so config.json records the pool actually used
            auto = max(self.negatives, round(self.batch_size / POOL_RATIO))
            object.__setattr__(self, "pool_size", auto)
        positive = ("dim", "negatives", "epochs", "batch_size", "pool_size", "log_interval")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "num_workers",
            "threads",
            "checkpoint_interval",
            "stop_after_steps",
            "row_cap",
            "follow_max_increments",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.increment_lr == 0:  # resolved here, so config.json records the rate used
            object.__setattr__(self, "increment_lr", self.lr * INCREMENT_LR_RATIO)
        if not self.increment_lr > 0:
            raise ValueError(f"increment_lr must be > 0 (or 0: lr / 8), got {self.increment_lr}")
        if not 0 <= self.replay <= 1:
            raise ValueError(f"replay must be in [0, 1], got {self.replay}")
        if not self.poll_seconds > 0:
            raise ValueError(f"poll_seconds must be > 0, got {self.poll_seconds}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine {self.engine!r} is not one of {', '.join(ENGINES)}")
        if self.negative_mode not in NEGATIVE_MODES:
            raise ValueError(
                f"negative_mode {self.negative_mode!r} is not one of {', '.join(NEGATIVE_MODES)}"
            )
        if self.export_vectors not in EXPORT_VECTORS:
            raise ValueError(
                f"export_vectors {self.export_vectors!r} is not one of {', '.join(EXPORT_VECTORS)}"
            )
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"device {self.device!r}: use auto, cpu, cuda or cuda:N")
        if not self.data or not self.output:
            raise ValueError("both data (the dataset directory) and output (the run) are needed")
        self._resolve_engine()

    def _resolve_engine(self) -> None:
        """Settle engine and negative_mode "auto" (config.json then records what ran)."""
        engine, mode = self.engine, self.negative_mode
        if engine == "auto" or engine == "native":
            cpu = self.device == "cpu" or (self.device == "auto" and not _cuda_available())
            if engine == "native" and not cpu:
                raise ValueError(
                    "engine native runs on the CPU; use --device cpu or --engine torch"
                )
            if engine == "native" and mode == "pool":
                raise ValueError(
                    "engine native trains per-pair negatives; use --negative-mode pair"
                )
            max_dim, max_negatives = native_limits()
            fits = self.dim <= max_dim and self.negatives <= max_negatives
            if engine == "native" and not fits:
                raise ValueError(
                    f"engine native takes dim <= {max_dim} and negatives <= {max_negatives}"
                )
            usable = cpu and mode != "pool" and fits and _native_available(engine == "native")
            engine = "native" if usable else "torch"
        if mode == "auto":
            mode = "pair" if engine == "native" else "pool"
        object.__setattr__(self, "engine", engine)
        object.__setattr__(self, "negative_mode", mode)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def native_limits() -> tuple[int, int]:
    from sgns.native import MAX_DIM, MAX_NEGATIVES

    return MAX_DIM, MAX_NEGATIVES


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _native_available(required: bool) -> bool:
    from sgns import native

    if required:
        try:
            native.load()
        except native.NativeUnavailable as e:
            raise ValueError(f"engine native cannot be built here: {e}") from None
        return True
    return native.available()


def check_resumable(saved: dict, config: TrainConfig) -> None:
    """Raise ValueError naming the first field where a checkpoint's config and `config` differ."""
    for name in RESUME_FIELDS:
        if name in saved and saved[name] != getattr(config, name):
            raise ValueError(
                f"the checkpoint was written with {name}={saved[name]!r} but this run has "
                f"{name}={getattr(config, name)!r}; use the same value or a new --output"
            )

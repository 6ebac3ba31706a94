"""`PipelineConfig`: every setting of the preprocessing pipeline, its defaults and its checks.

The dataclass defaults are the only defaults (the CLI reads them from here), and the config is
saved in the manifest next to what it produced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# Text blocks are the pipeline's elements: big enough that per-element costs vanish next to the
# numpy work, small enough that a worker holds a handful of them (text, ids and pairs) at once.
DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024
# How a block's pairs reach their shard's writer (sgns.pipeline.shards): "files", a temporary piece
# file per block and shard under the output; "runner", an element per block and shard through
# the runner's GroupByKey (no objects but the shards). Both write the same dataset, byte for byte.
SHUFFLES = ("files", "runner")


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of one `sgns-preprocess` run (see `sgns.pipeline.preprocess` for the CLI)."""

    inputs: tuple[str, ...]  # file patterns on any Beam filesystem, as the user gave them
    output: str  # the dataset directory
    lowercase: bool = False
    min_count: int = 5
    max_vocab: int | None = None  # keep only the top N words (after min_count), None = all
    sample: float = 1e-3  # subsampling threshold t; 0 disables subsampling
    window: int = 5  # maximum window b; each center draws b ~ U[1, window]
    max_sentence_length: int = 10000  # longer sentences are cut, as word2vec.c and gensim do
    passes: int = 1  # independent subsampling/window draws, written as separate shard sets
    num_shards: int = 16
    seed: int = 1
    block_bytes: int = DEFAULT_BLOCK_BYTES
    overwrite: bool = False
    append: bool = False  # add an increment to the dataset in `output` (sgns.pipeline.increment)
    shuffle: str = "files"  # one of SHUFFLES; the CLI picks by runner (sgns.pipeline.preprocess)

    def __post_init__(self):
        if isinstance(self.inputs, str) or not self.inputs or not all(self.inputs):
            raise ValueError(f"--input needs one or more file patterns, got {self.inputs!r}")
        if not self.output:
            raise ValueError("--output needs a directory")
        _check_int("--min-count", self.min_count, 1)
        if self.max_vocab is not None:
            _check_int("--max-vocab", self.max_vocab, 1)
        if not isinstance(self.sample, (int, float)) or not 0 <= self.sample < float("inf"):
            raise ValueError(f"--sample must be >= 0 (0 disables subsampling), got {self.sample}")
        _check_int("--window", self.window, 1)
        _check_int("--max-sentence-length", self.max_sentence_length, 1)
        _check_int("--passes", self.passes, 1)
        _check_int("--num-shards", self.num_shards, 1)
        _check_int("--seed", self.seed, 0, None)
        _check_int("--block-bytes", self.block_bytes, 1024)
        if self.shuffle not in SHUFFLES:
            raise ValueError(f"--shuffle must be files or runner, got {self.shuffle!r}")
        if self.append and self.overwrite:
            raise ValueError(
                "--append adds to the dataset in --output and --overwrite replaces it: "
                "pass one of them"
            )

    def to_json(self) -> dict:
        """The config as a JSON-ready dict (for the manifest), less `shuffle`: like the runner, it
        decides how the dataset is made, not what it holds (both modes write the same bytes)."""
        settings = dataclasses.asdict(self)
        del settings["shuffle"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def _check_int(option: str, value, minimum: int, maximum: int | None = 2**31 - 1) -> None:
    """(The maximum: numbers past it overflow numpy's int64 draws or allocate without end.)"""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{option} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{option} must be at most {maximum}, got {value!r}")

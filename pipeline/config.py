"""`PipelineConfig`: every setting of the preprocessing pipeline, its defaults and its checks.

The dataclass defaults are the only defaults (the CLI reads them from here), and the config is
saved in the manifest next to what it produced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sgns.dataset.settings import (  # noqa: F401 - the values each setting may take, read here
    ERRORS,
    MAX_INT,
    MAX_PHRASE_ROUNDS,
    MAX_SHARD_FILES,
    MIN_BLOCK_BYTES,
    NORMALIZATIONS,
    NPMI_RANGE,
    PHRASE_GROWTHS,
    PHRASE_SCORERS,
    PHRASE_THRESHOLDS,
    PHRASE_WORDS,
    TOKENIZERS,
    is_text_codec,
)
from sgns.errors import UsageError

# Text blocks are the pipeline's elements: big enough that per-element costs vanish next to the
# numpy work, small enough that a worker holds a handful of them (text, ids and pairs) at once.
DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024
# The most pairs one sentence may make (2 x its length x its window, at most): they are made at
# once, in memory; 10,000 tokens with an unbounded --window made 1e8 pairs, 2.5 GB of memory.
# (--max-sentence-length 10000: a --window up to 3,355; --window 5: sentences of 6.7M tokens.)
MAX_SENTENCE_PAIRS = 2**26
# How a block's pairs reach their shard's writer (sgns.pipeline.pairs.merge): "files", a temporary
# piece file per block and shard under the output; "runner", an element per block and shard through
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
    append: bool = False  # add an increment to the dataset in `output` (pipeline.dataset.increment)
    shuffle: str = "files"  # one of SHUFFLES; the CLI picks by runner (sgns.pipeline.preprocess)
    encoding: str = "utf-8"  # any Python text codec
    errors: str = "limit"  # one of ERRORS
    normalize: str = "none"  # one of NORMALIZATIONS
    tokenizer: str = "whitespace"  # one of TOKENIZERS
    phrases: int = 0  # rounds of phrase detection before the vocabulary; 0: none
    phrase_threshold: float | None = None  # None: the scorer's (PHRASE_THRESHOLDS)
    phrase_min_count: int = 5  # word2phrase's default
    phrase_scorer: str = "npmi"  # one of PHRASE_SCORERS
    phrase_max_vocab: int = 40_000_000  # pairs counted before pruning (gensim's max_vocab_size)
    phrase_connectors: str = "none"  # english, none, or a file of words (phrases.connector_words)
    phrase_growth: str = "any"  # one of PHRASE_GROWTHS (extend: measured level, docs/phrases.md)
    phrase_words: str = "keep"  # one of PHRASE_WORDS (replace: word2phrase's, docs/phrases.md)

    def __post_init__(self):
        if isinstance(self.inputs, str) or not self.inputs or not all(self.inputs):
            raise UsageError(f"--input needs one or more file patterns, got {self.inputs!r}")
        if not self.output:
            raise UsageError("--output needs a directory")
        _check_int("--min-count", self.min_count, 1)
        if self.max_vocab is not None:
            _check_int("--max-vocab", self.max_vocab, 1)
        if not isinstance(self.sample, (int, float)) or not 0 <= self.sample < float("inf"):
            raise UsageError(f"--sample must be >= 0 (0 disables subsampling), got {self.sample}")
        _check_int("--window", self.window, 1)
        _check_int("--max-sentence-length", self.max_sentence_length, 1)
        length = self.max_sentence_length  # (a sentence's pairs are made at once, in memory)
        if sentence_pairs(self.window, length) > MAX_SENTENCE_PAIRS:
            raise UsageError(
                f"--window {self.window} with --max-sentence-length {length}: one sentence could "
                f"make up to {sentence_pairs(self.window, length):,} pairs, held in memory "
                f"at once (at most {MAX_SENTENCE_PAIRS:,}); lower --window or "
                "--max-sentence-length"
            )
        _check_int("--passes", self.passes, 1)
        _check_int("--num-shards", self.num_shards, 1)
        if self.passes * self.num_shards > MAX_SHARD_FILES:
            raise UsageError(
                f"--passes {self.passes} x --num-shards {self.num_shards} is "
                f"{self.passes * self.num_shards:,} shard files per increment (at most "
                f"{MAX_SHARD_FILES:,}); lower --num-shards or --passes"
            )
        _check_int("--seed", self.seed, 0, None)
        _check_int("--block-bytes", self.block_bytes, MIN_BLOCK_BYTES)
        if self.shuffle not in SHUFFLES:
            raise UsageError(f"--shuffle must be files or runner, got {self.shuffle!r}")
        check_encoding(self.encoding)
        for option, value, choices in (("--errors", self.errors, ERRORS),
                                       ("--normalize", self.normalize, NORMALIZATIONS),
                                       ("--tokenizer", self.tokenizer, TOKENIZERS)):  # fmt: skip
            if value not in choices:
                raise UsageError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
        _check_phrases(self)
        if self.append and self.overwrite:
            raise UsageError(
                "--append adds to the dataset in --output and --overwrite replaces it: "
                "pass one of them"
            )

    def to_json(self) -> dict:
        """The config as a JSON-ready dict (for the manifest), less `shuffle`: like the runner, it
        decides how the dataset is made, not what it holds (both modes write the same bytes)."""
        settings = dataclasses.asdict(self)
        del settings["shuffle"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def sentence_pairs(window: int, max_sentence_length: int) -> int:
    """The most pairs one sentence makes (2 x its length x its window, at most), which
    MAX_SENTENCE_PAIRS bounds: every run that makes pairs, an --append's too, holds them."""
    return 2 * max_sentence_length * min(window, max_sentence_length - 1)


def check_encoding(encoding) -> None:
    """A codec Python knows that decodes bytes to text (not base64, zlib or rot13)."""
    if not is_text_codec(encoding):
        raise UsageError(
            f"--encoding {encoding!r} is not a text encoding Python knows: name one such as "
            "utf-8, latin-1, cp1252, utf-16, shift_jis or gb18030 (the list: "
            "docs.python.org/3/library/codecs.html#standard-encodings)"
        )


def _check_int(option: str, value, minimum: int, maximum: int | None = MAX_INT) -> None:
    """(The maximum: numbers past it overflow numpy's int64 draws or allocate without end.)"""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{option} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise UsageError(f"{option} must be at most {maximum}, got {value!r}")


def _check_phrases(config: PipelineConfig) -> None:
    """Check the phrase settings; a threshold not given (None) becomes the scorer's default."""
    _check_int("--phrases", config.phrases, 0, MAX_PHRASE_ROUNDS)
    _check_int("--phrase-min-count", config.phrase_min_count, 1)
    _check_int("--phrase-max-vocab", config.phrase_max_vocab, 1, None)
    if config.phrase_scorer not in PHRASE_SCORERS:
        raise UsageError(f"--phrase-scorer must be one of {', '.join(PHRASE_SCORERS)}, "
                         f"got {config.phrase_scorer!r}")  # fmt: skip
    if config.phrase_growth not in PHRASE_GROWTHS:
        raise UsageError(f"--phrase-growth must be one of {', '.join(PHRASE_GROWTHS)}, "
                         f"got {config.phrase_growth!r}")  # fmt: skip
    if config.phrase_words not in PHRASE_WORDS:
        raise UsageError(f"--phrase-words must be one of {', '.join(PHRASE_WORDS)}, "
                         f"got {config.phrase_words!r}")  # fmt: skip
    connectors = config.phrase_connectors
    if not isinstance(connectors, str) or not connectors:
        raise UsageError("--phrase-connectors must be english, none or a file of words, "
                         f"got {connectors!r}")  # fmt: skip
    if config.phrase_threshold is None:
        object.__setattr__(config, "phrase_threshold", PHRASE_THRESHOLDS[config.phrase_scorer])
    threshold = config.phrase_threshold
    number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not number or not abs(threshold) < float("inf"):
        raise UsageError(f"--phrase-threshold must be a finite number, got {threshold!r}")
    low, high = NPMI_RANGE
    if config.phrase_scorer == "npmi" and not low <= threshold < high:
        raise UsageError(
            f"--phrase-threshold {threshold:g} is outside npmi's range: with --phrase-scorer npmi "
            f"pass a threshold in [-1, 1) (its default is {PHRASE_THRESHOLDS['npmi']:g}; "
            "word2phrase's score takes thresholds such as 100)"
        )

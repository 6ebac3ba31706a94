"""`PipelineConfig`: every setting of the preprocessing pipeline, its defaults and its checks.

The dataclass defaults are the only defaults (the CLI reads them from here), and the config is
saved in the manifest next to what it produced.
"""

from __future__ import annotations

import codecs
import dataclasses
from dataclasses import dataclass

from sgns.errors import UsageError

# Text blocks are the pipeline's elements: big enough that per-element costs vanish next to the
# numpy work, small enough that a worker holds a handful of them (text, ids and pairs) at once.
DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024
# How a block's pairs reach their shard's writer (sgns.pipeline.pairs.merge): "files", a temporary
# piece file per block and shard under the output; "runner", an element per block and shard through
# the runner's GroupByKey (no objects but the shards). Both write the same dataset, byte for byte.
SHUFFLES = ("files", "runner")
# The most shard files one increment may have (passes x num_shards): each is a file, a
# manifest entry and, per block, a temporary piece; past this a run spends its time on them.
MAX_SHARD_FILES = 65_536
# What undecodable bytes do (sgns.pipeline.text.decoding): "limit" replaces them by U+FFFD but
# refuses a file where they are more than decoding.MAX_UNDECODABLE_SHARE of its bytes (and more than
# 3); "strict" refuses the first; "replace" and "ignore" replace or drop them all. Text before
# tokens: Unicode normalisation and the tokenizer (sgns.pipeline.text.format).
ERRORS = ("limit", "strict", "replace", "ignore")
NORMALIZATIONS = ("none", "nfc", "nfkc")
TOKENIZERS = ("whitespace", "words")
# Phrases (sgns.pipeline.phrases.table): rounds of bigram detection, scored as word2phrase or npmi,
# and each scorer's default threshold: npmi's measured on the dev corpus (docs/phrases.md: 0.5 costs
# WordSim 0.03-0.05, 0.6 and 0.7 about what any change of the text does), word2phrase's its own.
PHRASE_THRESHOLDS = {"npmi": 0.6, "word2phrase": 100.0}
PHRASE_SCORERS = tuple(PHRASE_THRESHOLDS)
# What a round after the first may join: "extend", a pair with a phrase of an earlier round at one
# end (new_york times); "any", every pair, as word2phrase and gensim's Phrases run again do (the
# words that an earlier round's phrases took fall in count, so pairs of theirs that scored below
# the threshold rise above it: united kingdom, once united_states is joined).
PHRASE_GROWTHS = ("extend", "any")
# A setting a dataset's manifest lacks (written before the setting was): what those runs did.
OLDER = {"phrase_growth": "any"}
MAX_PHRASE_ROUNDS = 10


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
    phrase_growth: str = "extend"  # one of PHRASE_GROWTHS

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
        _check_int("--passes", self.passes, 1)
        _check_int("--num-shards", self.num_shards, 1)
        if self.passes * self.num_shards > MAX_SHARD_FILES:
            raise UsageError(
                f"--passes {self.passes} x --num-shards {self.num_shards} is "
                f"{self.passes * self.num_shards:,} shard files per increment (at most "
                f"{MAX_SHARD_FILES:,}); lower --num-shards or --passes"
            )
        _check_int("--seed", self.seed, 0, None)
        _check_int("--block-bytes", self.block_bytes, 1024)
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


def check_encoding(encoding) -> None:
    """A codec Python knows that decodes bytes to text (not base64, zlib or rot13)."""
    try:
        info = codecs.lookup(encoding) if isinstance(encoding, str) else None
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UsageError(
            f"--encoding {encoding!r} is not a text encoding Python knows: name one such as "
            "utf-8, latin-1, cp1252, utf-16, shift_jis or gb18030 (the list: "
            "docs.python.org/3/library/codecs.html#standard-encodings)"
        )


def _check_int(option: str, value, minimum: int, maximum: int | None = 2**31 - 1) -> None:
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
    if config.phrase_scorer == "npmi" and not -1 <= threshold < 1:
        raise UsageError(
            f"--phrase-threshold {threshold:g} is outside npmi's range: with --phrase-scorer npmi "
            f"pass a threshold in [-1, 1) (its default is {PHRASE_THRESHOLDS['npmi']:g}; "
            "word2phrase's score takes thresholds such as 100)"
        )

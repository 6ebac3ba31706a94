"""The values of the pipeline's settings that a dataset's manifest records (its "config"): the
choices and bounds that sgns.pipeline.config.PipelineConfig checks a run's settings against, and
sgns.dataset.shape a manifest's recorded ones (a hand edit, a damaged disk) before a reader uses
them. Kept here, with neither Beam nor torch, so that both checks read the same values."""

from __future__ import annotations

import codecs

# The largest count a setting may be (but --seed and --phrase-max-vocab): numbers past it
# overflow numpy's int64 draws or allocate without end.
MAX_INT = 2**31 - 1
MIN_BLOCK_BYTES = 1024  # --block-bytes, of sgns-preprocess and of the phrase command
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
NPMI_RANGE = (-1.0, 1.0)  # npmi lies in [-1, 1]: a threshold in [-1, 1) keeps some pair
# What a round after the first may join: "extend", a pair with a phrase of an earlier round at one
# end (new_york times); "any", every pair, as word2phrase and gensim's Phrases run again do (the
# words that an earlier round's phrases took fall in count, so pairs of theirs that scored below
# the threshold rise above it: united kingdom, once united_states is joined).
PHRASE_GROWTHS = ("extend", "any")
# What becomes of the words a phrase joins, in the pairs: "keep", the words keep every pair they
# had without phrases and the phrase token gets the pairs it has in the phrased text (measured
# level with no phrases on single words, docs/phrases.md); "replace", the phrase token takes their
# place, as word2phrase's and gensim's phrased text does. A dataset older than the choice replaced.
PHRASE_WORDS = ("keep", "replace")
MAX_PHRASE_ROUNDS = 10


def is_text_codec(encoding) -> bool:
    """Whether `encoding` names a codec Python knows that decodes bytes to text (not base64,
    zlib or rot13)."""
    try:
        info = codecs.lookup(encoding) if isinstance(encoding, str) else None
    except LookupError:
        return False
    return info is not None and getattr(info, "_is_text_encoding", True)


# --poll-seconds of sgns-preprocess --watch and sgns-train --follow: at most a day (a wait past
# threading.TIMEOUT_MAX overflows), at least 10 ms (1e-320 was a busy loop without a pause).
MIN_POLL_SECONDS, MAX_POLL_SECONDS = 0.01, 86400


def poll_seconds_problem(seconds) -> str | None:
    """What is wrong with a --poll-seconds value, in the words of one error line; None if
    nothing."""
    number = not isinstance(seconds, bool) and isinstance(seconds, (int, float))
    if number and MIN_POLL_SECONDS <= seconds <= MAX_POLL_SECONDS:
        return None
    return (f"--poll-seconds must be at least {MIN_POLL_SECONDS} and at most {MAX_POLL_SECONDS} "
            f"(a day), got {seconds!r}")  # fmt: skip

"""Tokens of a text block: `str.split()` semantics, done by pyarrow where that is exactly equal.

Python's `str.split()` splits on ASCII whitespace, on \\x1c-\\x1f and on Unicode whitespace. For a
block that is pure ASCII without \\x1c-\\x1f, pyarrow's `ascii_split_whitespace` splits on the same
characters, runs in C++ and releases the GIL, so blocks like that take the fast path; any other
block takes the plain Python path. Both paths give the same tokens (tests pin it).

A token longer than MAX_TOKEN_CHARS characters (after lowercasing) is cut to its first
MAX_TOKEN_CHARS, as word2vec.c cuts a word at MAX_STRING (100 bytes there: characters here, so
that a word of a non-Latin script is not cut mid-character). Cut, not dropped: every token keeps
its place, so sentences, windows and token counts are those of the text, and a run of garbage
(a base64 blob, a line of minified code) stays one rare word instead of vanishing unnoticed. How
many tokens were cut is counted (the manifest's stats "long_tokens").
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SEPARATORS = ("\x1c", "\x1d", "\x1e", "\x1f")
MAX_TOKEN_CHARS = 100


def arrow_splits_like_python(text: str) -> bool:
    """Whether pyarrow's ASCII whitespace split equals `str.split()` on this text."""
    return text.isascii() and not any(s in text for s in _SEPARATORS)


def _arrow_tokens(text: str) -> tuple[pa.Array, np.ndarray]:
    """(tokens, tokens per line) by pyarrow; the text must pass `arrow_splits_like_python`."""
    lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
    words = pc.ascii_split_whitespace(lines)
    flat = words.flatten()
    nonempty = pc.greater(pc.binary_length(flat), 0)  # runs of whitespace give "" in arrow
    parents = pc.list_parent_indices(words).filter(nonempty).to_numpy()
    return flat.filter(nonempty), np.bincount(parents, minlength=len(lines))


COUNTS_SCHEMA = pa.schema([("word", pa.large_string()), ("count", pa.int64())])


def count_tokens(text: str, lowercase: bool) -> tuple[pa.Table, int, int]:
    """(count per distinct word as a table with COUNTS_SCHEMA, number of tokens, number of
    tokens cut to MAX_TOKEN_CHARS) of a text."""
    if lowercase:
        text = text.lower()
    if not arrow_splits_like_python(text):
        tokens = text.split()
        counts = Counter(tokens)
        table, cut = _cut_long_words(pa.table([list(counts), list(counts.values())],
                                              schema=COUNTS_SCHEMA))  # fmt: skip
        return table, len(tokens), cut
    flat, _ = _arrow_tokens(text)
    counted = pc.value_counts(flat)
    table = pa.table([counted.field("values"), counted.field("counts")], schema=COUNTS_SCHEMA)
    table, cut = _cut_long_words(table)
    return table, len(flat), cut


def _cut_long_words(table: pa.Table) -> tuple[pa.Table, int]:
    """A count table with its words longer than MAX_TOKEN_CHARS cut (and summed with equal
    words), and how many tokens were cut."""
    long = pc.greater(pc.utf8_length(table["word"]), MAX_TOKEN_CHARS)
    cut = pc.sum(table["count"].filter(long)).as_py() or 0
    if not cut:
        return table, 0
    words = pc.utf8_slice_codeunits(table["word"], 0, MAX_TOKEN_CHARS)
    grouped = pa.table([words, table["count"]], schema=COUNTS_SCHEMA).group_by(
        "word", use_threads=False
    )  # one thread: as merge_counts
    summed = grouped.aggregate([("count", "sum")])
    return pa.table([summed["word"], summed["count_sum"]], schema=COUNTS_SCHEMA), cut


def merge_counts(tables: list[pa.Table]) -> pa.Table:
    """Count tables (COUNTS_SCHEMA) summed per word, in Arrow's hash aggregation (C++): about
    faster than Counter.update on per-block counts (BENCHMARKS.md, figures)."""
    if not tables:
        return COUNTS_SCHEMA.empty_table()
    if len(tables) == 1:
        return tables[0]
    # one thread: Arrow's thread pool keeps freed memory per thread (BENCHMARKS.md, figures)
    grouped = pa.concat_tables(tables).group_by("word", use_threads=False)
    summed = grouped.aggregate([("count", "sum")])
    # one chunk: the aggregation's chunks are slices of one buffer, each pickled whole
    return pa.table([summed["word"], summed["count_sum"]], schema=COUNTS_SCHEMA).combine_chunks()


def counts_dict(table: pa.Table) -> Counter:
    """A count table as a Counter."""
    return Counter(dict(zip(table["word"].to_pylist(), table["count"].to_pylist())))


def token_ids(text: str, ids: dict, lowercase: bool) -> tuple[np.ndarray, np.ndarray]:
    """(word id per token, -1 for a word not in `ids`; number of tokens per line) of a text.

    `ids` must return -1 for a missing word (see `sgns.pipeline.pairs.draw.WordIds`).
    """
    if lowercase:
        text = text.lower()
    if not arrow_splits_like_python(text):
        tokens: list[str] = []
        lengths = []
        for line in text.split("\n"):
            words = [word[:MAX_TOKEN_CHARS] for word in line.split()]
            tokens += words
            lengths.append(len(words))
        word_ids = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int32, count=len(tokens))
        return word_ids, np.array(lengths, dtype=np.int64)
    flat, lengths = _arrow_tokens(text)
    encoded = pc.dictionary_encode(flat)  # look up each distinct word once, not each token
    distinct = pc.utf8_slice_codeunits(encoded.dictionary, 0, MAX_TOKEN_CHARS).to_pylist()
    lookup = np.fromiter(map(ids.__getitem__, distinct), dtype=np.int32, count=len(distinct))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return lookup[indices], lengths.astype(np.int64)

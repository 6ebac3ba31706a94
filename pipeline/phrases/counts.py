"""A phrase round's counts, from the blocks' tables to the phrases (no Beam here): summed per key
and pruned (`Summed`, the accumulator of the round's CombineFn, sgns.pipeline.phrases.detect),
then scored (`scores`: word2phrase's or gensim's npmi, the formulas in sgns.pipeline.phrases.table)
and kept when they make phrases (`kept`).

A key's sum is pruned as word2phrase's ReduceVocab prunes its table (drop counts <= min_reduce,
then min_reduce += 1, until it fits) whenever it holds more than `cap` pairs (phrase_max_vocab
over the keys: gensim's max_vocab_size bound). Pruning undercounts (a dropped pair restarts from
0), and where it happened depends on how the runner grouped the counts; the manifest counts the
pairs dropped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sgns.errors import UsageError
from sgns.pipeline.config import PHRASE_SCORERS
from sgns.pipeline.text.tokens import merge_counts

COMPACT_AT = 16  # count tables held by an accumulator before they are summed (and pruned)


class Summed(NamedTuple):
    """A key's count tables summed so far (an accumulator of the round's CombineFn)."""

    tables: list  # COUNTS_SCHEMA tables, summed into one at COMPACT_AT
    min_reduce: int = 1  # word2phrase's: the next pruning drops counts <= this
    pruned: int = 0  # pairs dropped by pruning


def add_counts(summed: Summed, table: pa.Table | None, cap: int | None) -> Summed:
    """One more count table (None: nothing) in the sum; `cap`: the most pairs it may hold."""
    if table is None:
        return summed
    tables = summed.tables + [table]
    if len(tables) < COMPACT_AT:
        return summed._replace(tables=tables)
    return compact(summed._replace(tables=tables), cap)


def merge_summed(parts: list[Summed], cap: int | None) -> Summed:
    tables = [t for part in parts for t in part.tables]
    min_reduce = max((part.min_reduce for part in parts), default=1)
    return compact(Summed(tables, min_reduce, sum(part.pruned for part in parts)), cap)


def compact(summed: Summed, cap: int | None) -> Summed:
    """The sum as one table, pruned down to `cap` rows (module docstring) unless cap is None."""
    table, min_reduce, pruned = merge_counts(summed.tables), summed.min_reduce, summed.pruned
    while cap is not None and table.num_rows > cap:
        survivors = table.filter(pc.greater(table["count"], min_reduce))
        pruned += table.num_rows - survivors.num_rows
        table, min_reduce = survivors, min_reduce + 1
    return Summed([table], min_reduce, pruned)


def frequent_words(table: pa.Table, min_count: int) -> dict:
    """The words of a count table seen at least min_count times, with their counts."""
    table = table.filter(pc.greater_equal(table["count"], min_count))
    return dict(zip(table["word"].to_pylist(), table["count"].to_pylist()))


def scores(
    pair_counts: np.ndarray,
    left_counts: np.ndarray,
    right_counts: np.ndarray,
    total: int,
    min_count: int,
    scorer: str,
) -> np.ndarray:
    """The score of each pair (float64): word2phrase's or gensim's npmi (phrases.table)."""
    pab, pa, pb = (
        np.asarray(c, dtype=np.float64) for c in (pair_counts, left_counts, right_counts)
    )
    if scorer == "word2phrase":
        return (pab - min_count) / pa / pb * float(total)
    if scorer != "npmi":
        raise UsageError(
            f"--phrase-scorer must be one of {', '.join(PHRASE_SCORERS)}, got {scorer!r}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        pab, pa, pb = pab / total, pa / total, pb / total
        return np.log(pab / (pa * pb)) / -np.log(pab)


def kept(pairs: list[tuple], unigrams: dict, total: int, settings) -> list[tuple]:
    """(left, right, score, count, between) of the pairs (left, right, count(ab), between) that
    make phrases under `settings` (a PipelineConfig: phrase_min_count, phrase_threshold,
    phrase_scorer), given every word's count of at least phrase_min_count (`unigrams`) and the
    round's number of tokens."""
    min_count = settings.phrase_min_count
    pairs = [p for p in pairs if p[2] >= min_count]
    if not pairs:
        return []
    left = np.array([unigrams.get(p[0], 0) for p in pairs], dtype=np.int64)
    right = np.array([unigrams.get(p[1], 0) for p in pairs], dtype=np.int64)
    count = np.array([p[2] for p in pairs], dtype=np.int64)
    score = scores(count, left, right, total, min_count, settings.phrase_scorer)
    ok = (left >= min_count) & (right >= min_count) & (score > settings.phrase_threshold)
    return [(p[0], p[1], float(s), p[2], p[3]) for p, s, keep in zip(pairs, score, ok) if keep]

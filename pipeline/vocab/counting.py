"""What the vocabulary run computes, as plain functions (no Beam here): per-block word counts and
statistics, and the vocabulary chosen from the corpus's counts (count -> filter by min_count ->
top max_vocab -> order by count descending, ties by word, as tf.Transform's vocabulary)."""

from __future__ import annotations

import itertools
from collections import Counter
from operator import itemgetter
from typing import NamedTuple

import pyarrow as pa

from sgns.dataset import vocab_fingerprint, words_fingerprint
from sgns.errors import UsageError
from sgns.pipeline.text.blocks import Block
from sgns.pipeline.text.decoding import merge_tallies, refuse_undecodable
from sgns.pipeline.text.tokens import count_tokens, merge_counts


class CorpusStats(NamedTuple):
    """What the vocabulary pass saw, summed over blocks."""

    lines: int = 0
    tokens: int = 0
    replaced_bytes: int = 0
    blocks: int = 0
    errors: tuple[str, ...] = ()  # inputs that could not be read to their end (Block.error)
    long_tokens: int = 0  # tokens cut to sgns.pipeline.text.tokens.MAX_TOKEN_CHARS
    undecodable: tuple = ()  # sources' Block.undecodable (--errors limit)

    def add(self, other: CorpusStats) -> CorpusStats:
        return CorpusStats(*(a + b for a, b in zip(self, other)))


def count_block(block: Block, lowercase: bool) -> tuple[pa.Table, CorpusStats]:
    """Word counts (a table: text.tokens.COUNTS_SCHEMA) and statistics of one block."""
    counts, tokens, cut = count_tokens(block.text, lowercase)
    if block.phrased is not None:  # --phrase-words keep: the words' tokens, and the phrases'
        phrases, more, _ = count_tokens(phrase_tokens(*block.phrased), False)
        counts, tokens = merge_counts([counts, phrases]), tokens + more
    errors = (block.error,) if block.error else ()
    undecodable = (block.undecodable,) if block.undecodable else ()
    stats = CorpusStats(block.lines, tokens, block.replaced_bytes, 1, errors, cut, undecodable)
    return counts, stats


def phrase_tokens(text: str, phrase: bytes) -> str:
    """The phrase tokens of a phrased text (Block.phrased), a space between each."""
    return " ".join(itertools.compress(text.split(), phrase))


def select_vocabulary(
    counts: Counter, min_count: int, max_vocab: int | None, old_words: list[str] = ()
) -> tuple[list[str], list[int]]:
    """The old words (ids unchanged), then the other words with count >= min_count, by count
    descending then word, until max_vocab words in all (old words are never evicted); with their
    counts from `counts`."""
    old = set(old_words)
    kept = [(w, c) for w, c in counts.items() if c >= min_count and w not in old]
    kept.sort()  # by word (words are distinct); filter first: cheaper, same result
    kept.sort(key=itemgetter(1), reverse=True)  # then by count descending: stable, ties by word
    if max_vocab is not None:
        kept = kept[: max(0, max_vocab - len(old_words))]
    words = list(old_words) + [w for w, _ in kept]
    return words, [counts[w] for w in words]


def summarize(
    counts: Counter,
    stats: CorpusStats,
    min_count: int,
    max_vocab: int | None,
    base: tuple[list[str], Counter] = ((), Counter()),
):
    """(words, counts, every word's count, summary dict) of an increment's counts added to those
    of the increments before (`base`: their vocabulary, whose ids stay, and every word's count).
    The summary goes into the manifest; its oov_tokens are the increment's own tokens outside
    the new vocabulary."""
    old_words, merged = base[0], base[1] + counts
    words, word_counts = select_vocabulary(merged, min_count, max_vocab, old_words)
    summary = {
        "size": len(words),
        "total_count": sum(word_counts),
        "new_words": len(words) - len(old_words),
        "distinct_words": len(merged),
        "counts_total": sum(merged.values()),
        "lines": stats.lines,
        "tokens": stats.tokens,
        "oov_tokens": stats.tokens - sum(counts[w] for w in words if w in counts),
        "replaced_bytes": stats.replaced_bytes,
        "long_tokens": stats.long_tokens,
        "blocks": stats.blocks,
        "bad_inputs": sorted(stats.errors),
        "undecodable": merge_tallies(stats.undecodable),
    }
    return words, word_counts, merged, summary


def check_vocabulary(summary: dict, min_count: int, paths: list[str] = ()) -> None:
    """Refuse unreadable inputs, files with too many undecodable bytes, an empty corpus or an
    empty vocabulary (of the input files `paths`), with the fix."""
    bad = summary.get("bad_inputs", [])
    if bad:
        more = f" (and {len(bad) - 1} more input(s) like it)" if len(bad) > 1 else ""
        raise UsageError(bad[0] + more)
    refuse_undecodable(summary.get("undecodable", []))
    if summary["tokens"] == 0:
        named = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        raise UsageError(f"the corpus is empty: the input files ({named}) hold no tokens")
    if summary["size"] == 0:
        raise UsageError(
            f"the vocabulary is empty: no word occurs --min-count {min_count} times "
            f"({summary['distinct_words']} distinct words; lower --min-count or add text)"
        )


def everything_seen(merged: Counter) -> tuple[list[str], list[int]]:
    """Every word seen, in counts.tsv's order (count descending, then word), and its count."""
    return select_vocabulary(merged, 1, None)


def add_fingerprints(summary: dict, words, word_counts, seen, seen_counts) -> dict:
    """The summary's sha256 fingerprints of the vocabulary, its words, and counts.tsv."""
    summary["vocab_sha256"] = vocab_fingerprint(words, word_counts)
    summary["words_sha256"] = words_fingerprint(words)
    summary["counts_sha256"] = vocab_fingerprint(seen, seen_counts)
    return summary

"""What a phrase round computes per block, and a phrase table applied to a block: plain functions
over numpy and Arrow (no Beam here), shared by the Beam stages (sgns.pipeline.phrases.detect) and
the build without Beam (sgns.pipeline.local), which therefore write the same phrases.tsv.

Tokens are those the pipeline counts (`str.split()` of each line, after `--lowercase`), in the
sentences sgns.pipeline.pairs.draw cuts (a line, and every max_sentence_length tokens of it); a
block's distinct words are numbered once (Arrow's dictionary encoding) and everything after that is
numpy on word numbers. A pair is a word that is no connector and the next such word (`_ends`), the
connectors between included; without connector words, two adjacent words. A round's pairs are
looked up as (left, right) numbers (those with connectors between checked one by one), the greedy
left-to-right join is a parity rule on runs of joinable pairs, and a block's pair counts are
`np.unique` of left * words + right (with connectors between: of their text). A phrase never
crosses a sentence nor a block (a line longer than a block, text8's one line, loses only the
pairs that straddle its cuts).

A round's counts are keyed for the runner: the block's word counts under UNIGRAMS, its pair
counts ("left right", "left of right": tokens hold no space) split over BUCKETS keys by a hash of
the two ends, so that no machine ever holds every pair's count: each key is summed on its own,
and pruned to at most phrase_max_vocab / BUCKETS pairs (`bucket_cap`; sgns.pipeline.phrases.counts).
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sgns.pipeline.pairs.draw import sentence_ids
from sgns.pipeline.phrases.counts import Summed, add_counts, compact, frequent_words, kept
from sgns.pipeline.phrases.table import JOINER, Phrases, round_rows, round_summary
from sgns.pipeline.text.blocks import Block
from sgns.pipeline.text.tokens import (
    COUNTS_SCHEMA,
    MAX_TOKEN_CHARS,
    arrow_splits_like_python,
)

UNIGRAMS = -1  # the key of a block's word counts; pair counts go under 0 .. BUCKETS - 1
BUCKETS = 64
PAIR_SEPARATOR = " "


class Tokens(NamedTuple):
    """A block's tokens: its distinct words (Arrow strings), the word number of each token and
    the sentence number of each token."""

    words: pa.Array
    ids: np.ndarray
    sentences: np.ndarray


class RoundTable(NamedTuple):
    """One round's phrases as a worker keeps them: the pairs without connector words between
    (`lefts`, `rights`), those with (`spans`: (left, right, between) tuples), every connector
    word their phrases hold (`connectors`) and the phrases themselves (`made`)."""

    lefts: pa.Array
    rights: pa.Array
    spans: tuple
    connectors: pa.Array
    made: pa.Array


def prepare(phrases: Phrases | None) -> list[RoundTable]:
    """Each round of a phrase table as a worker keeps it (RoundTable)."""
    tables = []
    for pairs in (sorted(r) for r in (phrases.rounds if phrases is not None else [])):
        plain = [(left, right) for left, right, between in pairs if not between]
        spans = tuple(pair for pair in pairs if pair[2])
        connectors = sorted({word for _, _, between in spans for word in between})
        made = [JOINER.join((left, *between, right)) for left, right, between in pairs]
        tables.append(RoundTable(
            pa.array([p[0] for p in plain], pa.large_string()),
            pa.array([p[1] for p in plain], pa.large_string()),
            spans, pa.array(connectors, pa.large_string()),
            pa.array(made, pa.large_string())))  # fmt: skip
    return tables


def block_tokens(block: Block, lowercase: bool, max_sentence_length: int) -> Tokens:
    """The tokens and sentences of a block, as sgns.pipeline.text.tokens and pairs make them (the
    words uncut: a word longer than MAX_TOKEN_CHARS is never part of a phrase)."""
    text = block.text.lower() if lowercase else block.text
    if arrow_splits_like_python(text):  # the C++ split, as sgns.pipeline.text.tokens takes it
        lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
        split = pc.ascii_split_whitespace(lines)
        flat = split.flatten()
        nonempty = pc.greater(pc.binary_length(flat), 0)
        parents = pc.list_parent_indices(split).filter(nonempty).to_numpy()
        flat, lengths = flat.filter(nonempty), np.bincount(parents, minlength=len(lines))
    else:
        per_line = [line.split() for line in text.split("\n")]
        flat = pa.array([w for words in per_line for w in words], pa.large_string())
        lengths = np.array([len(words) for words in per_line], dtype=np.int64)
    encoded = pc.dictionary_encode(flat)
    ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return Tokens(encoded.dictionary, ids, sentence_ids(lengths, block.carry, max_sentence_length))


def _numbers(words: pa.Array, among: pa.Array) -> np.ndarray:
    """Each word's number in `among`, -1 where it is not there."""
    return pc.fill_null(pc.index_in(words, value_set=among), -1).to_numpy().astype(np.int64)


def greedy(joinable: np.ndarray) -> np.ndarray:
    """Which positions i join with i + 1, left to right as word2phrase joins: a position whose
    pair is joinable joins unless it was just joined into the pair before it; within a run of
    joinable positions that is every other one from the run's start."""
    if not joinable.any():
        return joinable
    starts = joinable & ~np.concatenate(([False], joinable[:-1]))
    first = np.flatnonzero(starts)[np.maximum(np.cumsum(starts) - 1, 0)]
    return joinable & ((np.arange(len(joinable)) - first) % 2 == 0)


def _concat(words: pa.Array, left: np.ndarray, right: np.ndarray) -> pa.Array:
    """words[left[k]] + PAIR_SEPARATOR + words[right[k]] for each k."""
    joiner = pa.scalar(PAIR_SEPARATOR, pa.large_string())
    return pc.binary_join_element_wise(words.take(left), words.take(right), joiner)


def _ends(words: pa.Array, ids: np.ndarray, sentences: np.ndarray, connectors: pa.Array):
    """(a, b, same): the positions of each word that is no connector (a), of the next such word
    (b), and whether both are in one sentence (same): then (a, b) is a phrase's candidate, with
    the connectors between. Consecutive candidates share a word (b[k] == a[k + 1])."""
    connector = np.zeros(len(words), dtype=bool)
    numbers = _numbers(connectors, words) if len(connectors) else np.empty(0, np.int64)
    connector[numbers[numbers >= 0]] = True
    ends = np.flatnonzero(~connector[ids])
    a, b = ends[:-1], ends[1:]
    return a, b, sentences[a] == sentences[b]


def _spans(tokens: Tokens, a: np.ndarray, b: np.ndarray, separator: str) -> pa.Array:
    """The tokens a[k] .. b[k] of each span k joined with separator (one string each)."""
    words, ids, _ = tokens
    lengths = b - a + 1
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    at = np.repeat(a - offsets[:-1], lengths) + np.arange(offsets[-1])
    parts = pa.LargeListArray.from_arrays(pa.array(offsets), words.take(pa.array(ids[at])))
    return pc.binary_join(parts, pa.scalar(separator, pa.large_string()))


def join_round(tokens: Tokens, table: RoundTable) -> Tokens:
    """The tokens with one round's phrases joined, greedily left to right."""
    joined = _join_round(tokens, table)
    return tokens if joined is None else joined[0]


def _join_round(tokens: Tokens, table: RoundTable) -> tuple[Tokens, np.ndarray, np.ndarray] | None:
    """(`join_round`'s tokens, the positions of its phrases in `tokens`, which of `tokens`
    remain); None when no phrase joins."""
    words, ids, sentences = tokens
    n = len(words)
    if len(ids) < 2:
        return None
    a, b, same = _ends(words, ids, sentences, table.connectors)
    left, right = _numbers(table.lefts, words), _numbers(table.rights, words)
    codes = left[(left >= 0) & (right >= 0)] * n + right[(left >= 0) & (right >= 0)]
    pairs = ids[a] * n + ids[b]
    joinable = (b == a + 1) & np.isin(pairs, codes)
    if table.spans:
        joinable |= _spans_joinable(tokens, a, b, pairs, table.spans)
    joinable &= same
    at = np.flatnonzero(greedy(joinable))
    if not len(at):
        return None
    a, b = a[at], b[at]
    encoded = pc.dictionary_encode(_spans(tokens, a, b, JOINER))  # one word per phrase
    new_words = encoded.dictionary
    numbers = _numbers(new_words, words)  # a phrase may already be a word of the text
    fresh = numbers < 0
    numbers[fresh] = n + np.arange(int(fresh.sum()))
    ids = ids.copy()
    ids[a] = numbers[encoded.indices.to_numpy(zero_copy_only=False)]
    inside = np.zeros(len(ids) + 1, dtype=np.int64)  # +1 after a span's start, -1 after its end
    np.add.at(inside, np.concatenate((a + 1, b + 1)), np.repeat([1, -1], len(a)))
    keep = np.cumsum(inside[:-1]) == 0
    words = pa.concat_arrays([words, new_words.filter(pa.array(fresh))])
    return Tokens(words, ids[keep], sentences[keep]), a, keep


def _spans_joinable(tokens: Tokens, a, b, pairs: np.ndarray, spans: tuple) -> np.ndarray:
    """Which candidates (a, b) are a phrase of `spans` (left, right, between): their ends and
    the connectors between them (few candidates: a Python check of those whose ends match)."""
    words, ids, _ = tokens
    n = len(words)
    names = sorted({w for left, right, between in spans for w in (left, right, *between)})
    number = dict(zip(names, _numbers(pa.array(names, pa.large_string()), words).tolist()))
    wanted = {(number[left], number[right], tuple(number[w] for w in between))
              for left, right, between in spans}  # fmt: skip
    codes = [left * n + right for left, right, between in wanted if min(left, right, *between) >= 0]
    joinable = np.zeros(len(a), dtype=bool)
    for k in np.flatnonzero((b > a + 1) & np.isin(pairs, codes)):
        joinable[k] = (ids[a[k]], ids[b[k]], tuple(ids[a[k] + 1 : b[k]].tolist())) in wanted
    return joinable


def phrased(block: Block, config, rounds: list) -> Tokens:
    """The block's tokens with the rounds' phrases (`prepare`) joined, round after round."""
    return marked_phrases(block, config, rounds)[0]


def marked_phrases(block: Block, config, rounds: list) -> tuple[Tokens, np.ndarray]:
    """`phrased`'s tokens, and which of them a round joined (not a word of the text that is
    written as a phrase is: that is a word as any other)."""
    tokens = block_tokens(block, config.lowercase, config.max_sentence_length)
    made = np.zeros(len(tokens.ids), dtype=bool)
    for table in rounds:
        joined = _join_round(tokens, table)
        if joined is not None:
            tokens, starts, kept = joined
            made[starts] = True
            made = made[kept]
    return tokens, made


def join_block(block: Block, config, rounds: list) -> Block:
    """The block with its text rewritten as its phrased tokens, a sentence a line (so that every
    later stage, tokenising it again, finds these tokens and these sentences; a line's first
    sentence may continue the block before's, which no stage needs to know: carry 0). With
    --phrase-words keep, the text stays and the phrased text and which of its tokens are phrases
    go beside it (Block.phrased: the counts add the phrases, the pairs their own)."""
    (words, ids, sentences), made = marked_phrases(block, config, rounds)
    keep = config.phrase_words == "keep"
    if not len(ids):
        return block._replace(phrased=("", b"")) if keep else block._replace(text="", carry=0)
    starts = np.flatnonzero(np.concatenate(([True], sentences[1:] != sentences[:-1])))
    offsets = pa.array(np.append(starts, len(ids)).astype(np.int32))
    tokens = pa.ListArray.from_arrays(offsets, words.take(pa.array(ids)))
    lines = pc.binary_join(tokens, pa.scalar(" ", pa.large_string()))
    text = "\n".join(lines.to_pylist()) + "\n"
    if not keep:
        return block._replace(text=text, carry=0)
    return block._replace(phrased=(text, made.tobytes()))  # (the words' text kept)


def count_block(block: Block, config, rounds: list, connectors: pa.Array):
    """(key, count table) of one block in a round after `rounds`: (UNIGRAMS, word counts), then
    (bucket, pair counts) for each bucket the block has pairs in (keys module docstring). A
    pair's key is its words, the `connectors` between them included, joined with a space."""
    tokens = phrased(block, config, rounds)
    words, ids, sentences = tokens
    n = len(words)
    counts = np.bincount(ids, minlength=n)
    present = pa.array(counts > 0)
    keyed = [
        (UNIGRAMS, pa.table([words.filter(present), counts[counts > 0]], schema=COUNTS_SCHEMA))
    ]
    if len(ids) < 2:
        return keyed
    a, b, same = _ends(words, ids, sentences, connectors)
    length = np.concatenate(([0], np.cumsum(pc.utf8_length(words).to_numpy()[ids])))
    fits = same & (length[b + 1] - length[a] + (b - a) * len(JOINER) <= MAX_TOKEN_CHARS)
    a, b = a[fits], b[fits]
    if rounds and config.phrase_growth == "extend":  # a pair that grows an earlier phrase
        made = pa.concat_arrays([table.made for table in rounds])
        made = pc.is_in(words, value_set=made).to_numpy(zero_copy_only=False)
        grows = made[ids[a]] | made[ids[b]]
        a, b = a[grows], b[grows]
    plain = b == a + 1
    distinct, pair_counts = np.unique(ids[a[plain]] * n + ids[b[plain]], return_counts=True)
    left, right, text = distinct // n, distinct % n, _concat(words, distinct // n, distinct % n)
    if not plain.all():  # pairs with connectors between: counted by their text
        a, b = a[~plain], b[~plain]
        encoded = pc.dictionary_encode(_spans(tokens, a, b, PAIR_SEPARATOR))
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        first = np.unique(indices, return_index=True)[1]
        left, right = np.concatenate((left, ids[a[first]])), np.concatenate((right, ids[b[first]]))
        text = pa.concat_arrays([text, encoded.dictionary])
        pair_counts = np.concatenate((pair_counts, np.bincount(indices)))
    hashes = np.array([zlib.crc32(w.encode()) for w in words.to_pylist()], dtype=np.uint64)
    buckets = (hashes[left] * np.uint64(0x9E3779B1) + hashes[right]) % np.uint64(BUCKETS)
    order = np.argsort(buckets, kind="stable")
    bounds = np.searchsorted(buckets[order], np.arange(BUCKETS + 1))
    for bucket in range(BUCKETS):
        if bounds[bucket] < bounds[bucket + 1]:
            rows = pa.array(order[bounds[bucket] : bounds[bucket + 1]])
            table = pa.table(
                [text.take(rows), pa.array(pair_counts).take(rows)], schema=COUNTS_SCHEMA
            )
            keyed.append((bucket, table))
    return keyed


def bucket_cap(config) -> int:
    """The most pairs one bucket's sum holds: phrase_max_vocab over the buckets."""
    return max(1, -(-config.phrase_max_vocab // BUCKETS))


def score_bucket(table: pa.Table, unigrams: dict, total: int, config) -> list[tuple]:
    """The phrases (left, right, between, score, count) of one bucket's summed pair counts."""
    table = table.filter(pc.greater_equal(table["count"], config.phrase_min_count))
    pairs = []
    for key, count in zip(table["word"].to_pylist(), table["count"].to_pylist()):
        left, *between, right = key.split(PAIR_SEPARATOR)
        pairs.append((left, right, count, tuple(between)))
    return kept(pairs, unigrams, total, config)


def detect_rounds(config, blocks: list[Block], connectors=()) -> tuple[list, list[dict]]:
    """--phrases without Beam: (the table's rows, each round's summary), rounds as the Beam runs
    make them (sgns.pipeline.runs.detect_phrases), stopping after a round that finds none;
    `connectors`: the words of --phrase-connectors (phrases.connector_words)."""
    rows: list = []
    summaries = []
    words = pa.array(list(connectors), pa.large_string())
    for number in range(1, config.phrases + 1):
        found, summary = detect_round(config, blocks, prepare(Phrases(rows)), number, words)
        rows, summaries = rows + found, summaries + [summary]
        if not found:
            break
    return rows, summaries


def detect_round(config, blocks: list[Block], rounds: list, number: int, connectors: pa.Array):
    """One round without Beam, as sgns.pipeline.phrases.detect runs it: (its rows, its
    summary). Each key's tables are summed in block order."""
    sums: dict[int, Summed] = {}
    cap = bucket_cap(config)
    for block in blocks:
        for key, table in count_block(block, config, rounds, connectors):
            limit = None if key == UNIGRAMS else cap
            sums[key] = add_counts(sums.get(key, Summed([])), table, limit)
    words = compact(sums.pop(UNIGRAMS, Summed([])), None).tables[0]
    total = int(pc.sum(words["count"]).as_py() or 0)
    unigrams = frequent_words(words, config.phrase_min_count)
    found, bigrams, pruned = [], 0, 0
    for key in sorted(sums):
        summed = compact(sums[key], cap)
        found += score_bucket(summed.tables[0], unigrams, total, config)
        bigrams, pruned = bigrams + summed.tables[0].num_rows, pruned + summed.pruned
    rows = round_rows(found, number)
    return rows, round_summary(number, total, words.num_rows, bigrams, pruned, len(rows))

"""Count the vocabulary over the whole corpus and write the vocabulary file.

Stages as in tf.Transform: count (one Arrow table of counts per block, summed by a CombineFn with
Arrow's hash aggregation, because one element per word is slow: BENCHMARKS.md, "Figures behind
the defaults") -> filter by min_count -> top max_vocab -> order by count descending, ties by word
-> write vocab.tsv. What goes on is the file's path only: the pair stage loads the file once per
worker, it is never a pickled side input. The vocabulary is its own pipeline run: the driver
checks its summary before the pairs run starts.

The sum is a CombinePerKey under one key, which runners lift (partial sums before the shuffle),
not CombineGlobally: its default value for an empty input is a side input, and Beam's DaskRunner
computes a side input again inside the step that reads it. One empty element (`None`) makes sure
there is an output for an empty corpus.
"""

from __future__ import annotations

import json
import logging
from collections import Counter

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from sgns.dataset import (
    COUNTS_FILE,
    VOCAB_FILE,
    format_vocab,
    parse_vocab,
)
from sgns.files import TEMP_PREFIX
from sgns.pipeline.dataset.outputs import write_bytes
from sgns.pipeline.progress import Progress
from sgns.pipeline.text.blocks import Block
from sgns.pipeline.text.tokens import counts_dict, merge_counts
from sgns.pipeline.vocab.counting import (
    CorpusStats,
    add_fingerprints,
    count_block,
    everything_seen,
    summarize,
)

log = logging.getLogger(__name__)


def write_vocabulary(path: str, words: list[str], counts: list[int]) -> None:
    """Write the vocabulary file (any Beam filesystem, atomically: dataset.outputs)."""
    write_bytes(path, format_vocab(words, counts))


def load_vocabulary(path: str) -> tuple[list[str], list[int]]:
    """Words and counts, in id order, of a vocabulary file on any Beam filesystem."""
    with FileSystems.open(path) as f:
        return parse_vocab(f.read(), path)


class CountBlocksFn(beam.DoFn):
    """Block -> (count table, CorpusStats); a DoFn only to keep its progress log's state."""

    def __init__(self, lowercase: bool):
        self._lowercase = lowercase

    def setup(self):
        self._progress = Progress("vocabulary")

    def process(self, block: Block):
        counts, stats = count_block(block, self._lowercase)
        self._progress.add(stats.tokens)
        yield counts, stats


class MergeCountsFn(beam.CombineFn):
    """Merges (count table, CorpusStats) per block into (Counter, CorpusStats) for the corpus.

    The accumulator is a list of count tables (sgns.pipeline.text.tokens.COUNTS_SCHEMA), summed by
    Arrow's hash aggregation whenever it holds COMPACT_AT of them: memory stays within a few
    tables of distinct words, and no per-word Python work is done until the end.
    """

    COMPACT_AT = 16

    def create_accumulator(self):
        return [], CorpusStats()

    def add_input(self, accumulator, element):
        if element is None:  # the one empty element (see the module docstring)
            return accumulator
        tables, stats = accumulator
        tables.append(element[0])
        if len(tables) >= self.COMPACT_AT:
            tables[:] = [merge_counts(tables)]
        return tables, stats.add(element[1])

    def merge_accumulators(self, accumulators):
        tables, stats = [], CorpusStats()
        for more_tables, more_stats in accumulators:
            tables += more_tables
            stats = stats.add(more_stats)
        return [merge_counts(tables)], stats

    def compact(self, accumulator):
        return [merge_counts(accumulator[0])], accumulator[1]

    def extract_output(self, accumulator):
        return counts_dict(merge_counts(accumulator[0])), accumulator[1]


def summary_path(output: str) -> str:
    """Where the vocabulary run leaves its summary for the driver (removed with the run)."""
    return FileSystems.join(output, TEMP_PREFIX + "vocab-summary.json")


def read_summary(output: str) -> dict:
    with FileSystems.open(summary_path(output)) as f:
        return json.loads(f.read().decode())


def load_base(base: str | None) -> tuple[list[str], Counter]:
    """(words in id order, every word's count) of the increments before, from the folder holding
    their vocab.tsv and counts.tsv; nothing for an initial build."""
    if base is None:
        return [], Counter()
    words, _ = load_vocabulary(FileSystems.join(base, VOCAB_FILE))
    seen, seen_counts = load_vocabulary(FileSystems.join(base, COUNTS_FILE))
    return words, Counter(dict(zip(seen, seen_counts)))


class CountVocabulary(beam.PTransform):
    """PCollection[Block] -> writes vocab.tsv, counts.tsv and the summary file in `output`;
    PCollection[summary dict].

    With `base` (a folder holding the previous vocab.tsv and counts.tsv), the blocks' counts are
    added to the previous counts and the vocabulary grows: old words keep their ids.
    Never fails on an empty vocabulary: the driver reads the summary and reports it in one line
    (an error raised inside a pipeline reaches the user wrapped in runner tracebacks).
    """

    def __init__(
        self,
        output: str,
        lowercase: bool,
        min_count: int,
        max_vocab: int | None,
        base: str | None = None,
    ):
        super().__init__()
        self._output = output
        self._lowercase = lowercase
        self._min_count = min_count
        self._max_vocab = max_vocab
        self._base = base

    def expand(self, blocks):
        none = blocks.pipeline | "NoCounts" >> beam.Create([None])
        return (
            (blocks | "CountBlocks" >> beam.ParDo(CountBlocksFn(self._lowercase)), none)
            | "AddNoCounts" >> beam.Flatten()
            | "KeyWithNone" >> beam.Map(lambda counts: (None, counts))
            | "MergeCounts" >> beam.CombinePerKey(MergeCountsFn())
            | "WriteVocabulary" >> beam.MapTuple(self._write)
        )

    def _write(self, _, total: tuple[Counter, CorpusStats]) -> dict:
        counts, stats = total
        words, word_counts, merged, summary = summarize(
            counts, stats, self._min_count, self._max_vocab, load_base(self._base)
        )
        log.info(
            "vocabulary: %d distinct words, %d kept (%d new, min_count %d), %d tokens in %d lines",
            len(merged), len(words), summary["new_words"], self._min_count, stats.tokens,
            stats.lines,
        )  # fmt: skip
        if words:
            write_vocabulary(FileSystems.join(self._output, VOCAB_FILE), words, word_counts)
            seen, seen_counts = everything_seen(merged)
            write_vocabulary(FileSystems.join(self._output, COUNTS_FILE), seen, seen_counts)
            add_fingerprints(summary, words, word_counts, seen, seen_counts)
        with FileSystems.create(summary_path(self._output)) as f:
            f.write(json.dumps(summary).encode())
        return summary

"""The Beam stages of phrases: one detection round (`DetectPhrases`) and the table applied to the
text (`JoinPhrases`); what they compute per block is sgns.pipeline.phrases.blocks.

A round is its own pipeline run, before the vocabulary run (sgns.pipeline.runs):

    ReadBlocks -> CountBigrams (per block, the rounds before applied: word counts under one key,
        pair counts under BUCKETS keys) -> SumWords / SumPairs (CombinePerKey: lifted by the
        runners that can, each bucket summed and pruned on its own: no machine holds every pair)
    SumWords -> WriteWords (the words seen phrase_min_count times, a scratch file, then one mark
        per bucket) -> with SumPairs, GroupByKey per bucket -> ScoreBucket (loads the words once
        the mark says they are written; keeps the bucket's phrases) -> GatherPhrases (one key:
        the round's phrases only) -> WritePhrases (phrases.tsv, all rounds so far, atomically,
        and the round's summary for the driver)

No side inputs (Beam's DaskRunner computes one again in each step that reads it) and no
multi-output steps (it sends every output to each consumer): split by Filter instead. The table
reaches the workers as a path, loaded once per worker process (apache_beam.utils.shared).
"""

from __future__ import annotations

import json
import logging
import uuid

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from sgns.dataset import MANIFEST_FILE, PHRASES_FILE, check_resolved, format_vocab, parse_vocab
from sgns.files import TEMP_PREFIX
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.dataset.outputs import read_bytes, write_bytes
from sgns.pipeline.phrases.blocks import (
    BUCKETS,
    UNIGRAMS,
    bucket_cap,
    count_block,
    join_block,
    prepare,
    score_bucket,
)
from sgns.pipeline.phrases.counts import Summed, add_counts, compact, frequent_words, merge_summed
from sgns.pipeline.phrases.table import (
    Phrases,
    check_table,
    format_phrases,
    parse_phrases,
    round_rows,
    round_summary,
    unnamed_table,
)
from sgns.pipeline.text.blocks import Block

log = logging.getLogger(__name__)
WORDS = "words"  # the mark a bucket gets once the words are written: (WORDS, total, distinct)


def table_path(output: str) -> str:
    return FileSystems.join(output, PHRASES_FILE)


def summary_path(output: str) -> str:
    """Where a round leaves its summary for the driver (removed by it)."""
    return FileSystems.join(output, TEMP_PREFIX + "phrases-summary.json")


def words_path(output: str, run: str) -> str:
    return FileSystems.join(output, f"{TEMP_PREFIX}phrase-words-{run}.tsv")


def applied_table(output: str, entry: dict | None) -> str | None:
    """The path of the dataset's phrase table (its manifest's phrases `entry`), to apply to
    every block; None when there is none to apply (no --phrases, or no phrase found). Read
    whenever the manifest has the entry (sgns.dataset.shape: it has one whenever its config has
    phrase rounds), whatever count it says: the file must be the one the manifest names (its
    sha256, and as many rows as it counts) and the dataset's own (no link out of it), else
    UsageError says so. A dataset whose manifest names no table but that holds a phrases.tsv
    is damaged (an edit took the entry out: its increments would go unphrased)."""
    path = table_path(output)
    if not entry:
        if FileSystems.exists(path):
            raise unnamed_table(FileSystems.join(output, MANIFEST_FILE))
        return None
    rows = check_table(read_bytes(check_resolved(output, path, "the phrase table")), entry, path)
    return path if rows else None


def join_phrases(blocks, config: PipelineConfig, path: str | None):
    """The blocks, with the phrase table at `path` applied (JoinPhrases) unless path is None."""
    if path is None:
        return blocks
    return blocks | "JoinPhrases" >> JoinPhrases(config, path, uuid.uuid4().hex)


def finish_round(output: str, run: str) -> dict:
    """After a round's run: its summary, read; its scratch files removed."""
    path = summary_path(output)
    summary = json.loads(read_bytes(path).decode())
    FileSystems.delete([path, words_path(output, run)])
    return summary


def load_rounds(path: str | None) -> list:
    """A phrase table's rounds as the workers use them (sgns.pipeline.phrases.blocks.prepare)."""
    return prepare(Phrases(parse_phrases(read_bytes(path), path))) if path else []


class _WithTable(beam.DoFn):
    """A DoFn that holds the phrase table at `path` (None: none), loaded once per process."""

    def __init__(self, config: PipelineConfig, path: str | None, run: str):
        self._config, self._path, self._run = config, path, run
        self._handle = shared.Shared()

    def setup(self):
        path = self._path
        holder = self._handle.acquire(lambda: _Rounds(load_rounds(path)), tag=self._run)
        self._rounds = holder.rounds


class _Rounds:
    """(apache_beam.utils.shared keeps objects that can be weakly referenced: not lists.)"""

    def __init__(self, rounds: list):
        self.rounds = rounds


class JoinPhrasesFn(_WithTable):
    """Block -> the block with the table's phrases joined (phrase_blocks.join_block)."""

    def process(self, block: Block):
        yield join_block(block, self._config, self._rounds)


class CountBigramsFn(_WithTable):
    """Block -> (key, count table) of one round (phrase_blocks.count_block), with the words of
    --phrase-connectors (phrases.connector_words) as connectors."""

    def __init__(self, config: PipelineConfig, path: str | None, run: str, connectors):
        super().__init__(config, path, run)
        self._connectors = tuple(connectors)

    def process(self, block: Block):
        words = pa.array(self._connectors, pa.large_string())
        yield from count_block(block, self._config, self._rounds, words)


class SumCountsFn(beam.CombineFn):
    """Count tables summed per key (phrase_counts.Summed), pruned to `cap` rows (None: never)."""

    def __init__(self, cap: int | None):
        self._cap = cap

    def create_accumulator(self):
        return Summed([])

    def add_input(self, summed, table):
        return add_counts(summed, table, self._cap)

    def merge_accumulators(self, accumulators):
        return merge_summed(list(accumulators), self._cap)

    def compact(self, summed):
        return compact(summed, self._cap)

    def extract_output(self, summed):
        return compact(summed, self._cap)


class JoinPhrases(beam.PTransform):
    """PCollection[Block] -> PCollection[Block], the table at `path` applied to each."""

    def __init__(self, config: PipelineConfig, path: str, run: str):
        super().__init__()
        self._fn = JoinPhrasesFn(config, path, run)

    def expand(self, blocks):
        return blocks | "JoinBlock" >> beam.ParDo(self._fn)


class DetectPhrases(beam.PTransform):
    """PCollection[Block] -> round `number`: writes phrases.tsv (the rounds before it, read from
    it, and this one's phrases) and the round's summary (module docstring); `connectors`: the
    words of --phrase-connectors."""

    def __init__(self, config: PipelineConfig, number: int, run: str, connectors=()):
        super().__init__()
        self._config, self._number, self._run = config, number, run
        self._connectors = tuple(connectors)
        self._table = table_path(config.output)

    def expand(self, blocks):
        before = self._table if self._number > 1 else None
        counts = blocks | "CountBigrams" >> beam.ParDo(
            CountBigramsFn(self._config, before, self._run, self._connectors)
        )
        nothing = blocks.pipeline | "NoWords" >> beam.Create([(UNIGRAMS, None)])
        words = (
            (counts | "KeepWords" >> beam.Filter(lambda kv: kv[0] == UNIGRAMS), nothing)
            | "AddNoWords" >> beam.Flatten()
            | "SumWords" >> beam.CombinePerKey(SumCountsFn(None))
            | "WriteWords" >> beam.FlatMapTuple(self._write_words)
        )
        pairs = (
            counts
            | "KeepPairs" >> beam.Filter(lambda kv: kv[0] != UNIGRAMS)
            | "SumPairs" >> beam.CombinePerKey(SumCountsFn(bucket_cap(self._config)))
        )
        return (
            (words, pairs)
            | "FlattenBuckets" >> beam.Flatten()
            | "GroupBuckets" >> beam.GroupByKey()
            | "ScoreBucket" >> beam.ParDo(ScoreBucketFn(self._config, self._run))
            | "GatherPhrases" >> beam.GroupByKey()
            | "WritePhrases" >> beam.MapTuple(self._write_phrases)
        )

    def _write_words(self, _, summed: Summed):
        table = summed.tables[0]
        words = frequent_words(table, self._config.phrase_min_count)
        write_bytes(words_path(self._config.output, self._run),
                    format_vocab(list(words), list(words.values())), durable=False)  # fmt: skip
        total = sum(table["count"].to_pylist())
        for bucket in range(BUCKETS):
            yield bucket, (WORDS, total, table.num_rows)

    def _write_phrases(self, _, buckets) -> dict:
        buckets = list(buckets)  # one per bucket: (phrases, pairs, pruned, total, distinct)
        found = [row for bucket in buckets for row in bucket[0]]
        bigrams, pruned = sum(b[1] for b in buckets), sum(b[2] for b in buckets)
        total, distinct = buckets[0][3], buckets[0][4]  # (every bucket has the words' mark)
        rows = round_rows(found, self._number)
        before = parse_phrases(read_bytes(self._table), self._table) if self._number > 1 else []
        write_bytes(self._table, format_phrases(before + rows))
        summary = round_summary(self._number, total, distinct, bigrams, pruned, len(rows))
        write_bytes(summary_path(self._config.output), json.dumps(summary).encode(), False)
        return summary


class ScoreBucketFn(beam.DoFn):
    """(bucket, [its words mark, its summed pair counts if any]) -> (None, (phrases, pairs,
    pairs pruned, total tokens, distinct words)). The words file is read at the first bucket
    a process scores, never before: its mark says it is written."""

    def __init__(self, config: PipelineConfig, run: str):
        self._config, self._run = config, run
        self._handle = shared.Shared()

    def process(self, element):
        _, values = element
        values = list(values)
        summed = next((v for v in values if isinstance(v, Summed)), None)
        mark = next(v for v in values if not isinstance(v, Summed))  # (WORDS, total, distinct)
        if summed is None:
            yield None, ([], 0, 0, mark[1], mark[2])
            return
        path = words_path(self._config.output, self._run)
        words = self._handle.acquire(lambda: _Words(path), tag=self._run).counts
        table = summed.tables[0]
        rows = score_bucket(table, words, mark[1], self._config)
        yield None, (rows, table.num_rows, summed.pruned, mark[1], mark[2])


class _Words:
    def __init__(self, path: str):
        words, counts = parse_vocab(read_bytes(path), path)
        self.counts = dict(zip(words, counts))

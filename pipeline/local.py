"""A dataset built in one process without Beam, from the pipeline's own functions.

For a machine that has no Beam (the GPU check: `benchmarks/gpu_check.py` builds its dev-corpus
dataset there) and as the reference the Beam stages are tested against: on inputs under
read.RANGE_BYTES (read whole by both) it writes the same vocabulary, counts and shards,
byte for byte (tests/test_pipeline_local.py). It runs every stage's plain function in the same
order and with the same seeds (modules of sgns.pipeline): blocks -> phrase rounds and the
table joined (phrase_blocks, with --phrases) -> counts (counting) -> per
pass and block, ids, subsampling, windows and the scatter to shards (pairs, shuffle) -> per
shard the merge of the blocks' pieces in their path order -> Parquet
shards (pairfile) -> the manifest (records). Initial builds of local plain,
.gz and .bz2 files only (no increments, no byte ranges); it holds every pair in memory.

    python -m sgns.pipeline.local --input corpus.txt.gz --output DIR [--passes 5 --seed 1 ...]
"""

from __future__ import annotations

import functools
import os
import sys
from collections import Counter, defaultdict
from typing import NamedTuple

import numpy as np

from sgns import dataset
from sgns.errors import OneLineParser, UsageError, fail
from sgns.files import atomic_open, atomic_write, resolved_path
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.dataset.inputs import check_distinct, check_regular, describe_file, split_inputs
from sgns.pipeline.dataset.records import build_manifest
from sgns.pipeline.pairs.draw import (
    WordIds,
    block_rng,
    block_word_ids,
    draw_pairs,
    keep_probabilities,
    phrased_word_ids,
)
from sgns.pipeline.pairs.pairfile import write_pairs
from sgns.pipeline.pairs.shuffle import PIECE_BATCH_ROWS, merge_shuffle, pack, scatter
from sgns.pipeline.phrases.blocks import detect_rounds, join_block, prepare
from sgns.pipeline.phrases.table import Phrases, connector_words, format_phrases, table_entry
from sgns.pipeline.text.blocks import Source, read_blocks
from sgns.pipeline.text.compressed import CheckedStream, is_checked
from sgns.pipeline.text.format import TextFormat
from sgns.pipeline.text.tokens import counts_dict, merge_counts
from sgns.pipeline.vocab.counting import (
    CorpusStats,
    add_fingerprints,
    check_vocabulary,
    count_block,
    everything_seen,
    summarize,
)
from sgns.rundir import check_outside_dataset


class _File(NamedTuple):
    """What dataset.inputs.describe_file reads of a file (as Beam's FileMetadata has it)."""

    path: str
    size_in_bytes: int
    last_updated_in_seconds: float


def _blocks(config: PipelineConfig, paths: list[str]):
    for index, path in enumerate(paths):
        raw = functools.partial(open, mode="rb")  # local files, no Beam
        with CheckedStream(path, raw) if is_checked(path) else raw(path) as stream:
            yield from read_blocks(
                stream, Source(index, path), config.block_bytes, config.max_sentence_length,
                TextFormat.of(config),
            )  # fmt: skip


def build(config: PipelineConfig, paths: list[str]) -> dict:
    """Build the dataset of the files `paths` into config.output; returns its manifest."""
    paths = sorted({resolved_path(p) for p in paths})  # one name per file, as list_files
    for path in paths:
        check_regular(path)
    raw = functools.partial(open, mode="rb")
    inputs = [describe_file(_File(p, os.path.getsize(p), os.path.getmtime(p)), raw) for p in paths]
    check_distinct(inputs, raw)
    blocks, phrases, table_bytes = _phrases(config, list(_blocks(config, paths)))
    tables, stats = [], CorpusStats()
    for block in blocks:
        counts, block_stats = count_block(block, config.lowercase)
        tables.append(counts)
        stats = stats.add(block_stats)
    counts = counts_dict(merge_counts(tables))
    words, word_counts, merged, vocab = summarize(counts, stats, config.min_count, config.max_vocab)
    check_vocabulary(vocab, config.min_count, paths)  # before any file is written
    if table_bytes is not None:
        os.makedirs(config.output, exist_ok=True)
        atomic_write(os.path.join(config.output, dataset.PHRASES_FILE), table_bytes)
    seen, seen_counts = everything_seen(merged)
    add_fingerprints(vocab, words, word_counts, seen, seen_counts)
    _write_vocabulary(config.output, words, word_counts, seen, seen_counts)
    kept, shards = _write_pairs(config, blocks, words, word_counts)
    manifest = build_manifest(config, inputs, vocab, kept, shards, phrases=phrases)
    dataset.write_manifest_local(config.output, manifest)
    return manifest


def _phrases(config: PipelineConfig, blocks: list) -> tuple[list, dict | None, bytes | None]:
    """--phrases: the rounds (as sgns.pipeline.runs), the blocks phrased, the manifest's entry
    and the bytes of phrases.tsv (written once the vocabulary is known to be good)."""
    if not config.phrases:
        return blocks, None, None
    connectors = connector_words(config.phrase_connectors)
    rows, rounds = detect_rounds(config, blocks, connectors)
    data = format_phrases(rows)
    if rows:
        table = prepare(Phrases(rows))
        blocks = [join_block(block, config, table) for block in blocks]
    return blocks, table_entry(data, rounds, connectors), data


def _write_vocabulary(output: str, words, word_counts, seen, seen_counts) -> None:
    for name, (w, c) in ((dataset.VOCAB_FILE, (words, word_counts)),
                         (dataset.COUNTS_FILE, (seen, seen_counts))):  # fmt: skip
        data = dataset.format_vocab(w, c)
        snapshot = os.path.join(output, dataset.snapshot_path(0, name))
        os.makedirs(os.path.dirname(snapshot), exist_ok=True)
        atomic_write(snapshot, data)
        atomic_write(os.path.join(output, name), data)


def _write_pairs(config: PipelineConfig, blocks, words, word_counts):
    """Every pass's shards, as MakePairs then MergeShards make them; (kept per pass, records)."""
    ids, length = WordIds(zip(words, range(len(words)))), config.max_sentence_length
    keep = keep_probabilities(np.array(word_counts, dtype=np.int64), config.sample)
    pieces = defaultdict(list)  # (pass, shard) -> [(piece name, packed pairs)]
    kept: Counter = Counter()
    for block in blocks:
        word_ids, sentences, _ = block_word_ids(block, ids, config.lowercase, length)
        phrased = phrased_word_ids(block, ids, config.lowercase, length)
        for p in range(config.passes):
            rng = block_rng(config.seed, p, block.key, 0)
            centers, contexts, tokens = draw_pairs(
                (word_ids, sentences), phrased, keep, config.window, rng
            )
            kept[p] += tokens
            for shard, part in enumerate(scatter(pack(centers, contexts), config.num_shards, rng)):
                if len(part):
                    pieces[p, shard].append((block.key.replace(":", "-") + ".arrow", part))
    records = []
    for p in range(config.passes):
        for shard in range(config.num_shards):
            ordered = sorted(pieces[p, shard], key=lambda piece: piece[0])  # as MergeShards
            sources = [(len(part), _batches(part)) for _, part in ordered]
            rng = block_rng(config.seed, p, f"merge-shard-{shard}", 0)
            relative = dataset.shard_path(0, p, shard, config.num_shards)
            path = os.path.join(config.output, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with atomic_open(path) as f:
                pairs, row_groups = write_pairs(f, merge_shuffle(sources, rng))
            records.append({"pass": p, "shard": shard, "path": relative, "pairs": pairs,
                            "row_groups": row_groups})  # fmt: skip
    return dict(kept), records


def _batches(packed: np.ndarray):
    """A piece read back batch by batch, as sgns.pipeline.pairs.pieces.iter_piece gives it."""
    for start in range(0, len(packed), PIECE_BATCH_ROWS):
        yield packed[start : start + PIECE_BATCH_ROWS]


def main(argv: list[str] | None = None) -> int:
    names = ("min_count", "sample", "window", "passes", "num_shards", "seed", "block_bytes",
             "phrases", "phrase_threshold", "phrase_min_count", "phrase_scorer",
             "phrase_max_vocab", "phrase_connectors", "phrase_growth", "phrase_words", "encoding",
             "errors",
             "normalize", "tokenizer")  # fmt: skip
    defaults = {name: PipelineConfig.__dataclass_fields__[name].default for name in names}
    p = OneLineParser(prog="python -m sgns.pipeline.local", description=__doc__.split("\n")[0])
    p.add_argument(
        "--input", action="append", required=True, help="local files (as sgns-preprocess's)"
    )
    p.add_argument("--output", required=True, help="dataset directory (new or empty)")
    p.add_argument("--lowercase", action="store_true")
    for name, value in defaults.items():
        kind = float if value is None else type(value)  # (None: --phrase-threshold, the scorer's)
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=value)
    args = p.parse_args(argv)
    inputs = split_inputs(args.input)
    settings = {k: getattr(args, k) for k in defaults}
    try:
        if os.path.isdir(args.output) and os.listdir(args.output):
            raise UsageError(f"--output {args.output!r} is not empty")
        check_outside_dataset(args.output)  # (an empty folder in a dataset's pairs/ is not ours)
        config = PipelineConfig(inputs, args.output, lowercase=args.lowercase, **settings)
        manifest = build(config, list(inputs))
    except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
        return fail("python -m sgns.pipeline.local", e)
    print(f"{args.output}: {manifest['vocab']['size']} words, {manifest['stats']['pairs']} pairs")
    return 0


if __name__ == "__main__":  # (--version answered, as the console scripts answer it)
    from sgns.commands import run_main

    sys.exit(run_main("python -m sgns.pipeline.local", main))

"""`MakePairs`: blocks -> skip-gram pairs -> per-shard parts, for every pass of a block.

With `--shuffle files` a block's part of a shard is written as a temporary piece file and only
its path travels on; with `--shuffle runner` the part itself travels on, as the bytes of its
packed pairs, to the runner's GroupByKey in sgns.pipeline.pairs.merge.

One output of one kind (a block's pass record), split by two plain steps: Beam's DaskRunner
sends every output of a multi-output ParDo to each of its consumers, so there are none here.
The vocabulary file (written by the vocabulary run before this one starts) is loaded once per
worker process in `setup` (shared by its threads through `apache_beam.utils.shared.Shared`); it
is never a pickled side input.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from sgns.dataset import VOCAB_FILE
from sgns.errors import UsageError
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.pairs.draw import (
    WordIds,
    block_rng,
    block_word_ids,
    draw_pairs,
    keep_probabilities,
    phrased_word_ids,
)
from sgns.pipeline.pairs.pieces import piece_name, piece_path, write_piece
from sgns.pipeline.pairs.shuffle import pack, scatter
from sgns.pipeline.progress import Progress
from sgns.pipeline.text.blocks import Block
from sgns.pipeline.vocab.vocabulary import load_vocabulary

log = logging.getLogger(__name__)


class _Vocabulary:
    """What a worker needs of the vocabulary: word -> id and keep probability per id."""

    def __init__(self, path: str, sample: float):
        words, counts = load_vocabulary(path)
        self.ids = WordIds(zip(words, range(len(words))))
        self.keep = keep_probabilities(np.array(counts, dtype=np.int64), sample)


class MakePairsFn(beam.DoFn):
    """Block -> one record per pass: (pass, tokens kept, parts), with a part for each shard
    the block sent pairs to: (shard, piece path, rows) with --shuffle files, (shard, piece
    name, packed pairs as bytes) with --shuffle runner. The block is tokenised once for all its
    passes."""

    def __init__(
        self,
        config: PipelineConfig,
        passes: tuple[int, ...],
        handle: shared.Shared,
        run: str,
        vocab_path: str,
        increment: int,
    ):
        self._config = config
        self._passes = passes
        self._handle = handle
        self._run = run  # names this run's vocabulary: a worker never reuses another run's
        self._vocab_path = vocab_path
        self._increment = increment

    def setup(self):
        path, sample = self._vocab_path, self._config.sample
        self._vocab = self._handle.acquire(lambda: _Vocabulary(path, sample), tag=self._run)
        self._progress = Progress("pairs")

    def process(self, block: Block):
        if block.error:  # it read whole in the vocabulary run: it changed since
            raise UsageError(block.error)
        config = self._config
        ids, length = self._vocab.ids, config.max_sentence_length
        word_ids, sentences, tokens = block_word_ids(block, ids, config.lowercase, length)
        phrased = phrased_word_ids(block, ids, config.lowercase, length)
        for pass_index in self._passes:
            rng = block_rng(config.seed, pass_index, block.key, self._increment)
            centers, contexts, kept = draw_pairs(
                (word_ids, sentences), phrased, self._vocab.keep, config.window, rng
            )
            parts = scatter(pack(centers, contexts), config.num_shards, rng)
            pieces = []
            for shard, part in enumerate(parts):
                if not len(part):
                    continue
                if config.shuffle == "runner":  # bytes: Beam's bytes coder, no pickling
                    pieces.append((shard, piece_name(block.key), part.tobytes()))
                else:
                    path = piece_path(config.output, pass_index, shard, block.key)
                    write_piece(path, part)
                    pieces.append((shard, path, len(part)))
            yield pass_index, kept, tuple(pieces)
        self._progress.add(tokens)


def list_pieces(record: tuple) -> list[tuple]:
    """A block's pass record -> ((pass, shard), (piece path, rows)) per piece, or with
    --shuffle runner ((pass, shard), (piece name, packed pairs as bytes)) per part."""
    pass_index, _, pieces = record
    return [((pass_index, shard), (path, rows)) for shard, path, rows in pieces]


def tokens_kept(record: tuple) -> tuple[int, int]:
    """A block's pass record -> (pass, tokens kept)."""
    return record[0], record[1]


class MakePairs(beam.PTransform):
    """PCollection[Block] -> (part records, (pass, tokens kept)) for the passes `passes` (pass
    indices) of increment `increment`, with the vocabulary (ids and the counts that set the keep
    probabilities) of `vocab_path` (default: the output's vocab.tsv)."""

    def __init__(
        self,
        config: PipelineConfig,
        passes: Sequence[int],
        run: str | None = None,
        vocab_path: str | None = None,
        increment: int = 0,
    ):
        super().__init__()
        self._config = config
        self._passes = tuple(passes)
        self._run = run or uuid.uuid4().hex  # one per pipeline run
        self._vocab_path = vocab_path or FileSystems.join(config.output, VOCAB_FILE)
        self._increment = increment

    def expand(self, blocks):
        fn = MakePairsFn(
            self._config, self._passes, shared.Shared(), self._run, self._vocab_path,
            self._increment,
        )  # fmt: skip
        records = blocks | "PairBlocks" >> beam.ParDo(fn)
        pieces = records | "ListPieces" >> beam.FlatMap(list_pieces)
        kept = records | "CountKept" >> beam.Map(tokens_kept)
        return pieces, kept

"""`MakePairs`: blocks -> skip-gram pairs -> per-shard temporary pieces, for one pass.

The vocabulary arrives as a file path and is loaded once per worker process (shared by its
threads through `apache_beam.utils.shared.Shared`); it is never a pickled side input.
"""

from __future__ import annotations

import logging
import time

import apache_beam as beam
import numpy as np
from apache_beam.utils import shared

from pipeline.config import PipelineConfig
from pipeline.pairs import WordIds, block_pairs, keep_probabilities
from pipeline.read import Block
from pipeline.shards import piece_path, scatter, write_piece
from pipeline.vocabulary import load_vocabulary

_LOG = logging.getLogger(__name__)
_PROGRESS_SECONDS = 15.0
KEPT = "tokens_kept"  # tag of the (pass, tokens kept) output


class _Vocabulary:
    """What a worker needs of the vocabulary: word -> id and keep probability per id."""

    def __init__(self, path: str, sample: float):
        words, counts = load_vocabulary(path)
        self.ids = WordIds(zip(words, range(len(words))))
        self.keep = keep_probabilities(np.array(counts, dtype=np.int64), sample)


class MakePairsFn(beam.DoFn):
    """Block -> ((pass, shard), (piece path, rows)) per non-empty piece; and (pass, kept)."""

    def __init__(self, config: PipelineConfig, pass_index: int, handle: shared.Shared):
        self._config = config
        self._pass = pass_index
        self._handle = handle
        self._vocab = None

    def setup(self):
        self._blocks = self._tokens = 0
        self._started = self._logged = time.monotonic()

    def process(self, block: Block, vocab_path: str):
        if self._vocab is None:
            sample = self._config.sample
            self._vocab = self._handle.acquire(
                lambda: _Vocabulary(vocab_path, sample), tag=f"{vocab_path}:{sample}"
            )
        config = self._config
        centers, contexts, kept, rng = block_pairs(
            block, self._vocab.ids, self._vocab.keep, config, self._pass
        )
        yield beam.pvalue.TaggedOutput(KEPT, (self._pass, kept))
        for shard, (c, x) in enumerate(scatter(centers, contexts, config.num_shards, rng)):
            if len(c):
                path = piece_path(config.output, self._pass, shard, block.key)
                write_piece(path, c, x)
                yield (self._pass, shard), (path, len(c))
        self._progress(len(block.text))

    def _progress(self, characters: int) -> None:
        self._blocks += 1
        self._tokens += characters
        now = time.monotonic()
        if now - self._logged >= _PROGRESS_SECONDS:
            self._logged = now
            rate = self._tokens / max(now - self._started, 1e-9) / 1e6
            _LOG.info("pass %d: %d blocks paired (%.1f MB/s)", self._pass, self._blocks, rate)


class MakePairs(beam.PTransform):
    """PCollection[Block] -> (piece records, (pass, tokens kept)) for pass `pass_index`."""

    def __init__(self, config: PipelineConfig, pass_index: int, vocab_path):
        super().__init__()
        self._config = config
        self._pass = pass_index
        self._vocab_path = vocab_path  # singleton PCollection: also orders this after the vocab

    def expand(self, blocks):
        results = blocks | "PairBlocks" >> beam.ParDo(
            MakePairsFn(self._config, self._pass, shared.Shared()),
            beam.pvalue.AsSingleton(self._vocab_path),
        ).with_outputs(KEPT, main="pieces")
        return results.pieces, results[KEPT]

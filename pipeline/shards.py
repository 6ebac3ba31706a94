"""`MergeShards`: every shard's pieces merged into one shuffled Parquet shard of the dataset.

Only (shard, piece path, rows) records are grouped by shard (pipeline.shuffle says why pairs
never are); each shard's writer interleaves its pieces at random (pipeline.shuffle.merge_shuffle)
and writes row groups of ROW_GROUP_ROWS pairs with the contract's schema, durably (the manifest
that lists the shard is written after it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.outputs import atomic_output
from pipeline.pairfile import write_pairs
from pipeline.pairs import block_rng
from pipeline.pieces import MAX_FAN_IN, OPEN_PIECES, PIECES_DIR, iter_piece, reduce_fan_in
from pipeline.shuffle import merge_shuffle
from sgns.dataset import shard_path

log = logging.getLogger(__name__)


def write_shard(path: str, chunks: Iterator[np.ndarray]) -> tuple[int, int]:
    """Write a final shard from packed chunks (pipeline.outputs); (pairs, row groups)."""
    with atomic_output(path) as f:
        return write_pairs(f, chunks)


class MergeShards(beam.PTransform):
    """PCollection[((pass, shard), (piece path, rows))] -> PCollection[shard record dict].

    Every shard of every pass gets a file, even one no block sent pairs to.
    """

    def __init__(self, output: str, passes: int, num_shards: int, seed: int, increment: int = 0):
        super().__init__()
        self._output = output
        self._passes = passes
        self._num_shards = num_shards
        self._seed = seed
        self._increment = increment

    def expand(self, pieces):
        every_shard = [(p, s) for p in range(self._passes) for s in range(self._num_shards)]
        empty = pieces.pipeline | "ListShards" >> beam.Create([(k, None) for k in every_shard])
        return (
            (pieces, empty)
            | "AddEmptyShards" >> beam.Flatten()
            | "GroupPieces" >> beam.GroupByKey()
            | "MergePieces" >> beam.MapTuple(self._merge)
        )

    def _merge(self, key: tuple[int, int], records) -> dict:
        pass_index, shard = key
        pieces = sorted(r for r in records if r is not None)  # GBK order is not deterministic
        relative = shard_path(self._increment, pass_index, shard, self._num_shards)
        path = FileSystems.join(self._output, relative)
        written = _already_written(path, pieces)
        if written is None:
            rng = block_rng(self._seed, pass_index, f"merge-shard-{shard}", self._increment)
            scratch = FileSystems.join(
                self._output, PIECES_DIR, f"pass-{pass_index:05d}", f"shard-{shard:05d}"
            )
            left, made = reduce_fan_in(pieces, rng, scratch, MAX_FAN_IN)
            keep_open = len(left) <= OPEN_PIECES
            sources = [(rows, iter_piece(p, keep_open)) for p, rows in left]
            written = write_shard(path, merge_shuffle(sources, rng))
            for _, batches in sources:
                batches.close()  # closes a kept-open file before its piece is deleted
            if pieces:  # only now: a retry before this point finds every piece again
                FileSystems.delete([p for p, _ in pieces] + made)
            log.info("wrote %s: %d pairs from %d pieces", relative, written[0], len(pieces))
        pairs, row_groups = written
        return {
            "pass": pass_index,
            "shard": shard,
            "path": relative,
            "pairs": pairs,
            "row_groups": row_groups,
        }


def _already_written(path: str, pieces: list[tuple[str, int]]) -> tuple[int, int] | None:
    """(pairs, row groups) of a shard that a failed attempt of this same step already wrote
    before it deleted the pieces (a retry finds them gone); None when the shard must be written."""
    if not pieces or FileSystems.exists(pieces[0][0]) or not FileSystems.exists(path):
        return None
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        metadata = pq.ParquetFile(f).metadata
    if metadata.num_rows != sum(rows for _, rows in pieces):
        return None
    return metadata.num_rows, metadata.num_row_groups

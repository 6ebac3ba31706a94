"""`MergeShards`: every shard's pieces merged into one shuffled Parquet shard of the dataset.

Each shard's writer takes its pieces in the order of their names (the blocks'), interleaves them
at random (shuffle.merge_shuffle) and writes row groups of ROW_GROUP_ROWS pairs with the
contract's schema, durably (the manifest that lists the shard is written after it). How the
pieces reach it (PipelineConfig.shuffle):
  files:  MakePairs wrote them as temporary files under the output; only (piece path, rows)
          records are grouped by shard, and a runner never holds pairs in a GroupByKey (the
          local runner keeps a key's values in memory);
  runner: the pairs themselves are grouped by shard, one element per block and shard (the
          runner's own shuffle: Dataflow Shuffle, Flink's, Spark's, Dask's); the writer spills
          them one by one to its worker's local temporary disk as pieces and merges from there,
          so that it never holds a shard in memory. Same pieces, same order, same seed: the same
          shard, byte for byte.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from sgns.dataset import shard_path
from sgns.pipeline.dataset.outputs import atomic_output
from sgns.pipeline.pairs.draw import block_rng
from sgns.pipeline.pairs.pairfile import write_pairs
from sgns.pipeline.pairs.pieces import (
    MAX_FAN_IN,
    OPEN_PIECES,
    PIECES_DIR,
    iter_piece,
    reduce_fan_in,
    write_chunks,
)
from sgns.pipeline.pairs.shuffle import merge_shuffle

log = logging.getLogger(__name__)


def write_shard(path: str, chunks: Iterator[np.ndarray]) -> tuple[int, int]:
    """Write a final shard from packed chunks (dataset.outputs); (pairs, row groups)."""
    with atomic_output(path) as f:
        return write_pairs(f, chunks)


def merge_pieces(
    path: str,
    pieces: list[tuple[str, int]],
    rng: np.random.Generator,
    scratch: str,
    drop_merged: bool = False,
) -> tuple[tuple[int, int], list[str]]:
    """Merge-shuffle (piece path, rows) pieces, in the order given, into the shard at `path`
    (intermediate merges under `scratch`, see reduce_fan_in for drop_merged); returns ((pairs,
    row groups), intermediates made)."""
    left, made = reduce_fan_in(pieces, rng, scratch, MAX_FAN_IN, drop_merged)
    keep_open = len(left) <= OPEN_PIECES
    sources = [(rows, iter_piece(p, keep_open)) for p, rows in left]
    written = write_shard(path, merge_shuffle(sources, rng))
    for _, batches in sources:
        batches.close()  # closes a kept-open file before its piece is deleted
    return written, made


def merge_parts(
    path: str, parts: Iterable[tuple[str, bytes]], rng: np.random.Generator
) -> tuple[tuple[int, int], int]:
    """--shuffle runner: write the shard at `path` from (piece name, packed pairs as bytes)
    parts in any order, as `merge_pieces` would from the same pieces on files: each part is
    spilled to a local temporary piece as it comes (a runner's iterable of a key's values may
    be larger than memory), then they are merged in name order. ((pairs, row groups), parts)."""
    with tempfile.TemporaryDirectory(prefix="sgns-shard-") as local:
        pieces = []
        for name, data in parts:
            piece = os.path.join(local, name)
            assert not os.path.exists(piece), f"two parts of one block: {name}"
            pieces.append((piece, write_chunks(piece, [np.frombuffer(data, np.int64)])))
        pieces.sort()
        written, _ = merge_pieces(path, pieces, rng, local, drop_merged=True)
    return written, len(pieces)


class MergeShards(beam.PTransform):
    """PCollection[((pass, shard), (piece path, rows))] (or, with shuffle "runner", ((pass,
    shard), (piece name, packed pairs as bytes))) -> PCollection[shard record dict].

    Every shard of every pass gets a file, even one no block sent pairs to.
    """

    def __init__(
        self,
        output: str,
        passes: int,
        num_shards: int,
        seed: int,
        increment: int = 0,
        shuffle: str = "files",
    ):
        super().__init__()
        self._output = output
        self._passes = passes
        self._num_shards = num_shards
        self._seed = seed
        self._increment = increment
        self._shuffle = shuffle

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
        relative = shard_path(self._increment, pass_index, shard, self._num_shards)
        path = FileSystems.join(self._output, relative)
        rng = block_rng(self._seed, pass_index, f"merge-shard-{shard}", self._increment)
        if self._shuffle == "runner":  # a retry gets the parts again: it simply rewrites
            written, parts = merge_parts(path, (r for r in records if r is not None), rng)
            log.info("wrote %s: %d pairs from %d parts", relative, written[0], parts)
            return _shard_record(pass_index, shard, relative, written)
        pieces = sorted(r for r in records if r is not None)  # GBK order is not deterministic
        written = _already_written(path, pieces)
        if written is None:
            scratch = FileSystems.join(
                self._output, PIECES_DIR, f"pass-{pass_index:05d}", f"shard-{shard:05d}"
            )
            written, made = merge_pieces(path, pieces, rng, scratch)
            if pieces:  # only now: a retry before this point finds every piece again
                FileSystems.delete([p for p, _ in pieces] + made)
            log.info("wrote %s: %d pairs from %d pieces", relative, written[0], len(pieces))
        return _shard_record(pass_index, shard, relative, written)


def _shard_record(pass_index: int, shard: int, relative: str, written: tuple[int, int]) -> dict:
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

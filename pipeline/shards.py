"""Shuffle pairs into shards without ever putting pairs through a GroupByKey.

A GroupByKey of pairs would be held whole in memory by the DirectRunner. Instead:
1. scatter: each block sends each of its pairs to a uniformly random shard, in a uniformly random
   order, and writes one temporary piece (an Arrow IPC file) per shard (deterministic name,
   temp + rename, so a retried bundle rewrites the same file);
2. only (shard, piece path, rows) records are grouped by shard;
3. merge: a shard's writer interleaves its pieces at random with bounded memory: each chunk of M
   output rows takes from every piece's front a number of rows drawn by a multivariate
   hypergeometric draw over the rows each piece has left, then shuffles the chunk. Uniformly
   shuffled pieces + a uniformly random interleave = a uniform permutation of the shard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.pairs import block_rng
from sgns.dataset import ROW_GROUP_ROWS, pair_schema, shard_path

_LOG = logging.getLogger(__name__)

PIECES_DIR = ".tmp-pieces"  # under the output directory; removed at the end of a run
# Rows per record batch of a piece: the merge holds one batch (128 KiB) per piece of its shard.
PIECE_BATCH_ROWS = 16384
MERGE_CHUNK_ROWS = 8 * ROW_GROUP_ROWS  # a whole number of final row groups per chunk


def scatter(
    centers: np.ndarray, contexts: np.ndarray, num_shards: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split pairs into num_shards parts: each pair to a uniform random shard, shuffled within.

    (A stable radix sort by shard, then a shuffle per shard: cheaper than one big permutation,
    whose random accesses miss the cache.)
    """
    shard = rng.integers(0, num_shards, size=len(centers), dtype=np.min_scalar_type(num_shards))
    order = np.argsort(shard, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(shard, minlength=num_shards))])
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = order[a:b]
        rng.shuffle(rows)
        parts.append((centers[rows], contexts[rows]))
    return parts


def pair_table(centers: np.ndarray, contexts: np.ndarray) -> pa.Table:
    """A pyarrow table with the contract's pair schema."""
    return pa.Table.from_arrays(
        [pa.array(centers, pa.int32()), pa.array(contexts, pa.int32())], schema=pair_schema()
    )


def write_piece(path: str, centers: np.ndarray, contexts: np.ndarray) -> None:
    """Write one temporary piece (any Beam filesystem): to a temp name, then rename.

    Pieces are Arrow IPC files, not Parquet: measured 3x faster to write and read, and a piece
    lives only until its shard is merged.
    """
    temp = path + ".tmp"
    table = pair_table(centers, contexts)
    with FileSystems.create(temp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        with pa.ipc.new_file(f, table.schema) as writer:
            writer.write_table(table, max_chunksize=PIECE_BATCH_ROWS)
    FileSystems.rename([temp], [path])


def piece_path(output: str, pass_index: int, shard: int, block_key: str) -> str:
    """Where a block's piece of a shard goes: a name fixed by the block, so retries overwrite."""
    name = block_key.replace(":", "-")
    return FileSystems.join(
        output, PIECES_DIR, f"pass-{pass_index:05d}", f"shard-{shard:05d}", f"{name}.arrow"
    )


def iter_piece(path: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(centers, contexts) of a piece, batch by batch (the file is reopened for each, so a
    shard with thousands of pieces does not hold thousands of open files)."""
    batch = 0
    while True:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            reader = pa.ipc.open_file(f)
            if batch >= reader.num_record_batches:
                return
            rows = reader.get_batch(batch)
        batch += 1
        yield rows.column(0).to_numpy(), rows.column(1).to_numpy()


class _Front:
    """The unread front of one piece: take(k) returns its next k rows."""

    def __init__(self, groups: Iterator[tuple[np.ndarray, np.ndarray]]):
        self._groups = groups
        self._centers = self._contexts = np.zeros(0, dtype=np.int32)

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        parts = []
        while k > 0:
            if not len(self._centers):
                self._centers, self._contexts = next(self._groups)
            n = min(k, len(self._centers))
            parts.append((self._centers[:n], self._contexts[:n]))
            self._centers, self._contexts = self._centers[n:], self._contexts[n:]
            k -= n
        return parts


def merge_shuffle(
    pieces: list[tuple[int, Iterator[tuple[np.ndarray, np.ndarray]]]],
    rng: np.random.Generator,
    chunk_rows: int = MERGE_CHUNK_ROWS,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Uniformly interleave shuffled pieces, given as (rows, row-group iterator), in chunks."""
    remaining = np.array([rows for rows, _ in pieces], dtype=np.int64)
    fronts = [_Front(groups) for _, groups in pieces]
    while remaining.sum() > 0:
        size = int(min(chunk_rows, remaining.sum()))
        counts = rng.multivariate_hypergeometric(remaining, size)
        parts = [part for front, k in zip(fronts, counts) if k for part in front.take(int(k))]
        remaining -= counts
        order = rng.permutation(size)
        yield (
            np.concatenate([c for c, _ in parts])[order],
            np.concatenate([x for _, x in parts])[order],
        )


def write_shard(path: str, chunks: Iterator[tuple[np.ndarray, np.ndarray]]) -> tuple[int, int]:
    """Write a final shard (temp name, then rename) from chunks; return (pairs, row groups)."""
    temp = path + ".tmp"
    pairs = row_groups = 0
    with FileSystems.create(temp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        with pq.ParquetWriter(f, pair_schema(), compression="none", use_dictionary=False) as writer:
            for centers, contexts in chunks:
                writer.write_table(pair_table(centers, contexts), row_group_size=ROW_GROUP_ROWS)
                pairs += len(centers)
                row_groups += -(-len(centers) // ROW_GROUP_ROWS)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temp], [path])
    return pairs, row_groups


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
        rng = block_rng(self._seed, pass_index, f"merge-shard-{shard}")
        relative = shard_path(self._increment, pass_index, shard, self._num_shards)
        chunks = merge_shuffle([(rows, iter_piece(path)) for path, rows in pieces], rng)
        pairs, row_groups = write_shard(FileSystems.join(self._output, relative), chunks)
        if pieces:
            FileSystems.delete([path for path, _ in pieces])
        _LOG.info("wrote %s: %d pairs from %d pieces", relative, pairs, len(pieces))
        return {
            "pass": pass_index,
            "shard": shard,
            "path": relative,
            "pairs": pairs,
            "row_groups": row_groups,
        }

"""A shard's Parquet file: packed pairs written as the contract's row groups (no Beam here).

Each row group is sorted by (center, context) and both columns are stored DELTA_BINARY_PACKED
(no dictionary) and zstd-compressed: sorted ids make small deltas, which take a fraction of the
8 bytes a pair of plain ids (sgns.dataset's row order "sorted"; BENCHMARKS.md, "Pair shards").
The shard's shuffle is not lost: which pairs share a row group is still uniformly random, and
the trainer shuffles each row group as it reads it (sgns.train.shards).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sgns.dataset import PAIR_COLUMNS, ROW_GROUP_ROWS, pair_schema
from sgns.pipeline.pairs.shuffle import unpack

# What ParquetWriter is given for every shard (pyarrow takes column_encoding only without a
# dictionary). zstd's level 1 (pyarrow's default): higher levels save little for much of the speed
# (BENCHMARKS.md, "Figures behind the defaults").
WRITE_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": False,
    "column_encoding": dict.fromkeys(PAIR_COLUMNS, "DELTA_BINARY_PACKED"),
}
DIGIT_BITS = 16  # numpy sorts 16-bit keys stably by radix, in linear time


def pair_table(centers: np.ndarray, contexts: np.ndarray) -> pa.Table:
    """A pyarrow table with the contract's pair schema."""
    return pa.Table.from_arrays(
        [pa.array(centers, pa.int32()), pa.array(contexts, pa.int32())], schema=pair_schema()
    )


def sorted_pairs(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centers, contexts) of packed pairs (shuffle.pack), sorted by (center, context).

    Keys center << b | context (b: the bits of the largest context; ids are never negative)
    sorted by a least-significant-digit radix sort, 16 bits a pass: 2-3 passes for any real
    vocabulary, about twice as fast as np.sort of the keys and the same result."""
    centers, contexts = unpack(packed)
    if not len(centers):
        return centers, contexts
    shift = np.uint64(int(contexts.max()).bit_length())
    keys = (centers.astype(np.uint64) << shift) | contexts.astype(np.uint64)  # (n,)
    for low in range(0, int(keys.max()).bit_length(), DIGIT_BITS):
        digit = (keys >> np.uint64(low)).astype(np.uint16)  # the digit: the low 16 bits left
        keys = keys[np.argsort(digit, kind="stable")]
    mask = (np.uint64(1) << shift) - np.uint64(1)
    return (keys >> shift).astype(np.int32), (keys & mask).astype(np.int32)


def write_pairs(
    file, chunks: Iterable[np.ndarray], row_group_rows: int = ROW_GROUP_ROWS
) -> tuple[int, int]:
    """Write packed chunks (whole row groups each, but the last) to the open binary `file` as
    one Parquet shard, each row group sorted (`sorted_pairs`); returns (pairs, row groups).
    (`row_group_rows`: the contract's, but for tests' tiny shards.)"""
    pairs = row_groups = 0
    with pq.ParquetWriter(file, pair_schema(), **WRITE_OPTIONS) as out:
        for chunk in chunks:
            for start in range(0, len(chunk), row_group_rows):
                centers, contexts = sorted_pairs(chunk[start : start + row_group_rows])
                out.write_table(pair_table(centers, contexts), row_group_size=row_group_rows)
                pairs += len(centers)
                row_groups += 1
    return pairs, row_groups

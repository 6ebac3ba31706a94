"""A shard's Parquet file: packed pairs written as the contract's row groups (no Beam here)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.shuffle import unpack
from sgns.dataset import ROW_GROUP_ROWS, pair_schema


def pair_table(centers: np.ndarray, contexts: np.ndarray) -> pa.Table:
    """A pyarrow table with the contract's pair schema."""
    return pa.Table.from_arrays(
        [pa.array(centers, pa.int32()), pa.array(contexts, pa.int32())], schema=pair_schema()
    )


def write_pairs(file, chunks: Iterable[np.ndarray]) -> tuple[int, int]:
    """Write packed chunks (whole row groups each, but the last) to the open binary `file` as
    one Parquet shard; returns (pairs, row groups)."""
    pairs = row_groups = 0
    with pq.ParquetWriter(file, pair_schema(), compression="none", use_dictionary=False) as out:
        for chunk in chunks:
            centers, contexts = unpack(chunk)
            out.write_table(pair_table(centers, contexts), row_group_size=ROW_GROUP_ROWS)
            pairs += len(centers)
            row_groups += -(-len(centers) // ROW_GROUP_ROWS)
    return pairs, row_groups

"""Temporary pieces: a block's pairs for one shard, between the scatter and the shard's merge.

A piece is an Arrow IPC file of packed pairs (sgns.pipeline.pairs.shuffle.pack) under
OUTPUT/.sgns-tmp-pieces/pass-P/shard-S/, named after its block so that a retried bundle rewrites the
same file (written through sgns.pipeline.dataset.outputs, without fsync: a failed run rebuilds them;
on an object store uploaded whole under its own name, see `write_piece`).
Arrow IPC, not Parquet: faster to write and read, and a piece lives only until its shard is
merged (BENCHMARKS.md, "Figures behind the defaults"). A shard with more than MAX_FAN_IN pieces
is first merged in groups (`reduce_fan_in`), so that a merge's memory does not grow with the
corpus.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from sgns.files import TEMP_PREFIX
from sgns.pipeline.dataset.outputs import atomic_output, is_local, write_object
from sgns.pipeline.pairs.shuffle import PIECE_BATCH_ROWS, merge_shuffle

PIECES_DIR = TEMP_PREFIX + "pieces"  # under the output directory; removed at the end of a run
# A merge holds one batch per piece it reads at once; a shard with more pieces (a pass over more
# than ~1 GB of text at the default block size) is first merged in groups of this many, so the
# merge's memory (~32 MiB of batches) does not grow with the corpus.
MAX_FAN_IN = 256
OPEN_PIECES = 64  # a merge of at most this many pieces keeps their files open (see iter_piece)
_SCHEMA = pa.schema([("pair", pa.int64())])


def piece_name(block_key: str) -> str:
    """A block's piece file name: fixed by the block, so retries overwrite; a shard's writer
    merges its pieces in the order of these names (in either shuffle mode:
    sgns.pipeline.pairs.merge)."""
    return block_key.replace(":", "-") + ".arrow"


def piece_path(output: str, pass_index: int, shard: int, block_key: str) -> str:
    """Where a block's piece of a shard goes (intermediate merges write "merge-*.arrow" next to
    them)."""
    return FileSystems.join(
        output, PIECES_DIR, f"pass-{pass_index:05d}", f"shard-{shard:05d}", piece_name(block_key)
    )


def write_piece(path: str, packed: np.ndarray) -> int:
    """Write one piece of packed pairs (any Beam filesystem); returns its rows. On an object
    store it is made in memory (a block's share of one shard) and uploaded as one object under
    its own name: no temporary object and rename, which would cost a copy and a delete more."""
    if is_local(path):
        return write_chunks(path, [packed])
    buffer = io.BytesIO()
    rows = _write_batches(buffer, [packed])
    write_object(path, buffer.getvalue())
    return rows


def write_chunks(path: str, chunks: Iterable[np.ndarray]) -> int:
    """Write packed chunks as one piece, streaming; returns its rows."""
    with atomic_output(path, durable=False) as f:
        return _write_batches(f, chunks)


def _write_batches(f, chunks: Iterable[np.ndarray]) -> int:
    rows = 0
    with pa.ipc.new_file(f, _SCHEMA) as writer:
        for chunk in chunks:
            table = pa.Table.from_arrays([pa.array(chunk, pa.int64())], schema=_SCHEMA)
            writer.write_table(table, max_chunksize=PIECE_BATCH_ROWS)
            rows += len(chunk)
    return rows


def iter_piece(path: str, keep_open: bool = False) -> Iterator[np.ndarray]:
    """The packed pairs of a piece, batch by batch. With keep_open the file stays open until the
    iterator is done or dropped; without, it is reopened for each batch, so that a merge of
    hundreds of pieces does not hold hundreds of open files (reopening costs CPU, hence
    keep_open for merges of at most OPEN_PIECES pieces)."""
    if keep_open:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            reader = pa.ipc.open_file(f)
            for batch in range(reader.num_record_batches):
                yield reader.get_batch(batch).column(0).to_numpy()
        return
    batch = 0
    while True:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            reader = pa.ipc.open_file(f)
            if batch >= reader.num_record_batches:
                return
            rows = reader.get_batch(batch)
        batch += 1
        yield rows.column(0).to_numpy()


def reduce_fan_in(
    pieces: list[tuple[str, int]],
    rng: np.random.Generator,
    scratch: str,
    fan_in: int = MAX_FAN_IN,
    drop_merged: bool = False,
) -> tuple[list[tuple[str, int]], list[str]]:
    """Merge groups of pieces into intermediate pieces until at most fan_in are left.

    A uniform interleave of uniformly shuffled pieces is a uniformly shuffled piece, so the
    result is valid input for the final merge. Returns (pieces left, intermediate files made).
    With drop_merged a group's inputs are deleted once merged (a local spill, which no retry
    reads again: its disk then holds about one copy of the shard, not one per level).
    """
    made: list[str] = []
    level = 0
    while len(pieces) > fan_in:
        merged = []
        for group, start in enumerate(range(0, len(pieces), fan_in)):
            sources = [(rows, iter_piece(p)) for p, rows in pieces[start : start + fan_in]]
            path = FileSystems.join(scratch, f"merge-{level}-{group:05d}.arrow")
            merged.append((path, write_chunks(path, merge_shuffle(sources, rng))))
            made.append(path)
            if drop_merged:
                FileSystems.delete([p for p, _ in pieces[start : start + fan_in]])
        pieces, level = merged, level + 1
    return pieces, made

"""The shuffle that spreads pairs uniformly over shards and orders each shard at random.

No pair ever goes through a GroupByKey (a runner may hold a key's values whole in memory):
1. `scatter`: each block sends each of its pairs to a uniformly random shard, in a uniformly
   random order (one temporary piece per shard: sgns.pipeline.pairs.pieces);
2. `merge_shuffle`: a shard's writer interleaves its pieces at random with bounded memory: each
   chunk of M output rows takes from every piece's front a number of rows drawn by a
   multivariate hypergeometric draw over the rows each piece has left, then shuffles the chunk.
   Uniformly shuffled pieces and a uniformly random interleave make a uniform permutation of the
   shard. Pure numpy on packed pairs (`pack`: one int64 per pair, so shuffles move one array).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sgns.dataset import ROW_GROUP_ROWS

MERGE_CHUNK_ROWS = 8 * ROW_GROUP_ROWS  # a whole number of final row groups per chunk
# Rows per record batch of a piece (sgns.pipeline.pairs.pieces): the merge holds one batch (128 KiB)
# per piece of its shard, and takes from the pieces' fronts batch by batch.
PIECE_BATCH_ROWS = 16384


def pack(centers: np.ndarray, contexts: np.ndarray) -> np.ndarray:
    """Pairs as one int64 per pair (the two int32 side by side): shuffles move one array."""
    both = np.stack([centers, contexts], axis=1).astype(np.int32, copy=False)  # (n, 2)
    return both.view(np.int64).ravel()  # (n,)


def unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centers, contexts) of packed pairs, each contiguous int32."""
    both = np.ascontiguousarray(packed).view(np.int32).reshape(-1, 2)
    return np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1])


def scatter(packed: np.ndarray, num_shards: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Split packed pairs into num_shards parts: each pair to a uniform random shard, shuffled
    within its shard. One uniform shuffle of the block (in place), cut at multinomial sizes:
    the same distribution as an independent shard draw per pair followed by a shuffle per
    shard, and faster (BENCHMARKS.md, "Figures behind the defaults")."""
    rng.shuffle(packed)
    sizes = rng.multinomial(len(packed), np.full(num_shards, 1.0 / num_shards))
    return np.split(packed, np.cumsum(sizes)[:-1])


class _Front:
    """The unread front of one piece: take(k) returns its next k rows (as a list of arrays)."""

    def __init__(self, batches: Iterator[np.ndarray]):
        self._batches = batches
        self._rows = np.zeros(0, dtype=np.int64)

    def take(self, k: int) -> list[np.ndarray]:
        parts = []
        while k > 0:
            if not len(self._rows):
                self._rows = next(self._batches)
            parts.append(self._rows[:k])
            k -= len(parts[-1])
            self._rows = self._rows[len(parts[-1]) :]
        return parts


def merge_shuffle(
    pieces: list[tuple[int, Iterator[np.ndarray]]],
    rng: np.random.Generator,
    chunk_rows: int = MERGE_CHUNK_ROWS,
) -> Iterator[np.ndarray]:
    """Uniformly interleave shuffled pieces, given as (rows, batch iterator), in chunks of
    `chunk_rows` packed pairs (the last one shorter)."""
    remaining = np.array([rows for rows, _ in pieces], dtype=np.int64)
    fronts = [_Front(batches) for _, batches in pieces]
    while remaining.sum() > 0:
        size = int(min(chunk_rows, remaining.sum()))
        counts = rng.multivariate_hypergeometric(remaining, size)
        chunk = np.concatenate(
            [part for front, k in zip(fronts, counts) if k for part in front.take(int(k))]
        )
        remaining -= counts
        rng.shuffle(chunk)
        yield chunk

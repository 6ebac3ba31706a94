"""Which rank owns which rows of the table when: the block scheme of several ranks.

The vocabulary is dealt into N blocks (N = the ranks) in snake order of the word ids, which are
ordered by count: word w goes to block p if p = w mod 2N is below N, else to 2N - 1 - p, so the
blocks' counts (and their count^0.75 noise mass) balance, as GraphVite deals its nodes. The
table has N input blocks (the rows of the centers) and N output blocks (the rows of the contexts
and negatives). A chunk of the stream is trained in N episodes. In episode e rank r owns

    input block (r + e) mod N      and      output block r

and trains the bucket of the chunk's pairs whose center is in the one and whose context is in
the other, drawing its negatives from its own output block (count^0.75 restricted to it). The
N buckets of an episode touch disjoint rows, so no row is ever updated by two ranks between two
exchanges: every row gets plain sequential SGD, as in one process. Over the N episodes of a
chunk every rank meets every input block once, so all N x N buckets are trained. Between two
episodes each rank hands its input block to rank r - 1 and takes that of rank r + 1; its output
block never moves. After the chunk's last episode every rank holds its own input and output
block r again (`home_rows`), which is what a checkpoint gathers (sgns.train.exchange).

Because an episode's buckets are disjoint, one process that trains them one after another on
one table computes exactly what N ranks compute at once (bit for bit on the same device type
and thread count): `--emulate-ranks N` measures the quality of N GPUs on one CPU
(sgns.train.episodes). An epoch is cut into --rounds chunks (sgns.train.plan.block_chunks):
within one, a center meets the context blocks one after another, as in a stream sorted by
block, so an epoch needs several rounds to keep one process's quality.
"""

from __future__ import annotations

import numpy as np
import torch


def block_of(word_ids: torch.Tensor, blocks: int) -> torch.Tensor:
    """The block of each word id (snake order over ids, which are by count): same shape."""
    p = torch.remainder(word_ids, 2 * blocks)
    return torch.where(p < blocks, p, 2 * blocks - 1 - p)


def block_words(vocab: int, block: int, blocks: int) -> torch.Tensor:
    """The word ids of `block`, ascending (int64)."""
    ids = torch.arange(vocab)
    return ids[block_of(ids, blocks) == block]


def owned_blocks(rank: int, episode: int, blocks: int) -> tuple[int, int]:
    """(input block, output block) that `rank` trains in `episode` of a chunk."""
    return (rank + episode) % blocks, rank


def home_rows(rank: int, vocab: int, blocks: int) -> torch.Tensor:
    """The table rows (2V layout: sgns.train.table) a rank holds fresh between chunks: the input
    and the output rows of its own block."""
    words = block_words(vocab, rank, blocks)
    return torch.cat([words, words + vocab])


def noise_weights(counts, exponent: float, block: int | None, blocks: int) -> np.ndarray:
    """count^exponent (V,), zero outside `block` (None: the whole vocabulary): the alias
    sampler over it draws negatives from that block alone."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    if block is not None:
        ids = torch.arange(len(weights))
        weights[(block_of(ids, blocks) != block).numpy()] = 0.0
    return weights


def route(centers: torch.Tensor, contexts: torch.Tensor, blocks: int):
    """A rank's read pairs ordered by their context's block, keeping the read order within
    each: (centers, contexts, split sizes (N,)); part b goes to rank b, the owner of output
    block b."""
    key = block_of(contexts, blocks)
    order = torch.sort(key, stable=True).indices
    sizes = torch.bincount(key, minlength=blocks)
    return centers[order], contexts[order], sizes


def buckets(centers: torch.Tensor, contexts: torch.Tensor, blocks: int):
    """The pairs a rank received (all of its output block), ordered by their center's block,
    keeping the order received: (centers, contexts, offsets (N + 1,)); bucket a is
    [offsets[a], offsets[a + 1])."""
    key = block_of(centers, blocks)
    order = torch.sort(key, stable=True).indices
    sizes = torch.bincount(key, minlength=blocks)
    offsets = torch.zeros(blocks + 1, dtype=torch.int64)
    offsets[1:] = torch.cumsum(sizes, 0)
    return centers[order], contexts[order], offsets


def bucket_counts(centers: torch.Tensor, contexts: torch.Tensor, blocks: int) -> torch.Tensor:
    """Pairs per (center block, context block): (N, N) int64."""
    cell = block_of(centers.long(), blocks) * blocks + block_of(contexts.long(), blocks)
    return torch.bincount(cell, minlength=blocks * blocks).view(blocks, blocks)


def episode_sizes(counts: torch.Tensor, episode: int) -> torch.Tensor:
    """Pairs each rank trains in `episode`, from a chunk's bucket counts (N, N): (N,)."""
    blocks = counts.shape[0]
    ranks = torch.arange(blocks)
    return counts[(ranks + episode) % blocks, ranks]


def balance(counts: torch.Tensor) -> float:
    """Useful work over work paid for, when each episode lasts as long as its largest bucket:
    total pairs / (N x sum over episodes of the largest bucket); 1.0 is perfect balance."""
    blocks = counts.shape[0]
    longest = sum(int(episode_sizes(counts, e).max()) for e in range(blocks))
    return int(counts.sum()) / max(1, blocks * longest)

"""Which rank owns which rows of the table when: the block scheme of several ranks.

The vocabulary is dealt into N blocks (N = the ranks) so that the blocks hold equal shares of
the pairs (`Deal`): a bucket of pairs (center block, context block) then holds about 1 / N^2 of
them, and an episode, which lasts as long as its largest bucket, wastes little. The table has N
input blocks (the rows of the centers) and N output blocks (the rows of the contexts and
negatives). A chunk of the stream is trained in N episodes. In episode e rank r owns

    input block (r + e) mod N      and      output block r

and trains the bucket of the chunk's pairs whose center is in the one and whose context is in
the other, drawing its negatives from its own output block (count^0.75 restricted to it). The
N buckets of an episode touch disjoint rows, so no row is ever updated by two ranks between two
exchanges: every row gets plain sequential SGD, as in one process. Over the N episodes of a
chunk every rank meets every input block once, so all N x N buckets are trained. Between two
episodes each rank hands its input block to rank r - 1 and takes that of rank r + 1; its output
block never moves. After the chunk's last episode every rank holds its own input and output
block r again (`Deal.home_rows`), which is what a checkpoint gathers (sgns.train.exchange).

Because an episode's buckets are disjoint, one process that trains them one after another on
one table computes exactly what N ranks compute at once (bit for bit on the same device type
and thread count): `--emulate-ranks N` measures the quality of N GPUs on one CPU
(sgns.train.episodes). An epoch is cut into --rounds chunks (sgns.train.plan.block_chunks):
within one, a center meets the context blocks one after another, as in a stream sorted by
block, so an epoch needs several rounds to keep one process's quality.
"""

from __future__ import annotations

import heapq

import numpy as np
import torch

# Words dealt one by one to the lightest block, per block; the rest (each lighter than all of
# these) in snake order, which keeps the blocks as even as the last of these words is light.
HEAD_PER_BLOCK = 256


def expected_pairs(counts, sample: float) -> np.ndarray:
    """Each word's share of the pairs as a center (or a context), up to one factor: its count
    times word2vec.c's keep probability under --sample (sgns.pipeline.pairs.draw's), (V,)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0 or counts.sum() <= 0:
        return counts
    frequency = np.maximum(counts / counts.sum(), 1e-300)
    return counts * np.minimum(1.0, (np.sqrt(frequency / sample) + 1.0) * sample / frequency)


class Deal:
    """Which block each word is in: `of` (V,) int64, N `blocks`. Built from the words' expected
    pairs (`by_weight`), the same on every rank (a function of the stage's counts alone)."""

    def __init__(self, of: torch.Tensor, blocks: int):
        self.of, self.blocks, self.vocab = of, blocks, len(of)
        self._on = {of.device: of}  # `of` on each device it was asked on (ids on a GPU)

    @classmethod
    def by_weight(cls, weights, blocks: int) -> Deal:
        """Deal words of these weights (their expected pairs) into `blocks` blocks of equal
        weight: the HEAD_PER_BLOCK x N heaviest one by one to the lightest block so far (ties:
        the one with fewer words, then the lower block; words of equal weight: the lower id
        first), the rest in snake order from the lightest block. A
        frequent word's block then holds fewer other words; the blocks' word counts still come
        out nearly equal, since subsampling flattens the frequent words' weights."""
        weights = np.asarray(weights, dtype=np.float64)
        order = np.argsort(-weights, kind="stable")
        head = min(len(order), HEAD_PER_BLOCK * blocks)
        of = np.empty(len(order), dtype=np.int64)
        heap = [(0.0, 0, b) for b in range(blocks)]  # (weight, words, block)
        for word in order[:head]:
            mass, words, b = heapq.heappop(heap)
            of[word] = b
            heapq.heappush(heap, (mass + weights[word], words + 1, b))
        tail = order[head:]
        if len(tail):
            lightest = np.array([b for _, _, b in sorted(heap)])
            k = np.arange(len(tail))
            group, place = k // blocks, k % blocks
            of[tail] = np.where(group % 2 == 0, lightest[place], lightest[blocks - 1 - place])
        return cls(torch.from_numpy(of), blocks)

    @classmethod
    def for_counts(cls, counts, sample: float, blocks: int) -> Deal:
        """The deal of a vocabulary of these counts, its pairs drawn with this --sample."""
        return cls.by_weight(expected_pairs(counts, sample), blocks)

    def block_of(self, word_ids: torch.Tensor) -> torch.Tensor:
        """The block of each word id: same shape and device, int64."""
        of = self._on.get(word_ids.device)
        if of is None:
            of = self._on[word_ids.device] = self.of.to(word_ids.device)
        return of[word_ids.long()]

    def words(self, block: int) -> torch.Tensor:
        """The word ids of `block`, ascending (int64)."""
        return torch.nonzero(self.of == block).view(-1)

    def home_rows(self, rank: int) -> torch.Tensor:
        """The table rows (2V layout: sgns.train.table) a rank holds fresh between chunks: the
        input and the output rows of its own block."""
        words = self.words(rank)
        return torch.cat([words, words + self.vocab])

    def noise_weights(self, counts, exponent: float, block: int | None) -> np.ndarray:
        """count^exponent (V,), zero outside `block` (None: the whole vocabulary): the alias
        sampler over it draws negatives from that block alone."""
        weights = np.asarray(counts, dtype=np.float64) ** exponent
        if block is not None:
            weights[(self.of != block).numpy()] = 0.0
        return weights

    def route(self, centers: torch.Tensor, contexts: torch.Tensor):
        """A rank's read pairs ordered by their context's block, keeping the read order within
        each: (centers, contexts, split sizes (N,)); part b goes to rank b, the owner of output
        block b."""
        key = self.block_of(contexts)
        order = torch.sort(key, stable=True).indices
        sizes = torch.bincount(key, minlength=self.blocks)
        return centers[order], contexts[order], sizes

    def buckets(self, centers: torch.Tensor, contexts: torch.Tensor):
        """The pairs a rank received (all of its output block), ordered by their center's block,
        keeping the order received: (centers, contexts, offsets (N + 1,)); bucket a is
        [offsets[a], offsets[a + 1])."""
        key = self.block_of(centers)
        order = torch.sort(key, stable=True).indices
        sizes = torch.bincount(key, minlength=self.blocks)
        offsets = torch.zeros(self.blocks + 1, dtype=torch.int64)
        offsets[1:] = torch.cumsum(sizes, 0)
        return centers[order], contexts[order], offsets

    def bucket_counts(self, centers: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        """Pairs per (center block, context block): (N, N) int64."""
        cell = self.block_of(centers) * self.blocks + self.block_of(contexts)
        n = self.blocks
        return torch.bincount(cell, minlength=n * n).view(n, n)


def owned_blocks(rank: int, episode: int, blocks: int) -> tuple[int, int]:
    """(input block, output block) that `rank` trains in `episode` of a chunk."""
    return (rank + episode) % blocks, rank


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

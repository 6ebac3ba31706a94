"""Skip-gram pairs of a block: ids, subsampling, dynamic windows, all vectorised with numpy.

Per block: tokens -> word ids (OOV dropped, as word2vec.c and gensim do) -> sentences cut every
max_sentence_length tokens of a line -> keep each token with word2vec.c's probability
min(1, (sqrt(f/t) + 1) * t / f) -> for each kept center, b ~ U[1, window] and pairs with the kept
tokens up to b positions away on each side, within its sentence.
"""

from __future__ import annotations

import zlib

import numpy as np

from sgns.pipeline.text.blocks import Block
from sgns.pipeline.text.tokens import token_ids


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec.c's keep probability per word id; f = count / total count of the vocabulary."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    frequency = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(frequency / sample) + 1.0) * sample / frequency)


class WordIds(dict):
    """word -> id; a missing word maps to -1 without being inserted."""

    def __missing__(self, word):
        return -1


def block_rng(seed: int, pass_index: int, key: str, increment: int = 0) -> np.random.Generator:
    """The generator of one block in one pass of one increment: from the seed and the block's
    identity only. (Block keys restart with each increment's files, so a later increment mixes
    its index in; increment 0 draws as datasets built before increments did.)"""
    entropy = [seed, pass_index, zlib.crc32(key.encode())] + ([increment] if increment else [])
    return np.random.default_rng(np.random.SeedSequence(entropy))


def sentence_ids(tokens_per_line: np.ndarray, carry: int, max_sentence_length: int) -> np.ndarray:
    """Sentence number of each token: a new sentence at each line and every max_sentence_length
    tokens of a line; the first line already had `carry` tokens before this block."""
    n = int(tokens_per_line.sum())
    line_starts = np.cumsum(tokens_per_line) - tokens_per_line
    offsets = np.zeros(len(tokens_per_line), dtype=np.int64)
    if len(offsets):
        offsets[0] = carry
    # position of each token in its line (counting tokens of earlier blocks for the first line)
    position = np.arange(n, dtype=np.int64) - np.repeat(line_starts - offsets, tokens_per_line)
    starts = position % max_sentence_length == 0
    return np.cumsum(starts)


def block_word_ids(
    block: Block, ids: WordIds, lowercase: bool, max_sentence_length: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """(word ids, sentence numbers) of the in-vocabulary tokens of a block, in order; and the
    number of tokens, OOV included."""
    word_ids, lengths = token_ids(block.text, ids, lowercase)
    sentences = sentence_ids(lengths, block.carry, max_sentence_length)
    known = word_ids >= 0
    return word_ids[known], sentences[known], len(word_ids)


def subsample(
    word_ids: np.ndarray, sentences: np.ndarray, keep: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The tokens that survive subsampling (each kept with probability keep[id])."""
    kept = rng.random(len(word_ids)) < keep[word_ids]
    return word_ids[kept], sentences[kept]


def make_pairs(
    word_ids: np.ndarray, sentences: np.ndarray, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(centers, contexts) int32: each center i draws b ~ U[1, window]; contexts are the tokens
    within b positions on either side in the same sentence, never position i itself."""
    n = len(word_ids)
    reach = rng.integers(1, window + 1, size=n)  # b per center
    centers, contexts = [], []
    for offset in range(1, min(window, n - 1) + 1):
        same = sentences[offset:] == sentences[:-offset]  # pairs (i, i + offset)
        right = same & (reach[:-offset] >= offset)  # center i, context i + offset
        left = same & (reach[offset:] >= offset)  # center i + offset, context i
        centers += [word_ids[:-offset][right], word_ids[offset:][left]]
        contexts += [word_ids[offset:][right], word_ids[:-offset][left]]
    if not centers:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty.copy()
    return np.concatenate(centers), np.concatenate(contexts)

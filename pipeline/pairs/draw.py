"""Skip-gram pairs of a block: ids, subsampling, dynamic windows, all vectorised with numpy.

Per block: tokens -> word ids (OOV dropped, as word2vec.c and gensim do) -> sentences cut every
max_sentence_length tokens of a line -> keep each token with word2vec.c's probability
min(1, (sqrt(f/t) + 1) * t / f) -> for each kept center, b ~ U[1, window] and pairs with the kept
tokens up to b positions away on each side, within its sentence.

With --phrase-words keep (Block.phrased), the words' pairs are drawn from the words' own text as
above, and then, with the same generator, the pairs of the phrased text that have a phrase at one
end at least: its tokens subsampled the same way, its windows drawn the same way.
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
    word_ids: np.ndarray,
    sentences: np.ndarray,
    window: int,
    rng: np.random.Generator,
    phrase: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(centers, contexts) int32: each center i draws b ~ U[1, window]; contexts are the tokens
    within b positions on either side in the same sentence, never position i itself. With
    `phrase` (one bool a token), only the pairs with a phrase at one end at least (the same
    draws: the pairs of the whole text that have one)."""
    n = len(word_ids)
    reach = rng.integers(1, window + 1, size=n)  # b per center
    centers, contexts = [], []
    for offset in range(1, min(window, n - 1) + 1):
        same = sentences[offset:] == sentences[:-offset]  # pairs (i, i + offset)
        if phrase is not None:
            same &= phrase[:-offset] | phrase[offset:]
        right = same & (reach[:-offset] >= offset)  # center i, context i + offset
        left = same & (reach[offset:] >= offset)  # center i + offset, context i
        centers += [word_ids[:-offset][right], word_ids[offset:][left]]
        contexts += [word_ids[offset:][right], word_ids[:-offset][left]]
    if not centers:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty.copy()
    return np.concatenate(centers), np.concatenate(contexts)


def phrased_word_ids(
    block: Block, ids: WordIds, lowercase: bool, max_sentence_length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(word ids, sentence numbers, is a phrase) of the in-vocabulary tokens of the block's
    phrased text (Block.phrased, a sentence a line); None without one."""
    if block.phrased is None:
        return None
    text, phrase = block.phrased
    word_ids, lengths = token_ids(text, ids, lowercase)
    sentences = sentence_ids(lengths, 0, max_sentence_length)
    known = word_ids >= 0
    return word_ids[known], sentences[known], np.frombuffer(phrase, dtype=bool)[known]


def draw_pairs(
    words: tuple[np.ndarray, np.ndarray],
    phrased: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    keep: np.ndarray,
    window: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(centers, contexts, tokens kept) of one pass over a block: the words' pairs
    (`block_word_ids`), then those of the phrased text with a phrase at one end at least
    (`phrased_word_ids`; module docstring)."""
    kept_ids, kept_sentences = subsample(*words, keep, rng)
    centers, contexts = make_pairs(kept_ids, kept_sentences, window, rng)
    if phrased is None:
        return centers, contexts, len(kept_ids)
    word_ids, sentences, phrase = phrased
    kept = rng.random(len(word_ids)) < keep[word_ids]
    word_ids, sentences, phrase = word_ids[kept], sentences[kept], phrase[kept]
    more = make_pairs(word_ids, sentences, window, rng, phrase)
    centers = np.concatenate((centers, more[0])).astype(np.int32, copy=False)
    contexts = np.concatenate((contexts, more[1])).astype(np.int32, copy=False)
    return centers, contexts, len(kept_ids) + int(phrase.sum())

"""Scoring word vectors (pure functions): pair similarity, 3CosAdd analogies, nearest neighbours.

The numbers follow gensim's `KeyedVectors` conventions so they can be compared with published
ones: words are matched case-insensitively by default (the first, most frequent case variant's
vector is used), pairs or questions with an unknown word are skipped and counted, similarity is
the cosine, analogies use 3CosAdd on unit vectors with the three question words excluded, and
"the N most frequent words" are the first N rows (word2vec.c, gensim and sgns-export write rows
in frequency order).
"""

from __future__ import annotations

import os

import numpy as np

from sgns.eval.sets import AnalogySet, read_analogies, read_similarity_pairs
from sgns.files import check_file
from sgns.rundir import VECTORS_FILE, run_path
from sgns.vectors import read_vectors

ANALOGY_BATCH = 512  # questions per matrix multiply: (512, D) @ (D, N)


def resolve_vectors(path: str) -> str:
    """The vector file for VECTORS: the path itself, or RUN/vectors.txt for a run directory."""
    if os.path.isdir(path):
        vectors = run_path(path, VECTORS_FILE)
        if not os.path.exists(vectors):
            raise FileNotFoundError(
                f"{path} has no {VECTORS_FILE}: the training did not finish or exported elsewhere; "
                "run sgns-export"
            )
        return vectors
    if not os.path.exists(path):
        raise FileNotFoundError(f"vectors {path!r} do not exist (no such file or run directory)")
    return check_file(path, "vector file")


def load_vectors(path: str) -> tuple[list[str], np.ndarray]:
    """Words and float32 vectors (V, D) from a vector file or run directory."""
    words, vectors = read_vectors(resolve_vectors(path))
    return words, np.asarray(vectors, dtype=np.float32)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (all-zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1)).astype(np.float32)


class WordIndex:
    """Look-up of words in the first `limit` rows; case-folded unless `case_sensitive`.

    Several rows can share a key when case is folded ("Paris", "paris"): the first row, the most
    frequent, stands for the key, as in gensim.
    """

    def __init__(self, words: list[str], limit: int | None = None, case_sensitive: bool = False):
        self.case_sensitive = case_sensitive
        self.rows = len(words) if limit is None else min(limit, len(words))
        keys = [self.key(w) for w in words[: self.rows]]
        self.first: dict[str, int] = {}
        for row, key in enumerate(keys):
            self.first.setdefault(key, row)
        self.key_of_row = np.array([self.first[k] for k in keys], dtype=np.int64)  # (rows,)

    def key(self, word: str) -> str:
        return word if self.case_sensitive else word.upper()

    def row(self, word: str) -> int | None:
        return self.first.get(self.key(word))


# Cosines that differ by no more than this are one value: float32 cosines of a word with itself
# differ by a few units in the last place (up to 5e-7 measured, at any dimension), and a ranking
# of that noise is no correlation (a file of such pairs, or of one pair again and again).
COSINE_NOISE = 1e-5


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ties get their average rank), as scipy.stats.spearmanr."""
    return pearson(_average_ranks(x), _average_ranks(y))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation; NaN where it has none (fewer than 2 values, or a constant)."""
    x, y = _scaled(x), _scaled(y)  # (scale-free: scores near 1e300 overflowed their squares)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _scaled(values) -> np.ndarray:
    """`values` as float64 divided by their largest magnitude (finite values: at most 1)."""
    values = np.asarray(values, dtype=np.float64)
    largest = np.abs(values).max() if len(values) else 0.0
    return values / largest if largest > 0 else values


def _average_ranks(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks are 1-based: (start+1 + end) / 2
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def evaluate_similarity(
    words: list[str], vectors: np.ndarray, path: str, case_sensitive: bool = False
) -> dict:
    """Spearman and Pearson correlation of cosine similarity with one file's human scores."""
    pair_set = read_similarity_pairs(path)
    index = WordIndex(words, case_sensitive=case_sensitive)
    unit = unit_rows(vectors)
    gold, model, oov = [], [], 0
    for a, b, score in pair_set.pairs:
        ra, rb = index.row(a), index.row(b)
        if ra is None or rb is None:
            oov += 1
            continue
        gold.append(score)
        model.append(float(unit[ra] @ unit[rb]))
    total = len(pair_set.pairs)
    flat = len(model) > 0 and max(model) - min(model) <= COSINE_NOISE  # one cosine: no ranking
    return {
        "file": path,
        "spearman": None if flat else _finite(spearman(gold, model)),
        "pearson": None if flat else _finite(pearson(gold, model)),
        "pairs": len(gold),
        "oov_pairs": oov,
        "oov_rate": oov / total if total else 0.0,
        "malformed": pair_set.malformed,
    }


def _finite(value: float) -> float | None:
    return None if value != value else value


def solve_analogies(
    unit: np.ndarray, index: WordIndex, abc: np.ndarray, batch: int = ANALOGY_BATCH
) -> np.ndarray:
    """3CosAdd answers (Q,) as row ids: argmax cos(x, b - a + c) over the first index.rows rows.

    `unit` (V, D) holds unit vectors; `abc` (Q, 3) the rows of a, b, c. Every row that shares a key
    with a, b or c (the words themselves and their case variants) is excluded; a question whose
    every candidate is excluded has no answer, -1 (gensim counts it wrong; argmax gave row 0).
    """
    candidates = unit[: index.rows]  # (N, D)
    order = np.argsort(index.key_of_row, kind="stable")  # rows grouped by key
    group_start = np.searchsorted(index.key_of_row[order], np.arange(index.rows))
    group_size = np.bincount(index.key_of_row, minlength=index.rows)
    answers = np.empty(len(abc), dtype=np.int64)
    for start in range(0, len(abc), batch):
        part = abc[start : start + batch]  # (B, 3)
        target = unit[part[:, 1]] - unit[part[:, 0]] + unit[part[:, 2]]  # (B, D)
        scores = target @ candidates.T  # (B, N); the target's norm does not change the argmax
        keys = index.key_of_row[part].ravel()  # (3B,)
        sizes = group_size[keys]
        question = np.repeat(np.repeat(np.arange(len(part)), 3), sizes)
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        rows = order[np.repeat(group_start[keys], sizes) + offsets]
        scores[question, rows] = -np.inf
        best = scores.argmax(axis=1)  # (B,)
        best[scores[np.arange(len(part)), best] == -np.inf] = -1
        answers[start : start + batch] = best
    return answers


def evaluate_analogy_set(
    words: list[str],
    vectors: np.ndarray,
    analogy_set: AnalogySet,
    restrict_vocab: int = 30000,
    case_sensitive: bool = False,
) -> dict:
    """Accuracy per section and overall on questions whose four words are all candidates."""
    index = WordIndex(words, limit=restrict_vocab, case_sensitive=case_sensitive)
    first = {}  # (a set made in code names its sections: the first of each name)
    for position, name in enumerate(analogy_set.sections):
        first.setdefault(name, position)
    section_of = analogy_set.section_of or [first[q[0]] for q in analogy_set.questions]
    kept, abcd = [], []
    for question, section in zip(analogy_set.questions, section_of):
        rows = [index.row(w) for w in question[1:]]
        if None not in rows:
            kept.append(section)
            abcd.append(rows)
    abcd = np.array(abcd, dtype=np.int64).reshape(-1, 4)
    answers = solve_analogies(unit_rows(vectors[: index.rows]), index, abcd[:, :3])
    correct = (answers >= 0) & (index.key_of_row[answers] == abcd[:, 3])  # (-1: no answer)
    asked = np.bincount(np.array(kept, dtype=np.int64), minlength=len(analogy_set.sections))
    right = np.bincount(np.array(kept, dtype=np.int64), weights=correct,
                        minlength=len(analogy_set.sections))  # fmt: skip
    sections = []
    for name, n, c in zip(analogy_set.sections, asked.tolist(), right.astype(int).tolist()):
        sections.append(
            {"section": name, "correct": c, "questions": n, "accuracy": c / n if n else None}
        )
    total = len(analogy_set.questions)
    return {
        "sections": sections,
        "correct": int(correct.sum()),
        "questions": len(kept),
        "accuracy": float(correct.mean()) if len(kept) else None,
        "oov_questions": total - len(kept),
        "oov_rate": (total - len(kept)) / total if total else 0.0,
        "malformed": analogy_set.malformed,
        "restrict_vocab": restrict_vocab,
    }


def evaluate_analogies(
    words: list[str],
    vectors: np.ndarray,
    path: str,
    restrict_vocab: int = 30000,
    case_sensitive: bool = False,
) -> dict:
    """Accuracy on one Google questions-words.txt style file (see `evaluate_analogy_set`)."""
    result = evaluate_analogy_set(
        words, vectors, read_analogies(path), restrict_vocab, case_sensitive
    )
    return {"file": path, **result}


def nearest_neighbors(
    words: list[str], vectors: np.ndarray, queries: list[str], topn: int = 10
) -> tuple[dict[str, list[tuple[str, float]]], list[str]]:
    """The `topn` nearest words by cosine of each known query, and the unknown queries.

    A query matches its exact spelling, else any case variant (the most frequent).
    """
    exact = {w: i for i, w in reversed(list(enumerate(words)))}
    folded = WordIndex(words)
    unit = unit_rows(vectors)
    found, unknown = {}, []
    for query in queries:
        row = exact.get(query, folded.row(query))
        if row is None:
            unknown.append(query)
            continue
        scores = unit @ unit[row]  # (V,)
        scores[row] = -np.inf  # never its own neighbour, even when topn reaches every word
        top = _top_rows(scores, min(topn, len(scores) - 1))
        found[query] = [(words[i], float(scores[i])) for i in top]
    return found, unknown


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Row ids of the k largest scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]

"""Evaluation against sgns-synth's planted truth: cluster neighbour precision and analogy accuracy.

Cluster neighbour precision: for every cluster word in the vocabulary, the share of its k nearest
neighbours (cosine, over the whole vocabulary, itself excluded) that belong to its cluster, with k
capped at the cluster's in-vocabulary size minus one; the mean over words. Random vectors score
about (cluster size / vocabulary size); planted clusters learned well score near 1.
"""

from __future__ import annotations

import json

import numpy as np

from sgns.errors import UsageError, loads_json
from sgns.eval.scoring import WordIndex, evaluate_analogy_set, unit_rows
from sgns.eval.sets import AnalogySet
from sgns.files import check_file, decode_text

NEIGHBOR_BATCH = 1024  # query rows per (B, V) score matrix


def load_truth(path: str) -> dict:
    """An sgns-synth ground-truth file."""
    with open(check_file(path, "synth truth file"), "rb") as f:
        try:
            truth = loads_json(decode_text(f.read(), path))
        except json.JSONDecodeError as e:
            raise UsageError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(truth, dict) or "clusters" not in truth or "analogies" not in truth:
        raise UsageError(f"{path} is not an sgns-synth truth file (no clusters/analogies)")
    return truth


def cluster_precision(
    words: list[str], vectors: np.ndarray, clusters: list[list[str]], k: int = 10
) -> dict:
    """Mean share of each cluster word's k nearest neighbours that are in its cluster."""
    index = WordIndex(words)
    rows, labels, missing = [], [], 0
    for label, cluster in enumerate(clusters):
        found = sorted({r for r in (index.row(w) for w in cluster) if r is not None})
        missing += len(cluster) - len(found)
        if len(found) >= 2:
            rows += found
            labels += [label] * len(found)
    rows, labels = np.array(rows, dtype=np.int64), np.array(labels, dtype=np.int64)
    label_of_row = np.full(len(words), -1, dtype=np.int64)
    label_of_row[rows] = labels
    sizes = np.bincount(labels, minlength=len(clusters))
    unit = unit_rows(vectors)
    per_word = np.empty(len(rows))
    for start in range(0, len(rows), NEIGHBOR_BATCH):
        part = rows[start : start + NEIGHBOR_BATCH]
        scores = unit[part] @ unit.T  # (B, V)
        scores[np.arange(len(part)), part] = -np.inf
        kk = int(min(k, len(words) - 1))
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]  # (B, kk), unordered
        k_eff = np.minimum(kk, sizes[label_of_row[part]] - 1)  # (B,)
        ranked = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), 1), 1)
        hit = label_of_row[ranked] == label_of_row[part][:, None]  # (B, kk)
        hit &= np.arange(kk)[None, :] < k_eff[:, None]
        per_word[start : start + NEIGHBOR_BATCH] = hit.sum(1) / k_eff
    per_cluster = [
        float(per_word[labels == c].mean()) if sizes[c] else None for c in range(len(clusters))
    ]
    return {
        "cluster_precision": float(per_word.mean()) if len(rows) else None,
        "k": k,
        "cluster_words": len(rows),
        "oov_words": missing,
        "clusters": per_cluster,
    }


def evaluate_synthetic(
    words: list[str], vectors: np.ndarray, truth: dict, k: int = 10, restrict_vocab: int = 30000
) -> dict:
    """Cluster neighbour precision and planted analogy accuracy of vectors on sgns-synth's truth."""
    analogy_set = AnalogySet(sections=list(truth["analogies"]))
    for section, questions in truth["analogies"].items():
        analogy_set.questions += [(section, *q) for q in questions if len(q) == 4]
    return {
        **cluster_precision(words, vectors, truth["clusters"], k),
        "analogies": evaluate_analogy_set(words, vectors, analogy_set, restrict_vocab),
    }


def cluster_similarity(
    words: list[str], vectors: np.ndarray, clusters: list[list[str]]
) -> np.ndarray:
    """Mean cosine between the in-vocabulary words of every two clusters (C, C); NaN for a
    cluster with no word in the vocabulary. The diagonal averages over distinct word pairs."""
    index = WordIndex(words)
    unit = unit_rows(vectors)
    members = [[r for r in (index.row(w) for w in c) if r is not None] for c in clusters]
    centroid_sums = np.array([unit[m].sum(0) if m else np.zeros(unit.shape[1]) for m in members])
    sizes = np.array([len(m) for m in members], dtype=np.float64)
    totals = centroid_sums @ centroid_sums.T  # (C, C): sum of cosines over all word pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        result = totals / np.outer(sizes, sizes)
        diagonal = (np.diag(totals) - sizes) / (sizes * (sizes - 1))  # minus self-pairs
    np.fill_diagonal(result, diagonal)
    return result

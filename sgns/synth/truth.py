"""The planted ground truth of sgns-synth's language: clusters, analogy questions, scored pairs.

Pure functions of the configuration and its lexicon (see sgns.synth.generate), seeded from
cfg.seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from sgns.synth.config import SynthConfig
from sgns.synth.lexicon import RELATIONS, Lexicon

FORMAT = "sgns-synth-truth"
# Up to this many lemma pairs, the questions are a prefix of their permutation (the demo's
# language has 36,672); past it, a sample without replacement.
PERMUTED_PAIRS = 10_000_000


def analogy_questions(cfg: SynthConfig, lex: Lexicon) -> dict[str, list[list[str]]]:
    """Per relation, questions a : form(a) :: c : form(c) over distinct random lemma pairs."""
    rng = np.random.default_rng([cfg.seed, 2])
    n = len(lex.lemmas)
    wanted = min(cfg.analogies_per_relation, n * (n - 1))
    questions = {}
    for r, name in enumerate(lex.relation_names, start=1):
        if n * (n - 1) <= PERMUTED_PAIRS:  # ordered pairs (a, c), a != c
            codes = rng.permutation(n * (n - 1))[:wanted]
        else:  # a permutation of them all would not fit in memory
            codes = rng.choice(n * (n - 1), wanted, replace=False)
        a, c = codes // (n - 1), codes % (n - 1)
        c = c + (c >= a)
        questions[name] = [
            [
                lex.words[lex.forms[i, 0]],
                lex.words[lex.forms[i, r]],
                lex.words[lex.forms[j, 0]],
                lex.words[lex.forms[j, r]],
            ]
            for i, j in zip(a.tolist(), c.tolist())
        ]
    return questions


def similarity_pairs(cfg: SynthConfig, lex: Lexicon) -> Iterator[tuple[str, str, float]]:
    """Word pairs scored 9 (two forms of one lemma), 6 (same cluster) or 1 (different
    clusters), made as they are asked for."""
    rng = np.random.default_rng([cfg.seed, 3])
    n_lemmas, n_forms = lex.forms.shape
    for i in range(cfg.similarity_pairs):
        a, b = rng.integers(0, n_lemmas, 2)
        kind = i % 3
        if kind == 0:
            b = a
        elif kind == 1:
            b = (a // cfg.cluster_size) * cfg.cluster_size + rng.integers(0, cfg.cluster_size)
        fa, fb = rng.integers(0, n_forms, 2)
        if a == b and fa == fb:
            fb = (fa + 1) % n_forms
        same_cluster = a // cfg.cluster_size == b // cfg.cluster_size
        score = 9.0 if a == b else 6.0 if same_cluster else 1.0
        yield lex.words[lex.forms[a, fa]], lex.words[lex.forms[b, fb]], score


def truth(cfg: SynthConfig, lex: Lexicon) -> dict:
    """The planted ground truth: clusters (all forms of their lemmas) and analogy questions."""
    size = cfg.cluster_size
    return {
        "format": FORMAT,
        "config": asdict(cfg),
        "clusters": [
            [lex.words[i] for i in lex.forms[c * size : (c + 1) * size].ravel()]
            for c in range(cfg.clusters)
        ],
        "relations": {
            name: {"suffix": suffix, "markers": [lex.words[i] for i in lex.markers[r]]}
            for r, (name, suffix) in enumerate(RELATIONS[: cfg.relations])
        },
        "function_words": [lex.words[i] for i in lex.function],
        "analogies": analogy_questions(cfg, lex),
    }

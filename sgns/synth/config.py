"""SynthConfig: size, seed and shape of sgns-synth's language; its defaults are the only ones."""

from __future__ import annotations

from dataclasses import dataclass

from sgns.synth.lexicon import RELATIONS


@dataclass(frozen=True)
class SynthConfig:
    """Size, seed and shape of the synthetic language. The defaults are the demo's corpus."""

    tokens: int = 1_000_000
    seed: int = 0
    clusters: int = 16
    cluster_size: int = 12  # lemmas per cluster
    relations: int = 3  # derived forms per lemma (and analogy sections)
    function_words: int = 40
    filler_words: int = 20000
    analogies_per_relation: int = 500
    similarity_pairs: int = 300

    def __post_init__(self):
        positive = ("tokens", "clusters", "cluster_size", "relations", "function_words")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be at least 1, not {getattr(self, name)}"
                )
        for name in ("filler_words", "analogies_per_relation", "similarity_pairs", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be >= 0, not {getattr(self, name)}"
                )
        if self.relations > len(RELATIONS):
            raise ValueError(f"--relations {self.relations}: at most {len(RELATIONS)} are defined")
        if self.cluster_size < 2:
            raise ValueError(f"--cluster-size {self.cluster_size}: a cluster needs >= 2 lemmas")

"""SynthConfig: size, seed and shape of sgns-synth's language; its defaults are the only ones."""

from __future__ import annotations

from dataclasses import dataclass

from sgns.dataset.settings import MAX_INT
from sgns.errors import UsageError
from sgns.synth.lexicon import MARKERS_PER_RELATION, RELATIONS, capacity

# The most scored pairs, and analogy questions per relation, a run writes: an evaluation set of
# more only takes longer to write and to score (gensim's sets hold 353, 999 and 19,544 items).
MAX_EVAL_ITEMS = 1_000_000


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
        for name, value in vars(self).items():  # (every count bounded, as every command's)
            if name != "seed" and type(value) is int and value > MAX_INT:
                raise UsageError(f"--{name.replace('_', '-')} must be at most {MAX_INT}, "
                                 f"not {value}")  # fmt: skip
        positive = ("tokens", "clusters", "cluster_size", "relations", "function_words")
        for name in positive:
            if getattr(self, name) < 1:
                raise UsageError(
                    f"--{name.replace('_', '-')} must be at least 1, not {getattr(self, name)}"
                )
        for name in ("filler_words", "analogies_per_relation", "similarity_pairs", "seed"):
            if getattr(self, name) < 0:
                raise UsageError(
                    f"--{name.replace('_', '-')} must be >= 0, not {getattr(self, name)}"
                )
        if self.relations > len(RELATIONS):
            raise UsageError(f"--relations {self.relations}: at most {len(RELATIONS)} are defined")
        if self.cluster_size < 2:
            raise UsageError(f"--cluster-size {self.cluster_size}: a cluster needs >= 2 lemmas")
        for name in ("analogies_per_relation", "similarity_pairs"):
            if getattr(self, name) > MAX_EVAL_ITEMS:
                raise UsageError(
                    f"--{name.replace('_', '-')} must be at most {MAX_EVAL_ITEMS:,}, "
                    f"not {getattr(self, name)}"
                )
        self._check_words()

    def _check_words(self) -> None:
        """Each kind of word may take at most half the words its syllable count makes: drawn
        at random until unused, more would take ever longer to find (and then fail)."""
        kinds = (
            ("--function-words", 1, self.function_words + self.relations * MARKERS_PER_RELATION),
            ("--clusters x --cluster-size", 2, self.clusters * self.cluster_size),
            ("--filler-words", 3, self.filler_words),
        )
        for option, syllables, wanted in kinds:
            if wanted > capacity(syllables) // 2:
                raise UsageError(
                    f"{option} asks for {wanted:,} words of {syllables} syllable(s); the "
                    f"language makes {capacity(syllables):,}, at most half of them can be "
                    "used: ask for fewer"
                )

"""The words of sgns-synth's language: pronounceable made-up words, unique, seeded.

Function and marker words are one syllable ("ka", "tem"), lemmas two ("dapo", "mesul"), fillers
three ("rivoka"); a derived form is its lemma plus the relation's suffix ("dapo" -> "daposi").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sgns.errors import UsageError

# (relation name, suffix of the derived form); the names label the analogy sections.
RELATIONS = (("plural", "si"), ("diminutive", "ki"), ("feminine", "na"), ("augmentative", "zo"))
MARKERS_PER_RELATION = 4
CONSONANTS = tuple("bdfgklmnprstvz")
VOWELS = tuple("aeiou")


@dataclass(frozen=True)
class Lexicon:
    """All words (index = word id in the generator) and the id tables the generator samples from."""

    words: list[str]
    function: np.ndarray  # (F,) ids of function words, most frequent first
    markers: np.ndarray  # (R, MARKERS_PER_RELATION) ids of each relation's marker words
    forms: np.ndarray  # (n_lemmas, 1 + R) ids: column 0 the lemma, column r its r-th derived form
    filler: np.ndarray  # (N,) ids of filler words, most frequent first
    relation_names: list[str]

    @property
    def lemmas(self) -> list[str]:
        return [self.words[i] for i in self.forms[:, 0]]


def capacity(syllables: int) -> int:
    """How many distinct words of `syllables` syllables the patterns make: open syllables, and
    a last one that may close with a consonant."""
    open_syllables = len(CONSONANTS) * len(VOWELS)
    return open_syllables ** (syllables - 1) * open_syllables * (1 + len(CONSONANTS))


class _WordMaker:
    """Draws unused pronounceable words from syllable patterns."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.used: set[str] = set()

    def syllable(self, closed: bool) -> str:
        c, v = self.rng.integers(0, len(CONSONANTS)), self.rng.integers(0, len(VOWELS))
        coda = CONSONANTS[self.rng.integers(0, len(CONSONANTS))] if closed else ""
        return CONSONANTS[c] + VOWELS[v] + coda

    def word(self, syllables: int, reserve: tuple[str, ...] = ()) -> str:
        """A new word of `syllables` syllables; word + each `reserve` suffix must stay free too."""
        for _ in range(10_000):
            parts = [self.syllable(False) for _ in range(syllables - 1)]
            parts.append(self.syllable(closed=self.rng.random() < 0.3))
            word = "".join(parts)
            derived = [word + s for s in reserve]
            if word not in self.used and not self.used.intersection(derived):
                self.used.update([word, *derived])
                return word
        raise UsageError(f"cannot make more unique {syllables}-syllable words; ask for fewer words")


def build_lexicon(
    seed: int,
    clusters: int,
    cluster_size: int,
    relations: int,
    function_words: int,
    filler_words: int,
) -> Lexicon:
    """The seeded vocabulary; lemmas are listed cluster by cluster (lemma i: cluster i // size)."""
    maker = _WordMaker(np.random.default_rng([seed, 0]))
    suffixes = tuple(s for _, s in RELATIONS[:relations])
    # Reserve every suffix on every word, so no word is ever another word's derived form.
    reserve = tuple(s for _, s in RELATIONS)
    words: list[str] = []

    def add(word: str) -> int:
        words.append(word)
        return len(words) - 1

    function = [add(maker.word(1, reserve)) for _ in range(function_words)]
    markers = [[add(maker.word(1, reserve)) for _ in range(MARKERS_PER_RELATION)] for _ in suffixes]
    forms = []
    for _ in range(clusters * cluster_size):
        lemma = maker.word(2, reserve)
        forms.append([add(lemma)] + [add(lemma + s) for s in suffixes])
    filler = [add(maker.word(3, reserve)) for _ in range(filler_words)]
    return Lexicon(
        words=words,
        function=np.array(function, dtype=np.int64),
        markers=np.array(markers, dtype=np.int64).reshape(relations, MARKERS_PER_RELATION),
        forms=np.array(forms, dtype=np.int64),
        filler=np.array(filler, dtype=np.int64),
        relation_names=[name for name, _ in RELATIONS[:relations]],
    )

"""Word vectors to query from Python: `load` any vector file or run directory sgns writes, and a
`Vectors` object with gensim's `KeyedVectors` calls and numbers.

The maths is numpy only; the evaluations are sgns-eval's (sgns.eval.scoring), which score as
gensim does. gensim itself is needed only by `Vectors.to_gensim`.
"""

from __future__ import annotations

import math

import numpy as np

from sgns.console.imports import imported_whole
from sgns.errors import UsageError, usage_error
from sgns.eval.scoring import _top_rows, evaluate_analogies, evaluate_similarity, load_vectors
from sgns.files import check_output_file, path_argument
from sgns.vectors.formats import write_vectors
from sgns.vectors.npy import first_not_finite

GENSIM_RESTRICT = 300000  # gensim's restrict_vocab default for both evaluations
_BYTES = (bytes, bytearray, memoryview)  # a word given as bytes: words are str


def load(path: str) -> Vectors:
    """The vectors of a word2vec text or binary file, a .npy file with its .vocab.tsv beside it
    (the format is told from the content), or a run directory (its vectors.txt). A file that
    is missing or no vector file: sgns.UsageError, in one line (a MissingFileError, which is
    also a FileNotFoundError, for a missing one)."""
    return Vectors._of(*_one_line(load_vectors, path_argument("path", path)))


def _one_line(call, *args):
    """`call(*args)`, a user's mistake in it (a UsageError, a missing file, a fault of the
    machine: an OSError) raised as the one line a command prints for it (sgns.errors)."""
    try:
        return call(*args)
    except (UsageError, OSError) as error:
        raised = usage_error(error)
        if raised is None or raised is error:
            raise
        raise raised from None


class Vectors:
    """Words and their vectors (V, D), rows in the file's order (most frequent first).

    The calls and numbers are gensim's `KeyedVectors`: `most_similar` ranks by cosine with the
    mean of the unit vectors of `positive` minus those of `negative` (3CosAdd), leaving the query
    words out; `restrict` limits candidates to the first N words, as gensim's `restrict_vocab`.

    >>> import sgns
    >>> wv = sgns.load("vectors.txt")  # a file sgns-export wrote, or a run directory
    >>> wv
    Vectors(5 words, 3 dimensions)
    >>> "king" in wv, "kings" in wv
    (True, False)
    >>> wv["king"]
    array([1., 0., 1.], dtype=float32)
    >>> wv.most_similar(positive=["king", "woman"], negative=["man"], topn=2)
    [('queen', 0.958...), ('apple', -0.561...)]
    >>> round(wv.similarity("king", "queen"), 3)
    0.5
    >>> wv.save("vectors.bin", format="binary")
    >>> sgns.load("vectors.bin").words == wv.words
    True

    `words` and `vectors` are read-only (the rows of the words and the vectors' lengths are
    found once, for every query): other vectors are other `Vectors`, such as
    `sgns.Vectors(wv.words, wv.vectors / lengths)`, which copies the array it is given.
    """

    def __init__(self, words: list[str], vectors):
        vectors = np.array(vectors, dtype=np.float32, order="C")  # (V, D), a copy of the caller's
        self._set(words, vectors)
        row = first_not_finite(self._vectors)  # (sgns.load and save refuse such vectors too)
        if row is not None:
            raise UsageError(f"Vectors: the vector of {self._words[row]!r:.60} (row {row}) holds "
                             "NaN or inf as float32 (a value beyond 3.4e38 is inf); give finite "
                             "vectors")  # fmt: skip

    @classmethod
    def _of(cls, words: list[str], vectors: np.ndarray) -> Vectors:
        """Vectors over an array no one else holds (as read from a file: finite, checked),
        without a copy of it."""
        self = cls.__new__(cls)
        self._set(words, np.ascontiguousarray(vectors, dtype=np.float32))
        return self

    def _set(self, words, vectors: np.ndarray) -> None:
        self._words = _Words(words)
        if vectors.ndim != 2 or len(vectors) != len(self._words):
            raise UsageError(f"{len(self._words)} words but vectors of shape {vectors.shape}")
        self._rows: dict[str, int] = {}
        for row, word in enumerate(self._words):
            first = self._rows.setdefault(word, row)
            if first != row:  # (most_similar found its other row as an answer)
                raise UsageError(f"Vectors: the word {word!r:.60} is given twice (rows {first} "
                                 f"and {row}): each word has one vector")  # fmt: skip
        vectors.flags.writeable = False  # (`*=` would leave the lengths below stale)
        self._vectors, self._norms = vectors, None

    @property
    def words(self) -> list[str]:
        """The words, row by row (a list that cannot be changed)."""
        return self._words

    @property
    def vectors(self) -> np.ndarray:
        """The float32 vectors (V, D), read-only."""
        return self._vectors

    def __reduce__(self):  # (pickle, copy: read-only again, without a check or a copy)
        return type(self)._of, (list(self._words), self._vectors)

    def __setstate__(self, state: dict) -> None:
        """A pickle made before the vectors were read-only (its `words` and `vectors` were
        plain attributes) loads as these."""
        if "_words" in state:
            self.__dict__.update(state)
        else:
            self._set(state["words"], np.array(state["vectors"], dtype=np.float32, order="C"))

    def __repr__(self) -> str:
        return f"Vectors({len(self.words)} words, {self.vectors.shape[1]} dimensions)"

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self._rows

    def __getitem__(self, word: str) -> np.ndarray:
        """The vector (D,) of `word`; KeyError for a word not in the vocabulary."""
        return self.vectors[self.index(word)]

    def index(self, word: str) -> int:
        """The row of `word` (its exact spelling)."""
        row = self._rows.get(word)
        if row is None:
            raise KeyError(f"{word!r} is not one of the {len(self.words)} words of these vectors")
        return row

    def _lengths(self) -> np.ndarray:
        """The length of each vector (V,) in float64 (a float32 vector near 3.4e38 has a length
        float32 cannot hold), 1 for an all-zero one, so it divides safely; a block at a time."""
        if self._norms is None:
            norms = np.empty(len(self._vectors))
            step = max(1, 2**22 // max(1, self._vectors.shape[1]))
            for start in range(0, len(norms), step):
                block = self._vectors[start : start + step].astype(np.float64)
                norms[start : start + step] = np.linalg.norm(block, axis=1)
            self._norms = np.where(norms > 0, norms, 1.0)
        return self._norms

    def _unit(self, word: str) -> np.ndarray:
        """The vector of `word` scaled to length 1 (D,), float64."""
        row = self.index(word)
        return self.vectors[row].astype(np.float64) / self._lengths()[row]

    def similarity(self, a: str, b: str) -> float:
        """The cosine of the vectors of words `a` and `b`."""
        for word in (a, b):  # (as most_similar says it: a KeyError would say no such word)
            if not isinstance(word, str):
                kind = "bytes" if isinstance(word, _BYTES) else type(word).__name__
                raise UsageError(f"similarity: words are str, not {kind}: {word!r:.60}")
        return float(self._unit(a) @ self._unit(b))

    def most_similar(
        self, positive=(), negative=(), topn: int = 10, restrict: int | None = None
    ) -> list[tuple[str, float]]:
        """The `topn` (word, cosine) nearest the mean of the unit vectors of `positive` (a word,
        or a list of words or vectors) minus those of `negative`, best first, the query words
        left out; `restrict`: only the first `restrict` words are candidates."""
        positive, negative = _as_list(positive, "positive"), _as_list(negative, "negative")
        if not positive and not negative:
            raise UsageError("most_similar needs a word in positive or negative")
        for name, value in (("topn", topn), ("restrict", restrict)):
            if not (value is None and name == "restrict" or _is_count(value)):
                raise UsageError(f"most_similar: {name} must be an integer >= 0, not {value!r}")
        terms, query_rows = [], []
        for sign, items in ((1, positive), (-1, negative)):
            for item in items:
                if isinstance(item, str):
                    query_rows.append(self.index(item))
                    terms.append(sign * self._unit(item))
                elif isinstance(item, _BYTES):
                    raise UsageError(f"most_similar: words are str, not bytes: {item!r:.60}")
                else:  # a vector is taken as it is, as gensim does
                    terms.append(sign * self._query_vector(item))
        mean = np.mean(np.asarray(terms, dtype=np.float64), axis=0)  # (D,), no overflow
        if np.isinf(np.linalg.norm(mean)):  # (vectors near float32's largest: scale first)
            mean = mean / np.abs(mean).max()
        if not np.linalg.norm(mean):  # every word would score 0: an arbitrary answer
            raise UsageError("most_similar: the query's vectors cancel out (they sum to zero: a "
                             "word in both positive and negative, or a zero vector), so no word "
                             "is nearer than another")  # fmt: skip
        mean = mean / np.linalg.norm(mean)
        rows = len(self.words) if restrict is None else min(restrict, len(self.words))
        lengths = self._lengths()[:rows]
        # float32 products of vectors near 3.4e38 overflow: the unit query scaled down first
        scale = 2.0 ** -max(0, math.ceil(math.log2(lengths.max() / 1e30))) if rows else 1.0
        scores = self.vectors[:rows] @ (mean * scale).astype(np.float32) / (lengths * scale)
        scores[[r for r in query_rows if r < rows]] = -np.inf  # never an answer
        top = _top_rows(scores, topn)
        return [(self.words[i], float(scores[i])) for i in top if scores[i] > -np.inf]

    def _query_vector(self, item) -> np.ndarray:
        """A vector given to most_similar (D,), checked: of this dimension and finite."""
        try:
            vector = np.asarray(item, dtype=np.float32)
        except (TypeError, ValueError):  # ("w0", 2.0): gensim's weighted word, not ours
            vector = None
        if vector is None or vector.ndim != 1:  # (a number, a list of words, ...)
            raise UsageError(f"most_similar: {item!r:.60} is neither a word (str) nor a vector "
                             "of numbers")  # fmt: skip
        if vector.shape != self.vectors.shape[1:]:
            raise UsageError(f"most_similar: a vector of shape {vector.shape}, not of these "
                             f"vectors' {self.vectors.shape[1:]}")  # fmt: skip
        if not np.isfinite(vector).all():
            raise UsageError("most_similar: a vector that holds NaN or inf has no neighbours")
        return vector

    def evaluate_word_pairs(
        self, path: str, restrict: int | None = GENSIM_RESTRICT, case_insensitive: bool = True
    ) -> dict:
        """Spearman and Pearson correlation of cosine with the human scores of a WordSim-353 or
        SimLex-999 file, over the pairs of words among the first `restrict`.

        gensim's `(pearson, spearman, oov_ratio)` are `["pearson"]`, `["spearman"]` and
        `100 * ["oov_rate"]` here (without p-values: no scipy); `["pairs"]` were scored."""
        path = path_argument("path", path)
        restrict = _restrict("evaluate_word_pairs", restrict)
        words, vectors = self.words[:restrict], self.vectors[:restrict]
        return _one_line(evaluate_similarity, words, vectors, path, not case_insensitive)

    def evaluate_word_analogies(
        self, path: str, restrict: int | None = GENSIM_RESTRICT, case_insensitive: bool = True
    ) -> dict:
        """3CosAdd accuracy on a questions-words.txt style file, overall and per section, over
        the questions whose four words are among the first `restrict`.

        gensim's `(score, sections)` are `["accuracy"]` and `["sections"]` here, each section
        with its `correct` and `questions` counts."""
        path = path_argument("path", path)
        restrict = _restrict("evaluate_word_analogies", restrict)
        return _one_line(
            evaluate_analogies, self.words, self.vectors, path, restrict, not case_insensitive
        )

    def save(self, path: str, format: str = "text") -> None:
        """Write the vectors as "text" or "binary" word2vec (what gensim's `load_word2vec_format`
        reads too), or "npy" with `.vocab.tsv` beside it; `load` and sgns-eval read all three.
        Never over a run's or a dataset's own files; what cannot be written (an empty path, a
        directory, a missing folder, a full disk) is a sgns.UsageError in one line, as
        sgns-export says it (a MissingFileError for a missing folder)."""
        path = check_output_file(path_argument("path", path), "Vectors.save: path")
        _one_line(write_vectors, path, self.words, self.vectors, format)

    def to_gensim(self):
        """The same words and vectors as a gensim `KeyedVectors`."""
        try:
            with imported_whole():  # (Ctrl-C meanwhile: gensim whole for the next call)
                from gensim.models import KeyedVectors
        except ImportError:
            raise ImportError("to_gensim needs gensim: pip install gensim") from None
        kv = KeyedVectors(self.vectors.shape[1])
        kv.add_vectors(self.words, self.vectors)
        return kv


def _is_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _restrict(call: str, value) -> int | None:
    """An evaluation's `restrict`: None (every word) or a count of words, at least 1."""
    if value is None or _is_count(value) and value >= 1:
        return value
    raise UsageError(f"{call}: restrict must be None or an integer >= 1, not {value!r:.60}")


def _as_list(words, name: str) -> list:
    """`positive` or `negative` (`name`) as a list: one word or vector alone, or None, is
    allowed."""
    if words is None:
        return []
    if isinstance(words, (str, *_BYTES)) or (isinstance(words, np.ndarray) and words.ndim == 1):
        return [words]
    try:
        return list(words)
    except TypeError:  # (a number: gensim's index of a word, not ours)
        raise UsageError(f"most_similar: {name} is {type(words).__name__} {words!r:.60}: give "
                         "a word (str), a vector, or a list of them") from None  # fmt: skip


class _Words(list):
    """The words of a `Vectors`: a list (it compares, slices and iterates as one) that cannot be
    changed, since the row of each word is looked up in a dict made once."""

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "the words of a sgns.Vectors cannot be changed (their rows are looked up once): "
            "make other vectors with sgns.Vectors(words, vectors)"
        )

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self):  # (pickle and copy would fill a new one with extend)
        return _Words, (list(self),)

"""Readers for evaluation sets: word-pair similarity files and Google-format analogy files.

Both readers skip what they cannot parse and count it, so one bad line never stops an evaluation;
a file with no pair or question at all (empty, binary, another kind of file) is refused by name.

Similarity files: WordSim-353 layout ("word1<TAB>word2<TAB>score") and SimLex-999's original
layout (a header line "word1 word2 POS SimLex999 conc(w1) ...", then one pair per line, the score
in the SimLex999 column). Lines starting with '#' are comments. Without a header the score is the
first number after the two words. Fields are split on tabs when the line has any, else on spaces.

Analogy files: Google's questions-words.txt, ": section" lines then "a b c d" lines.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass, field

from sgns.files import check_file

# Header names (lower-cased, prefix match) that mark the score column of a similarity file.
SCORE_COLUMNS = ("simlex999", "simlex", "score", "similarity", "human", "sim", "mean")


@dataclass
class PairSet:
    """Scored word pairs read from one similarity file."""

    pairs: list[tuple[str, str, float]] = field(default_factory=list)
    malformed: int = 0


@dataclass
class AnalogySet:
    """Analogy questions (section, a, b, c, expected) read from one file, in file order."""

    questions: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    malformed: int = 0


def _lines(path: str):
    """The lines of an evaluation file (.gz by extension); ValueError for a binary one."""
    check_file(path, "evaluation file")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if "\0" in line:
                raise ValueError(f"evaluation file {path} holds NUL bytes: it is binary, not text")
            yield line


def _check_found(path: str, found: int, malformed: int, what: str, layout: str) -> None:
    if not found:
        raise ValueError(
            f"evaluation file {path} holds no {what} ({malformed} malformed lines): give a file "
            f"in the {layout} layout"
        )


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.split("\t")] if "\t" in line else line.split()


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None  # NaN and inf are no score


def _header_score_column(fields: list[str]) -> int | None:
    names = [f.lower() for f in fields]
    for wanted in SCORE_COLUMNS:
        for i, name in enumerate(names[2:], start=2):
            if name.startswith(wanted):
                return i
    return None


def read_similarity_pairs(path: str) -> PairSet:
    """The scored pairs of a WordSim-353 or SimLex-999 style file."""
    result = PairSet()
    score_column = None
    seen_data = False
    for line in _lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = _fields(line)
        if not seen_data and len(fields) >= 3 and all(_number(x) is None for x in fields[2:]):
            score_column = _header_score_column(fields)  # a header line
            seen_data = True
            continue
        seen_data = True
        if score_column is not None:
            numbers = [_number(fields[score_column])] if len(fields) > score_column else []
        else:
            numbers = [_number(x) for x in fields[2:]]
        score = next((n for n in numbers if n is not None), None)
        if len(fields) < 3 or score is None:
            result.malformed += 1
            continue
        result.pairs.append((fields[0], fields[1], score))
    _check_found(path, len(result.pairs), result.malformed, "scored word pairs",
                 "WordSim-353 or SimLex-999")  # fmt: skip
    return result


def read_analogies(path: str) -> AnalogySet:
    """The questions of a Google questions-words.txt style file."""
    result = AnalogySet()
    section = None
    for line in _lines(path):
        if line.startswith(":"):
            section = line[1:].strip() or "(unnamed)"
            result.sections.append(section)
            continue
        words = line.split()
        if not words:
            continue
        if len(words) != 4 or section is None:
            result.malformed += 1
            continue
        result.questions.append((section, *words))
    _check_found(path, len(result.questions), result.malformed, "analogy questions",
                 "questions-words.txt")  # fmt: skip
    return result

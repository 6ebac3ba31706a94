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

import codecs
import gzip
import math
import re
import zlib
from dataclasses import dataclass, field

from sgns.errors import UsageError
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
    """Analogy questions (section, a, b, c, expected) read from one file, in file order.

    `section_of` holds the position in `sections` of each question's section: two sections may
    share a name (":" twice), and each is counted with its own questions, as gensim counts them.
    Left empty (sets made in code), a question is in the first section of its name."""

    questions: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    malformed: int = 0
    section_of: list[int] = field(default_factory=list)


# Bytes of one line at most: a pair or a question is a few words (and a number); a longer line
# is counted as malformed and read past in pieces, so memory stays bounded whatever the file.
LINE_BYTES = 1 << 16


def _lines(path: str):
    """The lines of an evaluation file (.gz by extension), without their ends ("\n", "\r\n"
    or a lone "\r", as text mode reads them) or a UTF-8 byte order mark at the file's start
    (Windows editors write one), None for one over LINE_BYTES; UsageError for a binary one."""
    check_file(path, "evaluation file")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        try:
            for number, line in enumerate(_split(f, LINE_BYTES)):
                if line is not None and b"\0" in line:
                    raise UsageError(
                        f"evaluation file {path} holds NUL bytes: it is binary, not text"
                    )
                if number == 0 and line is not None:
                    line = line.removeprefix(codecs.BOM_UTF8)
                yield None if line is None else line.decode("utf-8", errors="replace")
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:  # a damaged or cut-short .gz
            raise UsageError(f"evaluation file {path} is not a whole gzip file ({e})") from None


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _split(f, limit: int):
    """The lines of the binary file `f`, each None when it is `limit` bytes or longer: read in
    pieces of `limit` bytes, so that at most two are held whatever the file."""
    held, skipping = b"", False  # skipping: the line held began more than `limit` bytes ago
    while True:
        piece = f.read(limit)
        held += piece
        start = 0
        for end in _LINE_END.finditer(held):
            if end.group() == b"\r" and end.end() == len(held) and piece:
                break  # (a "\r\n" the next piece may complete)
            line = held[start : end.start()]
            yield None if skipping or len(line) >= limit else line
            start, skipping = end.end(), False
        held = held[start:]
        if not piece:
            if held:
                yield None if skipping or len(held) >= limit else held
            return
        if len(held) > limit:  # a line past the limit: forget it up to its end
            held, skipping = held[-1:] if held.endswith(b"\r") else b"", True


def _check_found(path: str, found: int, malformed: int, what: str, layout: str) -> None:
    if not found:
        raise UsageError(
            f"evaluation file {path} holds no {what} ({malformed} malformed "
            f"line{'' if malformed == 1 else 's'}): give a file "
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


def _is_name(text: str) -> bool:
    """Whether a first line's field is a column's name, not a score: not a number at all (a
    "nan" or "inf" score is a malformed line, counted, wherever it is)."""
    try:
        float(text)
    except ValueError:
        return True
    return False


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
        if line is None:
            result.malformed += 1
            continue
        if not line.strip() or line.startswith("#"):
            continue
        fields = _fields(line)
        if not seen_data and len(fields) >= 3 and all(_is_name(x) for x in fields[2:]):
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
        if line is None:
            result.malformed += 1
            continue
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
        result.section_of.append(len(result.sections) - 1)
    _check_found(path, len(result.questions), result.malformed, "analogy questions",
                 "questions-words.txt")  # fmt: skip
    return result

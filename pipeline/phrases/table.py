"""Phrases: word2phrase's bigram scores, the dataset's phrase table, and applying it to tokens.

`sgns-preprocess --phrases N` runs N rounds of bigram detection before the vocabulary (Mikolov et
al. 2013, "Distributed Representations of Words and Phrases", and word2vec.c's word2phrase; the
Beam stages are sgns.pipeline.phrases.detect, the per-block work sgns.pipeline.phrases.blocks).
A round counts every word a and every adjacent pair (a, b) of one sentence, then keeps the pairs

    npmi (gensim's; default, threshold 0.6):
        log(p(ab) / (p(a) p(b))) / -log(p(ab)) > threshold, p(x) = count / total
    word2phrase (threshold 100):
        (count(ab) - min_count) / count(a) / count(b) * total_words > threshold

with count(ab) >= min_count and, as word2phrase drops rarer words, count(a), count(b) >=
min_count (sgns.pipeline.phrases.counts computes them); npmi lies in [-1, 1], so its threshold
must lie in [-1, 1). The kept pairs are joined into one token `a_b`, greedily left to right as
word2phrase writes them ("a b c" with both pairs kept is "a_b c"), in the next round's text and
in the text the vocabulary and the pairs are made of: two rounds make "new_york_times" from
"new_york" and "times". A phrase never crosses a sentence and is never longer than a word may be
(sgns.pipeline.text.tokens.MAX_TOKEN_CHARS).

Connector words (--phrase-connectors, gensim 4's connector_words): a phrase never starts or ends
with one, but may hold them between its ends. With connectors, (a, b) is a word a, the next word b
that is no connector, and the connectors between them, which are part of the pair: "bank of
america" is the pair (bank, america) with "of" between, counted and scored as one pair (count(a),
count(b) are the ends'), and joined as "bank_of_america".

The table, DIR/phrases.tsv, is part of the dataset (named in its manifest, with its sha256): one
line per phrase, "phrase<TAB>left<TAB>right<TAB>score<TAB>count<TAB>round", by round, then score
descending, then phrase; the phrase is left, the connectors between (if any) and right, joined
with "_" (a connector word holds no "_", so the phrase says which they are). `--append` and
`--watch` apply it as it is (they never detect again).
Your own text, made the dataset's tokens first (its --normalize, --tokenizer and --lowercase, from
its manifest: with --lowercase --tokenizer words, "The New-York Times," is "the new-york times"),
then phrased:

    from sgns.pipeline.phrases import load_phrases
    phrases = load_phrases("data/corpus")            # a dataset (local or s3://...) or its file
    phrases.apply("The New York Times".split())      # ['the', 'new_york_times'] after 2 rounds,
                                                     # with --lowercase

or, lines of bytes in the dataset's --encoding in (sgns.pipeline.text.own), phrased lines out:
    python -m sgns.pipeline.phrases DATASET < in.txt > out.txt
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sgns import store
from sgns.dataset import (
    MANIFEST_FILE,
    PHRASES_FILE,
    check_resolved,
    check_utf8_name,
    read_manifest,
)
from sgns.dataset.shape import damaged
from sgns.errors import UsageError
from sgns.files import decode_text
from sgns.pipeline.text.format import TextFormat
from sgns.pipeline.text.tokens import MAX_TOKEN_CHARS

log = logging.getLogger(__name__)
JOINER = "_"  # between the two parts of a phrase, as word2phrase writes them
# gensim 4's ENGLISH_CONNECTOR_WORDS (gensim.models.phrases): --phrase-connectors english
ENGLISH_CONNECTORS = ("a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the",
                      "to", "with", "without")  # fmt: skip


class Phrase(NamedTuple):
    """One line of phrases.tsv: the pair (left, right) found in round `round`."""

    left: str
    right: str
    score: float
    count: int  # of the pair in the round's text
    round: int  # 1, 2, ...: round r's parts may be phrases of rounds before it
    between: tuple[str, ...] = ()  # the connector words between left and right

    @property
    def phrase(self) -> str:
        return JOINER.join((self.left, *self.between, self.right))


def connector_words(setting: str, read=store.read_bytes) -> tuple[str, ...]:
    """The words of --phrase-connectors, sorted: english (ENGLISH_CONNECTORS), none, or a file
    (`read(path, what)` gives its bytes) of UTF-8 words separated by whitespace, read past a
    byte order mark (U+FEFF, taken as whitespace wherever it is); UsageError naming it."""
    if setting in ("none", "english"):
        return ENGLISH_CONNECTORS if setting == "english" else ()
    check_utf8_name(setting, "--phrase-connectors")  # (the manifest names it; Beam's coders)
    try:
        text = decode_text(read(setting, "connectors file"), setting)
        words = text.replace("\ufeff", " ").split()  # (one inside: two files joined by cat)
    except (FileNotFoundError, IsADirectoryError):
        raise UsageError(
            f"--phrase-connectors {setting!r} is no file: pass english (gensim's connector "
            "words), none, or a file of words separated by whitespace"
        ) from None
    except (UsageError, OSError) as e:  # (a directory, text that is not UTF-8, a store's fault)
        raise UsageError(f"--phrase-connectors {setting}: {e}") from None
    joined = [word for word in words if JOINER in word]
    if joined or not words:
        raise UsageError(
            f"--phrase-connectors {setting}: "
            + (f"the word {joined[0]!r} holds {JOINER!r}, which joins a phrase's words: "
               "leave it out" if joined else "the file holds no word: pass none for no "
               "connector words")
        )  # fmt: skip
    return tuple(sorted(set(words)))


def round_rows(found: Iterable[tuple], number: int) -> list[Phrase]:
    """A round's phrases (left, right, score, count, between) in the table's order: score
    descending, then phrase (then left: "a_b"+"c" and "a"+"b_c" are one phrase)."""
    rows = [Phrase(left, right, score, count, number, between)
            for left, right, score, count, between in found]  # fmt: skip
    return sorted(rows, key=lambda r: (-r.score, r.phrase, r.left, r.between))


def format_phrases(rows: Sequence[Phrase]) -> bytes:
    """The bytes of phrases.tsv (the score as Python's shortest exact float text)."""
    return "".join(
        f"{r.phrase}\t{r.left}\t{r.right}\t{r.score!r}\t{r.count}\t{r.round}\n" for r in rows
    ).encode("utf-8")


def parse_phrases(data: bytes, name: str = PHRASES_FILE) -> list[Phrase]:
    """The rows of phrases.tsv bytes (`name`: its path, for errors); ValueError naming the first
    line that is not one, or rounds out of order."""
    rows: list[Phrase] = []
    text = decode_text(data, name)
    for number, line in enumerate(text.split("\n")[:-1] if text else [], start=1):
        fields = line.split("\t")
        try:
            phrase, left, right, score, count, round_number = fields
            between = _between(phrase, left, right)
            row = Phrase(left, right, float(score), int(count), int(round_number), between)
        except ValueError:
            row = None
        if row is None or row.phrase != phrase or not left or not right or row.round < 1:
            raise UsageError(
                f"{name} line {number} is not 'phrase<TAB>left<TAB>right<TAB>score<TAB>count"
                f"<TAB>round': {line[:80]!r}; rebuild the dataset (sgns-preprocess --overwrite)"
            )
        if row.round not in ((rows[-1].round, rows[-1].round + 1) if rows else (1,)):
            raise UsageError(f"{name} line {number}: round {row.round} out of order")
        rows.append(row)
    return rows


def _between(phrase: str, left: str, right: str) -> tuple[str, ...]:
    """The connector words a table's phrase holds between its left and right parts."""
    inner = phrase[len(left) + 1 : len(phrase) - len(right) - 1]
    return tuple(inner.split(JOINER)) if len(phrase) > len(left) + len(right) + 1 else ()


class Phrases:
    """A phrase table: `apply` joins a sentence's tokens as the dataset's text was joined, once
    they are the dataset's tokens (`text` and `lowercase`: how the dataset made its tokens;
    `of` reads them from its manifest's config; by default tokens are taken as they are)."""

    def __init__(self, rows: Iterable[Phrase], text: TextFormat | None = None, lowercase=False):
        self.rows = list(rows)
        self.text, self.lowercase = text or TextFormat(), bool(lowercase)
        self.rounds: list[set[tuple]] = []  # round r's (left, right, between) at index r - 1
        for row in self.rows:
            while len(self.rounds) < row.round:
                self.rounds.append(set())
            self.rounds[row.round - 1].add((row.left, row.right, row.between))

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, phrase: str) -> bool:
        return any(row.phrase == phrase for row in self.rows)  # (a few calls: no index)

    @classmethod
    def of(cls, rows: Iterable[Phrase], config: dict) -> Phrases:
        """The table `rows` of a dataset whose manifest's config is `config`."""
        return cls(rows, TextFormat.recorded(config), config.get("lowercase", False))

    def tokens(self, text: str) -> list[str]:
        """The dataset's tokens of one sentence of text, as sgns-preprocess makes them from
        decoded text: --normalize and --tokenizer (TextFormat.prepare), --lowercase, split,
        each cut to MAX_TOKEN_CHARS (no phrase is longer, so none is lost)."""
        text = self.text.prepare(text)
        return [t[:MAX_TOKEN_CHARS] for t in (text.lower() if self.lowercase else text).split()]

    def apply(self, tokens: Sequence[str]) -> list[str]:
        """The tokens of one sentence made the dataset's (`tokens` of them joined by spaces:
        with --lowercase --tokenizer words --normalize nfc, "New", "York," and "CAFE" + U+0301
        are "new", "york" and "café"; the dataset's own tokens stay as they are), then `join`ed."""
        return self.join(self.tokens(" ".join(tokens)))

    def join(self, tokens: Sequence[str]) -> list[str]:
        """The dataset's tokens of one sentence with every round's pairs joined, greedily left to
        right (a pair's connector words, if any, joined with it: no other pair can start at a
        word between its ends, as none starts with a connector)."""
        tokens = list(tokens)
        for pairs in self.rounds:
            gaps = sorted({len(between) for _, _, between in pairs})
            joined, i = [], 0
            while i < len(tokens):
                end = i  # the last token joined into tokens[i]
                for gap in gaps:
                    j = i + 1 + gap
                    if (
                        j < len(tokens)
                        and (tokens[i], tokens[j], tuple(tokens[i + 1 : j])) in pairs
                    ):
                        end = j
                        break
                joined.append(JOINER.join(tokens[i : end + 1]))
                i = end + 1
            tokens = joined
        return tokens


def load_phrases(location: str) -> Phrases:
    """The phrase table of a dataset (a directory or URI holding phrases.tsv) or of a phrases.tsv
    file, applied as the dataset tokenised its text (`read_table`). An empty table (the
    dataset found no phrase) joins nothing."""
    rows, manifest = read_table(location)
    return Phrases.of(rows, manifest["config"] if manifest else {})


def read_table(location: str) -> tuple[list[Phrase], dict | None]:
    """(rows, the dataset's manifest) of the phrase table of a dataset, or of a phrases.tsv file
    whose dataset's manifest beside it names it (by its file name): the table must be the one
    the manifest names (its sha256 and rows: `check_table`) and the dataset's own (no link to a
    file outside it), else UsageError. A file with no manifest beside it, or a
    copy under another name, is taken alone: (rows, None), logged (its tokens are then phrased
    as they are given)."""
    directory = store.is_dir(location)
    path = store.join(location, PHRASES_FILE) if directory else location
    if directory:
        manifest = read_manifest(location)
        if "phrases" not in manifest:  # (sgns.dataset.shape: nor phrase rounds in its config)
            with contextlib.suppress(FileNotFoundError):
                store.read_bytes(path)
                raise unnamed_table(store.join(location, MANIFEST_FILE))
            raise FileNotFoundError(
                f"{location!r} has no {PHRASES_FILE}: its dataset was built without --phrases"
            )
        data = store.read_bytes(check_resolved(location, path, "the phrase table"))
        return check_table(data, manifest["phrases"], path), manifest
    data = store.read_bytes(path)
    rows = parse_phrases(data, path)
    if store.is_uri(path):
        base, mark, query = path.partition("?")  # (a URI's options stay at its end)
        folder, _, name = base.rpartition("/")
        folder += mark + query
    else:
        folder, name = os.path.split(path)
    try:
        manifest = read_manifest(folder or ".")
    except FileNotFoundError:
        manifest = None
    named = ((manifest or {}).get("phrases") or {}).get("file")
    if named == name:
        check_resolved(folder or ".", path, "the phrase table")
        return check_table(data, manifest["phrases"], path), manifest
    log.warning("%s: %s; its tokens are phrased as they are given, not made the dataset's "
                "(load the dataset's directory for that)", path,
                f"the manifest beside it names {named}, not this file" if named else
                "no dataset's manifest beside it names it")  # fmt: skip
    return rows, None


def table_entry(data: bytes, rounds: list[dict], connectors: Sequence[str] = ()) -> dict:
    """The manifest's "phrases": the table file, its sha256 and size, the connector words of
    --phrase-connectors (`connector_words`), each round's summary."""
    return {
        "file": PHRASES_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "phrases": len(parse_phrases(data)),
        "connectors": list(connectors),
        "rounds": rounds,
    }


def check_table(data: bytes, entry: dict, where: str) -> list[Phrase]:
    """The rows of a phrases.tsv (read from `where`) that is the one its manifest's phrases
    `entry` names (its sha256, then its rows: as many as the entry counts, else the manifest is
    damaged); else UsageError."""
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise UsageError(
            f"{where} is not the phrase table the dataset's manifest was written with (its "
            "sha256 differs): the dataset was changed since; restore it or rebuild the dataset"
        )
    rows = parse_phrases(data, where)
    if len(rows) != entry.get("phrases"):
        raise damaged(where, f"it holds {len(rows)} phrases, its manifest's phrases.phrases "
                      f"says {entry.get('phrases')}")  # fmt: skip
    return rows


def unnamed_table(where: str) -> UsageError:
    """The error for a dataset that holds a phrases.tsv that its manifest (`where`) names not."""
    return damaged(where, f"it names no phrase table (no phrases entry, config.phrases 0) but "
                   f"the dataset holds {PHRASES_FILE}")  # fmt: skip


def round_summary(number: int, tokens: int, words: int, bigrams: int, pruned: int, found: int):
    """What the manifest keeps of one round (a dict of numbers)."""
    return {"round": number, "tokens": tokens, "distinct_words": words, "bigrams": bigrams,
            "pruned": pruned, "phrases": found}  # fmt: skip

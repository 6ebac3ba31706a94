"""The vocabulary file (vocab.tsv and its snapshots): its bytes, parsing, the manifest's exact
vocabulary, and the fingerprints checkpoints keep of it."""

from __future__ import annotations

import hashlib

from sgns import files, store
from sgns.dataset.layout import MANIFEST_FILE, VOCAB_FILE, inside
from sgns.dataset.manifest import check_resolved
from sgns.errors import UsageError


def format_vocab(words: list[str], counts: list[int]) -> bytes:
    """The bytes of a vocabulary file: one "word<TAB>count" line per id, UTF-8."""
    if len(words) != len(counts):
        raise ValueError(f"{len(words)} words but {len(counts)} counts")
    return "".join(f"{w}\t{c}\n" for w, c in zip(words, counts)).encode("utf-8")


def parse_vocab(data: bytes, name: str = "vocabulary") -> tuple[list[str], list[int]]:
    """Words and counts from the bytes of a vocabulary file (`name`: its path, for errors).

    Lines are split on "\\n" only: tokens come from `str.split()` and so hold no ASCII whitespace,
    but they may hold characters that `str.splitlines()` would also break on. A line of another
    shape (a second tab) or a word given twice is refused, naming the file and the line.
    """
    words: list[str] = []
    counts: list[int] = []
    text = files.decode_text(data, name)
    for number, line in enumerate(text.split("\n")[:-1] if text else [], start=1):
        word, sep, count = line.partition("\t")
        if not sep or not word or not count.isdigit() or not count.isascii():
            raise UsageError(f"{name} line {number} is not 'word<TAB>count': {line[:80]!r}")
        words.append(word)
        counts.append(int(count))
    if len(set(words)) < len(words):  # a word twice would be two ids, or its counts summed
        _refuse_repeated(words, name)
    return words, counts


def _refuse_repeated(words: list[str], name: str):
    lines: dict[str, int] = {}
    for number, word in enumerate(words, start=1):
        if lines.setdefault(word, number) != number:
            raise UsageError(
                f"{name} line {number} holds the word {word[:80]!r} of line {lines[word]} again: "
                "the file is damaged; restore it or rebuild the dataset (sgns-preprocess)"
            )


def read_vocab(directory: str) -> tuple[list[str], list[int]]:
    """Words and counts of vocab.tsv in a dataset (a local directory or a URI), in id order."""
    path = store.join(directory, VOCAB_FILE)
    return parse_vocab(store.read_bytes(path), path)


def read_manifest_vocab(directory: str, manifest: dict) -> tuple[list[str], list[int]]:
    """Exactly the words and counts of this manifest, even while an increment is being added:
    its snapshot when it names one (vocab.tsv may already be newer), else vocab.tsv. The file
    must be the one the manifest fingerprinted (its sha256), else the dataset was changed after
    it was written and UsageError says so."""
    vocab = manifest["vocab"]
    name = inside(
        vocab.get("snapshot", VOCAB_FILE), store.join(directory, MANIFEST_FILE), "vocab.snapshot"
    )
    path = check_resolved(directory, store.join(directory, name), "the vocabulary file")
    data = store.read_bytes(path)
    if "sha256" in vocab and hashlib.sha256(data).hexdigest() != vocab["sha256"]:
        raise UsageError(
            f"{name} in {directory!r} is not the vocabulary its manifest was written with "
            "(its sha256 differs): the dataset was changed since; rebuild it (sgns-preprocess)"
        )
    words, counts = parse_vocab(data, store.join(directory, name))
    if len(words) != manifest["vocab"]["size"]:
        raise UsageError(
            f"{name} in {directory!r} has {len(words)} words but the manifest says "
            f"{manifest['vocab']['size']}: the dataset is inconsistent"
        )
    return words, counts


def vocab_fingerprint(words: list[str], counts: list[int]) -> str:
    """sha256 of the vocabulary file these words and counts make."""
    return hashlib.sha256(format_vocab(words, counts)).hexdigest()


def words_fingerprint(words: list[str]) -> str:
    """sha256 of the words alone, in id order: what stays equal for the old ids of a vocabulary
    that an increment grew (its counts change, its first words do not)."""
    digest = hashlib.sha256()
    for word in words:
        digest.update(word.encode("utf-8") + b"\n")
    return digest.hexdigest()

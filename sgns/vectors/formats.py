"""Word vectors on disk: word2vec text and binary formats, and .npy with a vocabulary file.

The word2vec formats are the ones word2vec.c writes and gensim's
`KeyedVectors.load_word2vec_format(path, binary=...)` reads: a header line "V D", then one
line per word ("word v1 ... vD" in text; "word " + D little-endian float32 + "\\n" in binary).
No torch here: vectors are numpy float32 arrays of shape (V, D).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from sgns.dataset import format_vocab
from sgns.errors import UsageError, quote
from sgns.files import SignalsHeld, atomic_open, check_file, check_side_file
from sgns.rundir import VECTORS_FILE, check_not_own_file
from sgns.vectors.npy import first_not_finite, npy_vocab_path, read_npy
from sgns.vectors.sniff import HEADER_BYTES, sniff_format

FORMATS = ("text", "binary", "npy")
log = logging.getLogger(__name__)


def write_vectors(path: str, words: list[str], vectors: np.ndarray, fmt: str = "text") -> None:
    """Write vectors (V, D) for `words` in `fmt`; atomically, so a reader never sees half a file.

    For "npy", `path` gets the array and `path` with ".vocab.tsv" (instead of ".npy") gets the
    words, one per line in row order (counts are written as 0).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown vector format {fmt!r}; choose one of {', '.join(FORMATS)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"{len(words)} words but vectors of shape {vectors.shape}")
    if 0 in vectors.shape:  # (read_vectors refuses such a file: none is written)
        raise UsageError(f"no vectors to write to {path!r}: {vectors.shape[0]} words of "
                         f"{vectors.shape[1]} dimensions")  # fmt: skip
    row = first_not_finite(vectors)  # (float32: a value past 3.4e38 is inf now)
    if row is not None:  # (read_vectors refuses such a file: none is written)
        raise UsageError(f"no vectors written to {path!r}: the vector of {words[row]!r} "
                         f"(row {row}) holds NaN or inf as float32 (a value beyond 3.4e38 "
                         "is inf); give finite vectors")  # fmt: skip
    check_not_own_file(path, "path", (VECTORS_FILE,))  # (sgns-export: its --output, first)
    _check_words(words, path, fmt)
    if fmt == "npy":
        vocab = npy_vocab_path(path)
        check_not_own_file(vocab, "the .npy's vocabulary")
        check_side_file(vocab, _is_npy_vocab, "vocabulary", path)
        with SignalsHeld() as held, atomic_open(path) as f, atomic_open(vocab) as g:
            np.save(f, vectors)
            g.write(format_vocab(words, [0] * len(words)))
            held.hold()  # (both renamed, or neither: never a new array with an old vocabulary)
        return
    with atomic_open(path) as f:
        f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n".encode())
        if fmt == "text":  # one % per row: a format call per number took seconds at 3M numbers
            line = " ".join(["%.6g"] * vectors.shape[1])
            for word, row in zip(words, vectors):
                f.write(word.encode("utf-8") + b" " + (line % tuple(row.tolist())).encode())
                f.write(b"\n")
        else:
            little = vectors.astype("<f4", copy=False)
            for word, row in zip(words, little):
                f.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")


def _check_words(words: list[str], path: str, fmt: str) -> None:
    """UsageError naming the first word that a vector file in `fmt` cannot hold so that it
    reads back: one that is not str, is empty, holds a separator (a newline; a space, or in a
    .npy's vocabulary a tab), is given twice (each word has one vector), or holds what UTF-8
    cannot encode (a lone surrogate, as errors="surrogateescape" leaves one)."""
    separator = "\t" if fmt == "npy" else " "
    try:  # (in C, for the million words of a run; the loop below only names the first)
        blob = "\n".join(words)
        fine = bool(blob.encode("utf-8")) and separator not in blob and all(words)
        fine = fine and blob.count("\n") == len(words) - 1 and len(set(words)) == len(words)
    except (TypeError, UnicodeEncodeError):
        fine = False
    seen: dict[str, int] = {}
    for number, word in enumerate(() if fine else words):
        said = f"{path!r} cannot be written: word {number}"
        if not isinstance(word, str):
            raise UsageError(f"{said} is {type(word).__name__} {word!r:.60}, not str")
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as e:
            raise UsageError(f"{said}, {quote(word)}, holds {word[e.start]!r}, which UTF-8 "
                             "cannot encode (a lone surrogate)") from None  # fmt: skip
        if not word or separator in word or "\n" in word:
            raise UsageError(
                f"{said}, {quote(word)}, is empty or holds a newline or {separator!r}, which "
                f"separate the words of {_FILE_OF[fmt]}"
            )
        if seen.setdefault(word, number) != number:
            raise UsageError(f"{said}, {quote(word)}, is word {seen[word]} again: a vector "
                             "file holds one vector for each word")  # fmt: skip


_FILE_OF = {"text": "a text vector file", "binary": "a binary one", "npy": "a .npy's vocabulary"}


def _is_npy_vocab(head: bytes) -> bool:
    """Whether `head`, the first bytes of a file, is of a vocabulary written beside a .npy
    (above): "word<TAB>0" lines."""
    lines = head.split(b"\n")[:-1]  # (the last: cut short, or empty)
    return bool(lines) and all(line.endswith(b"\t0") and line.count(b"\t") == 1 for line in lines)


def read_vectors(path: str, binary: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Words and vectors (V, D) from a word2vec text/binary file or a .npy written above.

    `binary=None` tells the format from the file's content (`sniff_format`), whatever its name.
    Memory follows the file's size, not its header: a header that claims more words than the
    file holds is said to, where the file ends.
    """
    check_file(path, "vector file")
    fmt = sniff_format(path) if binary is None else ("binary" if binary else "text")
    if fmt == "npy":
        return read_npy(path)
    binary = fmt == "binary"
    with open(path, "rb") as f:
        packed = next((name for magic, name in _PACKED if f.peek(4).startswith(magic)), None)
        if packed:
            raise UsageError(f"{path!r} is {packed} data: decompress it first ({packed} -d)")
        header = f.readline(HEADER_BYTES).split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise UsageError(f"{path!r} does not start with a word2vec header line 'V D'")
        count, dim = int(header[0]), int(header[1])
        if count < 1 or dim < 1:
            raise UsageError(f"{path!r} has the header '{count} {dim}': it holds no vectors")
        # a word takes at least D 4-byte floats and a space (binary), or D numbers of a
        # character and a space each (text): no more rows than the rest of the file can hold
        fits = (os.fstat(f.fileno()).st_size - f.tell()) // (4 * dim + 1 if binary else 2 * dim)
        if fits < 1:  # not one vector of D numbers fits: D is no dimension of this file
            raise UsageError(
                f"{path!r} has the header '{count} {dim}' but no room for one vector of {dim} "
                "numbers: the file is not what its header says"
            )
        short = f"{path!r} ends after {{}} of the {count} words its header '{count} {dim}' says"
        words: list[bytes] = []  # (as the file has them: `_decode_words`)
        vectors = np.empty((min(count, fits), dim), dtype=np.float32)
        for i in range(count):
            if binary:
                words.append(_read_binary_word(f, path, short.format(i), i))
                row = f.read(4 * dim)
                if len(row) != 4 * dim:
                    raise UsageError(f"{path!r} ends inside the vector of word {i}")
                vectors[i] = np.frombuffer(row, dtype="<f4")
                if not np.isfinite(vectors[i]).all():
                    raise UsageError(f"{path!r}: the vector of word {i} holds a number that is "
                                     "not finite")  # fmt: skip
                if f.peek(1)[:1] == b"\n":
                    f.read(1)
            else:
                line = f.readline()
                if not line:
                    raise UsageError(f"{short.format(i)} (line {i + 2} is missing)")
                parts = line.rstrip().split(b" ")  # (word2vec.c ends each with a space)
                if len(parts) != dim + 1:
                    raise UsageError(f"{path!r} line {i + 2} has {len(parts) - 1} numbers, not "
                                     f"the {dim} of its header '{count} {dim}'")  # fmt: skip
                words.append(parts[0])
                try:
                    vectors[i] = np.asarray(parts[1:], dtype=np.float32)
                except ValueError:
                    bad = ((j, x) for j, x in enumerate(parts[1:]) if not _number(x))
                    j, token = next(bad, (0, b" ".join(parts[1:])))
                    token = token.decode("utf-8", "backslashreplace")
                    raise UsageError(f"{path!r} line {i + 2} holds {quote(b' '.join(parts[1:]))}, "
                                     f"not numbers ({quote(token)}, number {j + 1} of its "
                                     "vector, is no number)") from None  # fmt: skip
                if not np.isfinite(vectors[i]).all():  # nan, inf: no vector, and no cosine
                    raise UsageError(f"{path!r} line {i + 2} holds a number that is not finite")
        _check_nothing_after(f, path, f"'{count} {dim}'", count, binary)
    return _decode_words(words, vectors, path, *(("word", 0) if binary else ("line", 2)))


def _check_nothing_after(f, path: str, header: str, count: int, binary: bool) -> None:
    """UsageError when more than blank space follows the `count` words of the header: more
    lines (two files joined by cat, a header that is wrong) or bytes after the last binary
    vector. gensim and word2vec.c read the first `count` words and drop the rest unsaid."""
    line, at = count + 2, f.tell()  # (text: the number of the next line; binary: its byte)
    while chunk := f.read(1 << 20):
        rest = chunk.lstrip()
        if not rest:
            line, at = line + chunk.count(b"\n"), at + len(chunk)
            continue
        blank = chunk[: len(chunk) - len(rest)]
        line, at = line + blank.count(b"\n"), at + len(blank)
        where, shown = f"byte {at}" if binary else f"line {line}", rest.split(b"\n", 1)[0]
        raise UsageError(
            f"{path!r} holds more than the {count} words of its header {header}: {where} is "
            f"{quote(shown)} (two files joined, or a wrong header): give the file the header of "
            "all its words, or split it"
        )


def _number(field: bytes) -> bool:
    try:
        np.float32(field.decode("ascii"))
    except ValueError:  # (UnicodeDecodeError too)
        return False
    return True


_PACKED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"))  # compressed vector files (word2vec's .bin.gz)


def _decode_words(raw: list[bytes], vectors: np.ndarray, path: str, unit: str, first: int):
    """(words, vectors) of a file's words as it has them (bytes) and their rows. UsageError for
    a word given twice, byte for byte, or an empty one: a file's word has one vector, and a
    query for it would find another (`unit` "line" or "word", numbered from `first`). Bytes
    that are no UTF-8 are kept as escapes ("caf\\xe9"), so that distinct words stay distinct;
    where one still reads as another (a word spelled with that escape), the first is kept, as
    gensim does, and a warning says so. The dicts below only find what to say: a file of
    distinct UTF-8 words, as almost every one is, is decoded in place (one list, not two)."""
    if all(raw) and len(set(raw)) == len(raw):  # (strict UTF-8 decodes one to one)
        for i, word in enumerate(raw):
            try:
                raw[i] = word.decode("utf-8")
            except UnicodeDecodeError:
                raw[:i] = [w.encode("utf-8") for w in raw[:i]]  # (exactly their bytes again)
                break
        else:
            return raw, vectors
    seen: dict[bytes, int] = {}
    for i, word in enumerate(raw):
        if not word:
            raise UsageError(f"{path!r} {unit} {i + first} has no word before its numbers")
        if word in seen:
            raise UsageError(
                f"{path!r} has the word {quote(_decode(word))} twice ({unit}s "
                f"{seen[word] + first} and {i + first}): each word has one vector"
            )
        seen[word] = i
    words = [_decode(word) for word in raw]
    firsts: dict[str, int] = {}
    for i, word in enumerate(words):
        firsts.setdefault(word, i)
    if len(firsts) == len(words):
        return words, vectors
    kept = sorted(firsts.values())
    again = next(i for i, word in enumerate(words) if firsts[word] != i)  # (the first such)
    log.warning("%r: %s %d reads as %s %d, %s, once bytes that are no UTF-8 are escaped; the "
                "first vector of each such word is kept (%d dropped)", path, unit, again + first,
                unit, firsts[words[again]] + first, quote(words[again]),
                len(words) - len(kept))  # fmt: skip
    return [words[i] for i in kept], vectors[kept]


def _decode(word: bytes) -> str:
    return word.decode("utf-8", errors="backslashreplace")


def _read_binary_word(f, path: str, short: str, number: int) -> bytes:
    """The bytes of binary word `number`, up to its space. One holding a newline is refused:
    word2vec.c ends a word there, and no word sgns writes has one (it is text, or damaged)."""
    word = bytearray()
    while True:
        ch = f.read(1)
        if not ch and not word:
            raise UsageError(short)  # where the next word should begin
        if not ch:
            raise UsageError(f"{path!r} ends inside a word")
        if ch == b" ":
            return bytes(word)
        if ch == b"\n":
            raise UsageError(f"{path!r}: word {number} holds a newline (after "
                             f"{quote(bytes(word), 20)}), which no word of a binary vector file "
                             "holds: it is damaged, or not the file meant")  # fmt: skip
        word += ch

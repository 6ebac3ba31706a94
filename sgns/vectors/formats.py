"""Word vectors on disk: word2vec text and binary formats, and .npy with a vocabulary file.

The word2vec formats are the ones word2vec.c writes and gensim's
`KeyedVectors.load_word2vec_format(path, binary=...)` reads: a header line "V D", then one
line per word ("word v1 ... vD" in text; "word " + D little-endian float32 + "\\n" in binary).
No torch here: vectors are numpy float32 arrays of shape (V, D).
"""

from __future__ import annotations

import os

import numpy as np

from sgns.dataset import format_vocab, parse_vocab
from sgns.errors import UsageError, quote
from sgns.files import atomic_open, atomic_write, check_file, check_side_file

FORMATS = ("text", "binary", "npy")


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
    if fmt == "npy":
        check_side_file(npy_vocab_path(path), _is_npy_vocab, "vocabulary", path)
        with atomic_open(path) as f:
            np.save(f, vectors)
        atomic_write(npy_vocab_path(path), format_vocab(words, [0] * len(words)))
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


def _is_npy_vocab(head: bytes) -> bool:
    """Whether `head`, the first bytes of a file, is of a vocabulary written beside a .npy
    (above): "word<TAB>0" lines."""
    lines = head.split(b"\n")[:-1]  # (the last: cut short, or empty)
    return bool(lines) and all(line.endswith(b"\t0") and line.count(b"\t") == 1 for line in lines)


def npy_vocab_path(path: str) -> str:
    """The vocabulary file that goes with a .npy vector file."""
    root = path[:-4] if path.endswith(".npy") else path
    return root + ".vocab.tsv"


def read_vectors(path: str, binary: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Words and vectors (V, D) from a word2vec text/binary file or a .npy written above.

    `binary=None` tells the format from the file's content (`sniff_format`), whatever its name.
    Memory follows the file's size, not its header: a header that claims more words than the
    file holds is said to, where the file ends.
    """
    check_file(path, "vector file")
    fmt = sniff_format(path) if binary is None else ("binary" if binary else "text")
    if fmt == "npy":
        return _read_npy(path)
    binary = fmt == "binary"
    with open(path, "rb") as f:
        header = f.readline(_HEADER_BYTES).split()
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
        words: list[str] = []
        vectors = np.empty((min(count, fits), dim), dtype=np.float32)
        for i in range(count):
            if binary:
                words.append(_read_binary_word(f, path, short.format(i)))
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
                parts = line.rstrip(b"\r\n").split(b" ")
                if len(parts) != dim + 1:
                    raise UsageError(
                        f"{path!r} line {i + 2} has {len(parts) - 1} numbers, not {dim}"
                    )
                words.append(parts[0].decode("utf-8", errors="replace"))
                try:
                    vectors[i] = np.asarray(parts[1:], dtype=np.float32)
                except ValueError:
                    raise UsageError(
                        f"{path!r} line {i + 2} holds {quote(b' '.join(parts[1:]))}, not numbers"
                    ) from None
                if not np.isfinite(vectors[i]).all():  # nan, inf: no vector, and no cosine
                    raise UsageError(f"{path!r} line {i + 2} holds a number that is not finite")
    return words, vectors


_HEADER_BYTES = 256  # "V D\n" is far shorter: a file without one is not read whole to find it


def _read_npy(path: str) -> tuple[list[str], np.ndarray]:
    """Words and vectors of a .npy vector file and the vocabulary beside it."""
    vocab = npy_vocab_path(path)
    if not os.path.exists(vocab):
        raise FileNotFoundError(f"{path!r} has no vocabulary beside it ({vocab!r})")
    with open(vocab, "rb") as f:
        words, _ = parse_vocab(f.read(), vocab)
    try:
        vectors = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as e:
        raise UsageError(f"{path!r} is not a readable .npy file ({e})") from None
    if vectors.ndim != 2 or len(vectors) != len(words):
        raise UsageError(f"{path!r} holds an array of shape {vectors.shape}, not one row for "
                         f"each of the {len(words)} words of {vocab!r}")  # fmt: skip
    return words, np.array(vectors)


def sniff_format(path: str) -> str:
    """ "npy", "binary" or "text": numpy's magic bytes; else after the "V D" header line, a
    first record of D + 1 space-separated fields that all but the first read as numbers is
    text, anything else binary."""
    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            return "npy"
        f.seek(0)
        header = f.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            return "text"  # not word2vec at all: the text reader says so
        fields = f.readline(1 << 20).rstrip(b"\r\n").split(b" ")
    if len(fields) != int(header[1]) + 1:
        return "binary" if fields != [b""] else "text"
    try:
        [float(x) for x in fields[1:]]
    except ValueError:
        return "binary"
    return "text"


def _read_binary_word(f, path: str, short: str) -> str:
    word = bytearray()
    while True:
        ch = f.read(1)
        if not ch and not word:
            raise UsageError(short)  # where the next word should begin
        if not ch:
            raise UsageError(f"{path!r} ends inside a word")
        if ch == b" ":
            return word.decode("utf-8", errors="replace")
        word += ch

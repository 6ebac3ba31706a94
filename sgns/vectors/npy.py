"""A .npy vector file read back: its array, with the vocabulary beside it (formats.py writes both).

Read with plain reads into an array of the header's shape, never through a memory map: a file
cut short while a map of it is copied (another writer's np.save, which truncates and writes in
place) ends the process with SIGBUS, where a read ends in one line. The header must account for
every byte of the file: two files joined by `cat` are refused, as for text and binary files.
"""

from __future__ import annotations

import os

import numpy as np

from sgns.dataset import parse_vocab
from sgns.errors import UsageError
from sgns.files import check_file

_CHECKED_NUMBERS = 1 << 16  # of an array checked for NaN and inf at a time
_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def npy_vocab_path(path: str) -> str:
    """The vocabulary file that goes with a .npy vector file."""
    root = path[:-4] if path.endswith(".npy") else path
    return root + ".vocab.tsv"


def first_not_finite(vectors: np.ndarray) -> int | None:
    """The first row (V, D) that holds NaN or inf, or None; a block of rows at a time, so that
    no mask of the whole array is made (a bool each: 1/4 of a float32 array more)."""
    rows = max(1, _CHECKED_NUMBERS // max(1, vectors.shape[1]))
    for start in range(0, len(vectors) if vectors.dtype.kind == "f" else 0, rows):
        finite = np.isfinite(vectors[start : start + rows]).all(axis=1)
        if not finite.all():
            return start + int(np.flatnonzero(~finite)[0])
    return None


def read_npy(path: str) -> tuple[list[str], np.ndarray]:
    """Words and vectors (V, D) of a .npy vector file and the vocabulary beside it."""
    vocab = npy_vocab_path(path)
    if not os.path.exists(vocab):
        raise FileNotFoundError(f"{path!r} has no vocabulary beside it ({vocab!r})")
    with open(check_file(vocab, f"the vocabulary of {path!r},"), "rb") as f:  # (not a FIFO)
        words, _ = parse_vocab(f.read(), vocab)
    with open(path, "rb") as f:
        shape, fortran, dtype = _header(f, path)
        if len(shape) == 2 and 0 in shape:  # (as a header "0 D" or "V 0" is refused)
            raise UsageError(f"{path!r} holds an array of shape {shape}: it holds no vectors")
        if len(shape) != 2 or shape[0] != len(words):
            raise UsageError(f"{path!r} holds an array of shape {shape}, not one row for "
                             f"each of the {len(words)} words of {vocab!r}")  # fmt: skip
        if dtype.kind not in "fiu":  # complex, bool, strings: no vectors of real numbers
            raise UsageError(f"{path!r} holds {dtype} values, not real numbers")
        vectors = _read_array(f, path, shape, fortran, dtype)
    if vectors.dtype != np.float32:  # (what every reader casts to: a float64 4e38 is inf there)
        with np.errstate(over="ignore"):
            vectors = vectors.astype(np.float32)
    row = first_not_finite(vectors)
    if row is not None:
        raise UsageError(f"{path!r}: the vector of word {row} holds a number that is not finite "
                         "as float32 (NaN, inf, or beyond 3.4e38)")  # fmt: skip
    return words, vectors


def _header(f, path: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, Fortran order, dtype) of the .npy header at the start of `f`."""
    try:
        version = np.lib.format.read_magic(f)
        if version not in _HEADERS:  # (3.0: utf-8 field names, which no vectors have)
            raise ValueError(f"format version {version[0]}.{version[1]}")
        shape, fortran, dtype = _HEADERS[version](f)
    except (ValueError, OSError, EOFError) as e:
        raise UsageError(f"{path!r} is not a readable .npy file ({e})") from None
    if dtype.hasobject:  # (np.load's allow_pickle=False)
        raise UsageError(f"{path!r} holds Python objects, not numbers: it is no vector file")
    return shape, fortran, dtype


def _read_array(f, path: str, shape: tuple, fortran: bool, dtype: np.dtype) -> np.ndarray:
    """The array after the header, in C order: as many bytes as the header says, and no more.
    The file's size is compared first, so memory follows the file, not its header."""
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = os.fstat(f.fileno()).st_size - f.tell()
    said = f"its array of shape {shape} and type {dtype}"
    if have < need:
        raise UsageError(f"{path!r} is cut short: it ends {need - have} bytes before the end "
                         f"of {said} (its header says {need} bytes)")  # fmt: skip
    if have > need:
        extra = f"{have - need} byte{'s' * (have - need != 1)}"
        raise UsageError(f"{path!r} holds {extra} after {said} (two files joined?): give it "
                         "one array, as np.save writes")  # fmt: skip
    array = np.empty(shape[::-1] if fortran else shape, dtype=dtype)
    into, done = memoryview(array.reshape(-1).view(np.uint8)), 0
    while done < need:
        got = f.readinto(into[done:])
        if not got:
            raise UsageError(f"{path!r} was cut short while it was read (at byte {done} of "
                             f"{said}): read it again once it is whole")  # fmt: skip
        done += got
    if f.read(1):  # (it grew meanwhile)
        raise UsageError(f"{path!r} grew while it was read: more bytes than {said}; read it "
                         "again once it is written")  # fmt: skip
    return np.ascontiguousarray(array.T) if fortran else array

"""Telling a vector file's format from its content: .npy, word2vec text or word2vec binary.

A name says little (word2vec's `.bin` files of text exist, and sgns-export writes any name), so
the bytes decide. After the header "V D", a text file's lines are a word and numbers; a binary
file's records are a word, a space and D 4-byte floats, bytes that are almost never all text. A
text file whose header does not match its lines (a header "10 50" over lines of 10 numbers) is
text: its reader names the line and its count (it was read as binary: garbage words, exit 0). A
file that is neither is refused by name, as gensim's text reader refuses it.
"""

from __future__ import annotations

import codecs
import re

from sgns.errors import UsageError, quote

HEADER_BYTES = 256  # "V D\n" is far shorter: a file without one is not read whole to find it
_LINE_BYTES = 1 << 20  # of a first line read to tell text
_SAMPLE_BYTES = 256  # of binary vectors looked at: random-looking floats are never all text
_SAMPLE_RECORDS = 64  # records at most (D 1: 64 words)
_WORD_BYTES = 1 << 16  # a binary word longer than this is no word (word2vec.c's: 100 bytes)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # no text holds these, bar \t \n \r


def sniff_format(path: str) -> str:
    """ "npy", "binary" or "text": numpy's magic bytes; else, after the "V D" header line, text
    when its next line is a word and D numbers, or when it and the line after it (if any) are
    each a word and numbers (their count is the text reader's to check); binary when the bytes
    after the first word are no text (before a line of D + 1 words, text with a word where a
    number goes, is taken for text: unless laid out as a binary record); else UsageError."""
    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            return "npy"
        f.seek(0)
        header = f.readline(HEADER_BYTES).split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            return "text"  # not word2vec at all: the text reader says so
        count, dim = int(header[0]), int(header[1])
        if count < 1 or dim < 1:
            return "text"  # (its reader says it holds no vectors)
        start = f.tell()
        line, after = f.readline(_LINE_BYTES), f.readline(_LINE_BYTES)
        fields = line.rstrip().split(b" ")
        if not line or len(fields) == dim + 1 and _numbers(fields[1:]):
            return "text"  # (nothing after the header: the reader says where the file ends)
        if _numbers_line(line) and (not after or _numbers_line(after)):
            return "text"  # lines of another count than the header's: the reader names them
        f.seek(start)
        binary = _holds_binary_floats(f, count, dim)
        if len(fields) == dim + 1 and _is_text(line) and not (binary and _laid_out(f, start, dim)):
            return "text"  # a word where a number goes: the reader names it
        if binary:
            return "binary"
    shown = quote(line.rstrip(b"\r\n"))
    raise UsageError(
        f"{path!r} is neither a word2vec text file (line 2, {shown}, is not a word and {dim} "
        f"numbers, as its header '{count} {dim}' says) nor a binary one (what follows its first "
        f"word is text, not {dim} 4-byte numbers): give a vector file in either format"
    )


def _numbers(fields: list[bytes]) -> bool:
    try:
        [float(x) for x in fields]
    except ValueError:
        return False
    return True


def _numbers_line(line: bytes) -> bool:
    """Whether `line` is a word and at least one number, split as the text reader splits it."""
    fields = line.rstrip().split(b" ")
    return len(fields) > 1 and bool(fields[0]) and _numbers(fields[1:])


def _is_text(data: bytes) -> bool:
    """Whether `data` is UTF-8 text (perhaps cut inside its last character) without control
    characters but tabs and line ends."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data)
    except UnicodeDecodeError:
        return False
    return not _CONTROL.search(text)


def _laid_out(f, start: int, dim: int) -> bool:
    """Whether the record at `start` is laid out as word2vec.c writes one: a word, a space,
    `dim` 4-byte floats and a newline. (A binary file of D 1 whose first float's bytes are text
    reads as a word and a word, as a text file's line with a word where a number goes does.)"""
    f.seek(start)
    word = f.readline(_WORD_BYTES).split(b" ", 1)[0]
    f.seek(start + len(word) + 1 + 4 * dim)
    return f.read(1) == b"\n"


def _holds_binary_floats(f, count: int, dim: int) -> bool:
    """Whether the records from `f`'s position, read as binary ones (a word, a space, `dim`
    4-byte floats, perhaps a newline), hold a float's byte that no text has: in the first
    records' first _SAMPLE_BYTES bytes of floats. A word holding a newline, or none found,
    is no binary record."""
    seen = 0
    for number in range(min(count, _SAMPLE_RECORDS)):
        word = bytearray()
        while len(word) < _WORD_BYTES:
            ch = f.read(1)
            if not ch or ch == b" ":
                break
            word += ch
        if ch != b" " or b"\n" in (word[1:] if number else word):
            return False  # (after the first vector, its newline: word2vec.c writes one)
        floats = f.read(min(4 * dim, _SAMPLE_BYTES - seen))
        if not _is_text(floats):
            return True
        seen += len(floats)
        if seen >= _SAMPLE_BYTES or len(floats) < 4 * dim:
            break
    return False

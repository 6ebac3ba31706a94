"""Text blocks: the pipeline's elements, cut from a byte stream (no Beam here).

A file (or a byte range of an uncompressed file, so that one big file is read by several
workers) is read in chunks and cut into blocks of whole lines of about `block_bytes`. A line
longer than a block (text8 is one 100 MB line) is cut at ASCII whitespace into pieces, and each
piece carries how many tokens of its line came before it, so that sentence cutting every
`max_sentence_length` tokens gives the same sentences as cutting the whole line.

A piece without ASCII whitespace is cut after the last other separator of `str.split()` in it
(U+3000, U+00A0, \\x1c ...). A whole block without any separator is part of one huge token: only
its first TOKEN_PREFIX_BYTES are kept (sgns.pipeline.tokens cuts every token to MAX_TOKEN_CHARS
characters anyway) and the rest of it is read past, so that memory stays within about two blocks
whatever the input (a 400 MB token included).

Bytes that are not UTF-8 become U+FFFD, one per bad byte, and are counted (not those in the part
of a huge token that is read past).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from sgns.pipeline.tokens import MAX_TOKEN_CHARS

_WHITESPACE = (b" ", b"\t", b"\r", b"\x0b", b"\x0c")
_OTHER_SEPARATORS = tuple(  # what else str.split() splits on, as UTF-8 (\x1c-\x1f, U+3000 ...)
    chr(c).encode() for c in range(0x3001) if chr(c).isspace() and chr(c) not in " \t\n\r\v\f"
)
_ESCAPED = re.compile("[\udc80-\udcff]")
# Bytes of a huge token kept: enough for MAX_TOKEN_CHARS + 1 characters (4 bytes at most each),
# so that sgns.pipeline.tokens still sees it is too long, cuts it and counts it.
TOKEN_PREFIX_BYTES = 4 * (MAX_TOKEN_CHARS + 1)


class Source(NamedTuple):
    """A byte range [start, end) of one input file; lines are owned by the range they start in."""

    file_index: int  # position of the file in the sorted list of matched inputs
    path: str
    start: int = 0
    end: int = -1  # -1: to the end of the file


class Block(NamedTuple):
    """Whole lines of text (or a piece of one enormous line) and where they came from."""

    key: str  # identity of the block, stable across runs: seeds its randomness, names its files
    text: str
    carry: int  # tokens of the first line that came before this block, modulo max_sentence_length
    lines: int  # line ends in this block (a last line without "\n" counts)
    replaced_bytes: int  # undecodable bytes replaced by U+FFFD
    # Set on the one block that ends a source which could not be read to its end (a truncated
    # or corrupt .gz/.bz2, a permission error): why, naming the file. The vocabulary run reports
    # it and the increment stops there, before any pair is made.
    error: str | None = None


def decode(data: bytes) -> tuple[str, int]:
    """Text of UTF-8 bytes, each undecodable byte replaced by U+FFFD; and how many were."""
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        # each bad byte becomes one lone surrogate U+DC80..U+DCFF, which valid UTF-8 never gives
        text, bad = _ESCAPED.subn("\ufffd", data.decode("utf-8", "surrogateescape"))
        return text, bad


def read_blocks(
    stream, source: Source, block_bytes: int, max_sentence_length: int
) -> Iterator[Block]:
    """Blocks of the lines that start in `source`, read from the binary `stream` in chunks."""
    end = source.end if source.end >= 0 else float("inf")
    position = _skip_to_line_start(stream, source.start)  # file offset of buf[0]
    buf = bytearray()
    carry = index = 0
    eof = False
    want = block_bytes
    if position >= end:  # the range holds no line start
        return
    while True:
        while len(buf) < want and not eof:
            chunk = stream.read(want - len(buf))
            eof = not chunk
            buf += chunk
        if not buf:
            return
        cut, last = _find_cut(buf, end - position, eof)
        if cut < 0:  # no separator in a whole block: one huge token, read past its middle
            position += _drop_middle(buf)  # (no "\n" in what is dropped: the range end holds)
            want = len(buf) + block_bytes
            continue
        want = block_bytes
        data = bytes(buf[:cut])
        del buf[:cut]
        position += cut
        text, bad = decode(data)
        ends_line = data.endswith(b"\n")
        lines = data.count(b"\n") + (1 if last and not ends_line else 0)
        yield Block(f"{source.file_index}:{source.start}:{index}", text, carry, lines, bad)
        index += 1
        if last:
            return
        if ends_line:
            carry = 0
        else:  # mid-line piece: it holds no "\n" (else we would have cut there)
            carry = (carry + len(text.split())) % max_sentence_length


def _skip_to_line_start(stream, start: int) -> int:
    """Position `stream` at the first line that starts at or after `start`; return that offset."""
    if start == 0:
        return 0
    stream.seek(start - 1)
    position = start - 1
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            return position
        newline = chunk.find(b"\n")
        if newline >= 0:
            stream.seek(position + newline + 1)
            return position + newline + 1
        position += len(chunk)


def _drop_middle(buf: bytearray) -> int:
    """Drop all of `buf`, a piece of one token, but its first TOKEN_PREFIX_BYTES (back to a
    character's start) and its last character (it may start a separator that the next read
    completes); returns how many bytes were dropped."""
    if len(buf) <= TOKEN_PREFIX_BYTES + 3:
        return 0
    head = next(i for i in range(TOKEN_PREFIX_BYTES, TOKEN_PREFIX_BYTES - 4, -1)
                if i == TOKEN_PREFIX_BYTES - 3 or not _continues(buf[i]))  # fmt: skip
    ends = range(len(buf) - 1, len(buf) - 4, -1)
    tail = next((i for i in ends if not _continues(buf[i])), len(buf))
    del buf[head:tail]
    return tail - head


def _continues(byte: int) -> bool:
    """Whether `byte` continues a UTF-8 character (10xxxxxx) rather than starting one."""
    return byte & 0xC0 == 0x80


def _find_cut(buf: bytearray, left_in_range: int, eof: bool) -> tuple[int, bool]:
    """Where to cut `buf` (bytes to emit, -1 for none yet) and whether this is the last block."""
    # The first line starting at or after the range end belongs to the next range.
    first_owned_end = max(left_in_range - 1, 0)
    if first_owned_end < len(buf):
        newline = buf.find(b"\n", first_owned_end)
        if newline >= 0:
            return newline + 1, True
    if eof:
        return len(buf), True
    newline = buf.rfind(b"\n")
    if newline >= 0:
        return newline + 1, False
    space = max(buf.rfind(w) for w in _WHITESPACE)
    if space >= 0:
        return space + 1, False
    others = _OTHER_SEPARATORS[:4] if buf.isascii() else _OTHER_SEPARATORS  # (\x1c-\x1f first)
    ends = [buf.rfind(w) + len(w) for w in others if w in buf]
    return (max(ends) if ends else -1), False

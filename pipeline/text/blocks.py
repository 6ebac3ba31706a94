"""Text blocks: the pipeline's elements, cut from a byte stream (no Beam here).

A file (or a byte range of an uncompressed file, so that one big file is read by several
workers) is read in chunks and cut into blocks of whole lines of about `block_bytes`. A line
longer than a block (text8 is one 100 MB line) is cut at ASCII whitespace into pieces, and each
piece carries how many tokens of its line came before it, so that sentence cutting every
`max_sentence_length` tokens gives the same sentences as cutting the whole line.

A piece without ASCII whitespace is cut after the last other separator of `str.split()` in it
(U+3000, U+00A0, \\x1c ...). A whole block without any separator is part of one huge token: only
its first TOKEN_PREFIX_BYTES are kept (sgns.pipeline.text.tokens cuts every token to MAX_TOKEN_CHARS
characters anyway) and the rest of it is read past, so that memory stays within about two blocks
whatever the input (a 400 MB token included).

How the bytes become text is the `TextFormat`'s (sgns.pipeline.text.format): the codec and what
undecodable bytes do (sgns.pipeline.text.decoding: not those in the part of a huge token that is
read past), then normalisation and the tokenizer, so that `carry` counts the tokens the later stages
see. With the words tokenizer, a piece without whitespace may also be cut after a character that
always breaks words (text.WORD_BREAKS). A file that is not text (a NUL byte, a binary header) is
refused.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import NamedTuple

from sgns.errors import UsageError
from sgns.pipeline.text.decoding import (
    Transcoder,
    check_head,
    check_nul,
    codec_name,
    decode,
    stream_kind,
    strict_message,
)
from sgns.pipeline.text.format import WORD_BREAKS, TextFormat
from sgns.pipeline.text.tokens import MAX_TOKEN_CHARS

_WHITESPACE = (b" ", b"\t", b"\r", b"\x0b", b"\x0c")
# What else str.split() splits on (\x1c-\x1f first, then U+0085, U+00A0 ... U+3000)
_OTHER_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace() and chr(c) not in " \t\n\r\v\f"]
_OTHER_SEPARATORS = tuple(c.encode() for c in _OTHER_SPACES)  # as UTF-8
_PLAIN = TextFormat()  # UTF-8, whitespace tokens, as before these options
# Bytes of a huge token kept: enough for MAX_TOKEN_CHARS + 1 characters (4 bytes at most each),
# so that sgns.pipeline.text.tokens still sees it is too long, cuts it and counts it.
TOKEN_PREFIX_BYTES = 4 * (MAX_TOKEN_CHARS + 1)


class Source(NamedTuple):
    """A byte range [start, end) of one input file; lines are owned by the range they start in."""

    file_index: int  # position of the file in the sorted list of matched inputs
    path: str
    start: int = 0
    end: int = -1  # -1: to the end of the file
    size: int = -1  # bytes of the whole file when known (a range's): what undecodable bytes
    # are a share of; -1: the source is the whole file (compressed, or read without ranges)
    listed: tuple | None = None  # (size, mtime) of the file when it was listed: every run of an
    # increment reads that file (sgns.pipeline.text.read.check_unchanged); None: not checked


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
    # On a source's last block, with --errors limit, when some bytes could not be decoded:
    # (path, encoding, undecodable bytes of the source, bytes of the file), summed per file by
    # the driver (sgns.pipeline.text.decoding.refuse_undecodable).
    undecodable: tuple[str, str, int, int] | None = None
    # With --phrase-words keep, after JoinPhrases: (the phrased text, a sentence a line; one byte
    # per token of it, 1 where the token is a phrase). `text` stays the words' own text.
    phrased: tuple[str, bytes] | None = None


def read_blocks(
    stream,
    source: Source,
    block_bytes: int,
    max_sentence_length: int,
    text_format: TextFormat = _PLAIN,
) -> Iterator[Block]:
    """Blocks of the lines that start in `source`, read from the binary `stream` in chunks and
    made text as `text_format` says."""
    kind = stream_kind(text_format.encoding)
    encoding = codec_name(text_format.encoding) if kind == "bytes" else "utf-8"  # of the blocks
    strict = text_format.errors == "strict"
    if kind == "transcoded":  # (read whole: sgns.pipeline.text.read.plan_sources)
        assert source.start == 0 and source.end < 0, source
        stream = Transcoder(stream, text_format.encoding, source.path, strict)
    separators = _separators(encoding, text_format.tokenizer)
    end = source.end if source.end >= 0 else float("inf")
    position = first = _skip_to_line_start(stream, source.start)  # file offset of buf[0]
    buf = bytearray()
    carry = index = undecodable = 0
    eof = False
    head_checked = source.start > 0 or kind == "transcoded"  # (the transcoder checks its own)
    want = block_bytes
    if position >= end:  # the range holds no line start
        return
    while True:
        while len(buf) < want and not eof:
            chunk = stream.read(want - len(buf))
            if not head_checked:
                check_head(chunk[:4096], source.path, kind)
                head_checked = True
            check_nul(chunk, source.path, position + len(buf))
            eof = not chunk
            buf += chunk
        if not buf:
            break
        cut, last = _find_cut(buf, end - position, eof, separators)
        if cut < 0:  # no separator in a whole block: one huge token, read past its middle
            position += _drop_middle(buf)  # (no "\n" in what is dropped: the range end holds)
            want = len(buf) + block_bytes
            continue
        want = block_bytes
        data = bytes(buf[:cut])
        del buf[:cut]
        try:
            text, bad = decode(data, encoding, text_format.errors)
        except UnicodeDecodeError as e:
            at = position + e.start
            raise UsageError(strict_message(source.path, text_format.encoding, at)) from None
        position += cut
        undecodable += bad
        text = text_format.prepare(text)
        ends_line = data.endswith(b"\n")
        lines = data.count(b"\n") + (1 if last and not ends_line else 0)
        key = f"{source.file_index}:{source.start}:{index}"
        tally = _tally(source, text_format, undecodable, stream, position - first) if last else None
        yield Block(key, text, carry, lines, bad, undecodable=tally)
        index += 1
        if last:
            return
        if ends_line:
            carry = 0
        else:  # mid-line piece: it holds no "\n" (else we would have cut there)
            carry = (carry + len(text.split())) % max_sentence_length
    tally = _tally(source, text_format, undecodable, stream, position - first)
    if tally:  # the source ended right after a block: its count goes on an empty one
        yield Block(f"{source.file_index}:{source.start}:{index}", "", 0, 0, 0, undecodable=tally)


def _tally(source: Source, text_format: TextFormat, undecodable: int, stream, read: int):
    """A source's Block.undecodable: with --errors limit and undecodable bytes, else None. The
    file's bytes: its size, or those read (before transcoding) when the source is all of it."""
    if text_format.errors != "limit" or not undecodable:
        return None
    total = source.size if source.size >= 0 else getattr(stream, "raw_bytes", read)
    return source.path, text_format.encoding, undecodable, total


@functools.cache
def _separators(encoding: str, tokenizer: str) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(ASCII ones, all) of what a piece without ASCII whitespace may be cut after, as bytes of
    the blocks' codec: the other characters str.split() splits on, and with the words tokenizer
    the characters that always break words."""
    others = _OTHER_SPACES + (list(WORD_BREAKS) if tokenizer == "words" else [])
    if encoding == "utf-8" and tokenizer == "whitespace":
        return _OTHER_SEPARATORS[:4], _OTHER_SEPARATORS
    encoded = []
    for character in others:
        try:
            encoded.append(character.encode(encoding))
        except UnicodeEncodeError:
            continue
    return tuple(e for e in encoded if e.isascii()), tuple(encoded)


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


def _find_cut(
    buf: bytearray,
    left_in_range: int,
    eof: bool,
    separators=(_OTHER_SEPARATORS[:4], _OTHER_SEPARATORS),
) -> tuple[int, bool]:
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
    others = separators[0] if buf.isascii() else separators[1]
    ends = [buf.rfind(w) + len(w) for w in others if w in buf]
    return (max(ends) if ends else -1), False

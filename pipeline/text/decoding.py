"""Bytes to text: the codec (--encoding), undecodable bytes (--errors), and files that are not text
at all (no Beam here; sgns.pipeline.text.blocks cuts and decodes the blocks with these functions).

How a file's bytes reach the block reader depends on its codec (`stream_kind`):
- "utf-8": cut into blocks as bytes and each block decoded on its own, as before: UTF-8 never
  puts a newline or a whitespace byte inside a character;
- "bytes": codecs of one byte per character that keep ASCII as it is (latin-1, cp1252,
  iso8859-*, koi8-r, cp1251 ...): the same, so a big file is still read in parallel byte ranges;
- "transcoded": every other codec (utf-16 and utf-32, shift_jis, gb18030, big5, utf-8-sig, utf-7,
  the iso2022 ones, EBCDIC ...), where a newline byte may sit inside a character, or what a byte
  means depends on the bytes before it. The file is decoded in order by Python's incremental
  decoder (`Transcoder`), which completes a character cut between two reads with the next one,
  and handed to the block reader as UTF-8; such a file is one source, read by one worker.

Undecodable bytes become one U+FFFD each (dropped with --errors ignore) and are counted (the
manifest's stats "replaced_bytes"). The transcoder hands each one on as the byte 0xFF, which is
never valid UTF-8, so the block decoder counts it like any other. --errors strict refuses the
first (naming the file and the byte). The default, "limit", replaces them but refuses a file
where they are more than MAX_UNDECODABLE_SHARE of its bytes and more than ALLOWED_UNDECODABLE:
each source reports its count on its last block (sgns.pipeline.text.blocks), the driver sums them
per file (`refuse_undecodable`) and says the files it keeps that had any.

A file that is not text is refused by name before any pair is made: a NUL byte anywhere (text
never holds one; every binary format does), or a known binary header at its start (`check_head`:
images, PDF, archives and PyTorch checkpoints, Parquet, executables, compressed data in a file
not named .gz/.bz2, and UTF-16/32 byte order marks under a one-byte codec).
"""

from __future__ import annotations

import codecs
import functools
import logging
import re

from sgns.errors import UsageError

# The default limit. Text in a one-byte codec read as UTF-8 has one undecodable byte per letter
# outside ASCII, so even English text in cp1252 (its accented names, its curly quotes) passes 1 in
# 10,000 bytes (docs/text.md has the measured shares). A UTF-8 file has none but for damage: a
# character cut short (at most 3 bytes), a stray byte here and there. So: 3 bytes in any file,
# and beyond that 1 in 10,000.
MAX_UNDECODABLE_SHARE = 0.0001
ALLOWED_UNDECODABLE = 3
log = logging.getLogger(__name__)
_WARNED = 5  # files said in the log with undecodable bytes under the limit
_MARK = "sgns-undecodable"  # codec error handler: an undecodable byte -> 0xFF in UTF-8
_ESCAPED = re.compile("[\udc80-\udcff]")


def _mark(error: UnicodeError):
    """Decoding: one U+DCFF per undecodable byte; encoding to UTF-8: 0xFF for it (and for any
    other lone surrogate a codec gave, as utf-7 can)."""
    count = error.end - error.start
    if isinstance(error, UnicodeDecodeError):
        return "\udcff" * count, error.end
    return b"\xff" * count, error.end


codecs.register_error(_MARK, _mark)


@functools.cache
def stream_kind(encoding: str) -> str:
    """How files in `encoding` are read (module docstring): "utf-8", "bytes" (ASCII decodes to
    itself, every other byte to one character whatever follows it) or "transcoded"."""
    name = codecs.lookup(encoding).name
    if name == "utf-8":
        return "utf-8"
    ascii_bytes = bytes(range(128))
    try:
        if ascii_bytes.decode(name) != ascii_bytes.decode("ascii"):
            return "transcoded"
        for first in range(128, 256):
            for second in range(256):
                if len(bytes((first, second)).decode(name, "surrogateescape")) != 2:
                    return "transcoded"
    except UnicodeError:
        return "transcoded"
    return "bytes"


def codec_name(encoding: str) -> str:
    """Python's own name of a codec: "UTF8" and "utf_8" are "utf-8", "latin-1" is "iso8859-1"."""
    return codecs.lookup(encoding).name


def decode(data: bytes, encoding: str = "utf-8", errors: str = "replace") -> tuple[str, int]:
    """Text of a block's bytes (a "utf-8" or "bytes" codec) and how many bytes were undecodable:
    each replaced by U+FFFD, or dropped with errors "ignore"; "strict" raises UnicodeDecodeError.
    """
    try:
        return data.decode(encoding), 0
    except UnicodeDecodeError:
        if errors == "strict":
            raise
    # each bad byte becomes one lone surrogate U+DC80..U+DCFF, which valid text never gives
    escaped = data.decode(encoding, "surrogateescape")
    return _ESCAPED.subn("" if errors == "ignore" else "\ufffd", escaped)


class Transcoder:
    """A binary stream of UTF-8: the bytes of `raw`, a binary stream in `encoding`, decoded in
    order. An undecodable byte becomes 0xFF, or with `strict` a UsageError naming the file and
    the byte. `raw_bytes`: how many bytes of `raw` were read."""

    READ_BYTES = 1 << 20

    def __init__(self, raw, encoding: str, path: str, strict: bool = False):
        self._raw, self._encoding, self._path = raw, encoding, path
        self._decoder = codecs.getincrementaldecoder(encoding)("strict" if strict else _MARK)
        self._out = bytearray()
        self._eof = False
        self.raw_bytes = 0

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._out) < size):
            chunk = self._raw.read(self.READ_BYTES)
            if not self.raw_bytes:
                check_head(chunk, self._path, "transcoded")
            self._eof = not chunk
            held = len(self._decoder.getstate()[0])  # bytes of a character begun before
            try:
                text = self._decoder.decode(chunk, final=self._eof)
            except UnicodeDecodeError as e:
                offset = self.raw_bytes - held + e.start
                raise UsageError(strict_message(self._path, self._encoding, offset)) from None
            except UnicodeError as e:  # utf-16 and utf-32 read in order need a byte order mark
                said = f"input {self._path} cannot be read as {self._encoding}"
                if "BOM" not in str(e):  # idna, punycode: they spell domain names, not files
                    raise UsageError(
                        f"{said}: it is no encoding of text files; name the file's encoding "
                        "(--encoding utf-8, latin-1, cp1252, utf-16 ...)"
                    ) from None
                raise UsageError(
                    f"{said} ({e}): name the byte order, e.g. --encoding {self._encoding}-le or "
                    f"{self._encoding}-be"
                ) from None
            self.raw_bytes += len(chunk)
            self._out += text.encode("utf-8", _MARK)
        count = len(self._out) if size < 0 else min(size, len(self._out))
        data = bytes(self._out[:count])
        del self._out[:count]
        return data


def strict_message(path: str, encoding: str, offset: int) -> str:
    return (
        f"input {path}: byte {offset:,} is not valid {encoding} (--errors strict): name the "
        "file's encoding (--encoding latin-1, cp1252, utf-16 ...) or pass --errors replace"
    )


def undecodable_message(path: str, encoding: str, bad: int, total: int, more: str = "") -> str:
    return (
        f"input {path}{more}: {bad:,} of its {total:,} bytes ({bad / total:.2%}) are not valid "
        f"{encoding}, more than the {MAX_UNDECODABLE_SHARE:.2%} that --errors limit (the "
        "default) replaces: name the file's encoding (--encoding latin-1, cp1252, utf-16 ...), "
        "or keep it with --errors replace (U+FFFD for each) or --errors ignore (dropped)"
    )


def merge_tallies(tallies) -> list[list]:
    """Sources' (path, encoding, undecodable bytes, file bytes) summed per file, by path."""
    merged: dict = {}
    for path, encoding, bad, total in tallies:
        before = merged.get(path, [path, encoding, 0, total])
        merged[path] = [path, encoding, before[2] + bad, total]
    return [merged[path] for path in sorted(merged)]


def refuse_undecodable(tallies) -> None:
    """UsageError naming the first file whose undecodable bytes are over the limit; a warning
    naming the others that had any (their bytes are U+FFFD)."""
    refused = [t for t in tallies if _over_limit(t[2], t[3])]
    for path, encoding, bad, total in [t for t in tallies if t not in refused][:_WARNED]:
        log.warning(
            "%s: %d undecodable byte(s) of %d replaced by U+FFFD (under the --errors limit; "
            "--encoding names another codec than %s)", path, bad, total, encoding,
        )  # fmt: skip
    if refused:
        path, encoding, bad, total = refused[0]
        more = f" (and {len(refused) - 1} more file(s) like it)" if len(refused) > 1 else ""
        raise UsageError(undecodable_message(path, encoding, bad, max(total, 1), more))


def _over_limit(bad: int, total: int) -> bool:
    return bad > ALLOWED_UNDECODABLE and bad > MAX_UNDECODABLE_SHARE * total


_HEADERS = (  # (first bytes, what the file looks like); more specific ones first
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (.zip, .docx, .jar, a PyTorch checkpoint ...)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"PAR1", "a Parquet file"),
    (b"ARROW1", "an Arrow file"),
    (b"\x93NUMPY", "a NumPy array (.npy)"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "an executable or a library (ELF)"),
    (b"\x1f\x8b", "gzip data (only files named .gz are decompressed)"),
    (b"BZh", "bzip2 data (only files named .bz2 are decompressed)"),
    (b"\xfd7zXZ\x00", "xz data (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "zstd data (decompress it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
)
_BOMS = (  # byte order marks of the codecs that a one-byte codec cannot read
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def binary_kind(head: bytes) -> str | None:
    """What the first bytes of a file say it is, if a known binary format; else None. A header
    of printable characters ("%PDF-", "PAR1") counts only when binary bytes follow it: a text
    may start with those letters."""
    if head[:2] == b"PK" and b"data.pkl" in head[:512]:
        return "a PyTorch checkpoint (a zip archive)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (an old PyTorch checkpoint?)"
    if head[257:262] == b"ustar" and _binary_bytes(head):
        return "a tar archive"
    for magic, kind in _HEADERS:
        if head.startswith(magic) and (not _printable(magic) or _binary_bytes(head)):
            return kind
    return None


def _printable(data: bytes) -> bool:
    return all(32 <= byte < 127 for byte in data)


def _binary_bytes(head: bytes) -> bool:
    """Whether the first KiB holds a control byte (not whitespace or ESC) or is not UTF-8."""
    head = head[:1024]
    if _CONTROL.search(head):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(head) - 3  # (not a character cut at the end of the KiB)
    return False


def check_head(head: bytes, path: str, kind: str) -> None:
    """Refuse a file whose first bytes are a known binary header, or (read with a one-byte
    codec) a UTF-16/32 byte order mark, naming it and what it looks like."""
    found = binary_kind(head)
    if found:
        raise UsageError(f"input {path} is not text: it looks like {found}; give text files")
    if kind != "transcoded":
        codec = next((name for bom, name in _BOMS if head.startswith(bom)), None)
        if codec:
            raise UsageError(
                f"input {path} starts with a {codec.upper()} byte order mark: pass --encoding "
                f"{codec} to read it"
            )


def check_nul(chunk: bytes, path: str, offset: int) -> None:
    """Refuse a file with a NUL byte (`chunk` starts at byte `offset` of the text read)."""
    at = chunk.find(b"\x00")
    if at < 0:
        return
    hint = _utf16_hint(chunk) or "; a text file with NUL bytes: remove them (tr -d '\\000')"
    raise UsageError(f"input {path} is not text: a NUL byte at byte {offset + at:,}{hint}")


def _utf16_hint(chunk: bytes) -> str:
    """A hint when the NULs fall on every other byte, as in UTF-16 text of a Latin script."""
    pairs = len(chunk) // 2
    if pairs < 8:
        return ""
    even, odd = chunk[0 : 2 * pairs : 2].count(0), chunk[1 : 2 * pairs : 2].count(0)
    for nuls, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if nuls > pairs / 2 and other < pairs / 20:
            return f"; it looks like UTF-16 text: pass --encoding {codec}"
    return ""

"""Compressed input files (.gz, .bz2) read to their end-of-stream marker, or refused by name.

A gzip or bzip2 file cut short (a copy that failed, a file still being written) decodes as a
readable prefix; read leniently, it would become a complete-looking dataset of part of the file.
Here the raw bytes are decoded with Python's gzip and bz2 modules, which know where a stream ends:
a truncated or corrupt file raises UsageError naming it. `decode_problem` checks a whole file
first (sgns-preprocess --watch takes a compressed file only once it decodes to its end), and
`text_print` fingerprints the text in that same pass (sgns.pipeline.dataset.inputs).
Other compression types Beam detects by extension are read by Beam itself. No Beam is needed
to read a local file (sgns.pipeline.local); `CheckedStream` opens the raw bytes through Beam's
filesystems only when given no opener.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import zlib
from typing import NamedTuple

from sgns.errors import UsageError

_OPENERS = {  # by extension, as Beam's CompressionTypes.detect_compression_type tells them
    ".gz": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    ".bz2": ("bzip2", bz2.BZ2File),
}


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _beam_raw(path: str):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def _data_error(error: BaseException) -> bool:
    """Whether `error` says the compressed data is bad (cut short, corrupt), not that the file
    could not be read (an OSError with an errno: permissions, a vanished file, EIO)."""
    if isinstance(error, (EOFError, zlib.error)):
        return True
    return isinstance(error, OSError) and error.errno is None  # BadGzipFile, bz2's data errors


CHECK_BYTES = 1 << 22  # decoded bytes per read when checking a whole file


def is_checked(path: str) -> bool:
    """Whether `path` is a compressed file this module decodes (by its extension)."""
    return _suffix(path) in _OPENERS


class CheckedStream:
    """The decoded bytes of a compressed file; UsageError naming the file when they stop short
    of the end-of-stream marker or are not valid data."""

    def __init__(self, path: str, raw_opener=None):
        self.path = path
        self.kind, decoder = _OPENERS[_suffix(path)]
        self._raw = (raw_opener or _beam_raw)(path)  # default: any Beam filesystem
        self._stream = decoder(self._raw)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except (EOFError, OSError, zlib.error) as e:
            if not _data_error(e):
                raise  # an I/O error: said as one, and worth another try
            what = "truncated" if isinstance(e, EOFError) else "corrupt"
            raise UsageError(
                f"input {self.path} is a {what} {self.kind} file ({e}); replace or remove it"
            ) from None

    def raw_position(self) -> int:
        """Bytes of the compressed file read so far (what a progress bar counts)."""
        return self._raw.tell()

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> CheckedStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TextPrint(NamedTuple):
    """What identifies the text of a file (sgns.pipeline.dataset.inputs): its size, the sha256
    of its first `part` bytes and last `part` bytes (of all of it up to 2 `part`), and of the
    head."""

    size: int
    head_tail_sha256: str
    head_sha256: str


def text_print(path: str, opener=None, part: int = 1 << 20) -> TextPrint:
    """The TextPrint of the decoded text of the compressed file at `path`, in one streaming
    pass with bounded memory, which also checks that it decodes to its end (UsageError naming
    the file, as CheckedStream). `opener(path)`: its raw bytes (default: Beam's)."""
    head, tail, total = bytearray(), bytearray(), 0
    with CheckedStream(path, opener) as stream:
        while chunk := stream.read(max(part, CHECK_BYTES)):
            total += len(chunk)
            taken = max(0, min(len(chunk), part - len(head)))
            head += chunk[:taken]
            tail += chunk[taken:]
            del tail[: max(0, len(tail) - part)]  # the last `part` bytes after the head
    whole = hashlib.sha256(bytes(head) + bytes(tail)).hexdigest()
    return TextPrint(total, whole, hashlib.sha256(head).hexdigest())


def decode_problem(path: str, found: dict | None = None) -> tuple[str, str] | None:
    """None when the compressed file at `path` decodes to its end (its TextPrint then put in
    `found`, keyed by the path); else ("truncated" or "corrupt", the message). An I/O error
    reading it raises (OSError)."""
    try:
        printed = text_print(path)
    except UsageError as e:
        return ("truncated" if "truncated" in str(e) else "corrupt"), str(e)
    if found is not None:
        found[path] = printed
    return None

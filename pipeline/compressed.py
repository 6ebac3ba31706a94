"""Compressed input files (.gz, .bz2) read to their end-of-stream marker, or refused by name.

A gzip or bzip2 file cut short (a copy that failed, a file still being written) decodes as a
readable prefix; read leniently, it would become a complete-looking dataset of part of the file.
Here the raw bytes are decoded with Python's gzip and bz2 modules, which know where a stream ends:
a truncated or corrupt file raises ValueError naming it. `decode_problem` checks a whole file
first (sgns-preprocess --watch takes a compressed file only once it decodes to its end).
Other compression types Beam detects by extension are read by Beam itself. No Beam is needed
to read a local file (sgns.pipeline.local); `CheckedStream` opens the raw bytes through Beam's
filesystems only when given no opener.
"""

from __future__ import annotations

import bz2
import gzip
import os
import zlib

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
    """The decoded bytes of a compressed file; ValueError naming the file when they stop short
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
            raise ValueError(
                f"input {self.path} is a {what} {self.kind} file ({e}); replace or remove it"
            ) from None

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> CheckedStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decode_problem(path: str) -> tuple[str, str] | None:
    """None when the compressed file at `path` decodes to its end; else ("truncated" or
    "corrupt", the message). An I/O error reading it raises (OSError)."""
    with CheckedStream(path) as stream:
        try:
            while stream.read(CHECK_BYTES):
                pass
        except ValueError as e:
            return ("truncated" if "truncated" in str(e) else "corrupt"), str(e)
    return None

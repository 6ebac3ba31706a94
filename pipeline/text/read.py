"""Read corpus files as text blocks: the pipeline's elements (never lines, tokens or pairs).

Which files (`list_files`), how they are split into sources (`plan_sources`: uncompressed files
in byte ranges, so that one big file is read by several workers), and the Beam stage that reads
each source's blocks (`ReadBlocks`); how a stream is cut into blocks is sgns.pipeline.text.blocks.
"""

from __future__ import annotations

import glob
import io
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems

from sgns.dataset import check_utf8_name
from sgns.errors import UsageError, os_message
from sgns.files import resolved_path
from sgns.pipeline.dataset.inputs import HEAD_TAIL_BYTES, check_regular, text_head_fields
from sgns.pipeline.dataset.outputs import (
    is_local,  # (also shares S3 clients in the workers that read)
)
from sgns.pipeline.progress import SourceMeter
from sgns.pipeline.text.blocks import Block, Source, read_blocks
from sgns.pipeline.text.compressed import CheckedStream, is_checked
from sgns.pipeline.text.decoding import Transcoder, check_head, check_nul, stream_kind
from sgns.pipeline.text.format import TextFormat

log = logging.getLogger(__name__)

# Uncompressed files bigger than this are read as several byte ranges, in parallel.
RANGE_BYTES = 16 * 1024 * 1024
HEAD_BYTES = 4096  # of each input, checked on the driver (check_heads), as read_blocks checks
HEAD_READERS = 16  # threads reading them


def list_files(patterns: tuple[str, ...], allow_missing: bool = False) -> list:
    """FileMetadata (path, size_in_bytes, last_updated_in_seconds) of every matched file, sorted
    by path, without duplicates; local paths made absolute, so that the manifest names a file
    the same way whatever the working directory or the pattern. A directory, with or without
    a trailing slash, stands for the files directly in it. A local path that exists is taken as
    it is, never as a pattern: a file named "b [x].txt" is that file.

    Raises FileNotFoundError naming the first pattern that matches nothing, unless allow_missing,
    and UsageError naming a local match that is not a regular file (a FIFO, a device, a socket).
    """
    found = {}
    for pattern in patterns:
        matched, directory = _match(pattern)
        if not matched and not allow_missing:
            said = "matches no file" if is_local(pattern) else "matches no object"
            said = "is a directory without files" if directory else said
            raise FileNotFoundError(f"--input {'' if directory else 'pattern '}{pattern!r} {said}")
        for metadata in matched:
            if is_local(metadata.path) and os.path.isdir(metadata.path):
                continue  # a folder inside a pattern's match: not a corpus file
            if is_local(metadata.path):  # local: one name per file, a regular one
                check_regular(metadata.path)
                metadata = FileMetadata(
                    resolved_path(metadata.path),  # (not abspath: "link/..", sgns.files)
                    metadata.size_in_bytes,
                    metadata.last_updated_in_seconds,
                )
            check_utf8_name(metadata.path, "input")  # the manifest names it, in UTF-8 JSON
            found[metadata.path] = metadata
    return [found[path] for path in sorted(found)]


def _match(pattern: str) -> tuple[list, bool]:
    """(FileMetadata of what `pattern` matches, whether it names a directory)."""
    if is_local(pattern) and os.path.isdir(pattern):
        paths = [os.path.join(pattern, name) for name in sorted(os.listdir(pattern))]
        return [_local_file(p) for p in paths if not os.path.isdir(p)], True
    if is_local(pattern) and os.path.lexists(pattern):  # a file, literally: no glob
        return [_local_file(pattern)], False
    matched = FileSystems.match([pattern])[0].metadata_list
    if is_local(pattern) and "**" not in pattern:
        _warn_linked(pattern, {os.path.normpath(m.path) for m in matched})
    if _is_directory(pattern, matched):  # (an object store's prefix: one only if it has objects)
        under = FileSystems.match([pattern.rstrip("/") + "/"])[0].metadata_list
        return under, bool(under)
    return matched, False


_WARNED: set[str] = set()  # (--watch lists its patterns every poll: said once)


def _warn_linked(pattern: str, matched: set[str]) -> None:
    """Say the files that `pattern` reaches only through a link to a directory, which Beam's
    match does not follow (a shell's glob does; sgns.fit lists files here too): they are not
    read."""
    skipped = [
        path for path in glob.glob(pattern)
        if os.path.normpath(path) not in matched and not os.path.isdir(path)
    ]  # fmt: skip
    if skipped and pattern not in _WARNED:
        _WARNED.add(pattern)
        log.warning(
            "--input %r: %d file(s) it matches through a link to a directory (%s) are not read: "
            "the patterns of sgns-preprocess and sgns.fit do not follow links to directories; give "
            "the linked directory as an --input of its own to read them",
            pattern, len(skipped), sorted(skipped)[0],
        )  # fmt: skip


def _local_file(path: str) -> FileMetadata:
    status = os.stat(path)
    return FileMetadata(path, status.st_size, status.st_mtime)


def _is_directory(pattern: str, matched: list) -> bool:
    """Whether `pattern` may name a directory: a local one, or on an object store a name with
    no object of its own (a prefix, if any object is under it)."""
    if pattern.endswith("/") or any(c in pattern for c in "*?["):
        return False
    if is_local(pattern):
        return os.path.isdir(pattern)
    return not matched


def plan_sources(files: list[tuple], range_bytes: int = RANGE_BYTES, encoding: str = "utf-8"):
    """Split the files, (path, size) or (path, size, mtime) as listed, into sources:
    uncompressed files in byte ranges, compressed ones whole, and every file whole in an
    encoding that is read in order (decoding.stream_kind). With an mtime, each source's reader
    checks that the file is still the one listed (`check_unchanged`)."""
    sources = []
    whole = stream_kind(encoding) == "transcoded"
    for index, (path, size, *mtime) in enumerate(files):
        listed = (size, mtime[0]) if mtime else None
        if is_checked(path) or whole:  # .gz, .bz2: decompressed whole; any other name is raw
            sources.append(Source(index, path, listed=listed))
            continue
        starts = range(0, max(size, 1), range_bytes)
        for start in starts:
            end = min(start + range_bytes, size)
            sources.append(Source(index, path, start, end, size, listed))
    return sources


def check_unchanged(source: Source, stream) -> None:
    """UsageError when the file of `source`, just read from `stream`, is not the one listed, so
    that the runs of an increment (phrases, vocabulary, pairs) would read other text: a range
    that ended before its end (the file was cut short), or a local file now of another size, or
    of its size with another mtime (written again). A file that grew is accepted only where what
    was read stops at its listed size: a byte range of a file whose listed text ends a line (no
    range owns a line that starts past it). A source read whole (.gz, .bz2, an encoding
    transcoded) is read to its end, and a last line without its newline to its newline: the
    text appended would be counted in one run and not the other, so the file is refused."""
    ended = source.end >= 0 and stream.tell() < source.end  # (a range reads past its end)
    if source.listed is None or not (ended or is_local(source.path)):
        return
    size, mtime = source.listed
    said = f"it ended before byte {source.end}"
    if is_local(source.path):
        now = os.stat(source.path)
        same = now.st_size == size and mtime in (None, now.st_mtime)
        grown = now.st_size > size and source.end >= 0 and _ends_line(source.path, size)
        if not ended and (same or grown):  # (grown: its ranges stop at the listed size)
            return
        said = f"{now.st_size} bytes now" if now.st_size != size else "modified since"
    raise UsageError(f"input {source.path} changed while sgns-preprocess read it ({size} bytes "
                     f"when listed, {said}): run again once it is complete")  # fmt: skip


def _ends_line(path: str, size: int) -> bool:
    """Whether the first `size` bytes of the local file `path` end with a newline (or are none)."""
    if size == 0:
        return True
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


def open_source(source: Source):
    """A binary stream of the source's file: .gz and .bz2 decompressed and read to their
    end-of-stream marker or refused (sgns.pipeline.text.compressed), any other file raw."""
    if source.start or source.end >= 0:
        return FileSystems.open(source.path, compression_type=CompressionTypes.UNCOMPRESSED)
    if is_checked(source.path):
        return CheckedStream(source.path)
    # raw bytes whatever the name (Beam would decompress .xz, .zst, .deflate by extension, with
    # no end-of-stream check): such data is refused as binary, as the Beam-free path refuses it
    return FileSystems.open(source.path, compression_type=CompressionTypes.UNCOMPRESSED)


def check_heads(files: list, encoding: str = "utf-8", known: dict | None = None) -> dict:
    """Refuse, on the driver and before any pipeline runs, a file (FileMetadata) whose first
    HEAD_BYTES say it is not text: a known binary header or a NUL byte (decoding.check_head and
    check_nul; .gz and .bz2 decompressed, as ReadBlocks reads them, which refuses the rest).
    Returns path -> the content fields of each compressed file (sgns.pipeline.dataset.inputs): those
    in `known` (path -> fields), else of its first MiB of text, read here for both."""
    kind, known = stream_kind(encoding), known or {}

    def check(metadata) -> dict | None:
        path = metadata.path
        wanted = is_checked(path) and path not in known
        head = _head(path, HEAD_TAIL_BYTES if wanted else HEAD_BYTES)
        if kind == "transcoded":  # (its own header check; then the text it decodes to)
            check_nul(Transcoder(io.BytesIO(head[:HEAD_BYTES]), encoding, path).read(), path, 0)
        else:
            check_head(head[:HEAD_BYTES], path, kind)
            check_nul(head[:HEAD_BYTES], path, 0)
        return text_head_fields(head) if wanted else known.get(path)

    with ThreadPoolExecutor(HEAD_READERS) as pool:  # (an object store: a request per file)
        fields = list(pool.map(check, files))  # (the first bad file in order raises)
    return {m.path: f for m, f in zip(files, fields) if f is not None}


def _head(path: str, size: int) -> bytes:
    try:
        with open_source(Source(0, path)) as stream:
            return stream.read(size)
    except OSError as e:
        raise UsageError("cannot read input: " + os_message(e.errno, e.strerror, path)) from None


class ReadBlocks(beam.PTransform):
    """PCollection[Source] -> PCollection[Block], made text as `text_format` says (default:
    UTF-8 and whitespace tokens)."""

    def __init__(
        self, block_bytes: int, max_sentence_length: int, text_format: TextFormat | None = None
    ):
        super().__init__()
        self._block_bytes = block_bytes
        self._max_sentence_length = max_sentence_length
        self._text_format = text_format or TextFormat()

    @classmethod
    def of(cls, config) -> ReadBlocks:
        """The reader of a PipelineConfig's blocks, text format included."""
        return cls(config.block_bytes, config.max_sentence_length, TextFormat.of(config))

    def expand(self, sources):
        return sources | "ReadSource" >> beam.FlatMap(
            _read_source, self._block_bytes, self._max_sentence_length, self._text_format
        )


def _read_source(
    source: Source, block_bytes: int, max_sentence_length: int, text_format: TextFormat
) -> Iterator[Block]:
    log.info("reading %s from byte %d", source.path, source.start)
    try:
        with open_source(source) as stream:
            meter = SourceMeter(source, stream)  # the bytes read, on the driver's bar if any
            for block in read_blocks(stream, source, block_bytes, max_sentence_length, text_format):
                yield block
                meter.update()
            meter.finish()
            check_unchanged(source, stream)  # (every run reads what the first one read)
    except (UsageError, OSError) as e:  # reported by the driver, not raised inside the runner
        if isinstance(e, OSError):
            e = UsageError("cannot read input: " + os_message(e.errno, e.strerror, source.path))
        why = str(e)
        yield Block(f"{source.file_index}:{source.start}:error", "", 0, 0, 0, error=why)

"""The input files of an increment: what the manifest records of each, and which are new.

A file is recorded with its path, size, mtime and what identifies it, raw and as text:
  head_tail_sha256     sha256 of its raw bytes' first MiB and last MiB (all of them up to 2 MiB):
                       with `size`, its raw identity (two ranged reads on an object store)
  content_head_sha256  sha256 of the first MiB of its text: the decompressed bytes of a .gz or
                       .bz2 (one MiB decompressed), the raw bytes of any other file
  content_size,        its text's size and the head_tail sha256 of its text: the text identity.
  content_head_tail_sha256
                       Of a plain file they are the raw ones (content_size = size; the second is
                       not written). Of a compressed file they cost its whole decompression, on
                       the driver, before any worker starts (BENCHMARKS.md, "Figures behind the
                       defaults": 100 GB of text is minutes of gzip, half an hour of bz2), so
                       they are taken only when its content head is another input's (of the run
                       or the dataset), then recorded; or when known anyway: a text under a MiB,
                       or a file --watch decoded whole to check it (sgns.pipeline.text.compressed).
Two files are the same input when their raw identities are equal (a copy, a link, a renamed
file), or their text identities are (the same text plain and compressed, or compressed twice):
it is counted once (`already_ingested`, `repeated_inputs`). A dataset written before the content
fields is compared by the raw identity, as it was then; a compressed file of the dataset whose
text identity was never taken is decoded from its path when a new input's head matches it, and
when it is gone a WARNING names both (the new one is read: nothing is refused or dropped).
Why not a full hash of a plain file: a full hash would read a 100 GB corpus once more, on one
machine, before any worker starts. With the size, the first and last MiB catch the usual
mistakes (the same file under another name, a file that grew or was cut); an edit in the
middle of a big file that keeps its size is not caught (the mtime in the manifest is there for a
person to check). The mtime is recorded but is not part of the identity: a copy gets a new one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat

from sgns.errors import UsageError
from sgns.files import kind_of
from sgns.pipeline.text.compressed import CheckedStream, is_checked, text_print

log = logging.getLogger(__name__)
HEAD_TAIL_BYTES = 1 << 20


def split_inputs(values: list[str]) -> tuple[str, ...]:
    """The files, directories and patterns that --input values name: a value that names an
    existing local file or directory is taken as it is (commas and brackets in its name
    included), any other is a comma-separated list of them."""
    found: list[str] = []
    for value in values:
        if os.path.lexists(value):
            found.append(value)
        else:
            found += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(found)


def check_regular(path: str) -> None:
    """Refuse a local input that is not a regular file, naming it and what it is, before it is
    opened: a FIFO or a device is opened more than once here (fingerprint, then each run) and
    reading one may wait forever or never end."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = kind_of(mode)
        raise UsageError(f"--input {path} is {kind}, not a regular file: give corpus files")


def check_outside(files: list, output: str) -> None:
    """Refuse an input file (FileMetadata, as listed) that lies in the --output dataset: its
    own files (vocab.tsv, counts.tsv, a shard) are no corpus text, and what an --overwrite or
    the next increment replaces there would be read as it changes."""
    from sgns.pipeline.dataset.outputs import is_local  # (Beam's: sgns.fit's path has none)

    if is_local(output):
        root = os.path.realpath(output)
        inside = [m.path for m in files if is_local(m.path)
                  and os.path.commonpath([root, os.path.realpath(m.path)]) == root]  # fmt: skip
    else:  # (an object store's keys: by their prefix)
        inside = [m.path for m in files if m.path.startswith(output.rstrip("/") + "/")]
    if inside:
        more = f" (and {len(inside) - 1} more)" if len(inside) > 1 else ""
        raise UsageError(f"--input {inside[0]}{more} lies in the dataset --output {output}: a "
                         "dataset's own files are no corpus text; give corpus files outside "
                         "it")  # fmt: skip


def raw_prints(path: str, size: int, opener=None, part: int = HEAD_TAIL_BYTES) -> tuple[str, str]:
    """(sha256 of the raw bytes [0, part) and [max(part, size - part), size), sha256 of the
    first of them alone) of a file of `size` bytes, opened by `opener(path)` (default: Beam's
    filesystems, uncompressed)."""
    with (opener or _raw)(path) as f:
        head = f.read(min(size, part))
        digest = hashlib.sha256(head)
        head_sha = digest.hexdigest()
        if size > part:
            f.seek(max(part, size - part))
            digest.update(f.read(part))
    return digest.hexdigest(), head_sha


def text_head_fields(head: bytes) -> dict:
    """The content fields of a file whose text begins with `head`, its first HEAD_TAIL_BYTES
    bytes or, when shorter, all of it (then its text identity too)."""
    sha = hashlib.sha256(head).hexdigest()
    if len(head) < HEAD_TAIL_BYTES:  # the whole text: its head_tail sha256 is this one
        return {"content_head_sha256": sha, "content_size": len(head),
                "content_head_tail_sha256": sha}  # fmt: skip
    return {"content_head_sha256": sha}


def read_text_head(path: str, opener=None) -> bytes:
    """The first HEAD_TAIL_BYTES of a compressed file's text (one MiB decompressed)."""
    with CheckedStream(path, opener) as stream:
        return stream.read(HEAD_TAIL_BYTES)


def describe_file(metadata, opener=None, text: dict | None = None) -> dict:
    """The manifest's record of one input file (metadata: Beam's FileMetadata or alike).
    `text`: the content fields of a compressed file when known (`text_head_fields` of a head
    read already, or its whole TextPrint's); else its head is read here."""
    path, size = metadata.path, metadata.size_in_bytes
    head_tail, head = raw_prints(path, size, opener)
    entry = {"path": path, "size": size, "mtime": metadata.last_updated_in_seconds,
             "head_tail_sha256": head_tail}  # fmt: skip
    if not is_checked(path):
        return {**entry, "content_size": size, "content_head_sha256": head}
    return {**entry, **(text or text_head_fields(read_text_head(path, opener)))}


def print_fields(printed) -> dict:
    """The content fields of a compressed file's whole TextPrint (sgns.pipeline.text.compressed)."""
    return {"content_head_sha256": printed.head_sha256, "content_size": printed.size,
            "content_head_tail_sha256": printed.head_tail_sha256}  # fmt: skip


def _raw_identity(entry: dict) -> tuple | None:
    if "size" not in entry or "head_tail_sha256" not in entry:  # (none: known by its path)
        return None
    return entry["size"], entry["head_tail_sha256"]


def _text_identity(entry: dict) -> tuple | None:
    """The text identity of a manifest input entry, or None when not taken (a compressed
    file's, until its head matches another's)."""
    if "content_head_tail_sha256" in entry and "content_size" in entry:
        return entry["content_size"], entry["content_head_tail_sha256"]
    return None if is_checked(entry["path"]) else _raw_identity(entry)


class Inputs:
    """Input entries known so far, each with a note naming it; `find` tells which of them a new
    entry repeats: the same raw identity, or the same text identity, taken (decoding the file
    from its path through `opener`) only for entries whose content heads are equal."""

    def __init__(self, opener=None):
        self.opener = opener
        self.by_raw: dict = {}
        self.by_text: dict = {}
        self.by_head: dict = {}

    def add(self, entry: dict, note: str) -> None:
        for index, key in (
            (self.by_raw, _raw_identity(entry)),
            (self.by_text, _text_identity(entry)),
        ):
            if key is not None:
                index.setdefault(key, note)
        if "content_head_sha256" in entry:
            self.by_head.setdefault(entry["content_head_sha256"], []).append((entry, note))

    def find(self, entry: dict) -> str | None:
        """The note of a known entry that `entry` repeats, or None."""
        for index, key in (
            (self.by_raw, _raw_identity(entry)),
            (self.by_text, _text_identity(entry)),
        ):
            if key is not None and key in index:
                return index[key]
        for other, note in self.by_head.get(entry.get("content_head_sha256"), []):
            theirs = self._taken(other, entry)
            if theirs is not None and self._taken(entry) == theirs:
                return note
        return None

    def _taken(self, entry: dict, beside: dict | None = None) -> tuple | None:
        """The text identity of `entry`, decoded now and recorded in it when not taken yet; an
        entry of the dataset (`beside`: the new one whose head it shares) whose file cannot be
        decoded any more is None, with a warning."""
        found = _text_identity(entry)
        if found is not None:
            return found
        try:
            if beside is not None and _raw_now(entry["path"], self.opener) != _raw_identity(entry):
                raise UsageError("it is not the file that was read then")  # (changed in place)
            printed = text_print(entry["path"], self.opener, HEAD_TAIL_BYTES)
        except (OSError, UsageError) as e:
            if beside is None:
                raise
            log.warning(
                "%s begins with the text %s began with, but %s cannot be read to compare the "
                "rest (%s): reading %s as a new text", beside["path"], entry["path"],
                entry["path"], e, beside["path"],
            )  # fmt: skip
            return None
        entry.update(print_fields(printed))  # (recorded: a manifest written from it keeps it)
        return _text_identity(entry)


def _raw_now(path: str, opener=None) -> tuple[int, str]:
    """The raw identity (size, head_tail_sha256) of the file at `path` now."""
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    else:
        size = os.path.getsize(path)
    return size, raw_prints(path, size, opener)[0]


def _raw(path: str):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def ingested_paths(manifest: dict | None) -> dict[str, int]:
    """path -> index of the increment that read it, over every increment of a manifest."""
    if manifest is None:
        return {}
    return {
        _path(entry): increment["index"]
        for increment in manifest["increments"]
        for entry in increment.get("inputs", [])
    }


def already_ingested(described: list[dict], manifest: dict, opener=None) -> dict[str, str]:
    """path -> note, for each file that some increment already read: by path, or the same
    input under another path (a copy, or the same text: `Inputs`)."""
    by_path = ingested_paths(manifest)
    known = Inputs(opener)
    for increment in manifest["increments"]:
        for entry in increment.get("inputs", []):
            if isinstance(entry, dict):
                known.add(entry, f"{entry['path']}, increment {increment['index']}")
    notes = {}
    for entry in described:
        path = entry["path"]
        if path in by_path:
            notes[path] = f"{path} (increment {by_path[path]})"
        elif (first := known.find(entry)) is not None:
            notes[path] = f"{path} (same content as {first})"
    return notes


def repeated_inputs(described: list[dict], opener=None) -> dict[str, str]:
    """path -> note, for each file that repeats a file before it in `described` (`Inputs`):
    the same file under a second name (a copy, a link, two patterns), or the same text. Empty
    files are never repeats: they add nothing, however often they are read."""
    known = Inputs(opener)
    notes = {}
    for entry in described:
        path = entry["path"]
        empty = entry.get("size") == 0 or entry.get("content_size") == 0
        first = None if empty else known.find(entry)
        if first is not None:
            notes[path] = f"{path} (same content as {first})"
        else:
            known.add(entry, path)
    return notes


def check_distinct(described: list[dict], opener=None) -> None:
    """Refuse the files of one run that repeat another of its files (as --append refuses a file
    the dataset already read): a file read twice would be counted twice."""
    notes = repeated_inputs(described, opener)
    if notes:
        raise UsageError(
            f"{len(notes)} input file(s) given twice in this run: {', '.join(notes.values())}; "
            "each would be counted twice: give each file once"
        )


def _path(entry) -> str:
    """The path of a manifest input entry (a plain string in datasets written before inputs
    carried sizes and fingerprints)."""
    return entry if isinstance(entry, str) else entry["path"]

"""The input files of an increment: what the manifest records of each, and which are new.

A file is recorded with its path, size, mtime and `head_tail_sha256`: the sha256 of its first MiB
and its last MiB (the whole file when it is at most 2 MiB). Why not a full hash: the fingerprint
is taken by the driver before the pipeline starts, and a full hash would read a 100 GB corpus
once more, on one machine, before any worker starts; 2 MiB per file costs little locally
(BENCHMARKS.md, "Figures behind the defaults") and two ranged reads on an object store. With
the size it catches the usual mistakes (the same file under another name, a file that grew or
was cut); an edit in the middle of a big file that keeps its size is not caught (the mtime in the
manifest is there for a person to check).
The mtime is recorded but is not part of the identity, because a copy gets a new one.
"""

from __future__ import annotations

import hashlib
import os
import stat

from sgns.files import kind_of

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
        raise ValueError(f"--input {path} is {kind}, not a regular file: give corpus files")


def head_tail_sha256(path: str, size: int, part: int = HEAD_TAIL_BYTES, opener=None) -> str:
    """sha256 of the raw bytes [0, part) and [max(part, size - part), size) of a file, opened
    by `opener(path)` (default: Beam's filesystems, uncompressed)."""
    digest = hashlib.sha256()
    opener = opener or _raw
    with opener(path) as f:
        digest.update(f.read(min(size, part)))
        if size > part:
            f.seek(max(part, size - part))
            digest.update(f.read(part))
    return digest.hexdigest()


def describe_file(metadata, opener=None) -> dict:
    """The manifest's record of one input file (metadata: Beam's FileMetadata or alike)."""
    return {
        "path": metadata.path,
        "size": metadata.size_in_bytes,
        "mtime": metadata.last_updated_in_seconds,
        "head_tail_sha256": head_tail_sha256(metadata.path, metadata.size_in_bytes, opener=opener),
    }


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


def already_ingested(described: list[dict], manifest: dict) -> dict[str, str]:
    """path -> note, for each file that some increment already read: by path, or the same size
    and head_tail_sha256 under another path (a copy)."""
    by_path = ingested_paths(manifest)
    by_content = {
        (entry["size"], entry["head_tail_sha256"]): (entry["path"], increment["index"])
        for increment in manifest["increments"]
        for entry in increment.get("inputs", [])
        if isinstance(entry, dict) and "head_tail_sha256" in entry
    }
    notes = {}
    for entry in described:
        path, content = entry["path"], (entry["size"], entry["head_tail_sha256"])
        if path in by_path:
            notes[path] = f"{path} (increment {by_path[path]})"
        elif content in by_content:
            first, index = by_content[content]
            notes[path] = f"{path} (same content as {first}, increment {index})"
    return notes


def repeated_inputs(described: list[dict]) -> dict[str, str]:
    """path -> note, for each file with the same size and head_tail_sha256 as a file before it
    in `described`: the same file under a second name (a copy, a link, two patterns). Empty
    files are never repeats: they add nothing, however often they are read."""
    first: dict = {}
    notes = {}
    for entry in described:
        path, content = entry["path"], (entry["size"], entry["head_tail_sha256"])
        if content in first and entry["size"] > 0:
            notes[path] = f"{path} (same content as {first[content]})"
        else:
            first[content] = path
    return notes


def check_distinct(described: list[dict]) -> None:
    """Refuse the files of one run that repeat another of its files (as --append refuses a file
    the dataset already read): a file read twice would be counted twice."""
    notes = repeated_inputs(described)
    if notes:
        raise ValueError(
            f"{len(notes)} input file(s) given twice in this run: {', '.join(notes.values())}; "
            "each would be counted twice: give each file once"
        )


def _path(entry) -> str:
    """The path of a manifest input entry (a plain string in datasets written before inputs
    carried sizes and fingerprints)."""
    return entry if isinstance(entry, str) else entry["path"]

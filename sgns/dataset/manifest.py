"""The manifest: reading and validating it (every path it names stays inside the dataset),
writing it, and the shards an epoch reads."""

from __future__ import annotations

import filecmp
import json
import os
from dataclasses import dataclass

from sgns import files, store
from sgns.dataset.layout import (
    FORMAT,
    MANIFEST_FILE,
    READABLE_VERSIONS,
    ROW_ORDER_SHUFFLED,
    DamagedManifest,
    check_utf8_name,
    inside,
)
from sgns.dataset.shape import check_shape
from sgns.errors import UsageError, loads_json


def dump_manifest(manifest: dict) -> str:
    """The manifest as JSON text (stable key order, so equal manifests are equal bytes)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def validate_manifest(manifest: dict, where: str = "manifest") -> dict:
    """Check the format and version a reader relies on, and the shape of every field it reads
    (sgns.dataset.shape); returns the manifest."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"{where} is not an sgns dataset manifest (no format {FORMAT!r})")
    version = manifest.get("schema_version")
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise UsageError(
            f"{where} has schema_version {version!r}; this sgns reads versions {readable}. "
            "Re-run sgns-preprocess with this version, or use the sgns that wrote it."
        )
    for key in ("vocab", "config", "increments", "stats"):
        if key not in manifest:
            raise DamagedManifest(where, f"it lacks the field {key!r}")
    check_shape(manifest, where)
    return manifest


def read_manifest(directory: str) -> dict:
    """The validated manifest of a dataset: a local directory, or a URI (sgns.store).

    Raises FileNotFoundError when the directory has no manifest (it is not a dataset, or the run
    that wrote it did not finish) and UsageError when the manifest is one we cannot read.
    """
    check_utf8_name(directory, "dataset directory")  # (its shards are read by pyarrow)
    path = store.join(directory, MANIFEST_FILE)
    try:
        data = store.read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        if not store.is_uri(directory) and os.path.isfile(directory):  # a corpus, say
            raise UsageError(
                f"dataset directory {directory!r} is a file: a dataset is the directory "
                f"sgns-preprocess writes (sgns-preprocess --input {directory} --output DATA)"
            ) from None
        if not store.is_dir(directory):  # say whether it is missing, or what it is
            files.check_directory(directory, "dataset directory")
        raise FileNotFoundError(
            f"{directory!r} has no {MANIFEST_FILE}: it is not a finished sgns dataset "
            "(run sgns-preprocess, and let it finish)"
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a manifest") from None
    try:
        manifest = loads_json(data.decode("utf-8"))  # (nested too deeply: said too)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DamagedManifest(path, f"it is not valid JSON ({e})") from None
    return check_distinct_shards(directory, validate_manifest(manifest, path), path)


def check_distinct_shards(directory: str, manifest: dict, where: str) -> dict:
    """`manifest` (of the local dataset `directory`, read from `where`), unless two of its shard
    paths are one file (a folder linked to another inside the dataset, or a file hard-linked:
    told by device and inode), or an increment is another's copy (`_check_copies`): its pairs
    would be trained twice (DamagedManifest); a URI's keys are compared as strings by
    check_shape."""
    if store.is_uri(directory):
        return manifest
    seen: dict = {}  # a shard file's (device, inode) -> (its path in the manifest, whose)
    folders: dict[str, str] = {}  # (each folder resolved once)
    for increment in manifest["increments"]:
        for p, listed in enumerate(increment["passes"]):
            for shard in listed["shards"]:
                path = os.path.join(directory, shard["path"])
                folder = os.path.dirname(path)
                if folder not in folders:
                    folders[folder] = os.path.realpath(folder)
                real = os.path.join(folders[folder], os.path.basename(path))
                real = os.path.realpath(real) if os.path.islink(real) else real
                key, whose = _file_identity(real), f"increment {increment['index']} pass {p}"
                if key in seen:
                    raise DamagedManifest(
                        where, f"the shards {seen[key][0]!r} and {shard['path']!r} are one file "
                        f"({real}: a link inside the dataset, hard or symbolic), which "
                        f"{seen[key][1]} and {whose} would both train: its pairs twice",
                    )  # fmt: skip
                seen[key] = shard["path"], whose
    _check_copies(directory, manifest, where)
    return manifest


def _file_identity(real: str):
    """(device, inode) of the file at `real`, or `real` itself when it cannot be read (missing:
    its reader names it)."""
    try:
        status = os.stat(real)
    except OSError:
        return real
    return status.st_dev, status.st_ino


def _check_copies(directory: str, manifest: dict, where: str) -> None:
    """DamagedManifest when an increment is an earlier one's copy, listed again: its passes list
    shards alike in every field but the path (pairs, row groups), and its shard files hold the
    same bytes as the earlier one's (a folder copied, `cp -r`): its pairs would be trained
    twice. Two increments of other text are never alike in all their pair counts but by
    chance (tiny ones), so the files are read only for such a pair, and the bytes decide."""
    alike: dict[str, list] = {}  # the shard records but their paths -> the increments with them
    for increment in manifest["increments"]:
        passes = [[{k: v for k, v in s.items() if k != "path"} for s in p["shards"]]
                  for p in increment["passes"]]  # fmt: skip
        if not any(s["pairs"] for shards in passes for s in shards):
            continue  # (no pairs: none trained twice)
        earlier = alike.setdefault(json.dumps(passes, sort_keys=True), [])
        for other in earlier:
            pairs = [(a["path"], b["path"])
                     for p, q in zip(other["passes"], increment["passes"])
                     for a, b in zip(p["shards"], q["shards"])]  # fmt: skip
            if all(_same_bytes(directory, a, b) for a, b in pairs):
                raise DamagedManifest(
                    where, f"increment {increment['index']} is a copy of increment "
                    f"{other['index']} (its shards hold the same bytes: {pairs[0][1]!r} and "
                    f"{pairs[0][0]!r}), which would train their pairs twice",
                )  # fmt: skip
        earlier.append(increment)


def _same_bytes(directory: str, a: str, b: str) -> bool:
    try:
        return filecmp.cmp(os.path.join(directory, a), os.path.join(directory, b), shallow=False)
    except OSError:  # (missing: its reader names it)
        return False


def check_resolved(directory: str, path: str, what: str) -> str:
    """`path`, a file of the local dataset `directory`, unless it resolves through a link to a
    file outside the dataset (UsageError: nothing is read there); a URI is taken as it is."""
    if store.is_uri(directory):
        return path
    root, real = os.path.realpath(directory), os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        raise UsageError(
            f"{what} {path} is a link to {real}, outside the dataset {directory}: a dataset "
            "reads only its own files; copy the data into the dataset instead of linking to it "
            "(nothing was read)"
        )
    return path


def write_manifest_local(directory: str, manifest: dict) -> None:
    """Write the manifest of a local directory atomically and durably (sgns.files)."""
    files.atomic_write(os.path.join(directory, MANIFEST_FILE), dump_manifest(manifest).encode())


@dataclass(frozen=True)
class Shard:
    """One Parquet shard of a pass, as the manifest lists it."""

    path: str  # joined with the dataset's location (sgns.store.join)
    pairs: int
    row_groups: int
    increment: int = 0  # its increment's index,
    pass_index: int = 0  # its pass,
    number: int = 0  # and its place in the pass's list: the shard's identity, wherever it is
    row_order: str = ROW_ORDER_SHUFFLED  # its increment's (see the module docstring)


def pass_shards(directory: str, manifest: dict, epoch: int) -> list[Shard]:
    """The shards a trainer reads in `epoch`: pass (epoch mod passes) of every increment."""
    shards = []
    for increment in manifest["increments"]:
        passes = increment["passes"]
        chosen = passes[epoch % len(passes)]
        order = increment.get("row_order", ROW_ORDER_SHUFFLED)
        for number, shard in enumerate(chosen["shards"]):
            relative = inside(shard["path"], store.join(directory, MANIFEST_FILE), "a shard path")
            path = store.join(directory, relative)
            shards.append(Shard(path, shard["pairs"], shard["row_groups"], increment["index"],
                                epoch % len(passes), number, order))  # fmt: skip
    return shards

"""The manifest: reading and validating it (every path it names stays inside the dataset),
writing it, and the shards an epoch reads."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from sgns import files, store
from sgns.dataset.layout import (
    _DAMAGED,
    FORMAT,
    MANIFEST_FILE,
    READABLE_VERSIONS,
    ROW_ORDER_SHUFFLED,
    inside,
)


def dump_manifest(manifest: dict) -> str:
    """The manifest as JSON text (stable key order, so equal manifests are equal bytes)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def validate_manifest(manifest: dict, where: str = "manifest") -> dict:
    """Check the format and version a reader relies on; returns the manifest."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{where} is not an sgns dataset manifest (no format {FORMAT!r})")
    version = manifest.get("schema_version")
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise ValueError(
            f"{where} has schema_version {version!r}; this sgns reads versions {readable}. "
            "Re-run sgns-preprocess with this version, or use the sgns that wrote it."
        )
    for key in ("vocab", "config", "increments", "stats"):
        if key not in manifest:
            raise ValueError(f"{where} lacks the field {key!r}: the dataset is incomplete")
    _check_files(manifest, where)
    return manifest


def _listed(value, where: str, what: str) -> list:
    if isinstance(value, list):
        return value
    raise ValueError(f"{where}: {what} is {type(value).__name__}, not a list: {_DAMAGED}")


def _check_files(manifest: dict, where: str) -> None:
    """Every file the manifest names, before any is read or written: the vocabulary's, the
    counts' and the phrases' files and snapshots (`inside`), every shard's path and pairs."""
    for key, name in [(k, f) for k in ("vocab", "counts", "phrases") for f in ("file", "snapshot")]:
        entry = manifest.get(key)
        if isinstance(entry, dict) and name in entry:
            inside(entry[name], where, f"{key}.{name}")
    for i, increment in enumerate(_listed(manifest["increments"], where, "increments")):
        passes = increment.get("passes") if isinstance(increment, dict) else None
        for p, listed in enumerate(_listed(passes, where, f"increment {i}'s passes")):
            what = f"increment {i} pass {p}"
            shards = listed.get("shards") if isinstance(listed, dict) else None
            for shard in _listed(shards, where, f"{what}'s shards"):
                if not isinstance(shard, dict) or not {"path", "pairs"} <= shard.keys():
                    raise ValueError(f"{where}: a shard of {what} lacks its path or pairs "
                                     f"({shard!r:.80}): {_DAMAGED}")  # fmt: skip
                inside(shard["path"], where, f"a shard path of {what}")


def read_manifest(directory: str) -> dict:
    """The validated manifest of a dataset: a local directory, or a URI (sgns.store).

    Raises FileNotFoundError when the directory has no manifest (it is not a dataset, or the run
    that wrote it did not finish) and ValueError when the manifest is one we cannot read.
    """
    path = store.join(directory, MANIFEST_FILE)
    try:
        data = store.read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        if not store.is_uri(directory) and os.path.isfile(directory):  # a corpus, say
            raise ValueError(
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
        raise ValueError(f"{path} is a directory, not a manifest") from None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    return validate_manifest(manifest, path)


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

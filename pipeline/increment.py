"""`--append`: what an increment needs from the dataset it grows, and keeping that dataset whole.

Settings of an append (see `check_settings`): those that decide what a token, a word id, a keep
probability or a pair is must equal the dataset's (`MATCHING`); the others may differ per
increment (`PER_INCREMENT`: passes, shards, seed, block size). A setting the user does not pass
is the dataset's own, so `--append` needs only --input and --output.

Crash safety (the order of writes is in `sgns.dataset`): `recover` puts a dataset back to what
its manifest says, deleting an increment's files that no manifest lists and restoring vocab.tsv
and counts.tsv from the manifest's snapshots. It runs before every increment and after a failed
one. `DatasetLock` keeps a second writer out (local directories; on object stores, one writer at
a time is the user's to ensure).
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import socket

from apache_beam.io.filesystems import FileSystems

from pipeline.config import PipelineConfig
from pipeline.inputs import already_ingested
from pipeline.outputs import is_local, publish_file
from pipeline.pieces import PIECES_DIR
from sgns.dataset import MANIFEST_FILE, PAIRS_DIR, SNAPSHOTS_DIR, validate_manifest

log = logging.getLogger(__name__)

MATCHING = ("lowercase", "max_sentence_length", "min_count", "max_vocab", "sample", "window")
PER_INCREMENT = ("passes", "num_shards", "seed", "block_bytes")
LOCK_FILE = ".lock"


def read_dataset(output: str) -> dict | None:
    """The validated manifest of the dataset in `output` (any Beam filesystem); None if none."""
    path = FileSystems.join(output, MANIFEST_FILE)
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as f:
        try:
            manifest = json.loads(f.read().decode("utf-8"))
        except ValueError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from None
    return validate_manifest(manifest, path)


def require_dataset(output: str) -> dict:
    """The dataset `--append` grows, or a one-line error saying there is none."""
    manifest = read_dataset(output)
    if manifest is None:
        raise FileNotFoundError(
            f"--append: --output {output!r} holds no dataset (no {MANIFEST_FILE}); "
            "run without --append to build one"
        )
    return manifest


def _shown(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "none" if value is None else str(value)


def check_settings(config: PipelineConfig, dataset_config: dict) -> None:
    """Refuse an increment whose MATCHING settings differ from the dataset's, naming each."""
    differing = [
        f"--{name.replace('_', '-')} {_shown(getattr(config, name))} differs from the "
        f"dataset's {name} {_shown(dataset_config.get(name))}"
        for name in MATCHING
        if getattr(config, name) != dataset_config.get(name)
    ]
    if differing:
        raise ValueError(
            "; ".join(differing) + " (an increment must tokenize, count and sample as the "
            "dataset did; leave these options out to use the dataset's)"
        )


def check_new_inputs(described: list[dict], manifest: dict) -> None:
    """Refuse input files that an increment of the dataset already read, naming them."""
    notes = already_ingested(described, manifest)
    if notes:
        raise ValueError(
            f"{len(notes)} input file(s) already in the dataset: {', '.join(notes.values())}; "
            "append only new files"
        )


def base_folder(output: str, manifest: dict) -> str:
    """The folder with the vocab.tsv and counts.tsv snapshots that the next increment grows."""
    if "counts" not in manifest or "snapshot" not in manifest["vocab"]:
        raise ValueError(
            f"the dataset in {output!r} was written before increments kept counts.tsv; "
            "rebuild it (--overwrite) to append to it"
        )
    return FileSystems.join(output, posixpath.dirname(manifest["counts"]["snapshot"]))


def increment_folders(output: str, index: int) -> list[str]:
    """Where increment `index` writes: its pairs and its snapshots."""
    name = f"inc-{index:05d}"
    return [FileSystems.join(output, folder, name) for folder in (PAIRS_DIR, SNAPSHOTS_DIR)]


def recover(output: str) -> None:
    """Put the dataset back to what its manifest says: delete what an unfinished increment
    left (its pairs, snapshots, temporary pieces and files) and restore vocab.tsv and counts.tsv
    from the manifest's snapshots. Without a manifest, deletes what an unfinished initial build
    left."""
    manifest = read_dataset(output)
    index = len(manifest["increments"]) if manifest else 0
    doomed = increment_folders(output, index) + [FileSystems.join(output, PIECES_DIR)]
    if manifest is None:
        doomed.append(FileSystems.join(output, SNAPSHOTS_DIR))
    temps = FileSystems.match([FileSystems.join(output, ".tmp-*")])[0].metadata_list
    doomed += [m.path for m in temps]
    for path in doomed:
        if FileSystems.exists(path):
            log.info("removing %s, left by an unfinished run", path)
            FileSystems.delete([path])
    for entry in (manifest["vocab"], manifest.get("counts", {})) if manifest else ():
        if "snapshot" in entry:
            snapshot, current = (FileSystems.join(output, entry[k]) for k in ("snapshot", "file"))
            publish_file(snapshot, current)


class DatasetLock:
    """Holds DIR/.lock (pid and host) while a run writes a local dataset directory; refuses to
    start while a live process holds it, takes over a lock whose process is gone."""

    def __init__(self, output: str):
        self._path = os.path.join(output, LOCK_FILE) if is_local(output) else None
        self._me = f"{os.getpid()} {socket.gethostname()}"

    def __enter__(self) -> DatasetLock:
        if self._path is None:
            return self
        os.makedirs(os.path.dirname(self._path) or ".", exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = _read_lock(self._path)
                if holder is not None and _alive(holder):
                    raise ValueError(
                        f"another sgns-preprocess (pid {holder[0]} on {holder[1]}) is writing "
                        f"{os.path.dirname(self._path)!r}; wait for it, or delete "
                        f"{self._path} if it is gone"
                    ) from None
                log.info("taking over %s from a run that is gone", self._path)
                os.unlink(self._path)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self._me + "\n")
            return self
        raise ValueError(f"could not take {self._path}: another run keeps taking it")

    def __exit__(self, *exc) -> None:
        if self._path is not None and os.path.exists(self._path):
            os.unlink(self._path)


def _read_lock(path: str) -> tuple[int, str] | None:
    try:
        with open(path, encoding="utf-8") as f:
            pid, _, host = f.read().strip().partition(" ")
        return int(pid), host
    except (FileNotFoundError, ValueError):
        return None


def _alive(holder: tuple[int, str]) -> bool:
    """Whether the lock's process still runs (a lock from another host is taken as alive)."""
    pid, host = holder
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True

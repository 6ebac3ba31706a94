"""The output directory: whose it is, one writer at a time, and putting it back after a failure.

Only what sgns-preprocess provably wrote is ever removed. A directory is ours when it holds a
manifest (a dataset), the marker `.sgns-dataset` (written before anything else by a build that
has not committed yet, removed after its commit), or a staged overwrite (below). `claim` refuses
a directory that is none of these and not empty, before anything is written in it.

`recover` puts one of ours back to what its manifest says: it removes an unfinished increment's
pairs and snapshots, our temporary files and pieces (named with sgns.files.TEMP_PREFIX), and
restores vocab.tsv and counts.tsv from the manifest's snapshots. It runs before every increment
and after a failed one.

`--overwrite` builds the new dataset in OUTPUT/.sgns-tmp-overwrite and swaps it in only once it
is complete (`swap_in`), so that a failing run leaves the old dataset whole. During the swap the
old manifest goes first and the new one comes last; a swap cut short is finished by the next
`recover` (the staged manifest says it was complete).

`DatasetLock` keeps a second writer out of a local directory with an OS lock (flock) on
DIR/.lock, taken and broken atomically by the kernel: a crashed holder's lock is free at once.
On an object store (s3://, gs://) it takes no lock and writes nothing: there is no flock there,
and a lock object would outlive a writer that crashed, blocking every later run until someone
deleted it by hand. One writer at a time per output is then the user's to ensure
(docs/scaling.md, Object stores); everything else here works there by prefix: a "directory" is
the objects below OUTPUT/, and a folder is removed or moved object by object.
"""

from __future__ import annotations

import logging
import os

from apache_beam.io.filesystems import FileSystems

from sgns.dataset import (
    COUNTS_FILE,
    MANIFEST_FILE,
    PAIRS_DIR,
    PHRASES_FILE,
    SNAPSHOTS_DIR,
    VOCAB_FILE,
)
from sgns.errors import UsageError
from sgns.files import LOCK_FILE, TEMP_PREFIX, DirectoryLock
from sgns.pipeline.dataset.increment import increment_folders, read_dataset
from sgns.pipeline.dataset.manifest import write_manifest
from sgns.pipeline.dataset.outputs import is_local, publish_file, write_bytes
from sgns.pipeline.pairs.pieces import PIECES_DIR
from sgns.rundir import (  # LEGACY_PIECES_DIR: what sgns before 2026-12 left after a kill
    LEGACY_PIECES_DIR,
    check_outside_dataset,
    missing_folders,
    remove_made,
)

log = logging.getLogger(__name__)

MARKER_FILE = ".sgns-dataset"
STAGING_DIR = TEMP_PREFIX + "overwrite"
# what a swap moves (phrases.tsv: only a dataset built with --phrases has one)
DATASET_ITEMS = (PAIRS_DIR, SNAPSHOTS_DIR, VOCAB_FILE, COUNTS_FILE, PHRASES_FILE)


def _join(output: str, name: str) -> str:
    return FileSystems.join(output, name)


def _entries(output: str) -> list[str]:
    """Names directly in `output` (nothing when it does not exist)."""
    if is_local(output):
        return sorted(os.listdir(output)) if os.path.isdir(output) else []
    found = FileSystems.match([_join(output, "**")])[0].metadata_list
    prefix = output.rstrip("/") + "/"
    return sorted({m.path[len(prefix) :].split("/")[0] for m in found})


def staging_path(output: str) -> str:
    return _join(output, STAGING_DIR)


def claim(output: str) -> None:
    """Make sure `output` is ours to write: a dataset, an unfinished build of ours, or empty
    (then marked). A non-empty directory that is not ours is refused; nothing in it changes."""
    ours = read_dataset(output) is not None or FileSystems.exists(_join(output, MARKER_FILE))
    ours = ours or FileSystems.exists(_join(staging_path(output), MANIFEST_FILE))
    if ours:
        return
    foreign = [name for name in _entries(output) if name != LOCK_FILE]
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise UsageError(
            f"--output {output!r} is not empty ({shown}) and holds no sgns dataset; "
            "choose a new or empty directory (nothing in it was changed)"
        )
    write_bytes(_join(output, MARKER_FILE), b"an sgns-preprocess build in progress\n")


def release(output: str) -> None:
    """After a commit: the manifest now says the directory is ours; drop the marker."""
    marker = _join(output, MARKER_FILE)
    if FileSystems.exists(marker):
        FileSystems.delete([marker])


def _under(path: str) -> list[str]:
    """The object itself and the objects below it (an object store has no folders)."""
    found = FileSystems.match([path, path.rstrip("/") + "/**"])
    return [m.path for result in found for m in result.metadata_list]


def _exists(path: str) -> bool:
    """Whether a file or folder is there; on an object store, an object or a prefix of some."""
    return FileSystems.exists(path) or (not is_local(path) and bool(_under(path)))


def _delete(path: str) -> None:
    """Delete a file or a folder with all it holds (on an object store: every object below)."""
    if is_local(path) and os.path.islink(path):
        os.remove(path)  # a link in a dataset goes, never what it points at
    elif is_local(path):
        FileSystems.delete([path])
    else:
        FileSystems.delete(_under(path))


def remove_tree(path: str, why: str) -> None:
    """Delete a file or folder of ours, saying why (any Beam filesystem)."""
    _remove([path], why)


def _remove(paths: list[str], why: str = "left by an unfinished run") -> None:
    for path in paths:
        if _exists(path):
            log.info("removing %s, %s", path, why)
            _delete(path)


def recover(output: str) -> None:
    """Put a directory of ours back to what its manifest says (see the module docstring);
    a directory that is not ours is left alone."""
    for name in (PAIRS_DIR, SNAPSHOTS_DIR):  # what we write in them would land elsewhere
        folder = _join(output, name)
        if is_local(folder) and os.path.islink(folder):
            raise UsageError(
                f"{folder} is a link (to {os.readlink(folder)}): a dataset's {name}/ is a folder "
                "of its own, written only inside it; copy the data into the dataset instead of "
                "linking to it"
            )
    manifest = read_dataset(output)
    staged = _join(staging_path(output), MANIFEST_FILE)
    if manifest is None and FileSystems.exists(staged):  # (staged: a manifest, one object)
        _finish_swap(staging_path(output), output)
        manifest = read_dataset(output)
    if manifest is None and not FileSystems.exists(_join(output, MARKER_FILE)):
        return
    index = len(manifest["increments"]) if manifest else 0
    doomed = increment_folders(output, index)
    doomed += [_join(output, PIECES_DIR), _join(output, LEGACY_PIECES_DIR)]
    if manifest is None:  # an initial build of ours: all it wrote
        doomed += [_join(output, n) for n in DATASET_ITEMS]
    doomed += [_join(output, n) for n in _entries(output) if n.startswith(TEMP_PREFIX)]
    _remove(doomed)
    for entry in (manifest["vocab"], manifest.get("counts", {})) if manifest else ():
        if "snapshot" in entry:
            snapshot, current = (_join(output, entry[k]) for k in ("snapshot", "file"))
            publish_file(snapshot, current)
    if manifest is not None or not set(_entries(output)) - {LOCK_FILE, MARKER_FILE}:
        release(output)  # a dataset again, or as empty as before our build began


def swap_in(staging: str, output: str) -> None:
    """Replace the dataset in `output` by the complete one built in `staging`."""
    write_bytes(_join(output, MARKER_FILE), b"an sgns-preprocess overwrite in progress\n")
    FileSystems.delete([_join(output, MANIFEST_FILE)])  # from here on recover rolls forward
    _finish_swap(staging, output)


def _finish_swap(staging: str, output: str) -> None:
    """Steps after the old manifest is gone; each may have been done already by a cut-short
    swap, so that running this again always finishes it."""
    manifest = read_dataset(staging)
    manifest["config"]["output"] = output
    for name in DATASET_ITEMS:
        source = _join(staging, name)
        if _exists(source):
            _remove([_join(output, name)], "replaced by the new dataset")
            _move(source, _join(output, name))
    if "phrases" not in manifest:  # the old dataset's table is not the new one's
        _remove([_join(output, PHRASES_FILE)], "not part of the new dataset")
    write_manifest(output, manifest)
    _delete(staging)
    release(output)
    log.info("replaced the dataset in %s", output)


def _move(source: str, target: str) -> None:
    if is_local(source):
        os.rename(source, target)
        return
    sources = _under(source)
    FileSystems.rename(sources, [target + p[len(source) :] for p in sources])


class DatasetLock(DirectoryLock):
    """Holds an OS lock on DIR/.lock (sgns.files.DirectoryLock) while a run writes a local
    dataset directory; refuses to start while another process holds it. On an object store, a
    no-op (see the module docstring). A run that fails removes the folders that taking the lock
    made (DIR and any parent that was missing) if they are empty again: a refused run leaves
    no new folder, and never touches one that was there before. A directory in another
    dataset's pairs/ or snapshots/ is refused before anything is made (that dataset's next run
    would remove it: sgns.rundir.check_outside_dataset)."""

    def __init__(self, output: str):
        super().__init__(output, "sgns-preprocess")
        self.local = is_local(output)
        self.made: list[str] = []  # the folders the lock makes, deepest first

    def __enter__(self) -> DatasetLock:
        if self.local:
            check_outside_dataset(os.path.dirname(self.path))  # (before a folder is made)
            self.made = missing_folders(os.path.dirname(self.path))
            try:
                super().__enter__()
            except BaseException:
                remove_made(self.made)
                raise
        return self

    def __exit__(self, kind, error, trace) -> None:
        super().__exit__(kind, error, trace)
        if kind is not None and issubclass(kind, Exception):  # (not an interrupt: a stop)
            remove_made(self.made)

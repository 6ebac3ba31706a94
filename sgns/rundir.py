"""The run directory: what sgns-train writes and sgns-export, sgns-eval and sgns-report read.

    RUN/config.json      the training configuration and the dataset it read
    RUN/vocab.tsv        the vocabulary trained (sgns.dataset's vocabulary file format)
    RUN/checkpoint.pt    the latest checkpoint (sgns.train.checkpoint)
    RUN/metrics.jsonl    step and epoch records (sgns.train.metrics)
    RUN/vectors.txt      word2vec text vectors, written at the end of the run
    RUN/tensorboard/     TensorBoard scalars (--tensorboard)
    RUN/STOP             made by a user: a --follow run stops at its next poll
    RUN/eval.json, RUN/report.html    written by sgns-eval --json and sgns-report
    RUN/.lock            held by the one sgns-train writing the run (sgns.files.DirectoryLock)

The names live here and nowhere else. No torch and no Beam here.
"""

from __future__ import annotations

import errno
import os
import re

from sgns.dataset import FORMAT, MANIFEST_FILE, PAIRS_DIR, SNAPSHOTS_DIR, layout
from sgns.errors import UsageError, loads_json
from sgns.files import LOCK_FILE, TEMP_PREFIX, resolved_path

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.tsv"
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.jsonl"
VECTORS_FILE = "vectors.txt"
TENSORBOARD_DIR = "tensorboard"
STOP_FILE = "STOP"
EVAL_FILE = "eval.json"
REPORT_FILE = "report.html"


# what a run needs again (--resume, sgns-export, sgns-eval, sgns-report), and a dataset's own
# files: no command writes its --output over them. A dataset's are every file its contract names
# (each NAME_FILE of sgns.dataset.layout: the manifest and the files a manifest names, so that a
# file added there is one of them at once) and its lock; its folders and the temporary names
# its pipeline removes (TEMP_PREFIX*, and LEGACY_PIECES_DIR that sgns before 2026-12 left) are
# `_dataset_part`'s.
RUN_OWN_FILES = (CONFIG_FILE, VOCAB_FILE, CHECKPOINT_FILE, METRICS_FILE, EVAL_FILE, LOCK_FILE)
DATASET_OWN_FILES = (
    *(value for name, value in vars(layout).items() if name.endswith("_FILE")),
    LOCK_FILE,
)
LEGACY_PIECES_DIR = ".tmp-pieces"
# Of a manifest.json, the bytes read to tell a dataset's (sgns.dataset.FORMAT in it) from another
# program's (a web app's manifest.json): a whole manifest up to this size is parsed, a longer
# one's head searched for the format field (sgns writes it before the increments, which grow).
MANIFEST_HEAD_BYTES = 1 << 20
_FORMAT_FIELD = re.compile(rb'"format"\s*:\s*"' + re.escape(FORMAT.encode()) + rb'"')
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # s3://, gs://, file://: no local path


def check_local(path: str, flag: str = "--output", what: str = "directory") -> None:
    """Raise UsageError when `path`, where a command writes on the local disk, is a URI
    (s3://, gs://): os.path would make a local folder named "s3:" of it and the command would
    say it wrote to the store."""
    if isinstance(path, str) and _URI.match(path):
        raise UsageError(
            f"{flag} {path!r} is a URI; it must be a local {what} (sgns writes it on the local "
            "disk only): give a local path and copy the result to the store afterwards"
        )


def missing_folders(path: str) -> list[str]:
    """`path` and each folder above it that does not exist yet, deepest first: what making
    `path` will make, for `remove_made` after a failure. As given, not made absolute: abspath
    resolves "link/.." by the text (to "."), while makedirs and rmdir follow the link."""
    made = []
    while path and not os.path.lexists(path):
        if os.path.basename(path) not in (os.curdir, os.pardir):  # (no folder made for them)
            made.append(path)
        path = os.path.dirname(path)
    return made


def remove_made(folders: list[str]) -> None:
    """Remove the folders of `missing_folders` again, deepest first, each only while empty: one
    that was never made (a name too long for the system, one under a file) is passed over; one
    that holds anything now stops it, keeping itself and the folders above it."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENAMETOOLONG, errno.ENOTDIR):
                return


def run_path(run: str, name: str) -> str:
    """The path of one of the names above inside the run directory `run`."""
    return os.path.join(run, name)


def is_run(directory: str) -> bool:
    """Whether `directory` holds an sgns run: a checkpoint, or a config.json sgns-train wrote."""
    if os.path.exists(run_path(directory, CHECKPOINT_FILE)):
        return True  # (its config.json may be damaged: a resume rewrites it)
    if not os.path.isfile(run_path(directory, CONFIG_FILE)):
        return False  # (a FIFO would block the reader)
    try:
        with open(run_path(directory, CONFIG_FILE), encoding="utf-8") as f:
            config = loads_json(f.read())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"dataset", "world_size", "dim"} <= config.keys()


def check_run_output(directory: str) -> None:
    """Raise UsageError when `directory` exists, holds files and is no sgns run: a run would
    write its config.json, vocab.tsv, metrics.jsonl and vectors.txt over a user's files; or
    when it lies in a dataset's own folders (`check_outside_dataset`), or is a URI."""
    check_local(directory)
    check_outside_dataset(directory)
    held = [n for n in os.listdir(directory) if n != LOCK_FILE] if os.path.isdir(directory) else []
    if held and not is_run(directory):  # (the lock alone: a run that began)
        raise UsageError(
            f"--output {directory!r} is a non-empty directory that is not an sgns run (it has "
            "no config.json of sgns-train); give a new or empty directory"
        )


def is_dataset(directory: str) -> bool:
    """Whether the local `directory` holds an sgns dataset: a manifest.json that is JSON with
    sgns's format field (FORMAT), read no further than MANIFEST_HEAD_BYTES."""
    path = os.path.join(directory, MANIFEST_FILE)
    if not os.path.isfile(path):  # (a FIFO would block the reader)
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(MANIFEST_HEAD_BYTES + 1)
        if len(head) > MANIFEST_HEAD_BYTES:
            return _FORMAT_FIELD.search(head) is not None
        manifest = loads_json(head)
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def _dataset_part(path: str) -> tuple[str, bool] | None:
    """(the pairs/ or snapshots/ of a dataset, or one of its temporary names, that the absolute
    `path` is or lies in; whether it is a temporary name), else None: a file written there
    would replace one the dataset reads, or be removed by its next sgns-preprocess (which
    removes in its folders what its manifest does not list, and its temporary names)."""
    parts = path.split(os.sep)
    for i in range(1, len(parts)):
        top, name = os.sep.join(parts[:i]) or os.sep, parts[i]
        temporary = name.startswith(TEMP_PREFIX) or name == LEGACY_PIECES_DIR
        if (temporary or name in (PAIRS_DIR, SNAPSHOTS_DIR)) and is_dataset(top):
            return os.path.join(top, name), temporary
    return None


def _refuse_temporary(part: tuple[str, bool] | None, flag: str, given: str, path: str) -> None:
    if part is not None and part[1]:
        where = "is" if path == part[0] else "lies in"
        raise UsageError(
            f"{flag} {given!r} {where} {part[0]}, a name the dataset's own temporary files take "
            f"({TEMP_PREFIX}*, {LEGACY_PIECES_DIR}), which its next sgns-preprocess removes; "
            "give another name"
        )


def check_outside_dataset(directory: str, flag: str = "--output") -> None:
    """Raise UsageError when `directory`, a folder a command writes into (a run, a dataset),
    is or lies in a dataset's pairs/ or snapshots/ or temporary names: the dataset's next
    sgns-preprocess would delete it (--overwrite replaces those folders; every run removes what
    no manifest lists, and its temporary files)."""
    resolved = resolved_path(directory)
    part = _dataset_part(resolved)
    _refuse_temporary(part, flag, directory, resolved)
    if part is not None:
        raise UsageError(
            f"{flag} {directory!r} lies in {part[0]}, a dataset's own folder, where "
            "sgns-preprocess removes what it did not write (--overwrite: all of it); give a "
            f"directory outside the dataset's {PAIRS_DIR}/ and {SNAPSHOTS_DIR}/"
        )


def check_not_own_file(path: str, flag: str = "--output", writes: tuple[str, ...] = ()) -> None:
    """Raise UsageError when `path` is one of a run's or a dataset's own files (writing there
    would destroy the checkpoint --resume needs, the vocabulary sgns-export reads, ...), or a
    run's vectors.txt or report.html that the command does not write itself (`writes`: what
    sgns-export and Vectors.save, or sgns-report, write again), or lies in a dataset's own
    folders or temporary names, or is a URI (`check_local`)."""
    check_local(path, flag, "file")
    directory, name = os.path.split(resolved_path(path))  # (where the write would land)
    part = _dataset_part(os.path.join(directory, name))
    _refuse_temporary(part, flag, path, os.path.join(directory, name))
    if part is not None:
        raise UsageError(
            f"{flag} {path!r} lies in the dataset's own folder {part[0]}; writing there would "
            f"destroy what the dataset reads: give a file outside its {PAIRS_DIR}/ and "
            f"{SNAPSHOTS_DIR}/"
        )
    theirs = {VECTORS_FILE, REPORT_FILE} - set(writes)  # (sgns.load, sgns-eval read vectors.txt)
    of_run = name in (*RUN_OWN_FILES, *theirs) and is_run(directory)
    of_data = name in DATASET_OWN_FILES and is_dataset(directory)
    if of_run or of_data:
        what = "run" if of_run else "dataset"
        raise UsageError(
            f"{flag} {path!r} is the {what}'s own {name}; writing there would destroy it: give "
            "another file"
        )

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

import json
import os

from sgns.dataset import COUNTS_FILE, MANIFEST_FILE, PAIRS_DIR, SNAPSHOTS_DIR
from sgns.dataset import VOCAB_FILE as DATASET_VOCAB_FILE
from sgns.errors import UsageError
from sgns.files import LOCK_FILE, resolved_path

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
# files: no command writes its --output over them
RUN_OWN_FILES = (CONFIG_FILE, VOCAB_FILE, CHECKPOINT_FILE, METRICS_FILE, EVAL_FILE, LOCK_FILE)
DATASET_OWN_FILES = (MANIFEST_FILE, DATASET_VOCAB_FILE, COUNTS_FILE, LOCK_FILE)


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
            config = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"dataset", "world_size", "dim"} <= config.keys()


def check_run_output(directory: str) -> None:
    """Raise UsageError when `directory` exists, holds files and is no sgns run: a run would
    write its config.json, vocab.tsv, metrics.jsonl and vectors.txt over a user's files."""
    held = [n for n in os.listdir(directory) if n != LOCK_FILE] if os.path.isdir(directory) else []
    if held and not is_run(directory):  # (the lock alone: a run that began)
        raise UsageError(
            f"--output {directory!r} is a non-empty directory that is not an sgns run (it has "
            "no config.json of sgns-train); give a new or empty directory"
        )


def _in_dataset(directory: str) -> bool:
    """Whether `directory` lies in a dataset's pairs/ or snapshots/ (its shards, its vocabulary
    snapshots: a file written there would replace one the dataset reads)."""
    parts = directory.split(os.sep)
    return any(
        parts[i] in (PAIRS_DIR, SNAPSHOTS_DIR)
        and os.path.exists(os.path.join(os.sep.join(parts[:i]) or os.sep, MANIFEST_FILE))
        for i in range(1, len(parts))
    )


def check_not_own_file(path: str, flag: str = "--output") -> None:
    """Raise UsageError when `path` is one of a run's or a dataset's own files (writing there
    would destroy the checkpoint --resume needs, the vocabulary sgns-export reads, ...)."""
    directory, name = os.path.split(resolved_path(path))  # (where the write would land)
    of_run = name in RUN_OWN_FILES and is_run(directory)
    of_data = name in DATASET_OWN_FILES and os.path.exists(os.path.join(directory, MANIFEST_FILE))
    of_data = of_data or _in_dataset(directory)
    if of_run or of_data:
        what = "run" if of_run else "dataset"
        raise UsageError(
            f"{flag} {path!r} is the {what}'s own {name}; writing there would destroy it: give "
            "another file"
        )

"""What a run writes into its directory besides checkpoints and metrics (rank 0 only): the
configuration it ran with, the vocabulary it trains and, at the end, the vectors (sgns.rundir
names them)."""

from __future__ import annotations

import json
import logging
import os

from sgns import dataset, rundir, store
from sgns.files import DirectoryLock, atomic_write, resolved_path
from sgns.train.options import unapplied_options
from sgns.train.table import vectors_from_weights
from sgns.vectors import write_vectors

log = logging.getLogger(__name__)


def lock_run(run: str) -> DirectoryLock:
    """Take RUN/.lock (one sgns-train writes a run at a time), making RUN and each missing
    folder above it; if that fails (a name too long, a full disk, another writer), the folders
    it made are removed again, so that a refused run leaves no new folder."""
    made = rundir.missing_folders(run)
    try:
        return DirectoryLock(run, "sgns-train").take()
    except Exception:
        rundir.remove_made(made)
        raise


def write_config(config, world_size: int) -> None:
    """RUN/config.json: the settled config, the dataset's absolute path (or its URI) and the
    ranks; and in the log, a warning for each option given that this run ignores (an engine's,
    a mode's, several ranks', --follow's: sgns.train.options)."""
    for line in unapplied_options(config, world_size):
        log.warning("%s", line)
    os.makedirs(config.output, exist_ok=True)
    local = resolved_path(config.data.rstrip(os.sep) or os.sep)  # (not abspath: "link/..")
    record = {
        **config.to_dict(),
        "dataset": config.data if store.is_uri(config.data) else local,
        "world_size": world_size,
    }
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    atomic_write(rundir.run_path(config.output, rundir.CONFIG_FILE), text.encode())


def write_vocab(run: str, words: list[str], counts: list[int]) -> None:
    """RUN/vocab.tsv: the words and counts of the stage being trained."""
    atomic_write(rundir.run_path(run, rundir.VOCAB_FILE), dataset.format_vocab(words, counts))


def write_final_vectors(run: str, words: list[str], weights, which: str) -> str:
    """RUN/vectors.txt from the table (input vectors, or the average); returns its path."""
    path = rundir.run_path(run, rundir.VECTORS_FILE)
    vectors = vectors_from_weights(weights, which)
    write_vectors(path, words, vectors, "text")
    log.info("wrote %s (%d x %d)", path, *vectors.shape)
    return path

"""sgns-export: write a run's vectors in word2vec text or binary format, or .npy + vocabulary.

    sgns-export RUN --format text|binary|npy --output PATH [--vectors input|average]

It reads RUN/checkpoint.pt (its (2V, D) table, sgns.train.table) and RUN/vocab.tsv. Its options
are SCHEMA (sgns.options: the parser, --help and docs/commands.md are made from it).
Also `python -m sgns.train.export`.
"""

from __future__ import annotations

import os
import sys

from sgns import dataset, rundir
from sgns.errors import Interruptible, UsageError, fail
from sgns.files import check_directory, check_file, check_output_file
from sgns.options import Option, Schema
from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.config import EXPORT_VECTORS
from sgns.train.table import vectors_from_weights
from sgns.vectors import FORMATS, write_vectors

INTERRUPTED = "no file is left half written: run it again"  # (atomic_open)
ESSENTIALS = "essentials"
SCHEMA = Schema(
    prog="sgns-export",
    description=__doc__.split("\n")[0],  # (this module's first line)
    groups=((ESSENTIALS, "the run, which of its vectors, and the file to write"),),
    options=(
        Option("run", "run directory written by sgns-train", ESSENTIALS, required=True),
        Option(
            "--format",
            "word2vec text, word2vec binary, or .npy with a .vocab.tsv beside it",
            ESSENTIALS,
            default="text",
            choices=FORMATS,
        ),
        Option("--output", "file to write", ESSENTIALS, required=True),
        Option(
            "--vectors",
            "input vectors, or the average of input and output vectors",
            ESSENTIALS,
            default="input",
            choices=EXPORT_VECTORS,
        ),
    ),
)


def export_run(run: str, output: str, fmt: str = "text", which: str = "input") -> None:
    """Write the vectors of the run directory `run` to `output` in `fmt`."""
    check_output_file(output, "--output")  # (before the checkpoint is read: seconds)
    rundir.check_not_own_file(output, writes=(rundir.VECTORS_FILE,))
    path = checkpoint_path(check_directory(run, "run directory"))
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run!r} has no {os.path.basename(path)}: not an sgns-train run")
    state = load_checkpoint(path)
    vocab = rundir.run_path(run, rundir.VOCAB_FILE)
    with open(check_file(vocab, "the run's"), "rb") as f:
        words, counts = dataset.parse_vocab(f.read(), vocab)
    if dataset.vocab_fingerprint(words, counts) != state.get("vocab_fingerprint"):
        raise UsageError(f"{run}/{rundir.VOCAB_FILE} does not match the checkpoint's vocabulary")
    shape, rows = tuple(state["weights"].shape), 2 * len(words)
    if shape[0] != rows or not shape[1]:
        raise UsageError(f"the checkpoint in {run!r} is damaged: its table is {shape}, not "
                         f"({rows}, dim) for the {len(words)} words of its vocabulary")  # fmt: skip
    write_vectors(output, words, vectors_from_weights(state["weights"], which), fmt)


def main(argv=None) -> None:
    args = SCHEMA.parser().parse_args(argv)
    with Interruptible("sgns-export", INTERRUPTED) as stop:
        try:
            export_run(args.run, args.output, args.format, args.vectors)
        except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
            sys.exit(fail("sgns-export", e))
    if stop.exit_code:
        sys.exit(stop.exit_code)


if __name__ == "__main__":  # (--version answered, as the console scripts answer it)
    from sgns.commands import run_main

    sys.exit(run_main("sgns-export", main))

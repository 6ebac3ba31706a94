"""sgns-export: write a run's vectors in word2vec text or binary format, or .npy + vocabulary.

    sgns-export RUN --format text|binary|npy --output PATH [--vectors input|average]

It reads RUN/checkpoint.pt (its (2V, D) table, sgns.train.table) and RUN/vocab.tsv.
Also `python -m sgns.train.export`.
"""

from __future__ import annotations

import os
import sys

from sgns import dataset, rundir
from sgns.errors import OneLineParser, UsageError, fail
from sgns.files import check_directory, check_file
from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.table import vectors_from_weights
from sgns.vectors import FORMATS, write_vectors


def export_run(run: str, output: str, fmt: str = "text", which: str = "input") -> None:
    """Write the vectors of the run directory `run` to `output` in `fmt`."""
    if os.path.isdir(output):
        raise UsageError(f"--output {output!r} is a directory; give the path of the file to write")
    rundir.check_not_own_file(output)
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
    parser = OneLineParser(prog="sgns-export", description=__doc__.split("\n")[0])
    parser.add_argument("run", help="run directory written by sgns-train")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", required=True, help="file to write")
    parser.add_argument(
        "--vectors",
        choices=("input", "average"),
        default="input",
        help="input vectors, or the average of input and output vectors",
    )
    args = parser.parse_args(argv)
    try:
        export_run(args.run, args.output, args.format, args.vectors)
    except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
        sys.exit(fail("sgns-export", e))


if __name__ == "__main__":
    main()

"""sgns-export: write a run's vectors in word2vec text or binary format, or .npy + vocabulary.

    sgns-export RUN --format text|binary|npy --output PATH [--vectors input|average]

It reads RUN/checkpoint.pt (weights (2V, D): input rows, then output rows) and RUN/vocab.tsv.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from sgns import dataset
from sgns.vectors import FORMATS, write_vectors


def vectors_from_weights(weights, which: str = "input") -> np.ndarray:
    """(V, D) float32 vectors from the (2V, D) table: the input rows, or input and output
    averaged."""
    weights = weights.detach().float().cpu()
    vocab_size = weights.shape[0] // 2
    if which == "input":
        out = weights[:vocab_size]
    elif which == "average":
        out = (weights[:vocab_size] + weights[vocab_size:]) / 2
    else:
        raise ValueError(f"--vectors {which!r}: choose input or average")
    return out.numpy().astype(np.float32)


def export_run(run: str, output: str, fmt: str = "text", which: str = "input") -> None:
    """Write the vectors of the run directory `run` to `output` in `fmt`."""
    from sgns.checkpoint import checkpoint_path, load_checkpoint

    path = checkpoint_path(run)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run!r} has no {os.path.basename(path)}: not an sgns-train run")
    state = load_checkpoint(path)
    words, counts = dataset.read_vocab(run)
    if dataset.vocab_fingerprint(words, counts) != state["vocab_fingerprint"]:
        raise ValueError(f"{run}/vocab.tsv does not match the checkpoint's vocabulary")
    write_vectors(output, words, vectors_from_weights(state["weights"], which), fmt)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="sgns-export", description=__doc__.split("\n")[0])
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
    except (ValueError, FileNotFoundError) as e:
        print(f"sgns-export: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""The sgns-train command line: parse, configure logging, train. Every default is TrainConfig's.

    sgns-train --data DATA --output RUN [options]
    torchrun --nproc-per-node N -m sgns.train --data DATA --output RUN [options]
(the module docstring of sgns.train.trainer has the multi-node and online forms)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys

from sgns.errors import OneLineParser, fail
from sgns.train.config import (
    ENGINES,
    EXPORT_VECTORS,
    NEGATIVE_MODES,
    STEP_MODES,
    TrainConfig,
)
from sgns.train.trainer import TrainingDiverged, train

DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def train_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="sgns-train",
        description="Train word2vec skip-gram with negative sampling on an sgns dataset. "
        "Same command under torchrun for N processes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,  # --negative (gensim's) is no prefix of ours: HINTS says the fix
    )
    p.add_argument("--data", required=True, help="dataset directory written by sgns-preprocess")
    p.add_argument("--output", required=True, help="run directory (created)")
    p.add_argument("--dim", type=int, default=DEFAULTS["dim"], help="vector dimension")
    p.add_argument(
        "--negatives", type=int, default=DEFAULTS["negatives"], help="negatives per pair"
    )
    p.add_argument(
        "--ns-exponent",
        type=float,
        default=DEFAULTS["ns_exponent"],
        help="negatives are drawn from count ** ns_exponent",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=DEFAULTS["epochs"],
        help="passes over the data; online training: passes over each new increment",
    )
    p.add_argument(
        "--batch-size", type=int, default=DEFAULTS["batch_size"], help="pairs per rank per step"
    )
    p.add_argument(
        "--micro-batch",
        type=int,
        default=DEFAULTS["micro_batch"],
        help="torch engine: a step trains its batch in sequential micro-steps of this many "
        "pairs, each its own summed update and pool (what sets quality; --batch-size is a "
        "multiple of it)",
    )
    p.add_argument(
        "--step-mode",
        choices=STEP_MODES,
        default=DEFAULTS["step_mode"],
        help="torch engine: eager, torch.compile, or a captured CUDA graph; auto: graph on a "
        "GPU, else eager",
    )
    p.add_argument(
        "--lr", type=float, default=DEFAULTS["lr"], help="initial learning rate (linear decay)"
    )
    p.add_argument(
        "--min-lr-ratio",
        type=float,
        default=DEFAULTS["min_lr_ratio"],
        help="final lr as a fraction of --lr",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULTS["seed"], help="seed of init, shuffle and sampling"
    )
    p.add_argument("--device", default=DEFAULTS["device"], help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--num-workers",
        type=int,
        default=DEFAULTS["num_workers"],
        help="DataLoader worker processes per rank (0: read in the training process)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=DEFAULTS["threads"],
        help="torch intra-op threads per process, and the native engine's threads "
        "(0: torch's default, the number of cores)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULTS["engine"],
        help="native: word2vec.c's pair-by-pair update in C on the CPU (compiled at first use "
        "with $CC or cc; Hogwild over --threads threads); torch: the tensor step, any device; "
        "auto: native on CPU when it builds and --negative-mode is not pool, else torch",
    )
    p.add_argument(
        "--negative-mode",
        choices=NEGATIVE_MODES,
        default=DEFAULTS["negative_mode"],
        help="pool: one pool of negatives shared by the batch (torch engine); pair: own "
        "negatives per pair; auto: pair with the native engine, pool with torch",
    )
    p.add_argument(
        "--pool-size",
        type=int,
        default=DEFAULTS["pool_size"],
        help="negatives in the pool of a micro-step (pool mode; 0: micro-step / 51.2, so 80 "
        "at 4096)",
    )
    p.add_argument(
        "--no-pool-scale",
        dest="pool_scale",
        action="store_false",
        help="pool mode: do not scale negative gradients by negatives / pool size "
        "(they are scaled unless this is given)%(default).0s",
    )
    p.add_argument(
        "--row-cap",
        type=float,
        default=DEFAULTS["row_cap"],
        help="a row whose summed update in one micro-step holds n > ROW_CAP pair updates (a "
        "pool negative holds micro*negatives/pool) gets ROW_CAP/n of it (0: plain sum; torch "
        "engine only: the native engine applies pairs one by one)",
    )
    p.add_argument(
        "--export-vectors",
        choices=EXPORT_VECTORS,
        default=DEFAULTS["export_vectors"],
        help="vectors written to RUN/vectors.txt: input, or average of input and output",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=DEFAULTS["rounds"],
        help="several ranks: rounds per epoch; a round trains a chunk of the epoch in as many "
        "episodes as ranks, each rank meeting every block of the table once (more rounds: "
        "better vectors, more exchanges of blocks)",
    )
    p.add_argument(
        "--emulate-ranks",
        type=int,
        default=DEFAULTS["emulate_ranks"],
        help="train in one process exactly as N ranks would (the block scheme, one rank's "
        "bucket after another): the quality of N GPUs, measured on one machine (0: off)",
    )
    p.add_argument(
        "--global-negatives",
        action="store_true",
        help="with --emulate-ranks: draw negatives from the whole vocabulary, not the rank's "
        "output block (real ranks cannot; measures what the restriction costs)",
    )
    p.add_argument(
        "--checkpoint-interval",
        type=int,
        default=DEFAULTS["checkpoint_interval"],
        help="steps between checkpoints (0: by time only); always one at each epoch end",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=DEFAULTS["checkpoint_seconds"],
        help="seconds between checkpoints (0: by steps only); written off the training thread",
    )
    p.add_argument(
        "--log-interval",
        type=int,
        default=DEFAULTS["log_interval"],
        help="steps between metrics.jsonl step records",
    )
    p.add_argument("--tensorboard", action="store_true", help="write TensorBoard scalars")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from RUN/checkpoint.pt when it exists (torchrun restarts)",
    )
    p.add_argument(
        "--increment-lr",
        type=float,
        default=DEFAULTS["increment_lr"],
        help="online training: lr of the words trained before, at the start of a stage of new "
        "increments (new words start at --lr); both decay linearly over the stage "
        "(0: --lr / 8)",
    )
    p.add_argument(
        "--replay",
        type=float,
        default=DEFAULTS["replay"],
        help="online training: share of the old increments' row groups also trained in each "
        "epoch of a new increment (seeded sample; meant to limit forgetting: see BENCHMARKS.md)",
    )
    p.add_argument(
        "--follow",
        action="store_true",
        help="after the data present, keep polling the dataset and train each new increment "
        "(checkpoint and vectors.txt after each); stop with SIGINT/SIGTERM or RUN/STOP",
    )
    p.add_argument(
        "--poll-seconds",
        type=float,
        default=DEFAULTS["poll_seconds"],
        help="--follow: seconds between polls of the manifest",
    )
    p.add_argument(
        "--follow-max-increments",
        type=int,
        default=DEFAULTS["follow_max_increments"],
        help="--follow: stop after training this many new increments (0: no limit)",
    )
    p.add_argument(
        "--stop-after-steps", type=int, default=DEFAULTS["stop_after_steps"], help=argparse.SUPPRESS
    )  # testing aid: checkpoint and stop at this step
    p.hints = HINTS
    return p


# Options a user brings from sgns-preprocess or from gensim, and what sgns-train takes instead.
_DATASET = "sgns-preprocess settings, fixed in the dataset (see its manifest.json)"
HINTS = {
    **{
        f"--{name}": _DATASET
        for name in (
            "window",
            "min-count",
            "max-vocab",
            "sample",
            "lowercase",
            "passes",
            "num-shards",
            "max-sentence-length",
            "input",
        )
    },  # fmt: skip
    "--vector-size": "gensim's name: use --dim",
    "--size": "word2vec.c's name: use --dim",
    "--negative": "use --negatives",
    "--alpha": "use --lr",
    "--min-alpha": "use --min-lr-ratio (min_alpha / alpha)",
    "--iter": "use --epochs",
    "--workers": "use --threads (or torchrun's --nproc-per-node for processes)",
    "--sg": "sgns trains skip-gram only",
    "--hs": "sgns trains negative sampling only",
    "--cbow": "sgns trains skip-gram only",
}


def main(argv=None) -> None:
    """sgns-train: parse, configure logging (rank 0 at INFO), train; a user's error or a
    diverged run is one line on stderr and exit code 2 (3 for divergence)."""
    args = train_parser().parse_args(argv)
    is_main = int(os.environ.get("RANK", 0)) == 0
    logging.basicConfig(
        level=logging.INFO if is_main else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    received = [signal.SIGINT]
    # one process: SIGTERM stops it as Ctrl-C does (--follow installs its own). Under torchrun
    # the agent's SIGTERM must end a rank at once, also inside a collective: its default stays.
    alone = int(os.environ.get("WORLD_SIZE", 1)) == 1
    previous = signal.signal(signal.SIGTERM, _interrupt_as(received)) if alone else None
    try:
        train(TrainConfig(**vars(args)))
    except KeyboardInterrupt:
        if is_main:
            name = signal.Signals(received[0]).name
            print(f"sgns-train: interrupted ({name}); --resume continues from the last "
                  "checkpoint", file=sys.stderr)  # fmt: skip
        sys.exit(128 + received[0])
    except TrainingDiverged as e:
        if is_main:
            print(f"sgns-train: error: {e}", file=sys.stderr)
        sys.exit(3)
    except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
        sys.exit(fail("sgns-train", e, show=is_main))
    finally:
        if alone:
            signal.signal(signal.SIGTERM, previous)


def _interrupt_as(received: list):
    """A SIGTERM handler that stops the run as Ctrl-C does (the same line, exit 128 + 15)."""

    def handler(signum, frame):
        received[0] = signum
        raise KeyboardInterrupt

    return handler

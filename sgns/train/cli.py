"""The sgns-train command line: parse, configure logging, train. The options are its schema's
(sgns.train.options), every default TrainConfig's.

    sgns-train --data DATA --output RUN [options]
    torchrun --nproc-per-node N -m sgns.train --data DATA --output RUN [options]
(the module docstring of sgns.train.trainer has the multi-node and online forms)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from sgns.console import environment
from sgns.console.environment import GroupStartError
from sgns.console.exits import owns_process
from sgns.errors import Interruptible, UsageError, configure_logging, fail
from sgns.train.checkpoint import checkpoint_path
from sgns.train.config import TrainConfig
from sgns.train.follow import StopSignals
from sgns.train.options import SCHEMA
from sgns.train.trainer import TrainingDiverged, train


def train_parser() -> argparse.ArgumentParser:
    """sgns-train's parser, made from its schema (sgns.train.options: groups, help, defaults)."""
    return SCHEMA.parser()


def main(argv=None) -> None:
    """sgns-train: parse, configure logging (rank 0 at INFO), train; a user's error or a
    diverged run is one line on stderr and exit code 2 (3 for divergence)."""
    args = train_parser().parse_args(argv)
    try:
        ranks = environment.ranks()  # (sgns.commands checked it already; main may be called)
    except UsageError as e:
        sys.exit(fail("sgns-train", e))
    is_main = ranks.is_main
    configure_logging(
        logging.INFO if is_main else logging.WARNING,
        "%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # one process: SIGTERM stops it as Ctrl-C does (--follow installs its own). Under torchrun
    # the agent's SIGTERM must end a rank at once, also inside a collective: its default stays.
    alone = ranks.alone
    with (
        StopSignals.ending(),
        Interruptible("sgns-train", _left(args.output), sigterm=alone, show=is_main) as stop,
    ):
        try:
            train(TrainConfig(**vars(args)))
        except TrainingDiverged as e:
            if is_main:
                print(f"sgns-train: error: {e}", file=sys.stderr)
            sys.exit(3)
        except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
            sys.exit(fail("sgns-train", e, show=is_main or isinstance(e, GroupStartError)))
    if stop.exit_code:
        sys.exit(stop.exit_code)
    if args.follow and owns_process():  # (stopped: a signal while the process ends changes
        for sig in StopSignals.SIGNALS:  # nothing, exit 0; a program calling main keeps its own)
            signal.signal(sig, signal.SIG_IGN)


def _left(output: str):
    """The note of a stopped run's line, asked when it is said: --resume continues from its
    checkpoint, or none was written yet (a stop in its first seconds)."""

    def note() -> str:
        if os.path.exists(checkpoint_path(output)):
            return "--resume continues from the last checkpoint"
        return "no checkpoint was written yet: run the command again to start the run"

    return note

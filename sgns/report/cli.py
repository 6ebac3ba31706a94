"""The sgns-report command line (what it does and its options: its schema, sgns.report.options).

    sgns-report runs/demo                                  # writes runs/demo/report.html
    sgns-report runs/demo --eval runs/demo/eval.json --synth-truth data/synth.txt.truth.json

(also `python -m sgns.report`). What the page holds: sgns.report.collect.
"""

from __future__ import annotations

import argparse
import logging

from sgns.dataset.settings import MAX_INT
from sgns.errors import Interruptible, UsageError, configure_logging, fail
from sgns.report.collect import ReportConfig, write_report
from sgns.report.options import SCHEMA

log = logging.getLogger(__name__)
INTERRUPTED = "no file is left half written: run it again to write them all"  # (atomic_open)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """sgns-report's command line, parsed by the parser of its schema (sgns.report.options)."""
    return SCHEMA.parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    configure_logging(logging.INFO, "%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    with Interruptible("sgns-report", INTERRUPTED) as stop:
        try:
            for flag, value in (("--words", args.words), ("--labels", args.labels)):
                if value > MAX_INT:  # (as every command's integers: docs/errors.md)
                    raise UsageError(f"{flag} must be at most {MAX_INT}, not {value}")
            cfg = ReportConfig(
                args.run, args.output, args.eval, args.synth_truth, args.words, args.labels
            )
            path = write_report(cfg)
        except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
            return fail("sgns-report", e)
        log.info("wrote %s", path)
        print(path)
    return stop.exit_code or 0

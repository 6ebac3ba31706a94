"""sgns-report: one HTML page about a training run: curves, config, evaluation, a map of words.

    sgns-report runs/demo                                  # writes runs/demo/report.html
    sgns-report runs/demo --eval runs/demo/eval.json --synth-truth data/synth.txt.truth.json

(also `python -m sgns.report`). What the page holds: sgns.report.collect.
"""

from __future__ import annotations

import argparse
import logging

from sgns.errors import OneLineParser, configure_logging, fail
from sgns.report.collect import ReportConfig, write_report

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = OneLineParser(prog="sgns-report", description=__doc__.split("\n\n")[0])
    p.add_argument("run", metavar="RUN", help="training run directory")
    p.add_argument("--output", help="HTML file to write (default: RUN/report.html)")
    p.add_argument("--eval", help="sgns-eval --json output (default: RUN/eval.json if present)")
    p.add_argument(
        "--synth-truth",
        help="sgns-synth truth file, to colour planted clusters "
        "(default: the one named in the evaluation, if present)",
    )
    p.add_argument("--words", type=int, default=300, help="words on the map (default: 300)")
    p.add_argument("--labels", type=int, default=60, help="labelled words (default: 60)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    configure_logging(logging.INFO, "%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        cfg = ReportConfig(
            args.run, args.output, args.eval, args.synth_truth, args.words, args.labels
        )
        path = write_report(cfg)
    except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
        return fail("sgns-report", e)
    log.info("wrote %s", path)
    print(path)
    return 0

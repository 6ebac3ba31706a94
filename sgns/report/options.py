"""sgns-report's options: the schema its parser, --help and docs/commands.md are made from
(sgns.options), over ReportConfig's defaults (sgns.report.collect)."""

from __future__ import annotations

from sgns.options import Option, Schema
from sgns.report.collect import ReportConfig

ESSENTIALS = "essentials"
SOURCES = "what the page shows"
GROUPS = (
    (ESSENTIALS, "the run, and the page to write"),
    (SOURCES, "the evaluation, the planted truth and the map of words"),
)

OPTIONS = (
    Option("run", "training run directory", ESSENTIALS, metavar="RUN", required=True),
    Option("--output", "HTML file to write", ESSENTIALS, shown="RUN/report.html"),
    Option("--eval", "sgns-eval --json output", SOURCES, shown="RUN/eval.json if present"),
    Option(
        "--synth-truth",
        "sgns-synth truth file, to colour planted clusters",
        SOURCES,
        shown="the one named in the evaluation, if present",
    ),
    Option("--words", "words on the map", SOURCES),
    Option("--labels", "labelled words", SOURCES),
)

SCHEMA = Schema(
    prog="sgns-report",
    description="sgns-report: one HTML page about a training run: curves, config, evaluation, "
    "a map of words.",
    groups=GROUPS,
    options=OPTIONS,
    config=ReportConfig,
)

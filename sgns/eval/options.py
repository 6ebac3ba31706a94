"""sgns-eval's options: the schema its parser, --help and docs/commands.md are made from
(sgns.options). sgns-eval has no config dataclass: the defaults are here, once."""

from __future__ import annotations

from sgns.options import Applies, Option, Schema

ESSENTIALS = "essentials"
SCORING = "scoring"
PLANTED = "planted truth"
OUTPUT = "output"
GROUPS = (
    (ESSENTIALS, "the vectors, and what to evaluate them on"),
    (SCORING, "which words compete, how words match, how many neighbours"),
    (PLANTED, "the structure sgns-synth planted in its corpus"),
    (OUTPUT, "what is printed"),
)

SETS = Applies(
    "--similarity, --analogies",
    lambda c: bool(c.get("similarity") or c.get("analogies")),
    "no --similarity or --analogies file is given",
)
CANDIDATES = Applies(
    "--analogies, --synth-truth",
    lambda c: bool(c.get("analogies") or c.get("synth_truth")),
    "no --analogies or --synth-truth file is given",
)
TRUTH = Applies("--synth-truth", lambda c: bool(c.get("synth_truth")), "--synth-truth is not given")
NEIGHBORS = Applies("--neighbors", lambda c: bool(c.get("neighbors")), "--neighbors is not given")

OPTIONS = (
    Option(
        "vectors",
        "vector file (.txt/.bin/.npy) or run dir",
        ESSENTIALS,
        metavar="VECTORS",
        required=True,
    ),
    Option(
        "--similarity",
        "word-pair file (WordSim-353 / SimLex-999 layout); repeatable",
        ESSENTIALS,
        default=[],
        action="append",
        metavar="FILE",
    ),
    Option(
        "--analogies",
        "analogy file (Google questions-words.txt layout); repeatable",
        ESSENTIALS,
        default=[],
        action="append",
        metavar="FILE",
    ),
    Option(
        "--restrict-vocab",
        "analogy candidates: the N most frequent words",
        SCORING,
        default=30000,
        metavar="N",
        applies=CANDIDATES,
    ),
    Option(
        "--synth-truth",
        "sgns-synth truth file (.truth.json)",
        PLANTED,
        default=None,
        metavar="FILE",
    ),
    Option(
        "--synth-k",
        "neighbours per word for cluster precision",
        PLANTED,
        default=10,
        metavar="K",
        applies=TRUTH,
    ),
    Option(
        "--neighbors",
        "show nearest neighbours of these words; repeatable",
        ESSENTIALS,
        default=[],
        action="append",
        metavar="WORD[,WORD...]",
    ),
    Option("--topn", "neighbours to show", SCORING, default=10, applies=NEIGHBORS),
    Option(
        "--case-sensitive",
        "match words exactly (default: case-insensitive, as gensim)",
        SCORING,
        default=False,
        action="store_true",
        applies=SETS,
    ),
    Option(
        "--json", "print all results as one JSON object", OUTPUT, default=False, action="store_true"
    ),
)

SCHEMA = Schema(
    prog="sgns-eval",
    description="sgns-eval: evaluate word vectors on similarity, analogy and planted-truth sets; "
    "show neighbours.",
    groups=GROUPS,
    options=OPTIONS,
)

"""sgns-synth's options: the schema its parser, --help and docs/commands.md are made from
(sgns.options), over SynthConfig's defaults (sgns.synth.config)."""

from __future__ import annotations

from sgns.options import Option, Schema
from sgns.synth.config import SynthConfig
from sgns.synth.lexicon import RELATIONS

ESSENTIALS = "essentials"
LANGUAGE = "language"
SETS = "evaluation sets"
GROUPS = (
    (ESSENTIALS, "the files, the size and the seed"),
    (LANGUAGE, "the shape of the planted language (sgns.synth.generate)"),
    (SETS, "the questions and scored pairs written beside the corpus"),
)

OPTIONS = (
    Option("--output", "corpus path (.gz to compress)", ESSENTIALS, required=True),
    Option(
        "--truth", "ground-truth JSON path", ESSENTIALS, default=None, shown="OUTPUT.truth.json"
    ),
    Option("--tokens", "corpus size in tokens (exact)", ESSENTIALS),
    Option("--seed", "random seed: same seed, same files", ESSENTIALS),
    Option("--clusters", "topical clusters", LANGUAGE),
    Option("--cluster-size", "lemmas per cluster", LANGUAGE),
    Option(
        "--relations",
        f"derived forms per lemma = analogy sections (at most {len(RELATIONS)})",
        LANGUAGE,
    ),
    Option("--function-words", "frequent function words", LANGUAGE),
    Option("--filler-words", "rare filler words without structure (the Zipf tail)", LANGUAGE),
    Option("--analogies-per-relation", "analogy questions per relation", SETS),
    Option("--similarity-pairs", "scored word pairs in OUTPUT.similarity.tsv", SETS),
)

SCHEMA = Schema(
    prog="sgns-synth",
    description="sgns-synth: write a seeded synthetic language with planted structure, and its "
    "ground truth.",
    groups=GROUPS,
    options=OPTIONS,
    config=SynthConfig,
)

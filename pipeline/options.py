"""sgns-preprocess's options: the schema its parser, --help, docs/commands.md and
sgns.preprocess(...) are made from (sgns.options), over PipelineConfig's defaults.

Our own options come first; everything the parser does not know is a Beam pipeline option
(sgns.pipeline.preprocess checks those against Beam's own). A dataset setting not given is None
to the parser: PipelineConfig's default on a new dataset, the dataset's own on --append/--watch
(sgns.pipeline.preprocess.config_from_args).
"""

from __future__ import annotations

import argparse
import dataclasses

from sgns.options import Applies, Option, Schema, unapplied
from sgns.pipeline.config import (
    ERRORS,
    NORMALIZATIONS,
    PHRASE_GROWTHS,
    PHRASE_SCORERS,
    PHRASE_WORDS,
    SHUFFLES,
    TOKENIZERS,
    PipelineConfig,
)
from sgns.pipeline.watch import WatchConfig

PROG = "sgns-preprocess"
DESCRIPTION = "corpus files -> dataset directory (vocab.tsv, Parquet pair shards, manifest)."
DATASETS = "--append/--watch: the dataset's"  # what a dataset setting not given is there

ESSENTIALS = "essentials"
TEXT = "text and tokens"
PHRASES = "phrases"
OUTPUT = "shards and runner"
ONLINE = "online: increments"
GROUPS = (
    (ESSENTIALS, "the vocabulary and the pairs"),
    (TEXT, "how bytes become tokens (docs/text.md)"),
    (PHRASES, "rounds of bigram detection before the vocabulary (docs/phrases.md)"),
    (OUTPUT, "how the dataset is written"),
    (ONLINE, "a dataset that grows (docs/online.md)"),
)

FINDS_PHRASES = Applies(
    "--phrases", lambda c: c.get("phrases", 0) > 0, "this dataset finds no phrases (--phrases 0)"
)
WATCHING = Applies("--watch", lambda c: bool(c.get("watch")), "--watch is not given")
_WATCH = {f.name: f.default for f in dataclasses.fields(WatchConfig)}


def _setting(flag: str, text: str, group: str, **kw) -> Option:
    """A dataset setting: recorded in the manifest; not given, the dataset's on --append/--watch."""
    return Option(flag, text, group, unset=DATASETS, **kw)


OPTIONS = (
    Option(
        "--input",
        "files, directories or patterns, comma-separated or repeated; an existing "
        "name is taken as it is",
        ESSENTIALS,
        action="append",
        required=True,
    ),
    Option("--output", "dataset directory to write", ESSENTIALS, required=True),
    _setting("--min-count", "drop words rarer than this", ESSENTIALS),
    _setting(
        "--max-vocab", "keep only the N most frequent words", ESSENTIALS, type=int, shown="all"
    ),
    _setting("--sample", "subsampling threshold t; 0 = off", ESSENTIALS),
    _setting("--window", "max window; b ~ U[1, window]", ESSENTIALS),
    _setting("--passes", "independent subsampling/window draws", ESSENTIALS),
    _setting("--seed", "seed of every random draw", ESSENTIALS),
    _setting("--lowercase", "lowercase text before splitting", TEXT, action="store_const"),
    _setting(
        "--encoding",
        "codec of the input files: utf-8, latin-1, cp1252, utf-16, shift_jis "
        "... (any Python codec)",
        TEXT,
    ),
    _setting(
        "--errors",
        "bytes the codec cannot decode: limit replaces each by U+FFFD but "
        "refuses a file where they pass 0.01% of its bytes; strict refuses the first; "
        "replace and ignore replace or drop them all",
        TEXT,
        choices=ERRORS,
    ),
    _setting("--normalize", "Unicode normalisation before tokens", TEXT, choices=NORMALIZATIONS),
    _setting(
        "--tokenizer",
        "whitespace: str.split() of each line; words: runs of Unicode "
        "letters, marks and digits, with ' - _ inside a word, punctuation split off",
        TEXT,
        choices=TOKENIZERS,
    ),
    _setting("--max-sentence-length", "cut longer lines into sentences of this many tokens", TEXT),
    _setting(
        "--phrases",
        "rounds of phrase detection before the vocabulary: each joins the "
        "pairs a b that score above --phrase-threshold into one word a_b",
        PHRASES,
    ),
    _setting(
        "--phrase-threshold",
        "a pair is a phrase when its score is above this "
        "(npmi's: a bar in [-1, 1); word2phrase's: a ratio to chance)",
        PHRASES,
        type=float,
        shown="0.6 with npmi, 100 with word2phrase",
        applies=FINDS_PHRASES,
    ),
    _setting("--phrase-min-count", "ignore pairs seen fewer times", PHRASES, applies=FINDS_PHRASES),
    _setting(
        "--phrase-scorer",
        "gensim's npmi or word2phrase's score",
        PHRASES,
        choices=PHRASE_SCORERS,
        applies=FINDS_PHRASES,
    ),
    _setting(
        "--phrase-connectors",
        "words a phrase never starts or ends with but may hold inside (bank_of_america): "
        "english (gensim's connector words), none, or a file of words",
        PHRASES,
        applies=FINDS_PHRASES,
    ),
    _setting(
        "--phrase-growth",
        "what a round after the first may join: extend (a pair with an earlier round's phrase "
        "at one end: new_york times) or any (every pair, as word2phrase run again)",
        PHRASES,
        choices=PHRASE_GROWTHS,
        applies=FINDS_PHRASES,
    ),
    _setting(
        "--phrase-words",
        "what becomes of the words a phrase joins: keep (they train as without phrases, and the "
        "phrase beside them) or replace (the phrase takes their place, as in word2phrase's text)",
        PHRASES,
        choices=PHRASE_WORDS,
        applies=FINDS_PHRASES,
    ),
    _setting(
        "--phrase-max-vocab",
        "pairs counted per round before the rarest are pruned (gensim's max_vocab_size)",
        PHRASES,
        applies=FINDS_PHRASES,
    ),
    _setting("--num-shards", "Parquet shards per pass", OUTPUT),
    _setting("--block-bytes", "bytes of text per element", OUTPUT),
    Option(
        "--shuffle",
        "how pairs reach their shard: files (temporary piece files under "
        "--output) or runner (the runner's GroupByKey); the same dataset either way",
        OUTPUT,
        default=None,
        choices=SHUFFLES,
        shown="files on the local runner and DaskRunner, runner on others",
    ),
    Option("--overwrite", "replace a dataset already in --output", OUTPUT, action="store_true"),
    Option(
        "--append",
        "add the input files to the dataset in --output as a new increment (old "
        "word ids never change)",
        ONLINE,
        action="store_true",
    ),
    Option(
        "--watch",
        "keep polling --input; add each batch of new, settled files as an "
        "increment (the first builds the dataset if none)",
        ONLINE,
        action="store_true",
        default=False,
    ),
    Option(
        "--poll-seconds",
        "seconds between polls; a file is taken once its size and mtime "
        "stayed the same for one poll",
        ONLINE,
        default=_WATCH["poll_seconds"],
        applies=WATCHING,
    ),
    Option(
        "--watch-max-increments",
        "stop after adding this many increments",
        ONLINE,
        default=_WATCH["max_increments"],
        type=int,
        shown="run until SIGINT/SIGTERM",
        applies=WATCHING,
    ),
)

SCHEMA = Schema(
    prog=PROG,
    description=DESCRIPTION,
    groups=GROUPS,
    options=OPTIONS,
    config=PipelineConfig,
    fields={"input": "inputs"},
    epilog="Other options are Beam pipeline options (e.g. --runner DataflowRunner ...).",
)


def build_parser() -> argparse.ArgumentParser:
    """sgns-preprocess's parser, made from its schema."""
    return SCHEMA.parser()


def unapplied_options(args: argparse.Namespace, config: PipelineConfig) -> list[str]:
    """A warning line for each option given on the command line (`args`) that the run of
    `config` (settled: on --append, the dataset's settings) ignores."""
    given = {
        o.name: getattr(args, o.name)
        for o in OPTIONS
        if getattr(args, o.name) not in (None, SCHEMA.parser_default(o))
    }
    return unapplied(SCHEMA, given, {**config.to_json(), "watch": args.watch})

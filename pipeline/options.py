"""sgns-preprocess's command-line options: one argparse parser over PipelineConfig's defaults.

Our own options come first; everything the parser does not know is a Beam pipeline option
(sgns.pipeline.preprocess checks those against Beam's own).
"""

from __future__ import annotations

import argparse
import dataclasses

from sgns.errors import OneLineParser
from sgns.pipeline.config import (
    ERRORS,
    NORMALIZATIONS,
    PHRASE_SCORERS,
    SHUFFLES,
    TOKENIZERS,
    PipelineConfig,
)
from sgns.pipeline.watch import WatchConfig

PROG = "sgns-preprocess"
DESCRIPTION = "corpus files -> dataset directory (vocab.tsv, Parquet pair shards, manifest)."


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except None ones: those options say their default in their help."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    config_defaults = {f.name: f.default for f in dataclasses.fields(PipelineConfig)}
    watch_defaults = {f.name: f.default for f in dataclasses.fields(WatchConfig)}
    parser = OneLineParser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=_HelpFormatter,
        allow_abbrev=False,  # never swallow a Beam option that starts like one of ours
        epilog="Other options are Beam pipeline options (e.g. --runner DataflowRunner ...).",
    )
    add = parser.add_argument

    def setting(option: str, kind, text: str):
        """A dataset setting: when not given, the dataset's own on --append/--watch (None)."""
        name = option[2:].replace("-", "_")
        default = "all" if config_defaults[name] is None else config_defaults[name]
        add(option, type=kind, default=None, help=f"{text} (default {default}; "
            "--append/--watch: the dataset's)")  # fmt: skip

    add("--input", required=True, action="append", help="files, directories or patterns, "
        "comma-separated or repeated; an existing name is taken as it is")  # fmt: skip
    add("--output", required=True, help="dataset directory to write")
    add("--lowercase", action="store_const", const=True, default=None,
        help="lowercase text before splitting (default no; --append/--watch: the "
        "dataset's)")  # fmt: skip
    add("--encoding", default=None, help="codec of the input files: utf-8, latin-1, cp1252, "
        "utf-16, shift_jis ... (any Python codec; default utf-8; --append/--watch: the "
        "dataset's)")  # fmt: skip
    add("--errors", choices=ERRORS, default=None, help="bytes the codec cannot decode: limit "
        "replaces each by U+FFFD but refuses a file where they pass 0.01%% of its bytes; strict "
        "refuses the first; replace and ignore replace or drop them all (default limit; "
        "--append/--watch: the dataset's)")  # fmt: skip
    add("--normalize", choices=NORMALIZATIONS, default=None, help="Unicode normalisation "
        "before tokens (default none; --append/--watch: the dataset's)")  # fmt: skip
    add("--tokenizer", choices=TOKENIZERS, default=None, help="whitespace: str.split() of each "
        "line; words: runs of Unicode letters, marks and digits, with ' - _ inside a word, "
        "punctuation split off (default whitespace; --append/--watch: the dataset's)")  # fmt: skip
    setting("--min-count", int, "drop words rarer than this")
    setting("--max-vocab", int, "keep only the N most frequent words")
    setting("--sample", float, "subsampling threshold t; 0 = off")
    setting("--window", int, "max window; b ~ U[1, window]")
    setting("--max-sentence-length", int, "cut longer lines into sentences of this many tokens")
    setting("--passes", int, "independent subsampling/window draws")
    setting("--num-shards", int, "Parquet shards per pass")
    setting("--seed", int, "seed of every random draw")
    setting("--block-bytes", int, "bytes of text per element")
    setting("--phrases", int, "rounds of phrase detection before the vocabulary: each joins "
            "the pairs a b that score above --phrase-threshold into one word a_b")  # fmt: skip
    setting("--phrase-threshold", float, "a pair is a phrase when its score is above this "
            "(word2phrase's score; npmi's: a bar in [-1, 1))")  # fmt: skip
    setting("--phrase-min-count", int, "phrases: ignore pairs seen fewer times")
    add("--phrase-scorer", choices=PHRASE_SCORERS, default=None, help="phrases: word2phrase's "
        "score or gensim's npmi (default word2phrase; --append/--watch: the "
        "dataset's)")  # fmt: skip
    setting("--phrase-max-vocab", int, "phrases: pairs counted per round before the rarest are "
            "pruned (gensim's max_vocab_size)")  # fmt: skip
    add("--shuffle", choices=SHUFFLES, default=None, help="how pairs reach their shard: files "
        "(temporary piece files under --output) or runner (the runner's GroupByKey); the same "
        "dataset either way (default: files on the local runner and DaskRunner, runner on "
        "others)")  # fmt: skip
    add("--overwrite", action="store_true", help="replace a dataset already in --output")
    add("--append", action="store_true", help="add the input files to the dataset in --output "
        "as a new increment (old word ids never change)")  # fmt: skip
    add("--watch", action="store_true", help="keep polling --input; add each batch of new, "
        "settled files as an increment (the first builds the dataset if none)")  # fmt: skip
    add("--poll-seconds", type=float, default=watch_defaults["poll_seconds"],
        help="--watch: seconds between polls; a file is taken once its size and mtime "
        "stayed the same for one poll")  # fmt: skip
    add("--watch-max-increments", type=int, default=None,
        help="--watch: stop after adding this many increments (default: run until "
        "SIGINT/SIGTERM)")  # fmt: skip
    return parser

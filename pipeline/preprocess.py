"""sgns-preprocess: corpus files -> dataset directory (vocab.tsv, Parquet pair shards, manifest).

Run locally (DirectRunner's engine, FnApiRunner, named directly so that Beam never tries to
download its Prism runner, in pipeline.localrunner's safe form; 2 worker threads; offline):

    sgns-preprocess --input 'corpus/*.txt.gz' --output data/corpus

At scale, add standard Beam options; everything after our own options goes to PipelineOptions:

    sgns-preprocess --input gs://b/corpus/*.bz2 --output gs://b/data \\
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp

Grow an existing dataset with new files (online training; old word ids never change), or keep
watching a glob and add each batch of new files as an increment (see pipeline.increment,
pipeline.watch):

    sgns-preprocess --input 'corpus/new-*.txt' --output data/corpus --append
    sgns-preprocess --input 'incoming/*.txt' --output data/corpus --watch --poll-seconds 60

Each increment is two pipeline runs, so that the vocabulary is a plain file (and an empty one a
clean error) before any pair is made:
  1. ReadBlocks -> CountVocabulary (adds the counts to the dataset's; writes the increment's
     snapshots/inc-0000k/vocab.tsv and counts.tsv)
  2. ReadBlocks -> MakePairs (each block tokenised once, then per pass: per-shard pieces);
     MergeShards (one shuffled Parquet file per shard) -> WriteManifest (publishes vocab.tsv and
     counts.tsv, then replaces manifest.json: the one step that commits the increment)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipeline.config import PipelineConfig
from pipeline.increment import (
    MATCHING,
    PER_INCREMENT,
    DatasetLock,
    check_settings,
    read_dataset,
    recover,
    require_dataset,
)
from pipeline.read import list_files
from pipeline.runs import add_increment
from pipeline.watch import WatchConfig, watch
from sgns.dataset import COUNTS_FILE, MANIFEST_FILE, PAIRS_DIR, SNAPSHOTS_DIR, VOCAB_FILE

log = logging.getLogger(__name__)
PROG = "sgns-preprocess"
# Local default: the engine DirectRunner falls back to, named directly so that Beam never tries
# to download its Prism runner first, with the threaded workers' time-based flush off (that
# flush can cut an element in two: pipeline/localrunner.py). Two threads were the fastest mode
# measured (BENCHMARKS.md, "Figures behind the defaults"): pyarrow and numpy release the GIL.
LOCAL_RUNNER = "pipeline.localrunner.LocalRunner"
LOCAL_WORKERS = 2
LOCAL_MODE = "multi_threading"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except None ones: those options say their default in their help."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    config_defaults = {f.name: f.default for f in dataclasses.fields(PipelineConfig)}
    watch_defaults = {f.name: f.default for f in dataclasses.fields(WatchConfig)}
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n")[0],
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

    add("--input", required=True, help="file patterns, comma-separated (.gz/.bz2 by extension)")
    add("--output", required=True, help="dataset directory to write")
    add("--lowercase", action="store_const", const=True, default=None,
        help="lowercase text before splitting (default no; --append/--watch: the "
        "dataset's)")  # fmt: skip
    setting("--min-count", int, "drop words rarer than this")
    setting("--max-vocab", int, "keep only the N most frequent words")
    setting("--sample", float, "subsampling threshold t; 0 = off")
    setting("--window", int, "max window; b ~ U[1, window]")
    setting("--max-sentence-length", int, "cut longer lines into sentences of this many tokens")
    setting("--passes", int, "independent subsampling/window draws")
    setting("--num-shards", int, "Parquet shards per pass")
    setting("--seed", int, "seed of every random draw")
    setting("--block-bytes", int, "bytes of text per element")
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


def config_from_args(args: argparse.Namespace, dataset_config: dict | None = None):
    """The run's PipelineConfig: a setting not given is the dataset's (`dataset_config`, the
    manifest's config) or, without a dataset, PipelineConfig's default."""
    fields = PipelineConfig.__dataclass_fields__
    settings = {}
    for name in MATCHING + PER_INCREMENT:
        value = getattr(args, name)
        if value is None:
            value = dataset_config[name] if dataset_config else fields[name].default
        settings[name] = value
    return PipelineConfig(
        inputs=tuple(p.strip() for p in args.input.split(",") if p.strip()),
        output=args.output.rstrip("/") or args.output,
        overwrite=args.overwrite,
        append=args.append,
        **settings,
    )


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """The user's Beam options; for a local run (no --runner, or DirectRunner), the engine that
    DirectRunner falls back to, named directly, with the measured fastest worker settings."""
    options = PipelineOptions(beam_args)
    runner = options.view_as(StandardOptions).runner
    if runner is None or runner.lower() in ("directrunner", "direct"):
        options.view_as(StandardOptions).runner = LOCAL_RUNNER
        direct = options.view_as(DirectOptions)
        if not any(a.startswith("--direct_num_workers") for a in beam_args):
            direct.direct_num_workers = LOCAL_WORKERS
        if not any(a.startswith("--direct_running_mode") for a in beam_args):
            direct.direct_running_mode = LOCAL_MODE
    return options


def prepare_output(config: PipelineConfig) -> None:
    """Refuse to replace a dataset without --overwrite; with it, unmake the old one first."""
    output = config.output
    manifest = FileSystems.join(output, MANIFEST_FILE)
    if FileSystems.exists(manifest):
        if not config.overwrite:
            raise ValueError(
                f"--output {output!r} already holds a dataset; pass --overwrite to replace it "
                "or --append to add the input files to it"
            )
        FileSystems.delete([manifest])  # first, so that a failed run leaves no dataset behind
        for name in (PAIRS_DIR, VOCAB_FILE, COUNTS_FILE, SNAPSHOTS_DIR):
            if FileSystems.exists(FileSystems.join(output, name)):
                FileSystems.delete([FileSystems.join(output, name)])


def run(config: PipelineConfig, beam_args: list[str]) -> dict:
    """Check the inputs and the output, then add one increment (or build the dataset)."""
    files = list_files(config.inputs)
    options = pipeline_options(beam_args)
    with DatasetLock(config.output):
        if config.append:
            base = require_dataset(config.output)
            check_settings(config, base["config"])
        else:
            prepare_output(config)
            base = None
        recover(config.output)
        return add_increment(config, files, base, options)


def resolve_config(args: argparse.Namespace) -> PipelineConfig:
    """The config of an --append or --watch run: unset settings from the dataset, if any."""
    if args.watch_max_increments is not None and not args.watch:
        raise ValueError("--watch-max-increments needs --watch")
    if args.watch and args.overwrite:
        raise ValueError("--watch adds to the dataset in --output; drop --overwrite")
    dataset = read_dataset(args.output)
    if dataset is None and args.append and not args.watch:
        require_dataset(args.output)
    config = config_from_args(args, dataset["config"] if dataset else None)
    if dataset is not None:
        check_settings(config, dataset["config"])
    return config


def user_error(error: BaseException) -> str | None:
    """The one-line message of an error a user caused (ValueError, FileNotFoundError)."""
    if not isinstance(error, (ValueError, FileNotFoundError)):
        return None
    lines = str(error).splitlines() or [type(error).__name__]
    return re.sub(r" \[while running .*", "", lines[0])  # a runner's note on the failed step


def main(argv: list[str] | None = None) -> int:
    """Entry point of the sgns-preprocess console script; returns the exit code."""
    args, beam_args = build_parser().parse_known_args(argv)
    # force: importing Beam may already have configured the root logger with a bare format
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    try:
        if args.watch or args.append or args.watch_max_increments is not None:
            config = resolve_config(args)
        else:
            config = config_from_args(args)
        if args.watch:
            watch_config = WatchConfig(args.poll_seconds, args.watch_max_increments)
            watch(config, watch_config, pipeline_options(beam_args))
        else:
            run(config, beam_args)
    except Exception as error:  # noqa: BLE001 - turned into one line, or re-raised
        message = user_error(error)
        if message is None:
            raise
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

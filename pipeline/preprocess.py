"""sgns-preprocess: corpus files -> dataset directory (vocab.tsv, Parquet pair shards, manifest).

Run locally (DirectRunner's engine, FnApiRunner, named directly so that Beam never tries to
download its Prism runner, in sgns.pipeline.localrunner's safe form; 2 worker threads; offline):

    sgns-preprocess --input 'corpus/*.txt.gz' --output data/corpus

At scale, add standard Beam options; everything after our own options goes to PipelineOptions:

    sgns-preprocess --input gs://b/corpus/*.bz2 --output gs://b/data \\
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp
    sgns-preprocess --input '/shared/corpus/*' --output /shared/data \\
        --runner DaskRunner --dask_client_address HOST:8786

Grow an existing dataset with new files (online training; old word ids never change), or keep
watching a glob and add each batch of new files as an increment (see
sgns.pipeline.dataset.increment, sgns.pipeline.watch):

    sgns-preprocess --input 'corpus/new-*.txt' --output data/corpus --append
    sgns-preprocess --input 'incoming/*.txt' --output data/corpus --watch --poll-seconds 60

Each increment is two pipeline runs, so that the vocabulary is a plain file (and an empty one a
clean error) before any pair is made:
  1. ReadBlocks -> CountVocabulary (adds the counts to the dataset's; writes the increment's
     snapshots/inc-0000k/vocab.tsv and counts.tsv)
  2. ReadBlocks -> MakePairs (each block tokenised once, then per pass: per-shard pieces);
     MergeShards (one shuffled Parquet file per shard; the pieces go through files locally and
     on Dask, through the runner's own shuffle on others: --shuffle) -> WriteManifest (publishes
     vocab.tsv and counts.tsv, then replaces manifest.json: the one step that commits it)
With --phrases N, the initial build runs N phrase rounds first (docs/phrases.md).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from sgns.console.exits import owns_process
from sgns.dataset import MANIFEST_FILE, DamagedManifest
from sgns.errors import Interruptible, UsageError, fail
from sgns.pipeline.beamargs import DASK_RUNNER, check_options, runner_name
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.dataset.increment import (
    MATCHING,
    PER_INCREMENT,
    check_settings,
    check_taken_settings,
    dataset_setting,
    read_dataset,
    require_dataset,
)
from sgns.pipeline.dataset.inputs import check_outside, split_inputs
from sgns.pipeline.dataset.objectstore import store_error
from sgns.pipeline.dataset.outdir import DatasetLock, claim, recover
from sgns.pipeline.dataset.outputs import is_local, read_bytes
from sgns.pipeline.options import PROG, build_parser, unapplied_options
from sgns.pipeline.phrases.table import connector_words
from sgns.pipeline.runs import add_increment, check_dask_paths, check_locations, replace_dataset
from sgns.pipeline.text.read import list_files
from sgns.pipeline.watch import WatchConfig, watch

log = logging.getLogger(__name__)
# Local default: the engine DirectRunner falls back to, named directly so that Beam never tries
# to download its Prism runner first, with the threaded workers' time-based flush off (that
# flush can cut an element in two: pipeline/localrunner.py). Two threads were the fastest mode
# measured (BENCHMARKS.md, "Figures behind the defaults"): pyarrow and numpy release the GIL.
LOCAL_RUNNER = "sgns.pipeline.localrunner.LocalRunner"
LOCAL_WORKERS = 2
LOCAL_MODE = "multi_threading"
# Its Create makes partitions of 128 elements by default, which puts a corpus of fewer sources
# in one task on one worker: we ask for one source per partition unless --dask_npartitions or
# --dask_partition_size says otherwise (every later step keeps the count).
DASK_PARTITION_SIZE = 1


def default_shuffle(beam_args: list[str]) -> str:
    """--shuffle when not given: files on the local runner and DaskRunner (their GroupByKey
    holds a key's values in memory, and Dask's output is a mounted filesystem anyway), runner
    on the others (Dataflow, Flink, Spark: where millions of piece objects cost most)."""
    runner = runner_name(PipelineOptions(beam_args).view_as(StandardOptions).runner)
    local = ("directrunner", "direct", LOCAL_RUNNER.lower(), DASK_RUNNER.lower())
    return "files" if runner is None or runner.lower() in local else "runner"


def config_from_args(
    args: argparse.Namespace, dataset_config: dict | None = None, beam_args: list[str] = ()
):
    """The run's PipelineConfig: a setting not given is the dataset's (`dataset_config`, the
    manifest's config: within today's limits, sgns.dataset.shape.check_limits) or, without a
    dataset, PipelineConfig's default; --shuffle not given is `default_shuffle` of the runner
    in `beam_args`."""
    fields = PipelineConfig.__dataclass_fields__
    settings, taken = {}, []
    for name in MATCHING + PER_INCREMENT:
        value = getattr(args, name)
        if value is None:  # (a setting newer than the dataset: what it did)
            known = dataset_config or {}
            value = dataset_setting(known, name) if known else fields[name].default
            taken += [name] if name in known else []
        settings[name] = value
    check_taken_settings(args.output, dataset_config, taken)
    return PipelineConfig(
        inputs=split_inputs(args.input),
        output=args.output.rstrip("/") or args.output,
        overwrite=args.overwrite,
        append=args.append,
        shuffle=args.shuffle or default_shuffle(list(beam_args)),
        **settings,
    )


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """The user's Beam options; for a local run (no --runner, or DirectRunner), the engine that
    DirectRunner falls back to, named directly, with the measured fastest worker settings; for
    DaskRunner, one source per partition unless the user sets the partitions."""
    options = PipelineOptions(beam_args)
    runner = runner_name(options.view_as(StandardOptions).runner)
    if runner == DASK_RUNNER:
        try:
            from apache_beam.runners.dask.dask_runner import DaskOptions  # imports dask.bag
        except ImportError as error:
            raise UsageError(
                f"--runner DaskRunner needs dask and distributed ({error}); install them with "
                "pip install 'sgns[dask]'"
            ) from None
        options.view_as(StandardOptions).runner = DASK_RUNNER
        partitions = ("--dask_npartitions", "--dask_partition_size")
        if not any(a.startswith(partitions) for a in beam_args):
            options.view_as(DaskOptions).partition_size = DASK_PARTITION_SIZE
    if runner is None or runner.lower() in ("directrunner", "direct"):
        options.view_as(StandardOptions).runner = LOCAL_RUNNER
        direct = options.view_as(DirectOptions)
        if not any(a.startswith("--direct_num_workers") for a in beam_args):
            direct.direct_num_workers = LOCAL_WORKERS
        if not any(a.startswith("--direct_running_mode") for a in beam_args):
            direct.direct_running_mode = LOCAL_MODE
    return options


def run(config: PipelineConfig, beam_args: list[str]) -> dict:
    """Check the inputs and the output, then add one increment, build the dataset, or build a
    new one beside the old and swap it in (--overwrite)."""
    options = pipeline_options(beam_args)
    check_dask_paths(options, config)
    files = list_files(config.inputs)
    check_outside(files, config.output)
    if config.phrases and not config.append:  # a new dataset's words, before --output is touched
        connector_words(config.phrase_connectors, read_bytes)
    with DatasetLock(config.output):
        if config.append:
            base = require_dataset(config.output)
            check_settings(config, base["config"])
        try:
            claim(config.output)
            recover(config.output)
            base = read_dataset(config.output)
        except DamagedManifest as e:  # (restoring it is for an --append; what to do here:)
            if not config.overwrite:
                raise
            why = (
                "--overwrite reads the old dataset's manifest whole before it replaces the "
                "dataset" if e.of_config else
                "--overwrite cannot tell the dataset's files from others' without it"
            )  # fmt: skip
            raise e.advised(
                f"{why}: remove {config.output!r} (keep what is yours in it) and run again"
            ) from None
        if base is None or config.append:
            return add_increment(config, files, base, options)
        if not config.overwrite:
            raise UsageError(
                f"--output {config.output!r} already holds a dataset; pass --overwrite to "
                "replace it or --append to add the input files to it"
            )
        return replace_dataset(config, files, options)


def resolve_config(args: argparse.Namespace, beam_args: list[str] = ()) -> PipelineConfig:
    """The config of an --append or --watch run: unset settings from the dataset, if any."""
    if args.watch_max_increments is not None and not args.watch:
        raise UsageError("--watch-max-increments needs --watch")
    if args.watch and args.overwrite:
        raise UsageError("--watch adds to the dataset in --output; drop --overwrite")
    dataset = read_dataset(args.output)
    if dataset is None and args.append and not args.watch:
        require_dataset(args.output)
    config = config_from_args(args, dataset["config"] if dataset else None, beam_args)
    if dataset is not None:
        check_settings(config, dataset["config"])
    return config


class _WithoutWorkerTracebacks:
    """sys.stderr less the tracebacks that Beam's SDK worker prints itself (not through
    logging) for a failed bundle: the error is then said in one line, or, when it is not a
    user's mistake, re-raised with that traceback in its text."""

    def __init__(self, stream):
        self._stream, self._newline = stream, False

    def write(self, text: str) -> int:
        dropped = text.startswith("Traceback (most recent call last):")
        if dropped or (self._newline and text == "\n"):
            self._newline = dropped
            return len(text)
        self._newline = False
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _quiet_workers():
    stderr, sys.stderr = sys.stderr, _WithoutWorkerTracebacks(sys.stderr)
    try:
        yield
    finally:
        sys.stderr = stderr


def _not_a_beam_traceback(record: logging.LogRecord) -> bool:
    beam = record.name.startswith("apache_beam") or "/apache_beam/" in record.pathname
    return not (beam and (record.exc_info or "Traceback" in record.getMessage()))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the sgns-preprocess console script; returns the exit code."""
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    # force: importing Beam may already have configured the root logger with a bare format
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    # a failing step's traceback, logged by Beam's workers: the error itself is said below, in
    # one line, or re-raised whole when it is not a user's mistake
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_a_beam_traceback)
    # SIGTERM stops a build as Ctrl-C does (--watch: its own); either leaves the dataset as
    # its manifest says: the next run recovers it
    note = (
        "the dataset in --output is as its manifest says, and the next run clears what this "
        "one left"
    )
    with contextlib.suppress(ValueError):  # (an unknown scheme: the run says it, in one line)
        if is_local(args.output) and not os.path.isfile(os.path.join(args.output, MANIFEST_FILE)):
            note = "no dataset was made; the next run into --output clears what this one left there"
    # (what SIGTERM is once --watch's Stopper and Interruptible put theirs back: a second one
    # must not end it with 143; in a process of the command's own, not a program calling main)
    watching = args.watch and owns_process()
    if watching:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with Interruptible(PROG, note) as stop:
        try:
            execute(args, beam_args, parser, command=True)
        except Exception as error:  # noqa: BLE001 - turned into one line, or re-raised
            return fail(PROG, store_error(error) or error)
    if watching:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return stop.exit_code or 0


def execute(args: argparse.Namespace, beam_args: list[str], parser, command: bool = False) -> None:
    """What sgns-preprocess runs once its command line is parsed (`command`), and sgns.preprocess
    with the same namespace: check the Beam options, settle the config, build or watch."""
    # before the first file is touched: the driver's own reads and writes (inputs, the
    # output's state) then use the --s3_* / GCS options too, not only the pipeline's steps
    check_options(beam_args, parser, command)  # (first: Beam's parser would exit on a bad value)
    options = pipeline_options(beam_args)  # (says a missing runner package)
    FileSystems.set_options(options)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # Dask's, once imported
    check_locations(split_inputs(args.input), args.output, options)
    if args.watch or args.append or args.watch_max_increments is not None:
        config = resolve_config(args, beam_args)
    else:
        config = config_from_args(args, None, beam_args)
    for line in unapplied_options(args, config):  # an option given that this run ignores
        log.warning("%s", line)
    with _quiet_workers():
        if args.watch:
            watch_config = WatchConfig(args.poll_seconds, args.watch_max_increments)
            watch(config, watch_config, pipeline_options(beam_args))
        else:
            run(config, beam_args)


if __name__ == "__main__":  # (--version answered, as the console scripts answer it)
    from sgns.commands import run_main

    sys.exit(run_main(PROG, main))

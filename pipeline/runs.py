"""The two pipeline runs of one increment (the initial build is increment 0), and the commit.

  1. ReadBlocks -> CountVocabulary: the increment's counts added to the dataset's; writes
     snapshots/inc-0000k/vocab.tsv and counts.tsv and a summary the driver checks;
  2. ReadBlocks -> MakePairs (ids and keep probabilities of the new vocabulary, only the
     increment's files; every pass of a block from one tokenisation) -> MergeShards
     (pairs/inc-0000k/..., through piece files or the runner's shuffle: config.shuffle) ->
     WriteManifest, which publishes vocab.tsv and counts.tsv and then replaces manifest.json,
     the commit.
With --phrases N the initial build first runs N phrase rounds (ReadBlocks -> DetectPhrases:
phrases.tsv), and both runs of every increment read blocks -> JoinPhrases (the dataset's table;
sgns.pipeline.phrases.detect). A failure anywhere puts the dataset back as its manifest says
(`sgns.pipeline.dataset.outdir.recover`); `replace_dataset` (--overwrite) builds the new dataset
beside the old one and swaps it in.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from sgns.dataset import VOCAB_FILE, check_utf8_name
from sgns.errors import UsageError
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.dataset.increment import (
    base_folder,
    check_new_inputs,
    increment_folders,
    require_dataset,
)
from sgns.pipeline.dataset.inputs import check_distinct, describe_file
from sgns.pipeline.dataset.manifest import WriteManifest
from sgns.pipeline.dataset.outdir import claim, recover, release, remove_tree, staging_path, swap_in
from sgns.pipeline.dataset.outputs import read_bytes
from sgns.pipeline.pairs.make import MakePairs
from sgns.pipeline.pairs.merge import MergeShards
from sgns.pipeline.phrases.detect import (
    DetectPhrases,
    applied_table,
    finish_round,
    join_phrases,
    table_path,
)
from sgns.pipeline.phrases.table import connector_words, table_entry
from sgns.pipeline.progress import input_bar
from sgns.pipeline.text.read import ReadBlocks, check_heads, plan_sources
from sgns.pipeline.vocab.counting import check_vocabulary
from sgns.pipeline.vocab.vocabulary import CountVocabulary, read_summary, summary_path


def check_dask_paths(options, config: PipelineConfig) -> None:
    """Beam's DaskRunner hands its workers no pipeline options, so Beam's S3 (or GCS) filesystem
    fails there deep inside a worker ("Must provide one of client or options"): say so first."""
    from apache_beam.options.pipeline_options import StandardOptions

    dask = options.view_as(StandardOptions).runner.endswith(".DaskRunner")
    remote = [p for p in (*config.inputs, config.output) if "://" in p]
    if dask and remote:
        raise UsageError(
            f"--runner DaskRunner cannot read or write {remote[0]!r}: Beam's DaskRunner gives "
            "its workers no --s3_* (or GCS) options; use a filesystem every worker mounts"
        )


_EXTRAS = {"gs": "gcp", "s3": "aws"}  # setup.py's extras that bring Beam's filesystem


def check_locations(inputs, output: str, options) -> None:
    """Refuse an --input or --output that no Beam filesystem here reads (a scheme that is none,
    or gs:// without Beam's GCP extra), and a --runner that Beam cannot make, naming the option
    and the fix, before anything is read or written: Beam says these as a plain ValueError, the
    runner's only once its pipeline runs."""
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners.runner import create_runner

    for option, path in [*(("--input", p) for p in inputs), ("--output", output)]:
        if "\0" in path:
            raise UsageError(f"{option} {path!r} holds a NUL character; no path can")
        check_utf8_name(path, option)  # (Beam's coders take a name as UTF-8)
        scheme, _, rest = path.partition("://")
        if scheme in _EXTRAS and not rest.split("/", 1)[0]:  # (Beam: a traceback, or the root)
            raise UsageError(f"{option} {path!r} names no bucket: give {scheme}://BUCKET/PATH")
        try:
            FileSystems.get_filesystem(path)
        except (ValueError, BeamIOError):  # (hdfs:// without its package: a BeamIOError)
            extra = _EXTRAS.get(scheme)
            fix = f"pip install 'sgns[{extra}]'" if extra else "give a local path, gs:// or s3://"
            raise UsageError(
                f"{option} {path!r}: Beam has no filesystem for {scheme}:// here; {fix}"
            ) from None
    runner = options.view_as(StandardOptions).runner
    try:
        create_runner(runner)
    except (ValueError, ImportError, TypeError, AttributeError) as e:
        said = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
        if not isinstance(e, ValueError):  # (Beam's ValueError lists its runners already)
            said = f"Beam cannot make it ({said}): name a runner of Beam's, or a runner's class"
        raise UsageError(f"--runner {runner}: {said}") from None


log = logging.getLogger(__name__)


class Increment(NamedTuple):
    """What the pairs run of one increment needs to know."""

    index: int
    folder: str  # its snapshots: vocab.tsv and counts.tsv after it
    inputs: list[dict]  # the manifest's records of its files
    vocab: dict  # the vocabulary run's summary
    base: dict | None  # the dataset's manifest before it; None for the initial build
    phrases: dict | None = None  # the manifest's phrases entry (--phrases), None without


def build_phrase_pipeline(
    pipeline: beam.Pipeline, config: PipelineConfig, files, number: int, run: str, connectors
) -> None:
    """A phrase round (--phrases): ReadBlocks -> DetectPhrases (phrases.tsv and a summary)."""
    _ = (
        pipeline
        | "ListSources" >> beam.Create(plan_sources(files, encoding=config.encoding))
        | "ReadBlocks" >> ReadBlocks.of(config)
        | "DetectPhrases" >> DetectPhrases(config, number, run, connectors)
    )


def build_vocabulary_pipeline(
    pipeline: beam.Pipeline,
    config: PipelineConfig,
    files,
    folder: str,
    base: str | None = None,
    phrases: str | None = None,
) -> None:
    """Run 1: ReadBlocks (-> JoinPhrases, the table at `phrases`) -> CountVocabulary (vocab.tsv,
    counts.tsv and a summary in `folder`, the counts of `base`, the increment before, added)."""
    blocks = (
        pipeline
        | "ListSources" >> beam.Create(plan_sources(files, encoding=config.encoding))
        | "ReadBlocks" >> ReadBlocks.of(config)
    )
    _ = join_phrases(blocks, config, phrases) | "CountVocabulary" >> CountVocabulary(
        folder, config.lowercase, config.min_count, config.max_vocab, base
    )


def build_pairs_pipeline(
    pipeline: beam.Pipeline, config: PipelineConfig, files, increment: Increment
) -> None:
    """Run 2: ReadBlocks -> MakePairs (every pass of a block from one tokenisation);
    then MergeShards -> WriteManifest."""
    read = ReadBlocks.of(config)
    sources = pipeline | "ListSources" >> beam.Create(plan_sources(files, encoding=config.encoding))
    vocab_path = FileSystems.join(increment.folder, VOCAB_FILE)
    table = applied_table(config.output, increment.phrases)
    blocks = join_phrases(sources | "ReadBlocks" >> read, config, table)
    pieces, kept = blocks | "MakePairs" >> MakePairs(
        config, range(config.passes), uuid.uuid4().hex, vocab_path, increment.index
    )
    merge = MergeShards(
        config.output, config.passes, config.num_shards, config.seed, increment.index,
        config.shuffle,
    )  # fmt: skip
    shards = pieces | "MergeShards" >> merge
    scratch = (summary_path(increment.folder),)
    _ = (kept, shards) | "WriteManifest" >> WriteManifest(
        config, increment.inputs, increment.vocab, increment.base, scratch, increment.phrases
    )


def run_pipeline(options, build, *args) -> None:
    """Build a pipeline with `build(pipeline, *args)`, run it to the end, and close the client
    that Beam's DaskRunner opens for each run (and with it the local cluster it may have
    started): the runner leaves both open."""
    pipeline = beam.Pipeline(options=options)
    try:
        with pipeline:
            build(pipeline, *args)
    finally:
        client = getattr(getattr(pipeline, "result", None), "client", None)  # DaskRunner's
        if client is not None:
            client.close()


def detect_phrases(config: PipelineConfig, files, options) -> dict:
    """--phrases N: N rounds, each its own run (fewer when one finds no phrase: the next would
    find none either); returns the manifest's phrases entry."""
    rounds, connectors = [], connector_words(config.phrase_connectors, read_bytes)
    for number in range(1, config.phrases + 1):
        started, run = time.perf_counter(), uuid.uuid4().hex
        with input_bar(f"phrases {number}", sum(listed[1] for listed in files)):
            run_pipeline(options, build_phrase_pipeline, config, files, number, run, connectors)
        rounds.append(finish_round(config.output, run))
        log.info(
            "phrase round %d: %d phrases from %d pairs (%d pruned), %.1f s", number,
            rounds[-1]["phrases"], rounds[-1]["bigrams"], rounds[-1]["pruned"],
            time.perf_counter() - started,
        )  # fmt: skip
        if not rounds[-1]["phrases"]:
            break
    return table_entry(read_bytes(table_path(config.output)), rounds, connectors)


def add_increment(
    config: PipelineConfig, files: list, base: dict | None, options, texts: dict | None = None
) -> dict:
    """One increment (the initial build when `base` is None) of `files` (FileMetadata): both
    runs, committed by the manifest; on any failure the dataset is put back as it was.
    `texts`: path -> the content fields of compressed files decoded already (--watch)."""
    index = len(base["increments"]) if base else 0
    texts = check_heads(files, config.encoding, texts)  # a file that is not text: before any run
    inputs = [describe_file(m, text=texts.get(m.path)) for m in files]
    if base is not None:
        check_new_inputs(inputs, base)
        applied_table(config.output, base.get("phrases"))  # its phrases.tsv is the manifest's
    previous = base_folder(config.output, base) if base else None
    folder = increment_folders(config.output, index)[1]
    # (path, size, mtime) as listed: each run's reader checks that it reads that file
    paths = [(m.path, m.size_in_bytes, m.last_updated_in_seconds) for m in files]
    size = sum(m.size_in_bytes for m in files)
    log.info(
        "increment %d: %d input files (%d bytes) -> %s", index, len(paths), size, config.output,
    )  # fmt: skip
    claim(config.output)
    try:
        check_distinct(inputs)  # (in the try: recover then removes an initial build's marker)
        phrases = base.get("phrases") if base else None
        if base is None and config.phrases:
            phrases = detect_phrases(config, paths, options)
        increment = Increment(index, folder, inputs, {}, base, phrases)
        table = applied_table(config.output, phrases)  # (checked against its sha256)
        started = time.perf_counter()
        with input_bar("vocabulary", size):
            run_pipeline(options, build_vocabulary_pipeline, config, paths, folder, previous, table)
        vocab = read_summary(folder)
        log.info("vocabulary run: %.1f s", time.perf_counter() - started)
        check_vocabulary(vocab, config.min_count, [m.path for m in files])
        started = time.perf_counter()
        increment = increment._replace(vocab=vocab)
        with input_bar("pairs", size):
            run_pipeline(options, build_pairs_pipeline, config, paths, increment)
        log.info("pairs run (%d passes): %.1f s", config.passes, time.perf_counter() - started)
    except KeyboardInterrupt:  # Beam's threads may still be writing: the next run recovers
        raise
    except BaseException:
        recover(config.output)  # reads the manifest again: it may have been written after all
        raise
    release(config.output)
    return require_dataset(config.output)


def replace_dataset(config: PipelineConfig, files: list, options) -> dict:
    """--overwrite: build the new dataset in the output's staging folder; only once it is
    complete, swap it in for the old one (sgns.pipeline.dataset.outdir.swap_in)."""
    staging = staging_path(config.output)
    try:
        add_increment(dataclasses.replace(config, output=staging), files, None, options)
    except KeyboardInterrupt:  # (as in add_increment: the next run removes the staging folder)
        raise
    except BaseException:
        remove_tree(staging, "the failed overwrite's build")
        raise
    swap_in(staging, config.output)
    return require_dataset(config.output)

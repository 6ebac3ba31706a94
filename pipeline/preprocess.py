"""sgns-preprocess: corpus files -> dataset directory (vocab.tsv, Parquet pair shards, manifest).

Run locally (DirectRunner's engine, FnApiRunner, named directly so that Beam never tries to
download its Prism runner; 2 worker threads; works offline):

    sgns-preprocess --input 'corpus/*.txt.gz' --output data/corpus

At scale, add standard Beam options; everything after our own options goes to PipelineOptions:

    sgns-preprocess --input gs://b/corpus/*.bz2 --output gs://b/data \\
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp

Two pipeline runs, so that the vocabulary is a plain file (and an empty one a clean error) before
any pair is made:
  1. ReadBlocks -> CountVocabulary (writes vocab.tsv)
  2. per pass: ReadBlocks -> MakePairs (writes per-shard pieces);
     MergeShards (one shuffled Parquet file per shard) -> WriteManifest (written last)
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipeline.config import PipelineConfig
from pipeline.manifest import WriteManifest
from pipeline.read import ReadBlocks, match_inputs, plan_sources
from pipeline.scatter import MakePairs
from pipeline.shards import PIECES_DIR, MergeShards
from pipeline.vocabulary import CountVocabulary, check_vocabulary, read_summary, summary_path
from sgns.dataset import MANIFEST_FILE, PAIRS_DIR, VOCAB_FILE

_LOG = logging.getLogger(__name__)
PROG = "sgns-preprocess"
# Local default: the engine DirectRunner falls back to, named directly so that Beam never tries
# to download its Prism runner first. Measured on 2 shared cores, 20.5M tokens: multi_threading
# with 2 workers 11.9-14.5 s, multi_processing 12.1-17.4 s (and 1.5x the memory: a vocabulary per
# process), in_memory 17.1-17.4 s; pyarrow and numpy release the GIL for most of the work.
LOCAL_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
LOCAL_WORKERS = 2
LOCAL_MODE = "multi_threading"


def build_parser() -> argparse.ArgumentParser:
    d = {name: f.default for name, f in PipelineConfig.__dataclass_fields__.items()}
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,  # never swallow a Beam option that starts like one of ours
        epilog="Other options are Beam pipeline options (e.g. --runner DataflowRunner ...).",
    )
    add = parser.add_argument
    add("--input", required=True, help="file patterns, comma-separated (.gz/.bz2 by extension)")
    add("--output", required=True, help="dataset directory to write")
    add("--lowercase", action="store_true", help="lowercase text before splitting")
    add("--min-count", type=int, default=d["min_count"], help="drop words rarer than this")
    add("--max-vocab", type=int, default=None, help="keep only the N most frequent words")
    add("--sample", type=float, default=d["sample"], help="subsampling threshold t; 0 = off")
    add("--window", type=int, default=d["window"], help="max window; b ~ U[1, window]")
    add(
        "--max-sentence-length",
        type=int,
        default=d["max_sentence_length"],
        help="cut longer lines into sentences of this many tokens",
    )
    add("--passes", type=int, default=d["passes"], help="independent subsampling/window draws")
    add("--num-shards", type=int, default=d["num_shards"], help="Parquet shards per pass")
    add("--seed", type=int, default=d["seed"], help="seed of every random draw")
    add("--block-bytes", type=int, default=d["block_bytes"], help="bytes of text per element")
    add("--overwrite", action="store_true", help="replace a dataset already in --output")
    return parser


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    return PipelineConfig(
        inputs=tuple(p.strip() for p in args.input.split(",") if p.strip()),
        output=args.output.rstrip("/") or args.output,
        lowercase=args.lowercase,
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        sample=args.sample,
        window=args.window,
        max_sentence_length=args.max_sentence_length,
        passes=args.passes,
        num_shards=args.num_shards,
        seed=args.seed,
        block_bytes=args.block_bytes,
        overwrite=args.overwrite,
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
                f"--output {output!r} already holds a dataset; pass --overwrite to replace it"
            )
        FileSystems.delete([manifest])  # first, so that a failed run leaves no dataset behind
        for name in (PAIRS_DIR, VOCAB_FILE):
            if FileSystems.exists(FileSystems.join(output, name)):
                FileSystems.delete([FileSystems.join(output, name)])
    pieces = FileSystems.join(output, PIECES_DIR)
    if FileSystems.exists(pieces):
        FileSystems.delete([pieces])


def build_vocabulary_pipeline(pipeline: beam.Pipeline, config: PipelineConfig, files) -> None:
    """Run 1: ReadBlocks -> CountVocabulary (vocab.tsv and a summary for the driver)."""
    _ = (
        pipeline
        | "ListSources" >> beam.Create(plan_sources(files))
        | "ReadBlocks" >> ReadBlocks(config.block_bytes, config.max_sentence_length)
        | "CountVocabulary"
        >> CountVocabulary(config.output, config.lowercase, config.min_count, config.max_vocab)
    )


def build_pairs_pipeline(pipeline: beam.Pipeline, config: PipelineConfig, files, vocab) -> None:
    """Run 2: per pass ReadBlocks -> MakePairs; then MergeShards -> WriteManifest."""
    read = ReadBlocks(config.block_bytes, config.max_sentence_length)
    sources = pipeline | "ListSources" >> beam.Create(plan_sources(files))
    pieces, kept, run = [], [], uuid.uuid4().hex
    for p in range(config.passes):
        blocks = sources | f"ReadBlocksPass{p}" >> read
        more_pieces, more_kept = blocks | f"MakePairsPass{p}" >> MakePairs(config, p, run)
        pieces.append(more_pieces)
        kept.append(more_kept)
    shards = (
        pieces
        | "FlattenPieces" >> beam.Flatten()
        | "MergeShards" >> MergeShards(config.output, config.passes, config.num_shards, config.seed)
    )
    kept = kept | "FlattenKept" >> beam.Flatten()
    paths = [path for path, _ in files]
    _ = (kept, shards) | "WriteManifest" >> WriteManifest(config, paths, vocab)


def run(config: PipelineConfig, beam_args: list[str]) -> dict:
    """Check the inputs and the output, run the vocabulary, check it, run the pairs."""
    files = match_inputs(config.inputs)
    prepare_output(config)
    options = pipeline_options(beam_args)
    _LOG.info(
        "%d input files (%d bytes) -> %s", len(files), sum(s for _, s in files), config.output
    )
    started = time.perf_counter()
    with beam.Pipeline(options=options) as pipeline:
        build_vocabulary_pipeline(pipeline, config, files)
    vocab = read_summary(config.output)
    _LOG.info("vocabulary run: %.1f s", time.perf_counter() - started)
    try:
        check_vocabulary(vocab, config.min_count)
    except ValueError:
        FileSystems.delete([summary_path(config.output)])
        raise
    started = time.perf_counter()
    with beam.Pipeline(options=options) as pipeline:
        build_pairs_pipeline(pipeline, config, files, vocab)
    _LOG.info("pairs run (%d passes): %.1f s", config.passes, time.perf_counter() - started)
    return vocab


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
        run(config_from_args(args), beam_args)
    except Exception as error:  # noqa: BLE001 - turned into one line, or re-raised
        message = user_error(error)
        if message is None:
            raise
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

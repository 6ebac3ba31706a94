"""sgns-preprocess: corpus files -> dataset directory (vocab.tsv, Parquet pair shards, manifest).

Run locally (DirectRunner's in-process engine, 2 workers, never downloads anything):

    sgns-preprocess --input 'corpus/*.txt.gz' --output data/corpus

At scale, add standard Beam options; everything after our own options goes to PipelineOptions:

    sgns-preprocess --input gs://b/corpus/*.bz2 --output gs://b/data \\
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp

Stages: ReadBlocks -> CountVocabulary (writes vocab.tsv) -> per pass: ReadBlocks -> MakePairs
(writes per-shard pieces) -> MergeShards (one shuffled Parquet file per shard) -> WriteManifest.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipeline.config import PipelineConfig
from pipeline.manifest import WriteManifest
from pipeline.read import ReadBlocks, match_inputs, plan_sources
from pipeline.scatter import MakePairs
from pipeline.shards import PIECES_DIR, MergeShards
from pipeline.vocabulary import CountVocabulary
from sgns.dataset import MANIFEST_FILE, PAIRS_DIR, VOCAB_FILE

_LOG = logging.getLogger(__name__)
PROG = "sgns-preprocess"
# Local default: the engine DirectRunner falls back to, named directly so that Beam never tries
# to download its Prism runner first; 2 workers in the mode measured fastest on 2 cores.
LOCAL_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
LOCAL_WORKERS = 2
LOCAL_MODE = "multi_processing"


def build_parser() -> argparse.ArgumentParser:
    d = PipelineConfig.__dataclass_fields__
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--input", required=True, help="file pattern(s), comma-separated; .gz/.bz2 by extension")
    add("--output", required=True, help="dataset directory to write")
    add("--lowercase", action="store_true", help="lowercase text before splitting")
    add("--min-count", type=int, default=d["min_count"].default, help="drop rarer words")
    add("--max-vocab", type=int, default=None, help="keep only the N most frequent words")
    add("--sample", type=float, default=d["sample"].default, help="subsampling t; 0 disables")
    add("--window", type=int, default=d["window"].default, help="max window b ~ U[1, window]")
    add("--max-sentence-length", type=int, default=d["max_sentence_length"].default)
    add("--passes", type=int, default=d["passes"].default, help="independent pair draws")
    add("--num-shards", type=int, default=d["num_shards"].default, help="shards per pass")
    add("--seed", type=int, default=d["seed"].default, help="seed of all random draws")
    add("--block-bytes", type=int, default=d["block_bytes"].default, help="bytes per text block")
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
    """The user's Beam options; with no --runner, the offline local engine with 2 workers."""
    options = PipelineOptions(beam_args)
    if options.view_as(StandardOptions).runner is None:
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


def build_pipeline(pipeline: beam.Pipeline, config: PipelineConfig, files: list) -> None:
    """Add every stage of the run to `pipeline`."""
    read = ReadBlocks(config.block_bytes, config.max_sentence_length)
    sources = pipeline | "ListSources" >> beam.Create(plan_sources(files))
    vocab_path, summary = (
        sources
        | "ReadForVocabulary" >> read
        | "CountVocabulary"
        >> CountVocabulary(
            FileSystems.join(config.output, VOCAB_FILE),
            config.lowercase,
            config.min_count,
            config.max_vocab,
        )
    )
    pieces, kept = [], []
    for p in range(config.passes):
        blocks = sources | f"ReadForPass{p}" >> read
        more_pieces, more_kept = blocks | f"MakePairsPass{p}" >> MakePairs(config, p, vocab_path)
        pieces.append(more_pieces)
        kept.append(more_kept)
    shards = (
        pieces
        | "FlattenPieces" >> beam.Flatten()
        | "MergeShards" >> MergeShards(config.output, config.passes, config.num_shards, config.seed)
    )
    kept = kept | "FlattenKept" >> beam.Flatten()
    _ = (summary, kept, shards) | "WriteManifest" >> WriteManifest(config, [f for f, _ in files])


def run(config: PipelineConfig, beam_args: list[str]) -> None:
    """Check the inputs and the output, then run the pipeline to the end."""
    files = match_inputs(config.inputs)
    prepare_output(config)
    options = pipeline_options(beam_args)
    _LOG.info("%d input files; writing %s with %s", len(files), config.output, options)
    with beam.Pipeline(options=options) as pipeline:
        build_pipeline(pipeline, config, files)


_USER_ERROR = re.compile(r"(?:ValueError|FileNotFoundError): (.+?)(?: \[while running .*)?$", re.M)


def user_error(error: BaseException) -> str | None:
    """The one-line message of an error a user caused, also when a runner wrapped it."""
    if isinstance(error, (ValueError, FileNotFoundError)):
        return re.sub(r" \[while running .*", "", str(error).splitlines()[0] if str(error) else "")
    found = _USER_ERROR.findall(str(error))
    return found[-1] if found else None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the sgns-preprocess console script; returns the exit code."""
    args, beam_args = build_parser().parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
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

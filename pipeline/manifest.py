"""`WriteManifest`: the last step of a run; its manifest.json is what makes DIR a dataset.

Statistics arrive as small PCollections (the vocabulary summary, tokens kept per pass, one record
per shard), not as Beam metrics, which not every runner reports back.
"""

from __future__ import annotations

import datetime
import logging

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.config import PipelineConfig
from pipeline.outputs import publish_file, write_bytes
from pipeline.pieces import PIECES_DIR
from sgns.dataset import (
    COUNTS_FILE,
    FORMAT,
    MANIFEST_FILE,
    SCHEMA_VERSION,
    VOCAB_FILE,
    dump_manifest,
    snapshot_path,
)

log = logging.getLogger(__name__)
_CORPUS_KEYS = ("lines", "tokens", "oov_tokens", "replaced_bytes")


def build_passes(passes: int, kept: dict[int, int], shards: list[dict]) -> list[dict]:
    """The manifest's pass list of one increment, from its shard records and tokens kept."""
    listed_passes = []
    for p in range(passes):
        listed = sorted((r for r in shards if r["pass"] == p), key=lambda r: r["shard"])
        listed_passes.append(
            {
                "pass": p,
                "tokens_kept": int(kept.get(p, 0)),
                "pairs": sum(r["pairs"] for r in listed),
                "shards": [
                    {"path": r["path"], "pairs": r["pairs"], "row_groups": r["row_groups"]}
                    for r in listed
                ],
            }
        )
    return listed_passes


def total_stats(increments: list[dict]) -> dict:
    """The manifest's stats: the increments' corpus statistics, pairs and tokens kept, summed."""
    stats = dict.fromkeys(_CORPUS_KEYS + ("files", "pairs", "tokens_kept"), 0)
    for increment in increments:
        for key in _CORPUS_KEYS + ("files",):
            stats[key] += increment["stats"][key]
        stats["pairs"] += sum(p["pairs"] for p in increment["passes"])
        stats["tokens_kept"] += sum(p["tokens_kept"] for p in increment["passes"])
    return stats


def build_manifest(
    config: PipelineConfig,
    inputs: list[dict],
    vocab: dict,
    kept: dict[int, int],
    shards: list[dict],
    base: dict | None = None,
) -> dict:
    """The manifest after one more increment: `base` (the dataset's manifest; None for the
    initial build) plus this run's increment, from the statistics of the run."""
    index = len(base["increments"]) if base else 0
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    corpus = {k: vocab[k] for k in _CORPUS_KEYS}
    corpus["files"] = len(inputs)
    increment = {
        "index": index,
        "created": now,
        "inputs": list(inputs),
        "seed": config.seed,
        "num_shards": config.num_shards,
        "vocab_size": vocab["size"],
        "vocab_sha256": vocab["vocab_sha256"],
        "new_words": vocab["new_words"],
        "stats": corpus,
        "passes": build_passes(config.passes, kept, shards),
    }
    increments = (base["increments"] if base else []) + [increment]
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": now,
        "beam_version": beam.__version__,
        "seed": base["seed"] if base else config.seed,
        "config": base["config"] if base else config.to_json(),
        "vocab": {
            "file": VOCAB_FILE,
            "snapshot": snapshot_path(index, VOCAB_FILE),
            "size": vocab["size"],
            "sha256": vocab["vocab_sha256"],
            "words_sha256": vocab["words_sha256"],
            "total_count": vocab["total_count"],
        },
        "counts": {
            "file": COUNTS_FILE,
            "snapshot": snapshot_path(index, COUNTS_FILE),
            "sha256": vocab["counts_sha256"],
            "distinct_words": vocab["distinct_words"],
            "total_count": vocab["counts_total"],
        },
        "stats": total_stats(increments),
        "increments": increments,
    }


def write_manifest(output: str, manifest: dict) -> None:
    """Write manifest.json atomically: a reader sees no manifest or the whole one."""
    write_bytes(FileSystems.join(output, MANIFEST_FILE), dump_manifest(manifest).encode())


def publish_increment(output: str, manifest: dict) -> None:
    """Steps 2 and 3 of publishing (see sgns.dataset): vocab.tsv and counts.tsv from the
    increment's snapshots, then manifest.json, the file whose replacement commits it."""
    for entry in (manifest["vocab"], manifest["counts"]):
        publish_file(
            FileSystems.join(output, entry["snapshot"]), FileSystems.join(output, entry["file"])
        )
    write_manifest(output, manifest)


class WriteManifest(beam.PTransform):
    """((pass, tokens kept) pairs, shard records) -> the manifest, written last."""

    def __init__(
        self,
        config: PipelineConfig,
        inputs: list[dict],
        vocab: dict,
        base: dict | None = None,
        scratch: tuple[str, ...] = (),
    ):
        super().__init__()
        self._config = config
        self._inputs = inputs  # the manifest's records of the input files
        self._vocab = vocab  # the vocabulary run's summary: a few numbers
        self._base = base  # the dataset's manifest before this increment; None: initial build
        self._scratch = scratch  # files to delete before the manifest is written

    def expand(self, inputs):
        kept, shards = inputs
        totals = kept | "SumKeptPerPass" >> beam.CombinePerKey(sum)
        return (
            shards.pipeline
            | "Start" >> beam.Create([None])
            | "WriteManifestFile"
            >> beam.Map(self._write, beam.pvalue.AsDict(totals), beam.pvalue.AsList(shards))
        )

    def _write(self, _, kept: dict, shards: list) -> dict:
        output, vocab = self._config.output, self._vocab
        manifest = build_manifest(self._config, self._inputs, vocab, kept, shards, self._base)
        pieces = FileSystems.join(output, PIECES_DIR)
        if FileSystems.exists(pieces):  # emptied by the shard writers; drop the folders
            FileSystems.delete([pieces])
        for path in self._scratch:
            if FileSystems.exists(path):
                FileSystems.delete([path])
        publish_increment(output, manifest)
        stats = manifest["increments"][-1]["stats"]
        log.info(
            "dataset %s, increment %d: %d words (%d new), %d tokens, %d pairs", output,
            len(manifest["increments"]) - 1, vocab["size"], vocab["new_words"], stats["tokens"],
            sum(p["pairs"] for p in manifest["increments"][-1]["passes"]),
        )  # fmt: skip
        return manifest

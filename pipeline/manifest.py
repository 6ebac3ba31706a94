"""`WriteManifest`: the last step of a run; its manifest.json is what makes DIR a dataset.

Statistics arrive as small PCollections (the vocabulary summary, tokens kept per pass, one record
per shard), not as Beam metrics, which not every runner reports back.
"""

from __future__ import annotations

import datetime
import hashlib
import logging

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.config import PipelineConfig
from pipeline.shards import PIECES_DIR
from pipeline.vocabulary import summary_path
from sgns.dataset import (
    FORMAT,
    MANIFEST_FILE,
    SCHEMA_VERSION,
    VOCAB_FILE,
    dump_manifest,
    write_manifest_local,
)

_LOG = logging.getLogger(__name__)


def build_manifest(
    config: PipelineConfig,
    files: list[str],
    vocab: dict,
    vocab_sha256: str,
    kept: dict[int, int],
    shards: list[dict],
) -> dict:
    """The manifest of a fresh dataset (increment 0), from the statistics of the run."""
    passes = []
    for p in range(config.passes):
        listed = sorted((r for r in shards if r["pass"] == p), key=lambda r: r["shard"])
        passes.append(
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
    corpus = {k: vocab[k] for k in ("lines", "tokens", "oov_tokens", "replaced_bytes")}
    corpus["files"] = len(files)
    increment = {
        "index": 0,
        "inputs": list(files),
        "vocab_size": vocab["size"],
        "new_words": vocab["new_words"],
        "stats": corpus,
        "passes": passes,
    }
    stats = dict(corpus)
    stats["pairs"] = sum(p["pairs"] for p in passes)
    stats["tokens_kept"] = sum(p["tokens_kept"] for p in passes)
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "beam_version": beam.__version__,
        "seed": config.seed,
        "config": config.to_json(),
        "vocab": {
            "file": VOCAB_FILE,
            "size": vocab["size"],
            "sha256": vocab_sha256,
            "total_count": vocab["total_count"],
        },
        "stats": stats,
        "increments": [increment],
    }


def is_local(path: str) -> bool:
    """Whether a path is on the local filesystem (no scheme, or file://)."""
    return FileSystems.get_filesystem(path).scheme() == "file"


def write_manifest(output: str, manifest: dict) -> None:
    """Write manifest.json atomically: a reader sees no manifest or the whole one."""
    if is_local(output):
        write_manifest_local(output, manifest)
        return
    path = FileSystems.join(output, MANIFEST_FILE)
    temp = FileSystems.join(output, ".tmp-" + MANIFEST_FILE)
    with FileSystems.create(temp) as f:
        f.write(dump_manifest(manifest).encode())
    FileSystems.rename([temp], [path])


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with FileSystems.open(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class WriteManifest(beam.PTransform):
    """((pass, tokens kept) pairs, shard records) -> the manifest, written last."""

    def __init__(self, config: PipelineConfig, files: list[str], vocab: dict):
        super().__init__()
        self._config = config
        self._files = files
        self._vocab = vocab  # the vocabulary run's summary: a few numbers

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
        sha = file_sha256(FileSystems.join(output, VOCAB_FILE))
        manifest = build_manifest(self._config, self._files, vocab, sha, kept, shards)
        pieces = FileSystems.join(output, PIECES_DIR)
        if FileSystems.exists(pieces):  # emptied by the shard writers; drop the folders
            FileSystems.delete([pieces])
        if FileSystems.exists(summary_path(output)):
            FileSystems.delete([summary_path(output)])
        write_manifest(output, manifest)
        stats = manifest["stats"]
        _LOG.info(
            "dataset %s: %d words, %d tokens, %d pairs", output, vocab["size"],
            stats["tokens"], stats["pairs"],
        )  # fmt: skip
        return manifest

"""`WriteManifest`: the last step of a run; its manifest.json is what makes DIR a dataset.

Statistics arrive as small PCollections (tokens kept per pass, one record per shard), not as Beam
metrics, which not every runner reports back; they are gathered under one key by a GroupByKey,
not passed as side inputs, which Beam's DaskRunner computes again inside the step that reads them.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from sgns.dataset import (
    MANIFEST_FILE,
    dump_manifest,
)
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.dataset.outputs import publish_file, write_bytes
from sgns.pipeline.dataset.records import build_manifest
from sgns.pipeline.pairs.pieces import PIECES_DIR

log = logging.getLogger(__name__)
KEPT, SHARD = "kept", "shard"  # the two kinds of facts WriteManifest gathers


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
        phrases: dict | None = None,
    ):
        super().__init__()
        self._config = config
        self._inputs = inputs  # the manifest's records of the input files
        self._vocab = vocab  # the vocabulary run's summary: a few numbers
        self._base = base  # the dataset's manifest before this increment; None: initial build
        self._scratch = scratch  # files to delete before the manifest is written
        self._phrases = phrases  # the initial build's phrases entry (--phrases), None without

    def expand(self, inputs):
        kept, shards = inputs
        totals = (
            kept
            | "SumKeptPerPass" >> beam.CombinePerKey(sum)
            | "KeyTotals" >> beam.Map(lambda total: (None, (KEPT, total)))
        )
        records = shards | "KeyShards" >> beam.Map(lambda record: (None, (SHARD, record)))
        return (
            (totals, records)
            | "FlattenFacts" >> beam.Flatten()
            | "GatherFacts" >> beam.GroupByKey()
            | "WriteManifestFile" >> beam.MapTuple(self._write)
        )

    def _write(self, _, facts) -> dict:
        facts = list(facts)  # ((KEPT, (pass, tokens kept)) | (SHARD, shard record)), ...
        kept = dict(value for kind, value in facts if kind == KEPT)
        shards = [value for kind, value in facts if kind == SHARD]
        output, vocab = self._config.output, self._vocab
        manifest = build_manifest(
            self._config, self._inputs, vocab, kept, shards, self._base, self._phrases
        )
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

"""The manifest's records of an increment, built from what its runs counted (no Beam here).

Which fields a manifest has is sgns.dataset's; this module fills them: a pass's shard list, the
stats summed over increments, and the whole manifest after one more increment.
"""

from __future__ import annotations

import datetime
from importlib import metadata

from sgns.dataset import (
    COUNTS_FILE,
    FORMAT,
    ROW_ORDER_SORTED,
    SCHEMA_VERSION,
    VOCAB_FILE,
    snapshot_path,
)
from sgns.pipeline.config import PipelineConfig


def _beam_version() -> str:
    try:
        return metadata.version("apache-beam")
    except metadata.PackageNotFoundError:  # a dataset made without Beam (tests, tools)
        return "none"


_CORPUS_KEYS = ("lines", "tokens", "oov_tokens", "replaced_bytes", "long_tokens")


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
            stats[key] += increment["stats"].get(key, 0)  # (no long_tokens before 2026-12-04)
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
    phrases: dict | None = None,
) -> dict:
    """The manifest after one more increment: `base` (the dataset's manifest; None for the
    initial build) plus this run's increment, from the statistics of the run; the phrase table's
    entry is the initial build's (`phrases`), which every increment keeps."""
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
        "encoding": config.encoding,  # how its files were decoded (may differ per increment)
        "errors": config.errors,
        "row_order": ROW_ORDER_SORTED,  # sgns.pipeline.pairs.pairfile sorts each row group
        "vocab_size": vocab["size"],
        "vocab_sha256": vocab["vocab_sha256"],
        "new_words": vocab["new_words"],
        "stats": corpus,
        "passes": build_passes(config.passes, kept, shards),
    }
    increments = (base["increments"] if base else []) + [increment]
    phrases = base.get("phrases") if base else phrases
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": now,
        "beam_version": _beam_version(),
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
    } | ({"phrases": phrases} if phrases else {})

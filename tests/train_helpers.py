"""Test fixtures for the trainer: a tiny dataset directory written exactly per sgns.dataset.

Run as a script under torchrun it is the per-rank driver of the distributed test:
    torchrun --nproc-per-node 2 tests/train_helpers.py DATA RUN OUT [extra sgns-train options]
Each rank trains, then writes the sha256 of its final parameters to OUT/rank-R.sha256.
"""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sgns import dataset  # noqa: E402
from sgns.files import atomic_write  # noqa: E402


def tiny_config(data: str, output: str, **overrides):
    """A TrainConfig for the tiny datasets: small dim and batch, fixed seed, CPU."""
    from sgns.train.config import TrainConfig

    base = dict(
        data=data, output=output, dim=8, batch_size=50, lr=0.05, seed=3, device="cpu",
        pool_size=10,
    )  # fmt: skip
    return TrainConfig(**{**base, **overrides})


def write_tiny_dataset(
    directory: str,
    vocab_size: int = 40,
    pairs: int = 1000,
    shards: int = 3,
    passes: int = 1,
    row_group_rows: int = 64,
    seed: int = 0,
    sorted_rows: bool = False,
) -> dict:
    """A dataset of `pairs` distinct (center, context) pairs per pass, in small row groups.

    Pair p of pass k is (p // V, p % V) shifted by k, so every pair of a pass is unique and each
    pass differs: tests can check "each pair exactly once" and "epoch e reads pass e mod passes".
    Counts follow a Zipf-like law so the noise distribution is skewed. `sorted_rows`: shards as
    sgns-preprocess writes them since schema version 2 (sgns.pipeline.pairs.pairfile: each row group
    sorted, compact), else plain shuffled row groups as version 1 had them. Returns the manifest.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert pairs <= vocab_size * vocab_size
    rng = np.random.default_rng(seed)
    words = [f"w{i:03d}" for i in range(vocab_size)]
    counts = [1000 // (i + 1) + 5 for i in range(vocab_size)]
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, dataset.VOCAB_FILE), "wb") as f:
        f.write(dataset.format_vocab(words, counts))
    pass_entries = []
    for k in range(passes):
        ids = (rng.permutation(vocab_size * vocab_size)[:pairs] + k) % (vocab_size * vocab_size)
        centers, contexts = (
            (ids // vocab_size).astype(np.int32),
            (ids % vocab_size).astype(np.int32),
        )
        entries = []
        for s, part in enumerate(np.array_split(np.arange(pairs), shards)):
            rel = dataset.shard_path(0, k, s, shards)
            path = os.path.join(directory, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if sorted_rows:
                from sgns.pipeline.pairs.pairfile import write_pairs
                from sgns.pipeline.pairs.shuffle import pack

                with open(path, "wb") as f:
                    write_pairs(f, [pack(centers[part], contexts[part])], row_group_rows)
            else:
                table = pa.table(
                    {dataset.CENTER: centers[part], dataset.CONTEXT: contexts[part]},
                    schema=dataset.pair_schema(),
                )
                pq.write_table(table, path, row_group_size=row_group_rows)
            groups = pq.ParquetFile(path).num_row_groups
            entries.append({"path": rel, "pairs": len(part), "row_groups": groups})
        pass_entries.append({"pass": k, "tokens_kept": pairs, "pairs": pairs, "shards": entries})
    stats = {"files": 1, "lines": 1, "tokens": sum(counts), "oov_tokens": 0, "replaced_bytes": 0}
    manifest = {
        "format": dataset.FORMAT,
        "schema_version": dataset.SCHEMA_VERSION,
        "created": "2026-01-01T00:00:00Z",
        "beam_version": "test",
        "seed": seed,
        "config": {"window": 5, "min_count": 1, "sample": 1e-3},
        "vocab": {
            "file": dataset.VOCAB_FILE,
            "size": vocab_size,
            "sha256": dataset.vocab_fingerprint(words, counts),
            "total_count": sum(counts),
        },
        "stats": {**stats, "pairs": pairs * passes, "tokens_kept": pairs * passes},
        "increments": [
            {
                "index": 0,
                "inputs": ["tiny.txt"],
                "vocab_size": vocab_size,
                "new_words": vocab_size,
                "stats": stats,
                "passes": pass_entries,
                **({"row_order": dataset.ROW_ORDER_SORTED} if sorted_rows else {}),
            }
        ],
    }
    dataset.write_manifest_local(directory, manifest)
    return manifest


def append_tiny_increment(
    directory: str,
    new_words: int = 6,
    pairs: int = 400,
    shards: int = 2,
    row_group_rows: int = 64,
    seed: int = 1,
) -> dict:
    """Append an increment as sgns-preprocess --append publishes one (pairs and snapshots, then
    vocab.tsv, then the manifest last): `new_words` words after the old ones, every old count
    +3 (merged counts), and `pairs` pairs of which every other one has a new word as center.
    Returns the new manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = dataset.read_manifest(directory)
    words, counts = dataset.read_manifest_vocab(directory, manifest)
    k = len(manifest["increments"])
    if "snapshot" not in manifest["vocab"]:  # write_tiny_dataset's increment 0 has none
        _write(directory, dataset.snapshot_path(k - 1, dataset.VOCAB_FILE), words, counts)
    old = len(words)
    words = words + [f"new{k}x{i:03d}" for i in range(new_words)]
    counts = [c + 3 for c in counts] + [7 + i for i in range(new_words)]
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, len(words), pairs).astype(np.int32)
    centers[::2] = rng.integers(old, len(words), len(centers[::2]))
    contexts = rng.integers(0, len(words), pairs).astype(np.int32)
    entries = []
    for s, part in enumerate(np.array_split(np.arange(pairs), shards)):
        rel = dataset.shard_path(k, 0, s, shards)
        os.makedirs(os.path.dirname(os.path.join(directory, rel)), exist_ok=True)
        table = pa.table(
            {dataset.CENTER: centers[part], dataset.CONTEXT: contexts[part]},
            schema=dataset.pair_schema(),
        )
        pq.write_table(table, os.path.join(directory, rel), row_group_size=row_group_rows)
        groups = pq.ParquetFile(os.path.join(directory, rel)).num_row_groups
        entries.append({"path": rel, "pairs": len(part), "row_groups": groups})
    snapshot = dataset.snapshot_path(k, dataset.VOCAB_FILE)
    _write(directory, snapshot, words, counts)
    _write(directory, dataset.VOCAB_FILE, words, counts)
    stats = {"files": 1, "lines": 1, "tokens": pairs, "oov_tokens": 0, "replaced_bytes": 0}
    manifest["increments"].append(
        {
            "index": k,
            "inputs": [f"tiny-{k}.txt"],
            "vocab_size": len(words),
            "new_words": new_words,
            "stats": stats,
            "passes": [{"pass": 0, "tokens_kept": pairs, "pairs": pairs, "shards": entries}],
        }
    )
    manifest["vocab"] = {
        "file": dataset.VOCAB_FILE,
        "size": len(words),
        "sha256": dataset.vocab_fingerprint(words, counts),
        "words_sha256": dataset.words_fingerprint(words),
        "total_count": sum(counts),
        "snapshot": snapshot,
    }
    dataset.write_manifest_local(directory, manifest)
    return manifest


def _write(directory: str, rel: str, words: list[str], counts: list[int]) -> None:
    os.makedirs(os.path.dirname(os.path.join(directory, rel)) or directory, exist_ok=True)
    atomic_write(os.path.join(directory, rel), dataset.format_vocab(words, counts))


def pair_ids(centers, contexts, vocab_size: int) -> np.ndarray:
    """Each pair as one integer (for exactly-once checks)."""
    return np.asarray(centers, dtype=np.int64) * vocab_size + np.asarray(contexts, dtype=np.int64)


def _driver(argv: list[str]) -> None:
    import torch

    from sgns.train import distributed
    from sgns.train.cli import train_parser
    from sgns.train.config import TrainConfig
    from sgns.train.trainer import Trainer

    data, run, out = argv[:3]
    args = train_parser().parse_args(["--data", data, "--output", run, *argv[3:]])
    config = TrainConfig(**vars(args))
    ctx = distributed.setup(config.device)
    trainer = Trainer(config, ctx)
    trainer.train()
    digest = hashlib.sha256(trainer.weights.cpu().numpy().tobytes()).hexdigest()
    with open(os.path.join(out, f"rank-{ctx.rank}.sha256"), "w") as f:
        f.write(f"{digest} {trainer.step} {float(torch.linalg.norm(trainer.weights))}\n")
    distributed.teardown(ctx)


if __name__ == "__main__":
    _driver(sys.argv[1:])


def check_threads_agree(one, three, weights, centers, contexts) -> None:
    """Kernels `one` (1 thread) and `three` (3 threads, taking chunks of the batch as they come)
    train each pair once: at lr 0 nothing moves, so the summed loss is each pair's at the start
    whatever the order (a chunk dropped or trained twice would change it by its share); and
    training in another order (with races on shared rows, as word2vec.c), three threads bring
    the loss down as far as one does."""
    import pytest
    import torch

    frozen = weights.clone()
    loss1 = one.step(frozen, centers, contexts, 9, 0.0)
    assert three.step(frozen, centers, contexts, 9, 0.0) == pytest.approx(loss1, rel=1e-9)
    assert torch.equal(frozen, weights)
    a, b = weights.clone(), weights.clone()
    for seed in range(10):
        last1 = one.step(a, centers, contexts, seed, 0.02)
        last3 = three.step(b, centers, contexts, seed, 0.02)
    assert last1 < 0.8 * loss1
    assert last3 == pytest.approx(last1, rel=0.02)

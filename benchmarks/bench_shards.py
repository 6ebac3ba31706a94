"""Pair shards old and new: bytes per pair, write speed (sorting and compression apart) and the
trainer's read speed (decode, id check and, for sorted row groups, the shuffle).

    python benchmarks/bench_shards.py --data DATASET [--repeat 3]
        [--out benchmarks/log/preprocess.md]

DATASET is a schema-version-1 dataset (shuffled plain row groups: what the shard writer is
given, in that order), e.g. `sgns-preprocess --passes 5` of the dev corpus built by sgns before
2026-12-02. Every shard of pass 0 is written again in memory (sgns.pipeline.pairs.pairfile) in these
ways:
  v1                 unsorted, PLAIN, uncompressed (the version-1 writer)
  zstd only          unsorted, PLAIN, zstd
  sorted, plain      each row group sorted, PLAIN, uncompressed (what sorting costs)
  v2                 sorted, DELTA_BINARY_PACKED, zstd (sgns.pipeline.pairs.pairfile.write_pairs)
and, as alternatives to v2, sorted DELTA_BINARY_PACKED with lz4 or uncompressed;
then each is read back row group by row group through sgns.train.shards.RowGroupReader into one
(2, n) buffer, as a loader worker does (v2 with and without the permutation; pyarrow decodes
the two columns on its own threads). Best of --repeat, one process, the files in the page cache.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import shlex
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from sgns import dataset  # noqa: E402
from sgns.pipeline.pairs import pairfile  # noqa: E402
from sgns.pipeline.pairs.shuffle import pack, unpack  # noqa: E402
from sgns.train.shards import RowGroupReader, Unit  # noqa: E402

PLAIN = {"compression": "none", "use_dictionary": False}
ZSTD = {"compression": "zstd", "use_dictionary": False}
LZ4, NONE = {"compression": "lz4"}, {"compression": "none"}
R = dataset.ROW_GROUP_ROWS


def write(packed: np.ndarray, sort: bool, options: dict) -> bytes:
    """One shard's bytes: row groups of R pairs, sorted or not, with these writer options."""
    out = io.BytesIO()
    with pq.ParquetWriter(out, dataset.pair_schema(), **options) as writer:
        for start in range(0, len(packed), R):
            part = packed[start : start + R]
            centers, contexts = pairfile.sorted_pairs(part) if sort else unpack(part)
            writer.write_table(pairfile.pair_table(centers, contexts), row_group_size=R)
    return out.getvalue()


def read_all(paths: list[str], vocab: int, shuffle: bool) -> int:
    reader, rows = RowGroupReader(vocab), np.empty((2, R), dtype=np.int32)
    pairs = 0
    for path in paths:
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            unit = Unit(path, g, n, (0, 0, 0, 0, 0, 0, g) if shuffle else None)
            reader.read_into(unit, rows[:, :n])
            pairs += n
    return pairs


def best(repeat: int, run, *args) -> float:
    """The fewest seconds of `repeat` calls run(*args)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def write_all(shards: list[np.ndarray], sort: bool, options: dict) -> list[bytes]:
    return [write(packed, sort, options) for packed in shards]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a schema-version-1 dataset")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "preprocess.md"))
    args = parser.parse_args(argv)
    manifest = dataset.read_manifest(args.data)
    if manifest["increments"][0].get("row_order") == dataset.ROW_ORDER_SORTED:
        sys.exit(f"{args.data} has sorted row groups: give a version-1 dataset")
    vocab = manifest["vocab"]["size"]
    shards = []
    for shard in dataset.pass_shards(args.data, manifest, 0):
        table = pq.read_table(shard.path)
        shards.append(pack(table["center"].to_numpy(), table["context"].to_numpy()))
    pairs = sum(map(len, shards))
    variants = {
        "v1 (unsorted, PLAIN, uncompressed)": (False, PLAIN),
        "zstd only (unsorted, PLAIN, zstd)": (False, ZSTD),
        "sorted, PLAIN, uncompressed": (True, PLAIN),
        "v2 (sorted, DELTA_BINARY_PACKED, zstd)": (True, pairfile.WRITE_OPTIONS),
        "sorted, DELTA_BINARY_PACKED, lz4": (True, {**pairfile.WRITE_OPTIONS, **LZ4}),
        "sorted, DELTA_BINARY_PACKED, uncompressed": (True, {**pairfile.WRITE_OPTIONS, **NONE}),
    }
    rows = ["| format | bytes/pair | write: M pairs/s | read: M pairs/s |", "|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as work:
        for name, (sort, options) in variants.items():
            files = write_all(shards, sort, options)
            seconds = best(args.repeat, write_all, shards, sort, options)
            paths = []
            for i, data in enumerate(files):
                paths.append(os.path.join(work, f"{i}.parquet"))
                with open(paths[-1], "wb") as f:
                    f.write(data)
            reads = [("", False)] + ([(" + shuffle", True)] if sort else [])
            for label, shuffle in reads:
                read = best(args.repeat, read_all, paths, vocab, shuffle)
                size = sum(map(len, files)) / pairs
                rows.append(f"| {name}{label} | {size:.3f} | {pairs / seconds / 1e6:.1f} | "
                            f"{pairs / read / 1e6:.1f} |")  # fmt: skip
                print(rows[-1], flush=True)
    command = shlex.join(["python", os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(f"\n### Pair shards, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n")
        f.write(f"Machine: {platform.node()}, {os.cpu_count()} cores, load "
                f"{os.getloadavg()[0]:.2f}. Pass 0 of {args.data}: {pairs:,} pairs in "
                f"{len(shards)} shards. Command: `{command}`. Best of {args.repeat}, one "
                "process, files in the page cache; read = RowGroupReader.read_into (decode, id "
                "check, shuffle):\n\n")  # fmt: skip
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()

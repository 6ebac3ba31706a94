"""sgns-preprocess at scale, on paper: elements, temporary pieces, merge levels, bytes and objects
per stage for a corpus of C bytes of text, from the pipeline's own constants, for both ways pairs
reach their shard (--shuffle files: temporary piece objects; --shuffle runner: elements through
the runner's GroupByKey, spilled to the merging worker's local disk).

    python benchmarks/cost_at_scale.py                  # docs/scaling.md's tables (100 GB, 1 TB)
    python benchmarks/cost_at_scale.py --check CORPUS   # the model against real runs, both modes

The ratios below were measured on the dev corpus (15,770,619 bytes of text, 2,566,650 tokens,
9,504,095 pairs in one pass with the default settings; 110,301 distinct words, and 32,661 in its
first 20,000 lines of 286,529 tokens): bytes per token, pairs per token and pass, and a Heaps' law
fit (distinct words ~ tokens^0.555) for the vocabulary merge. `--check` runs the pipeline on a
small corpus with small blocks, once per --shuffle mode, and compares the model's blocks, pieces
(files) or shuffle elements (runner) and their sizes with what the runs did and wrote.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import math
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sgns.pipeline.config import DEFAULT_BLOCK_BYTES  # noqa: E402
from sgns.pipeline.pairs.pieces import MAX_FAN_IN, OPEN_PIECES  # noqa: E402
from sgns.pipeline.pairs.shuffle import PIECE_BATCH_ROWS  # noqa: E402
from sgns.pipeline.text.read import RANGE_BYTES  # noqa: E402

BYTES_PER_TOKEN = 15_770_619 / 2_566_650  # 6.14
PAIRS_PER_TOKEN = 9_504_095 / 2_566_650  # 3.70 per pass (window 5, sample 1e-3, min_count 5)
HEAPS_BETA = math.log(110_301 / 32_661) / math.log(2_566_650 / 286_529)  # 0.555
PIECE_BYTES_PER_PAIR = 8  # a piece holds packed int64 pairs, uncompressed Arrow IPC
SHARD_BYTES_PER_PAIR = {"today": 8.0, "compact": 1.9}  # int32 x 2 plain; sorted+delta+zstd
S3_WRITE_REQUESTS = 3  # Beam's S3 writer: initiate, upload part, complete (seen on moto)
S3_READ_REQUESTS = 2  # an open: HEAD, then a ranged GET
S3_PART_BYTES = 5 * 1024 * 1024  # Beam's S3 writer uploads a part per 5 MiB (MIN_WRITE_SIZE)
GB = 1e9


def element_overhead() -> int:
    """Bytes of a --shuffle runner element beyond its 8 per pair: Beam's coder of a GroupByKey's
    ((pass, shard), (piece name, pairs)) element, with a name of a block deep in a large file."""
    from apache_beam.coders import coders

    from sgns.pipeline.pairs.pieces import piece_name

    coder = coders.TupleCoder([coders.FastPrimitivesCoder()] * 2)
    return len(coder.encode(((3, 1023), (piece_name("1234:17179869184:3"), b""))))


def piece_file_bytes(rows: float) -> float:
    """Bytes of an Arrow IPC piece of `rows` pairs: 8 per pair, a header and footer, and a
    record batch header per PIECE_BATCH_ROWS (fitted to pieces written by write_piece)."""
    return PIECE_BYTES_PER_PAIR * rows + 306 + 168 * max(1, math.ceil(rows / PIECE_BATCH_ROWS))


def merge_levels(pieces: int, fan_in: int = MAX_FAN_IN) -> int:
    """Intermediate merge levels of a shard of `pieces` pieces (pieces.reduce_fan_in)."""
    levels = 0
    while pieces > fan_in:
        pieces, levels = math.ceil(pieces / fan_in), levels + 1
    return levels


def plan(corpus_bytes: float, shards: int, passes: int = 1, workers: int = 100,
         block_bytes: int = DEFAULT_BLOCK_BYTES) -> dict:  # fmt: skip
    """One increment's figures (per pass where said) for plain-text input files."""
    tokens = corpus_bytes / BYTES_PER_TOKEN
    blocks = math.ceil(corpus_bytes / block_bytes)
    pairs = tokens * PAIRS_PER_TOKEN  # per pass
    pieces = blocks * shards  # per pass: every block reaches every shard (pairs >> shards)
    piece_pairs = pairs / pieces
    levels = merge_levels(blocks)
    intermediates = sum(math.ceil(blocks / MAX_FAN_IN**k) for k in range(1, levels + 1)) * shards
    piece_bytes = pieces * piece_file_bytes(piece_pairs)
    reads_per_piece = max(1, math.ceil(piece_pairs / PIECE_BATCH_ROWS))
    reopened = blocks > OPEN_PIECES  # then a piece is opened again for each batch
    shard_bytes = {k: pairs * b / shards for k, b in SHARD_BYTES_PER_PAIR.items()}
    return {
        "corpus_gb": corpus_bytes / GB,
        "tokens": tokens,
        "sources": math.ceil(corpus_bytes / RANGE_BYTES),
        "blocks": blocks,
        "distinct_words": 110_301 * (tokens / 2_566_650) ** HEAPS_BETA,
        "shards": shards,
        "merge_tasks": shards * passes,
        "merge_tasks_per_worker": shards * passes / workers,
        "pairs_per_pass": pairs,
        "pieces_per_pass": pieces,
        "piece_pairs": piece_pairs,
        "piece_kb": piece_file_bytes(piece_pairs) / 1e3,
        "pieces_per_shard": blocks,
        "merge_levels": levels,
        "intermediate_pieces": intermediates,
        "corpus_read_gb": 2 * corpus_bytes / GB,  # the vocabulary run and the pairs run
        "pieces_written_gb": piece_bytes * (1 + levels) / GB,
        "pieces_read_gb": piece_bytes * (1 + levels) / GB,
        "shard_gb": {k: b / GB for k, b in shard_bytes.items()},
        "shards_written_gb": {k: pairs * b / GB for k, b in SHARD_BYTES_PER_PAIR.items()},
        "s3_requests": pieces * S3_WRITE_REQUESTS
        + pieces * S3_READ_REQUESTS * (reads_per_piece if reopened else 1)
        + intermediates * (S3_WRITE_REQUESTS + S3_READ_REQUESTS),
        # both modes: the shards' own uploads (2 + one per 5 MiB part), compact shards
        "shard_s3_requests": shards * (2 + math.ceil(shard_bytes["compact"] / S3_PART_BYTES)),
        # --shuffle runner: the pieces are elements of the runner's shuffle, no objects
        "shuffle_elements": pieces,
        "shuffle_gb": (pairs * PIECE_BYTES_PER_PAIR + pieces * element_overhead()) / GB,
        # a merge spills its shard's pieces to local disk and drops each group once merged
        # (reduce_fan_in's drop_merged): about one copy of the shard at a time, at 8 bytes/pair
        "spill_gb_per_merge": blocks * piece_file_bytes(piece_pairs) / GB,
        "spill_written_gb": piece_bytes * (1 + levels) / GB,
    }


def _n(x: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.3g}"


def table(workers: int = 100) -> str:
    rows = []
    for corpus in (100 * GB, 1000 * GB):
        for shards in (16, 4 * workers, 1024):
            for block in (DEFAULT_BLOCK_BYTES, 64 * 1024 * 1024):
                rows.append(plan(corpus, shards, 1, workers, block) | {"block_mib": block >> 20})
    head = ("| corpus | block | shards | blocks | pieces/pass | piece | merge levels | pieces w+r "
            "| S3 requests | shard today | shard compact | merges/worker |")  # fmt: skip
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['corpus_gb']:.0f} GB | {r['block_mib']} MiB | {r['shards']} | {_n(r['blocks'])} "
            f"| {_n(r['pieces_per_pass'])} | {r['piece_kb']:.0f} kB | {r['merge_levels']} "
            f"| {r['pieces_written_gb']:.0f}+{r['pieces_read_gb']:.0f} GB "
            f"| {_n(r['s3_requests'])} | {r['shard_gb']['today']:.2f} GB "
            f"| {r['shard_gb']['compact']:.2f} GB | {r['merge_tasks_per_worker']:.2f} |"
        )
    head = (
        "| corpus | block | shards | shuffle elements | element | shuffle bytes "
        "| local spill per merge | local disk w+r | temporary objects | shard S3 requests |"
    )
    lines += ["", "--shuffle runner, per pass:", "", head, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['corpus_gb']:.0f} GB | {r['block_mib']} MiB | {r['shards']} "
            f"| {_n(r['shuffle_elements'])} | {r['piece_kb']:.0f} kB | {r['shuffle_gb']:.0f} GB "
            f"| {r['spill_gb_per_merge']:.2f} GB "
            f"| {r['spill_written_gb']:.0f}+{r['spill_written_gb']:.0f} GB | 0 "
            f"| {_n(r['shard_s3_requests'])} |"
        )
    first = plan(100 * GB, 16)
    last = plan(1000 * GB, 16)
    lines += [
        "",
        f"per increment, both sizes: corpus read twice ({first['corpus_read_gb']:.0f} / "
        f"{last['corpus_read_gb']:.0f} GB), sources of {RANGE_BYTES >> 20} MiB "
        f"({_n(first['sources'])} / {_n(last['sources'])}), tokens {_n(first['tokens'])} / "
        f"{_n(last['tokens'])}, pairs per pass {_n(first['pairs_per_pass'])} / "
        f"{_n(last['pairs_per_pass'])}, distinct words (Heaps) "
        f"{_n(first['distinct_words'])} / {_n(last['distinct_words'])}; shards written per pass "
        f"{first['shards_written_gb']['today']:.0f} / {last['shards_written_gb']['today']:.0f} "
        f"GB today, {first['shards_written_gb']['compact']:.0f} / "
        f"{last['shards_written_gb']['compact']:.0f} GB compact",
    ]
    return "\n".join(lines)


class _Pieces(logging.Handler):
    """Collects "wrote SHARD: N pairs from M pieces" (or "parts", --shuffle runner) records of
    sgns.pipeline.pairs.merge."""

    def __init__(self):
        super().__init__()
        self.shards = []

    def emit(self, record):
        found = re.search(r": (\d+) pairs from (\d+) (pieces|parts)", record.getMessage())
        if found:
            self.shards.append((int(found.group(1)), int(found.group(2))))


def _shard_bytes(directory: str) -> dict:
    found = {}
    for folder, _, names in os.walk(os.path.join(directory, "pairs")):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                found[name] = f.read()
    return found


def check(corpus: str, block_bytes: int, shards: int) -> str:
    """Run the pipeline on `corpus` in both --shuffle modes; compare the model with them."""
    import numpy as np

    from sgns.pipeline.pairs.pieces import write_piece
    from sgns.pipeline.preprocess import main

    opener = gzip.open if corpus.endswith(".gz") else open
    with opener(corpus, "rb") as f:
        text_bytes = len(f.read())
    model = plan(text_bytes, shards, block_bytes=block_bytes)
    lines = [f"check on {corpus} ({text_bytes} bytes of text), --block-bytes {block_bytes}, "
             f"--num-shards {shards}:"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        written = {}
        for mode, unit in (("files", "pieces"), ("runner", "shuffle elements")):
            seen = _Pieces()
            out = os.path.join(tmp, mode)
            args = ["--input", corpus, "--output", out, "--shuffle", mode,
                    "--block-bytes", str(block_bytes), "--num-shards", str(shards)]  # fmt: skip
            logging.getLogger("sgns.pipeline.pairs.merge").addHandler(seen)
            if main(args) != 0:
                raise SystemExit(f"the --shuffle {mode} run failed")
            logging.getLogger("sgns.pipeline.pairs.merge").removeHandler(seen)
            written[mode] = _shard_bytes(out)
            pairs = sum(p for p, _ in seen.shards)
            pieces = sum(m for _, m in seen.shards)
            lines += [
                f" --shuffle {mode}:",
                f"  {unit} per shard (= blocks): model {model['blocks']}, run "
                f"{sorted({m for _, m in seen.shards})}",
                f"  {unit}: model {model['pieces_per_pass']}, run {pieces}",
                f"  pairs: model {model['pairs_per_pass']:.0f}, run {pairs}",
                f"  pairs per {unit[:-1]}: model {model['piece_pairs']:.0f}, run "
                f"{pairs / pieces:.0f}",
            ]
        rows = round(pairs / pieces)
        path = os.path.join(tmp, "piece.arrow")
        write_piece(path, np.arange(rows, dtype=np.int64))  # a real piece of the mean size
        same = written["files"] == written["runner"]
        lines += [
            f" bytes of a piece of {rows} pairs: model {piece_file_bytes(rows):.0f}, written "
            f"{os.path.getsize(path)}; shuffle element: {8 * rows + element_overhead()}",
            f" shards of both modes byte-identical: {same} ({len(written['files'])} shards)",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--check", metavar="CORPUS", help="compare the model with a real run")
    parser.add_argument("--block-bytes", type=int, default=256 * 1024)
    parser.add_argument("--num-shards", type=int, default=8)
    args = parser.parse_args()
    if args.check:
        print(check(args.check, args.block_bytes, args.num_shards))
    else:
        print(table(args.workers))

"""The trainer's loader alone: pairs/s delivered as batches of tensors, by workers and batch size.

    python benchmarks/bench_loader.py --data DATASET [--workers 0,1,2] [--batch 4096,65536,262144]
        [--repeat 3] [--out benchmarks/log/train.md]

DATASET is any sgns dataset (e.g. `sgns-preprocess --input ../shared/corpora/dev-corpus.txt.gz
--output DATASET`). Each measurement streams every row group of pass 0 through
sgns.train.loader.PairBatches on the CPU (decode included: the row groups are read from disk,
in the page cache after the first repetition; so is the shuffle of a version-2 dataset's
sorted row groups, with the permutations of seed 0) and touches each batch (a sum of its ids,
so that a lazy view cannot pass for a delivered batch); the best of --repeat runs is reported.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sgns import dataset  # noqa: E402
from sgns.train.loader import PairBatches  # noqa: E402
from sgns.train.shards import epoch_units, load_dataset  # noqa: E402


def measure(units, vocab: int, batch: int, workers: int) -> tuple[float, float]:
    """(pairs/s after the first batch, seconds to the first batch: the workers' start)."""
    total = sum(u.pairs for u in units)
    steps = -(-total // batch)
    start = time.perf_counter()
    delivered, first = 0, None
    for centers, contexts, valid in PairBatches(units, batch, steps, vocab, workers=workers):
        int(centers[:1].sum()) + int(contexts[-1:].sum())  # touch the batch's memory
        if first is None:
            first = time.perf_counter()
        else:
            delivered += valid
    assert delivered == total - min(batch, total)
    return delivered / (time.perf_counter() - first), first - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--batch", default="4096,65536,262144")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "train.md"))
    args = parser.parse_args(argv)
    manifest, words, _, sizes = load_dataset(args.data, dataset.read_manifest(args.data))
    units = epoch_units(args.data, manifest, sizes, 0)
    pairs = sum(u.pairs for u in units)
    rows = ["| workers | " + " | ".join(f"batch {b}" for b in args.batch.split(",")) + " |",
            "|---:|" + "---:|" * len(args.batch.split(","))]  # fmt: skip
    for workers in map(int, args.workers.split(",")):
        rates = []
        for batch in map(int, args.batch.split(",")):
            runs = [measure(units, len(words), batch, workers) for _ in range(args.repeat)]
            best, startup = max(runs)
            rates.append(f"{best / 1e6:.1f}M ({startup:.2f} s)")
            print(f"workers {workers}, batch {batch}: {best / 1e6:.1f}M pairs/s, first batch "
                  f"after {startup:.2f} s", flush=True)  # fmt: skip
        rows.append(f"| {workers} | " + " | ".join(rates) + " |")
    load = os.getloadavg()[0]
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(f"\n### Loader alone, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n\n")
        f.write(f"Machine: {platform.node()}, {os.cpu_count()} cores, load {load:.2f}. ")
        f.write(f"Dataset: {pairs:,} pairs in {len(units)} row groups (pass 0). ")
        command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
        f.write(
            f"Command: `{command}`. Pairs/s delivered as tensors after the first batch, best "
            f"of {args.repeat} (in brackets: seconds to the first batch):\n\n"
        )
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()

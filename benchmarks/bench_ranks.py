"""CPU ranks against threads: is a second machine worth using? (issues 12 and 18)

    python benchmarks/bench_ranks.py --data DATASET [--rounds 3] [--engine native]
        [--train-args "--rounds 16"]

Per round, taking turns on the same dataset: one process with 2 threads, then 2 torchrun ranks
(gloo) of 1 thread each, both training the whole dataset (5 epochs, dim 100, the engine's
defaults otherwise). Pairs/s is the run's pairs over its summed epoch seconds (metrics.jsonl),
so start-up is left out for both; the ratio is ranks over threads within a round (the machine's
load drifts between rounds). Two ranks on one machine pay every cost two machines would (a
second process, its own loader, routing pairs and rotating blocks over TCP) except the
network's bandwidth.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import sys

from bench_train import run_measured  # benchmarks/ is on sys.path as a script


def train(data: str, run: str, ranks: int, threads: int, engine: str, extra: list[str]) -> float:
    launch = [sys.executable, "-m", "sgns.train"]
    if ranks > 1:
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        launch += ["--nproc-per-node", str(ranks), "-m", "sgns.train"]
    cmd = [*launch, "--data", data, "--output", run, "--device", "cpu", "--engine", engine]
    cmd += ["--threads", str(threads), "--checkpoint-seconds", "0", *extra]
    shutil.rmtree(run, ignore_errors=True)
    run_measured(cmd)
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    epochs = [r for r in records if r["kind"] == "epoch"]
    return sum(r["pairs"] for r in epochs) / sum(r["seconds"] for r in epochs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", default="native")
    parser.add_argument("--train-args", default="")
    parser.add_argument("--work", default="/tmp/bench-ranks")
    args = parser.parse_args(argv)
    extra = shlex.split(args.train_args)
    rows = []
    for r in range(args.rounds):
        threads = train(args.data, f"{args.work}/threads", 1, 2, args.engine, extra)
        ranks = train(args.data, f"{args.work}/ranks", 2, 1, args.engine, extra)
        rows.append((r + 1, threads, ranks))
        print(f"round {r + 1}: 1x2 threads {threads:,.0f}, 2x1 ranks {ranks:,.0f} pairs/s, "
              f"ratio {ranks / threads:.2f}", flush=True)  # fmt: skip
    lines = [
        "| round | 1 process x 2 threads, pairs/s | 2 ranks x 1 thread, pairs/s | ratio |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {r} | {t:,.0f} | {k:,.0f} | {k / t:.2f} |" for r, t, k in rows]
    median = statistics.median(k / t for _, t, k in rows)
    lines.append(
        f"\nMedian ratio {median:.2f} ({args.engine} engine, {args.train_args or 'defaults'})."
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()

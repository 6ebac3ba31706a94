"""The torch engine's speed by batch size: is the cost per pair flat in the batch?

    python benchmarks/bench_batch.py --data DATASET [--batch 4096,16384,...] [--repeat 3]
        [--epochs 1] [--threads 2] [--out benchmarks/log/train.md]

Two measurements, both appended to --out:
- runs: `sgns-train --engine torch` (pool mode, the defaults otherwise) on DATASET at each batch
  size, one subprocess each, the sizes in a rotated order each repetition (so that no size
  always runs first or last on a machine whose speed drifts); each size's median pairs/s
  (training alone: pairs over the summed epoch seconds of metrics.jsonl) and its ratio to the
  median of the first size;
- interleaved (--interleaved-pairs N > 0): in one process, an engine per batch size trains on
  pass 0's batches, the sizes taking turns in slices of about N pairs, so that a drift of the
  machine's speed falls on all sizes alike; each size's pairs/s over its summed time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_rate(data: str, run: str, batch: int, args) -> float:
    cmd = [sys.executable, "-m", "sgns.train", "--data", data, "--output", run,
           "--engine", "torch", "--device", "cpu", "--batch-size", str(batch),
           "--epochs", str(args.epochs), "--threads", str(args.threads)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench_batch: training at batch {batch} failed:\n{done.stderr[-2000:]}")
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    epochs = [r for r in records if r["kind"] == "epoch"]
    return sum(r["pairs"] for r in epochs) / sum(r["seconds"] for r in epochs)


def interleaved(data: str, batches: list[int], slice_pairs: int, rounds: int, threads: int):
    """pairs/s of each batch size's engine, trained in turns in one process."""
    import time

    import torch

    sys.path.insert(0, ROOT)
    from sgns import dataset
    from sgns.train import distributed
    from sgns.train.config import TrainConfig
    from sgns.train.engines import resolve
    from sgns.train.loader import PairBatches
    from sgns.train.plan import load_stage
    from sgns.train.sampler import AliasSampler
    from sgns.train.table import init_weights
    from sgns.train.torch_engine import TorchEngine

    torch.set_num_threads(threads)
    manifest = dataset.read_manifest(data)
    ctx = distributed.Context(0, 0, 1, torch.device("cpu"))
    runs = {}
    for batch in batches:
        config = TrainConfig(data=data, output="unused", batch_size=batch, engine="torch")
        config = resolve(config, torch.device("cpu"))  # pool mode, as a run settles it
        stage = load_stage(config, manifest, 0, len(manifest["increments"]), 1, 0, 0, lr=0.025)
        engine = TorchEngine(config, ctx, stage, AliasSampler(stage.counts, 0.75))
        weights = init_weights(len(stage.words), config.dim, torch.Generator().manual_seed(1))
        plan = stage.plans[0]
        stream = iter(PairBatches(plan.units, batch, plan.steps, len(stage.words)))
        runs[batch] = {"engine": engine, "weights": weights, "stream": stream, "step": 0,
                       "pairs": 0, "seconds": 0.0}  # fmt: skip
    for _ in range(rounds):
        for run in runs.values():
            start, pairs = time.perf_counter(), 0
            while pairs < slice_pairs:
                centers, contexts, valid = next(run["stream"])
                run["engine"].step(run["weights"], centers, contexts, valid, run["step"], 0.025)
                run["step"] += 1
                pairs += valid
            run["seconds"] += time.perf_counter() - start
            run["pairs"] += pairs
    return {batch: run["pairs"] / run["seconds"] for batch, run in runs.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--batch", default="4096,16384,32768,65536,131072,262144,1048576")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "train.md"))
    parser.add_argument("--interleaved-pairs", type=int, default=0, help="0: no interleaved runs")
    parser.add_argument("--interleaved-rounds", type=int, default=3)
    parser.add_argument("--skip-runs", action="store_true", help="only the interleaved measure")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batch.split(",")]
    load = os.getloadavg()[0]
    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    text = [
        f"Machine: {platform.node()}, {os.cpu_count()} cores, load {load:.2f} before. Command: "
        f"`{command}` (pool mode, micro-step 4096, {args.threads} threads).\n"
    ]
    if not args.skip_runs:
        text.append(runs_table(args, batches))
    if args.interleaved_pairs:
        rates = interleaved(args.data, batches, args.interleaved_pairs, args.interleaved_rounds,
                            args.threads)  # fmt: skip
        rows = ["In one process, taking turns in slices of "
                f"{args.interleaved_pairs:,} pairs, {args.interleaved_rounds} rounds:\n",
                f"| batch | pairs/s | / batch {batches[0]} |", "|---:|---:|---:|"]  # fmt: skip
        rows += [f"| {b} | {r:,.0f} | {r / rates[batches[0]]:.2f} |" for b, r in rates.items()]
        text.append("\n".join(rows) + "\n")
    when = f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M}"
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(f"\n### Torch engine speed by batch size, {when} UTC\n\n" + "\n".join(text))
    print("\n".join(text))


def runs_table(args, batches: list[int]) -> str:
    work = tempfile.mkdtemp(prefix="bench-batch-")
    rates = {b: [] for b in batches}
    for r in range(args.repeat):
        order = batches[r % len(batches) :] + batches[: r % len(batches)]
        for batch in order:
            rate = train_rate(args.data, os.path.join(work, f"run-{batch}-{r}"), batch, args)
            rates[batch].append(rate)
            print(f"repeat {r}, batch {batch}: {rate:,.0f} pairs/s", flush=True)
    base = statistics.median(rates[batches[0]])
    rows = [f"| batch | pairs/s (median) | runs | / batch {batches[0]} |", "|---:|---:|---|---:|"]
    for batch in batches:
        median = statistics.median(rates[batch])
        runs = ", ".join(f"{x / 1e6:.2f}M" for x in rates[batch])
        rows.append(f"| {batch} | {median:,.0f} | {runs} | {median / base:.2f} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()

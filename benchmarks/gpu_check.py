"""`make gpu-check`: the torch engine on CUDA GPUs, in one command of under 8 minutes.

    python benchmarks/gpu_check.py [--data gpu-check-data] [--out benchmarks/log/gpu.md] [--quick]

Without CUDA it prints one line saying it skipped and exits 0 (CI has no GPU). With one:
 1. the tests marked for GPUs (tests/test_gpu.py: the step against the CPU's, the captured
    graph against the eager step, no host sync in steady steps, checkpoints across devices);
 2. 100 steady steps (loader and captured step) under torch.cuda.set_sync_debug_mode("error");
 3. pairs/s of the step alone (device-resident Zipf ids) and of the whole trainer (one epoch of
    the dev corpus) at batch 16384 / 65536 / 262144 and dim 100 and 300;
 3b. with several GPUs, N-GPU NCCL training under torchrun (1, 2, 4, 8 of them; one epoch,
    batch 131072 per rank, the block scheme at its defaults): pairs/s and scaling efficiency
    (with one GPU it says unmeasured); the step alone at the block scheme's micro-steps (512
    and 128 pairs: 8 and 32 ranks) on one GPU;
 4. quality on the dev corpus (5 passes, 5 epochs, the benchmark's settings, batch 131072):
    WordSim-353, SimLex-999 and analogies, beside the CPU figures of BENCHMARKS.md;
and appends what it measured to --out (and to $OUT/gpu-check.md when $OUT is set: the device
tool brings that file back).

The GPU machine has CUDA PyTorch, pyarrow and numpy but neither Beam nor gensim, and no network:
the dataset is built there from the corpus by the pipeline's own functions without Beam
(sgns.pipeline.local), and the evaluation files travel with the tree. `make gpu-check-data` puts the
dev corpus and gensim's evaluation files into the ignored folder gpu-check-data/ here; the
device tool carries it (`carry: ["gpu-check-data"]`, about 6 MB).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

HYPER = dict(dim=100, negatives=5, epochs=5, min_count=5, window=5, sample=1e-3, passes=5)
# The CPU figures the GPU's are put beside: BENCHMARKS.md, "Batch sizes of the torch engine".
CPU_REFERENCE = "see BENCHMARKS.md, 'Batch sizes of the torch engine' (torch pool, 2 CPU cores)"


def log(text: str, lines: list[str]) -> None:
    print(text, flush=True)
    lines.append(text)


def run_gpu_tests(lines: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_gpu.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    log(f"- tests marked gpu (tests/test_gpu.py): {tail}", lines)
    if done.returncode:
        print(done.stdout[-4000:], done.stderr[-2000:])


def build_dataset(data: str, work: str, passes: int) -> str:
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.local import build

    out = os.path.join(work, f"dev-{passes}")
    if not os.path.exists(os.path.join(out, "manifest.json")):
        corpus = os.path.join(data, "dev-corpus.txt.gz")
        settings = {k: HYPER[k] for k in ("min_count", "window", "sample")}
        build(PipelineConfig((corpus,), out, passes=passes, **settings), [corpus])
    return out


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def sync_free_steps(dataset: str, lines: list[str], steps: int = 100) -> None:
    """100 steady steps of the loader and the captured step, any host sync an error."""
    from sgns import dataset as contract
    from sgns.train import distributed
    from sgns.train.config import TrainConfig
    from sgns.train.engines import resolve
    from sgns.train.loader import PairBatches
    from sgns.train.plan import load_stage
    from sgns.train.sampler import AliasSampler
    from sgns.train.table import init_weights
    from sgns.train.torch_engine import TorchEngine

    config = TrainConfig(data=dataset, output="unused", batch_size=65536, engine="torch")
    config = resolve(config, torch.device("cuda"))  # pool mode, as a run settles it
    ctx = distributed.Context(0, 0, 1, torch.device("cuda"))
    manifest = contract.read_manifest(dataset)
    stage = load_stage(config, manifest, 0, 1, 1, 0, 0, lr=config.lr)
    engine = TorchEngine(config, ctx, stage, AliasSampler(stage.counts, 0.75, "cuda"))
    weights = init_weights(len(stage.words), 100, torch.Generator().manual_seed(1)).cuda()
    plan = stage.plans[0]
    batches = iter(PairBatches(plan.units, 65536, plan.steps, len(stage.words), device="cuda"))
    for step in range(3):
        engine.step(weights, *next(batches), step, config.lr)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(3, 3 + min(steps, plan.steps - 4)):
            engine.step(weights, *next(batches), step, config.lr)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    log(f"- {min(steps, plan.steps - 4)} steady steps at batch 65536 under "
        "set_sync_debug_mode('error'): no sync", lines)  # fmt: skip


def step_throughput(lines: list[str], device: str, sizes, vocab: int = 31456) -> None:
    """Pairs/s of the step alone (captured on CUDA) on device-resident Zipf ids."""
    from sgns.train import distributed
    from sgns.train.config import TrainConfig
    from sgns.train.engines import MAX_POOL_SPAN, resolve
    from sgns.train.plan import TrainingStage
    from sgns.train.sampler import AliasSampler
    from sgns.train.torch_engine import TorchEngine

    counts = (1e7 / np.arange(1, vocab + 1)).astype(np.int64) + 5
    ranks = torch.tensor(counts, dtype=torch.float, device=device)
    log(
        f"- step alone (pool mode, on {device}), pairs/s; micro-step 4096 unless said (512 and "
        "128: the block scheme's at 8 and 32 ranks, sgns.train.engines.for_blocks, with a pool "
        "per span of 8 micro-steps, engines.pool_span):",
        lines,
    )
    micro = [(dim, batch, 4096) for dim, batch in sizes] + [(100, 65536, 512), (100, 65536, 128)]
    for dim, batch, micro_batch in micro:
        pool = TrainConfig(data="d", output="o").pool_size  # the block scheme keeps it whole
        config = TrainConfig(data="d", output="o", dim=dim, batch_size=batch, engine="torch",
                             micro_batch=micro_batch, pool_size=pool)  # fmt: skip
        config = resolve(config, torch.device(device))  # pool mode, as a run settles it
        stage = TrainingStage(0, 1, 0, 0.025, [""] * vocab, counts.tolist(), [])
        ctx = distributed.Context(0, 0, 1, torch.device(device))
        span = 1 if micro_batch == 4096 else MAX_POOL_SPAN
        sampler = AliasSampler(counts, 0.75, device)
        engine = TorchEngine(config, ctx, stage, sampler, pool_span=span)
        weights = torch.randn(2 * vocab, dim, device=device) * 0.01
        pairs = torch.multinomial(ranks, 2 * 8 * batch, replacement=True).int().view(8, 2, -1)
        for i in range(3):
            engine.step(weights, pairs[i, 0], pairs[i, 1], batch, i, 0.025)
        _sync(device)
        start, reps = time.perf_counter(), max(3, 4_000_000 // batch)
        for i in range(reps):
            engine.step(weights, pairs[i % 8, 0], pairs[i % 8, 1], batch, i, 0.025)
        _sync(device)
        rate = reps * batch / (time.perf_counter() - start)
        log(f"  - dim {dim}, batch {batch}, micro {micro_batch}: {rate / 1e6:.1f}M", lines)


def train(dataset: str, run: str, device: str, **options) -> dict:
    from sgns.train.config import TrainConfig
    from sgns.train.trainer import train as train_run

    config = TrainConfig(data=dataset, output=run, engine="torch", device=device,
                         checkpoint_seconds=0, **options)  # fmt: skip
    shutil.rmtree(run, ignore_errors=True)  # a rerun on a warm machine starts afresh
    start = time.perf_counter()
    train_run(config)
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    epochs = [r for r in records if r["kind"] == "epoch"]
    return {
        "pairs_s": sum(r["pairs"] for r in epochs) / sum(r["seconds"] for r in epochs),
        "wall": time.perf_counter() - start,
        "loss": epochs[-1]["loss"],
    }


def trainer_throughput(dataset: str, work: str, lines: list[str], device: str, sizes) -> None:
    log("- whole trainer, one epoch of the dev corpus (its epoch time: the set-up before it "
        "excluded, the step's capture included), pairs/s:", lines)  # fmt: skip
    for dim, batch in sizes:
        run = os.path.join(work, f"speed-{dim}-{batch}")
        got = train(dataset, run, device, dim=dim, batch_size=batch, epochs=1)
        log(f"  - dim {dim}, batch {batch}: {got['pairs_s'] / 1e6:.1f}M "
            f"(wall {got['wall']:.0f} s)", lines)  # fmt: skip


def scaling(dataset: str, work: str, lines: list[str], device: str, batch: int) -> None:
    """N ranks under torchrun (NCCL on N GPUs; gloo on the CPU in a dry run), one epoch: the
    whole run's pairs/s against N times one rank's (the block scheme, sgns.train.blocks, at its
    defaults)."""
    counts = [1] + [n for n in (2, 4, 8) if n <= torch.cuda.device_count()]
    if device == "cpu":
        counts = [1, 2]
    if len(counts) == 1:
        log(f"- N-GPU scaling: unmeasured ({torch.cuda.device_count()} GPU here)", lines)
        return
    rates = {}
    for n in counts:
        run = os.path.join(work, f"scaling-{n}")
        shutil.rmtree(run, ignore_errors=True)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", str(n), "-m", "sgns.train", "--data", dataset, "--output", run,
               "--engine", "torch", "--device", "cuda" if device == "cuda" else "cpu",
               "--batch-size", str(batch), "--epochs", "1",
               "--checkpoint-seconds", "0"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            log(f"- N-GPU scaling: {n} ranks failed: {done.stderr.strip()[-800:]}", lines)
            return
        records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
        epoch = [r for r in records if r["kind"] == "epoch"][-1]
        rates[n] = epoch["pairs"] / epoch["seconds"]
    what = "GPUs (NCCL)" if device == "cuda" else "CPU ranks (gloo, dry run)"
    log(f"- N-rank scaling, {what}, batch {batch} per rank, one epoch; pairs/s and "
        "efficiency (rate / (N x one rank's)):", lines)  # fmt: skip
    for n, rate in rates.items():
        log(f"  - {n}: {rate / 1e6:.1f}M, {rate / (n * rates[1]):.2f}", lines)


def quality(dataset, data, work, lines, device: str, batch: int, epochs: int) -> None:
    from sgns.eval.scoring import evaluate_analogies, evaluate_similarity, load_vectors

    run = os.path.join(work, f"quality-{batch}")
    got = train(dataset, run, device, dim=HYPER["dim"], negatives=HYPER["negatives"],
                epochs=epochs, batch_size=batch)  # fmt: skip
    words, vectors = load_vectors(run)
    ws = evaluate_similarity(words, vectors, os.path.join(data, "wordsim353.tsv"))["spearman"]
    sl = evaluate_similarity(words, vectors, os.path.join(data, "simlex999.txt"))["spearman"]
    an = evaluate_analogies(words, vectors, os.path.join(data, "questions-words.txt"))
    ws, sl, an = (float("nan") if x is None else x for x in (ws, sl, an["accuracy"]))
    log(f"- quality, dev corpus, batch {batch}, {epochs} epochs: WS353 {ws:.4f}, "
        f"SimLex {sl:.4f}, analogy {100 * an:.2f}% at {got['pairs_s'] / 1e6:.1f}M "
        f"pairs/s (wall {got['wall']:.0f} s); CPU: {CPU_REFERENCE}", lines)  # fmt: skip


def report(lines: list[str], out: str, started: float, device: str) -> None:
    name = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    text = (
        f"\n### gpu-check on {name}, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n\n"
        f"Machine: {platform.node()}, torch {torch.__version__}, CUDA {torch.version.cuda}; "
        f"command: `make gpu-check` ({time.perf_counter() - started:.0f} s).\n\n"
        + "\n".join(lines) + "\n"
    )  # fmt: skip
    with open(out, "a", encoding="utf-8") as f:
        f.write(text)
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "gpu-check.md"), "w", encoding="utf-8") as f:
            f.write(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "gpu-check-data"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "gpu.md"))
    parser.add_argument("--work", default="/tmp/sgns-gpu-check")
    parser.add_argument("--quick", action="store_true", help="tests and sync check only")
    parser.add_argument(
        "--dry-run-on-cpu", action="store_true",
        help="the same checks on the CPU, smaller (to try the script where there is no GPU)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    device = "cpu" if args.dry_run_on_cpu else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("gpu-check: skipped: no CUDA device here (torch.cuda.is_available() is False)")
        return 0
    if not os.path.exists(os.path.join(args.data, "dev-corpus.txt.gz")):
        print(f"gpu-check: error: {args.data} lacks dev-corpus.txt.gz (make gpu-check-data)")
        return 2
    started, lines = time.perf_counter(), []
    os.makedirs(args.work, exist_ok=True)
    try:
        run_checks(args, device, lines)
    finally:  # what was measured is reported, also when a later check fails
        report(lines, args.out, started, device)
    return 0


def run_checks(args, device: str, lines: list[str]) -> None:
    sizes = [(dim, batch) for dim in (100, 300) for batch in (16384, 65536, 262144)]
    if device == "cuda":
        run_gpu_tests(lines)
    else:
        sizes = [(100, 65536)]
    one_pass = build_dataset(args.data, args.work, passes=1)
    if device == "cuda":
        sync_free_steps(one_pass, lines)
    if not args.quick:
        step_throughput(lines, device, sizes)
        trainer_throughput(one_pass, args.work, lines, device, sizes)
        scaling(one_pass, args.work, lines, device, 131072 if device == "cuda" else 32768)
        if device == "cuda":
            passes = build_dataset(args.data, args.work, HYPER["passes"])
            quality(passes, args.data, args.work, lines, device, 131072, HYPER["epochs"])
        else:
            quality(one_pass, args.data, args.work, lines, device, 131072, 1)


if __name__ == "__main__":
    sys.exit(main())

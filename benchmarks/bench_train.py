"""Benchmark sgns (sgns-preprocess + sgns-train) against gensim skip-gram on one corpus.

    python benchmarks/bench_train.py --corpus /work/shared/corpora/dev-corpus.txt.gz \\
        [--out benchmarks/log/train.md] [--systems native:pair,torch:pool,torch:pair]
        [--batch-size 4096[,16384]] [--threads 1,2] [--ranks 1] [--repeat 3]
        [--word2vec-c auto|PATH]
        [--variants '|--emulate-ranks 8|--emulate-ranks 8 --global-negatives']

In one run, with the same hyperparameters (dim 100, window 5, negative 5, sample 1e-3, min_count 5,
5 epochs), per round (seed --first-seed, the next, ..., --repeat rounds): gensim Word2Vec(sg=1,
workers=2), word2vec.c (with --word2vec-c), our preprocess, then one training per (engine:negative
mode, batch size, threads), each a subprocess so wall time and peak RSS are per system. The round's
seed seeds our preprocess too: gensim's seed draws its subsampling and windows, so ours are drawn
afresh each round as well (with one dataset for all rounds, its one draw moves every round's SimLex
alike, by up to ~0.007 here).
All vectors are scored the same way (gensim KeyedVectors: WordSim-353 and SimLex-999 Spearman,
Google analogies restricted to the 30000 most frequent words). Pairs/s: ours from metrics.jsonl
(pairs / summed epoch seconds); gensim's from its effective (post-subsampling) words times
(window + 1), the expected pairs per kept word with b ~ U[1, window], over its training time.
Wall s is end to end (ours: preprocess + train). The table of runs and a summary per system
(mean scores over seeds; median ratio of each run to its round's gensim run) are printed and
appended to --out.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import itertools
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from procstat import tree_rss_kib  # benchmarks/ is on sys.path when run as a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HYPER = {"dim": 100, "window": 5, "negative": 5, "sample": 1e-3, "min_count": 5, "epochs": 5}
GENSIM = """
import json, sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence

corpus, out, h = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.time()
model = Word2Vec(vector_size=h["dim"], window=h["window"], negative=h["negative"], sg=1,
                 sample=h["sample"], min_count=h["min_count"], workers=h["workers"], seed=h["seed"])
model.build_vocab(LineSentence(corpus))
trained = time.time()
effective, raw = model.train(LineSentence(corpus), total_examples=model.corpus_count,
                             epochs=h["epochs"])
done = time.time()
model.wv.save_word2vec_format(out)
print(json.dumps({"effective_words": effective, "raw_words": raw, "train_s": done - trained}))
"""


def flags(**options) -> list[str]:
    """Command-line options: flags(min_count=5) -> ["--min-count", "5"]."""
    return [a for k, v in options.items() for a in (f"--{k.replace('_', '-')}", str(v))]


def run_measured(cmd: list[str], env=None) -> tuple[float, int, str]:
    """Run a command; returns (wall seconds, peak RSS of its process tree in MiB, stdout)."""
    start = time.time()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.time() - start
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"bench_train: {' '.join(cmd[:4])} ... failed:\n{err[-3000:]}")
    return wall, peak[0] // 1024, out


def evaluate(path: str) -> tuple[float, float, float]:
    """WordSim-353 and SimLex-999 Spearman, analogy accuracy (restrict_vocab 30000)."""
    import logging

    import gensim
    from gensim.models import KeyedVectors

    logging.getLogger("gensim").setLevel(logging.ERROR)
    data = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data")
    kv = KeyedVectors.load_word2vec_format(path)
    ws = kv.evaluate_word_pairs(os.path.join(data, "wordsim353.tsv"))[1][0]
    sl = kv.evaluate_word_pairs(os.path.join(data, "simlex999.txt"))[1][0]
    analogy = kv.evaluate_word_analogies(
        os.path.join(data, "questions-words.txt"), restrict_vocab=30000
    )[0]
    return ws, sl, analogy


def bench_gensim(args, work: str, corpus_words: list, seed: int = 1) -> dict:
    out = os.path.join(work, f"gensim-{seed}.txt")
    h = {**HYPER, "workers": args.gensim_workers, "seed": seed}
    wall, rss, stdout = run_measured(
        [sys.executable, "-c", GENSIM, args.corpus, out, json.dumps(h)]
    )
    info = json.loads(stdout.strip().splitlines()[-1])
    corpus_words.append(info["raw_words"] / HYPER["epochs"])
    pairs = info["effective_words"] * (HYPER["window"] + 1)
    return {
        "system": f"gensim 4 sg workers={args.gensim_workers}",
        "seed": seed,
        "wall": wall,
        "words_s": info["raw_words"] / wall,
        "pairs_s": pairs / info["train_s"],
        "pairs": pairs,
        "rss": rss,
        "scores": evaluate(out),
    }


def bench_word2vec_c(args, work: str, gensim: dict, seed: int) -> dict:
    """word2vec.c's own skip-gram (the `word2vec` binary: `pip install --no-deps word2vec`
    compiles word2vec.c) with the same hyperparameters and threads as gensim's workers, on the
    corpus as plain text. It has no seed option (its generator starts at the thread's number);
    its pairs/s is gensim's pair estimate of the same round over word2vec.c's wall time (its
    vocabulary pass included), as it reports no count of its own."""
    text = os.path.join(work, "corpus.txt")
    if not os.path.exists(text):
        opener = gzip.open if args.corpus.endswith(".gz") else open
        with opener(args.corpus, "rb") as f, open(text + ".part", "wb") as g:
            shutil.copyfileobj(f, g)
        os.replace(text + ".part", text)
    out = os.path.join(work, f"word2vec-c-{seed}.txt")
    cmd = [args.word2vec_c, "-train", text, "-output", out, "-cbow", "0", "-hs", "0"]
    cmd += ["-size", str(HYPER["dim"]), "-window", str(HYPER["window"])]
    cmd += ["-negative", str(HYPER["negative"]), "-sample", str(HYPER["sample"])]
    cmd += ["-min-count", str(HYPER["min_count"]), "-iter", str(HYPER["epochs"])]
    cmd += ["-threads", str(args.gensim_workers), "-binary", "0"]
    wall, rss, _ = run_measured(cmd)
    return {
        "system": f"word2vec.c sg threads={args.gensim_workers}",
        "seed": seed,
        "wall": wall,
        "words_s": gensim["words_s"] * gensim["wall"] / wall,
        "pairs_s": gensim["pairs"] / wall,
        "rss": rss,
        "scores": evaluate(out),
    }


def bench_preprocess(args, work: str, seed: int) -> tuple[str, float, int]:
    data = os.path.join(work, f"data-seed{seed}")
    cmd = [
        sys.executable,
        "-m",
        "sgns.pipeline.preprocess",
        "--input",
        args.corpus,
        "--output",
        data,
    ]
    cmd += flags(
        min_count=HYPER["min_count"], sample=HYPER["sample"], window=HYPER["window"], seed=seed
    )
    cmd += shlex.split(args.preprocess_args)
    wall, rss, _ = run_measured(cmd)
    return data, wall, rss


def bench_sgns(
    args,
    data: str,
    prep_wall: float,
    prep_rss: int,
    system: str,
    batch: int,
    words: float,
    work: str,
    seed: int = 1,
    variant: str = "",
    threads: int = 2,
) -> dict:
    engine, mode = system.split(":")
    train_args = " ".join(a for a in (args.train_args, variant) if a)
    name = "".join(c if c.isalnum() else "-" for c in variant)
    run = os.path.join(work, f"run-{engine}-{mode}-{batch}{name}-t{threads}-seed{seed}")
    launch = [sys.executable, "-m", "sgns.train"]
    if args.ranks > 1:  # torchrun, gloo ranks of --threads threads each
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        launch += ["--nproc-per-node", str(args.ranks), "-m", "sgns.train"]
        run += f"-ranks{args.ranks}"
    cmd = [*launch, "--data", data, "--output", run]
    cmd += flags(
        dim=HYPER["dim"], negatives=HYPER["negative"], epochs=HYPER["epochs"], engine=engine,
        negative_mode=mode, batch_size=batch, device="cpu", threads=threads,
        checkpoint_interval=0, seed=seed,
    )  # fmt: skip
    cmd += shlex.split(train_args)
    wall, rss, _ = run_measured(cmd)
    epochs = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    epochs = [r for r in epochs if r["kind"] == "epoch"]
    pairs = sum(r["pairs"] for r in epochs)
    seconds = sum(r["seconds"] for r in epochs)
    total = prep_wall + wall
    return {
        "system": f"sgns {engine} {mode} batch={batch} threads={threads}"
        + (f" ranks={args.ranks}" if args.ranks > 1 else "")
        + (f" {train_args}" if train_args else ""),
        "seed": seed,
        "wall": total,
        "words_s": words * HYPER["epochs"] / total,
        "pairs_s": pairs / seconds,
        "rss": max(rss, prep_rss),
        "scores": evaluate(os.path.join(run, "vectors.txt")),
        "detail": f"preprocess {prep_wall:.0f} s + train {wall:.0f} s",
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| system | seed | wall s | words/s | pairs/s | peak RSS MiB | WS353 | SimLex | analogy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ws, sl, an = r["scores"]
        wall = f"{r['wall']:.0f}" + (f" ({r['detail']})" if "detail" in r else "")
        lines.append(
            f"| {r['system']} | {r['seed']} | {wall} | {r['words_s']:,.0f} | {r['pairs_s']:,.0f} | "
            f"{r['rss']:,} | {ws:.4f} | {sl:.4f} | {100 * an:.2f}% |"
        )
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    """Per system over the seeds: mean scores, and the median of each run's ratios to the
    gensim run of the same repetition (run just before it, so under the same machine load)."""
    gensim = {r["seed"]: r for r in rows if r["system"].startswith("gensim")}
    systems = list(dict.fromkeys(r["system"] for r in rows))
    lines = [
        "| system | runs | WS353 mean | SimLex mean | analogy mean | pairs/s / gensim's "
        "(median) | wall / gensim's (median) | vs the first sgns system: WS353, SimLex, "
        "analogy points |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    first = None
    for system in systems:
        mine = [r for r in rows if r["system"] == system]
        means = [statistics.fmean(r["scores"][i] for r in mine) for i in range(3)]
        speed = statistics.median(r["pairs_s"] / gensim[r["seed"]]["pairs_s"] for r in mine)
        wall = statistics.median(r["wall"] / gensim[r["seed"]]["wall"] for r in mine)
        versus = ""
        if system.startswith("sgns"):
            first = first or means
            versus = (
                f"{means[0] - first[0]:+.4f}, {means[1] - first[1]:+.4f}, "
                f"{100 * (means[2] - first[2]):+.2f}"
            )
        lines.append(
            f"| {system} | {len(mine)} | {means[0]:.4f} | {means[1]:.4f} | "
            f"{100 * means[2]:.2f}% | {speed:.2f} | {wall:.2f} | {versus} |"
        )
    return "\n".join(lines)


def scaling(rows: list[dict]) -> str:
    """Each sgns system's speed-up from its fewest threads to its most: the median over the
    rounds of the ratio of pairs/s (the runs of one round, one after another)."""
    lines = []
    runs: dict = {}
    for r in rows:
        if r["system"].startswith("sgns"):
            base, threads = re.subn(r" threads=(\d+)", "", r["system"])[0], r["system"]
            count = int(re.search(r" threads=(\d+)", threads).group(1))
            runs.setdefault(base, {}).setdefault(count, {})[r["seed"]] = r["pairs_s"]
    for base, by_threads in runs.items():
        if len(by_threads) < 2:
            continue
        low, high = min(by_threads), max(by_threads)
        seeds = sorted(set(by_threads[low]) & set(by_threads[high]))
        ratio = statistics.median(by_threads[high][s] / by_threads[low][s] for s in seeds)
        lines.append(f"- {base}: {high} threads / {low} thread(s), pairs/s: {ratio:.2f}x")
    return "\n\nThread scaling (median over rounds):\n\n" + "\n".join(lines) if lines else ""


def append_report(path: str, text: str, load: tuple) -> None:
    new = not os.path.exists(path)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    with open(path, "a", encoding="utf-8") as f:
        if new:
            f.write("# Run log: training\n")
        f.write(f"\n### sgns-train vs gensim, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n\n")
        f.write(
            f"Machine: {platform.node()}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}. Load average before/after: "
            f"{load[0]:.2f} / {load[1]:.2f} (other work shares these cores).\n\n"
        )
        command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
        f.write(f"Command: `{command}`\n\n{text}\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "train.md"))
    parser.add_argument(
        "--systems",
        default="native:pair,torch:pool,torch:pair",
        help="comma-separated sgns-train ENGINE:NEGATIVE_MODE to run",
    )
    parser.add_argument("--batch-size", default="4096", help="comma-separated batch sizes")
    parser.add_argument(
        "--threads",
        default="2",
        help="sgns-train --threads, comma-separated: each sgns system runs with each (e.g. 1,2: "
        "the summary then gives each system's speed-up from the fewest threads to the most)",
    )
    parser.add_argument(
        "--word2vec-c",
        default=None,
        help="word2vec.c's word2vec binary (PATH, or 'auto': found on PATH; `pip install "
        "--no-deps word2vec` builds it): run it each round beside gensim",
    )
    parser.add_argument("--gensim-workers", type=int, default=2)
    parser.add_argument(
        "--ranks", type=int, default=1, help="sgns-train processes under torchrun (gloo)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per system with seeds 1..N, gensim first in each round (scores vary by seed, "
        "speed with the machine's load: the summary compares each run with its round's gensim)",
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=1,
        help="the first round's seed: rounds use seeds S..S+N-1 (to add seeds to an earlier run)",
    )
    parser.add_argument("--train-args", default="", help="extra sgns-train options")
    parser.add_argument(
        "--variants",
        default="",
        help="'|'-separated extra sgns-train options, each run as its own system on the same "
        "data (e.g. '|--emulate-ranks 8|--emulate-ranks 8 --global-negatives')",
    )
    parser.add_argument("--preprocess-args", default="", help="extra sgns-preprocess options")
    parser.add_argument("--work", default=None, help="working folder (default: a temp folder)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    work = args.work or tempfile.mkdtemp(prefix="bench-train-")
    os.makedirs(work, exist_ok=True)
    words: list = []
    rows = []
    if args.word2vec_c == "auto":
        args.word2vec_c = shutil.which("word2vec") or sys.exit(
            "bench_train: no word2vec on PATH (pip install --no-deps word2vec builds it)"
        )
    for seed in range(args.first_seed, args.first_seed + args.repeat):
        rows.append(bench_gensim(args, work, words, seed))
        print(table(rows[-1:]), flush=True)
        if args.word2vec_c:
            rows.append(bench_word2vec_c(args, work, rows[-1], seed))
            print(table(rows[-1:]), flush=True)
        data, prep_wall, prep_rss = bench_preprocess(args, work, seed)
        for system in args.systems.split(","):
            for batch, threads in itertools.product(
                (int(b) for b in args.batch_size.split(",")),
                (int(t) for t in args.threads.split(",")),
            ):
                for variant in args.variants.split("|"):
                    rows.append(
                        bench_sgns(
                            args,
                            data,
                            prep_wall,
                            prep_rss,
                            system,
                            batch,
                            words[0],
                            work,
                            seed,
                            variant.strip(),
                            threads,
                        )  # fmt: skip
                    )
                    print(rows[-1]["system"], seed, rows[-1]["scores"], flush=True)
    text = table(rows) + "\n\n" + summary(rows) + scaling(rows)
    print(text)
    append_report(args.out, text, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()

"""Online training benchmark: corpus A, then an increment B with new words, versus A+B from scratch.

    python benchmarks/bench_online.py [--tokens 4000000] [--epochs 3] [--new-clusters 4]
        [--increment-lr 0.0125[,0.025,...]] [--replay 0[,0.25]] [--out benchmarks/log/online.md]

sgns-synth writes one corpus with planted clusters; its lines that hold a word of the last
--new-clusters clusters form B, the others A (so B's cluster words are new words, which A lacks).
Incremental: sgns-preprocess A, sgns-train A, sgns-preprocess --append B, sgns-train --resume
(once per --increment-lr x --replay). Scratch: sgns-preprocess A+B, sgns-train. Every model is
scored by cluster neighbour precision (sgns.eval.planted, k=10) on A's clusters and on B's; the
wall time of each training (and each preprocess) is reported. One table is printed and appended
to --out with the date, machine and command.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sgns.eval.planted import cluster_precision, load_truth  # noqa: E402
from sgns.eval.scoring import evaluate_analogy_set, unit_rows  # noqa: E402
from sgns.eval.sets import AnalogySet  # noqa: E402
from sgns.pipeline.preprocess import main as preprocess  # noqa: E402
from sgns.synth.cli import main as synth  # noqa: E402
from sgns.train.config import TrainConfig  # noqa: E402
from sgns.train.trainer import train  # noqa: E402
from sgns.vectors import read_vectors  # noqa: E402


def split_corpus(corpus: str, new_words: set[str], a_path: str, b_path: str) -> tuple[int, int]:
    """Write the lines of `corpus` without any of `new_words` to a_path, the others to b_path;
    returns the line counts."""
    opener = gzip.open if corpus.endswith(".gz") else open
    counts = [0, 0]
    with (
        opener(corpus, "rt", encoding="utf-8") as f,
        open(a_path, "w") as a,
        open(b_path, "w") as b,
    ):
        for line in f:
            is_b = not new_words.isdisjoint(line.split())
            (b if is_b else a).write(line)
            counts[is_b] += 1
    return counts[0], counts[1]


def make_split(work: str, tokens: int, seed: int, new_clusters: int):
    """The synthetic corpus split into A and B; returns (a, b, truth, old clusters, new ones)."""
    corpus = os.path.join(work, "corpus.txt")
    assert synth(["--output", corpus, "--tokens", str(tokens), "--seed", str(seed)]) == 0
    truth = load_truth(corpus + ".truth.json")
    old, new = truth["clusters"][:-new_clusters], truth["clusters"][-new_clusters:]
    a, b = os.path.join(work, "a.txt"), os.path.join(work, "b.txt")
    split_corpus(corpus, {w for c in new for w in c}, a, b)
    return a, b, truth, old, new


def score(run: str, truth: dict, old: list, new: list, before: str | None = None) -> tuple:
    """Cluster precision (k=10) on the old clusters and on the new ones, planted-analogy accuracy
    on questions of old-cluster words only, and (given the run `before` the increment) the mean
    cosine between each old word's vector before and after (1.0: unchanged)."""
    words, vectors = read_vectors(os.path.join(run, "vectors.txt"))
    old_words = {w for c in old for w in c}
    questions = AnalogySet(sections=list(truth["analogies"]))
    for section, items in truth["analogies"].items():
        questions.questions += [(section, *q) for q in items if old_words.issuperset(q)]
    analogy = evaluate_analogy_set(words, vectors, questions, 30000)["accuracy"]
    kept = float("nan")
    if before:
        old_list, old_vectors = read_vectors(os.path.join(before, "vectors.txt"))
        unit_new, unit_old = unit_rows(vectors[: len(old_list)]), unit_rows(old_vectors)
        kept = float((unit_new * unit_old).sum(1).mean())
    return (
        cluster_precision(words, vectors, old)["cluster_precision"],
        cluster_precision(words, vectors, new)["cluster_precision"] or 0.0,
        analogy,
        kept,
    )


def timed(fn, *args, **kw) -> float:
    start = time.time()
    fn(*args, **kw)
    return time.time() - start


def run_benchmark(args) -> list[tuple]:
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix="bench-online-", dir=args.work)  # fresh each run
    a, b, truth, old, new = make_split(work, args.tokens, args.seed, args.new_clusters)
    data, full = os.path.join(work, "data"), os.path.join(work, "full")
    base = dict(epochs=args.epochs, threads=args.threads, device="cpu", seed=args.seed)
    rows = []
    pre_a = timed(preprocess, ["--input", a, "--output", data])
    run_a = os.path.join(work, "run-a")
    t_a = timed(train, TrainConfig(data=data, output=run_a, **base))
    rows.append(
        ("A only", "-", "-", *score(run_a, truth, old, new), f"{t_a:.0f} (pre {pre_a:.0f})")
    )
    pre_b = timed(preprocess, ["--input", b, "--output", data, "--append"])
    for lr in args.increment_lr:
        for replay in args.replay:
            run = os.path.join(work, f"run-inc-{lr}-{replay}")
            shutil.copytree(run_a, run)
            config = TrainConfig(
                data=data, output=run, resume=True, increment_lr=lr, replay=replay, **base
            )
            seconds = timed(train, config)
            note = f"{seconds:.0f} (+ A {t_a:.0f}; pre B {pre_b:.0f})"
            rows.append(
                (
                    "A, then +B",
                    config.increment_lr,
                    replay,
                    *score(run, truth, old, new, run_a),
                    note,
                )
            )
    pre_full = timed(preprocess, ["--input", f"{a},{b}", "--output", full])
    run_full = os.path.join(work, "run-full")
    t_full = timed(train, TrainConfig(data=full, output=run_full, **base))
    rows.append(
        (
            "A+B scratch",
            "-",
            "-",
            *score(run_full, truth, old, new),
            f"{t_full:.0f} (pre {pre_full:.0f})",
        )
    )
    return rows


def table(rows: list[tuple]) -> str:
    lines = [
        "| model | increment lr | replay | precision A clusters | precision B clusters "
        "| analogy A | A vectors kept (cos) | train s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, lr, replay, pa, pb, analogy, kept, seconds in rows:
        lines.append(
            f"| {name} | {lr} | {replay} | {pa:.3f} | {pb:.3f} | {analogy:.1%} | {kept:.3f} "
            f"| {seconds} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=int, default=4_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--new-clusters", type=int, default=4)
    p.add_argument("--increment-lr", default="0", help="comma-separated; 0: the default")
    p.add_argument("--replay", default="0")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", help="where to make the working directory (default: the temp dir)")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "online.md"))
    args = p.parse_args()
    args.increment_lr = [float(x) for x in args.increment_lr.split(",")]
    args.replay = [float(x) for x in args.replay.split(",")]
    start, load_before = time.time(), os.getloadavg()[0]
    rows = run_benchmark(args)
    text = table(rows)
    print(text)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/bench_online.py " + shlex.join(sys.argv[1:])
    section = (
        f"\n### Online training (A, then increment B) vs from scratch, {now}\n\n"
        f"Machine: {platform.node() or 'unknown'}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Total {time.time() - start:.0f} s. Load average "
        f"before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}.\n\n"
        f"Command: `{command.strip()}`\n\n"
        f"Synthetic corpus (sgns-synth, {args.tokens} tokens, seed {args.seed}); B = its lines "
        f"holding a word of the last {args.new_clusters} clusters, A = the rest. Precision: "
        "cluster neighbour precision, k=10 (chance ~ cluster size / vocabulary). "
        f"{args.epochs} epochs for A, for the increment, and for A+B.\n\n{text}\n"
    )
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(section)


if __name__ == "__main__":
    main()

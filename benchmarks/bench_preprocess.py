"""Benchmark sgns-preprocess against gensim's vocabulary scan, at two corpus sizes.

    python benchmarks/bench_preprocess.py --corpus /work/shared/corpora/dev-corpus.txt.gz \\
        --repeat 8 [--out benchmarks/log/preprocess.md]
        [--pipeline-args "--direct_running_mode=in_memory"]

The corpus is decompressed and repeated into a plain text file in a temporary folder: `--repeat`
copies (the big size) and half as many (the small size, for the memory claim). On each file, in
the same run: gensim `Word2Vec(...).build_vocab(corpus_file=...)` and `build_vocab(LineSentence)`
(both in a subprocess; the faster is the reference), then the whole pipeline (vocabulary + pairs
+ shards + manifest) as a subprocess. Peak RSS: the largest process (wait4) and the sampled sum
over the whole process tree (Beam worker processes included). Then the fixed cost: the whole
pipeline on the first --small-lines lines of the corpus against a minimal Beam pipeline (import,
one Create -> FlatMap -> Count.PerElement run) on the same runner (the pipeline's local runner,
2 threads), --small-runs of each taking turns, medians. The tables are printed and appended,
with the date, the machine, its load and this command, to --out.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from procstat import tree_rss_kib  # benchmarks/ is on sys.path when run as a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENSIM = """
import sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence

model = Word2Vec(vector_size=100, min_count=5, workers=1)
if sys.argv[2] == "corpus_file":
    model.build_vocab(corpus_file=sys.argv[1])
else:
    model.build_vocab(LineSentence(sys.argv[1]))
print(model.corpus_total_words)
"""
MINIMAL_BEAM = """
import sys
import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

options = PipelineOptions(runner="sgns.pipeline.localrunner.LocalRunner", direct_num_workers=2,
                          direct_running_mode="multi_threading")
with open(sys.argv[1]) as f:
    lines = f.read().splitlines()
with beam.Pipeline(options=options) as p:
    _ = p | beam.Create(lines) | beam.FlatMap(str.split) | beam.combiners.Count.PerElement()
"""


def measure(command: list[str]) -> dict:
    """Run a command: wall seconds, peak RSS of its largest process (wait4, which covers waited-for
    descendants one at a time) and the sampled peak of its whole process tree's summed RSS."""
    peak = [0]
    done = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)

        def sample():
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss_kib(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        sys.exit(f"failed ({process.returncode}): {shlex.join(command)}\n{stderr[-3000:]}")
    return {
        "wall": wall,
        "stdout": stdout,
        "stderr": stderr,
        "tree_peak_kib": peak[0],
        "max_kib": usage.ru_maxrss,
    }


def build_corpus(source: str, repeat: int, path: str) -> None:
    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        data += b"\n"
    with open(path, "wb") as f:
        for _ in range(repeat):
            f.write(data)


def run_size(path: str, work: str, pipeline_args: list[str]) -> list[dict]:
    rows = []
    for mode in ("corpus_file", "LineSentence"):
        result = measure([sys.executable, "-c", GENSIM, path, mode])
        tokens = int(result["stdout"].split()[-1])
        rows.append({"system": f"gensim build_vocab ({mode})", "tokens": tokens, **result})
    output = os.path.join(work, "dataset")
    command = [
        sys.executable,
        "-m",
        "sgns.pipeline.preprocess",
        "--input",
        path,
        "--output",
        output,
    ]
    result = measure(command + ["--overwrite"] + pipeline_args)
    with open(os.path.join(output, "manifest.json")) as f:
        stats = json.load(f)["stats"]
    rows.append({"system": "sgns-preprocess (all stages)", "tokens": stats["tokens"], **result})
    rows[-1]["pairs"] = stats["pairs"]
    # the comparable part: the pipeline's own log gives the wall time of its vocabulary run
    found = re.search(r"vocabulary run: ([0-9.]+) s", result["stderr"])
    if found:
        vocab_only = dict(result, wall=float(found.group(1)), tree_peak_kib=0, max_kib=0)
        rows.append(
            {**vocab_only, "system": "  of which: vocabulary run", "tokens": stats["tokens"]}
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| system | tokens | wall s | tokens/s | ratio to gensim | peak RSS: largest process"
        " | peak RSS: process tree (sampled) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        memory = (
            f"{row['max_kib'] / 1024:.0f} MiB | {row['tree_peak_kib'] / 1024:.0f} MiB"
            if row["max_kib"]
            else "(same run) | (same run)"
        )
        lines.append(
            f"| {row['system']} | {row['tokens']:,} | {row['wall']:.1f} | "
            f"{row['tokens'] / row['wall'] / 1e6:.2f}M | {row['ratio']:.2f} | "
            f"{memory} |"
        )
    return "\n".join(lines)


def fixed_cost(source: str, lines: int, runs: int, work: str, pipeline_args: list[str]) -> str:
    """The small corpus's table: the pipeline against the minimal Beam pipeline, medians."""
    path = os.path.join(work, f"corpus-{lines}-lines.txt")
    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rt", encoding="utf-8") as f, open(path, "w", encoding="utf-8") as out:
        for _, line in zip(range(lines), f):
            out.write(line)
    output = os.path.join(work, "small")
    ours = [sys.executable, "-m", "sgns.pipeline.preprocess", "--input", path, "--output", output,
            "--overwrite", *pipeline_args]  # fmt: skip
    results: dict[str, list[dict]] = {"minimal Beam pipeline": [], "sgns-preprocess": []}
    for _ in range(runs):  # taking turns, so that the machine's drift falls on both alike
        results["minimal Beam pipeline"].append(measure([sys.executable, "-c", MINIMAL_BEAM, path]))
        results["sgns-preprocess"].append(measure(ours))
    median = {k: sorted(r["wall"] for r in v)[len(v) // 2] for k, v in results.items()}
    rows = ["| system | wall s (median) | runs | ratio to minimal | peak RSS: process tree |",
            "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, runs_of in results.items():
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs_of)
        peak = max(r["tree_peak_kib"] for r in runs_of) / 1024
        ratio = median[name] / median["minimal Beam pipeline"]
        rows.append(f"| {name} | {median[name]:.2f} | {walls} | {ratio:.2f} | {peak:.0f} MiB |")
    return "\n".join(rows)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"nproc {os.cpu_count()}, {model}"


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="text corpus (.gz allowed) to repeat")
    parser.add_argument("--repeat", type=int, default=8, help="copies in the big corpus")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "preprocess.md"))
    parser.add_argument("--pipeline-args", default="", help="extra sgns-preprocess arguments")
    parser.add_argument("--work", default=None, help="temp folder (default: a new one in /tmp)")
    parser.add_argument("--small-lines", type=int, default=1000, help="0: no fixed-cost table")
    parser.add_argument("--small-runs", type=int, default=5)
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-preprocess-", dir=args.work)
    loads = [load()]
    rows = []
    try:
        for repeat in sorted({max(args.repeat // 2, 1), args.repeat}):
            path = os.path.join(work, f"corpus-x{repeat}.txt")
            build_corpus(args.corpus, repeat, path)
            size_rows = run_size(path, work, shlex.split(args.pipeline_args))
            reference = min(r["wall"] / r["tokens"] for r in size_rows[:2])
            for row in size_rows:
                row["ratio"] = reference / (row["wall"] / row["tokens"])
            rows += size_rows
            os.unlink(path)
            loads.append(load())
        small = ""
        if args.small_lines:
            small = fixed_cost(args.corpus, args.small_lines, args.small_runs, work,
                               shlex.split(args.pipeline_args))  # fmt: skip
            loads.append(load())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(rows)
    print(text)
    print(small)
    command = shlex.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    if not os.path.exists(args.out):
        with open(args.out, "w") as f:
            f.write("# Run log: preprocessing\n")
    with open(args.out, "a") as f:
        f.write(
            f"\n### sgns-preprocess vs gensim vocabulary scan, "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {machine()}. Command: `{command}`\n\n"
            "Load (uptime) before and after each size: "
            + "; ".join(f"`{x}`" for x in loads)
            + "\n\n"
            + text
            + "\n\nratio = gensim's (faster of the two) seconds per token / this row's; > 1 is "
            "faster than gensim. 'of which: vocabulary run' is the wall time of the pipeline's "
            "first run (read + count + vocab.tsv), from its log, inside the row above it. "
            "sgns-preprocess also writes every pair "
            + ", ".join(f"({r['pairs']:,} pairs)" for r in rows if "pairs" in r)
            + ".\n"
        )
        if small:
            f.write(
                f"\nFixed cost: the first {args.small_lines} lines of the corpus, "
                f"{args.small_runs} runs of each taking turns (wall s of each run listed):\n\n"
                + small
                + "\n"
            )


if __name__ == "__main__":
    main()

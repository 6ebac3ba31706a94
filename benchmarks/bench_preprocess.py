"""Benchmark sgns-preprocess against gensim's vocabulary scan, at two corpus sizes.

    python benchmarks/bench_preprocess.py --corpus /work/shared/corpora/dev-corpus.txt.gz \\
        --repeat 8 [--out BENCHMARKS.md] [--pipeline-args "--direct_running_mode=in_memory"]

The corpus is decompressed and repeated into a plain text file in a temporary folder: `--repeat`
copies (the big size) and half as many (the small size, for the memory claim). On each file, in
the same run: gensim `Word2Vec(...).build_vocab(corpus_file=...)` and `build_vocab(LineSentence)`
(both in a subprocess; the faster is the reference), then the whole pipeline (vocabulary + pairs
+ shards + manifest) as a subprocess. Peak RSS: the largest process (wait4) and the sampled sum
over the whole process tree (Beam worker processes included). One table is printed and appended,
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
    command = [sys.executable, "-m", "pipeline.preprocess", "--input", path, "--output", output]
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
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument("--pipeline-args", default="", help="extra sgns-preprocess arguments")
    parser.add_argument("--work", default=None, help="temp folder (default: a new one in /tmp)")
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(rows)
    print(text)
    command = shlex.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    if not os.path.exists(args.out):
        with open(args.out, "w") as f:
            f.write("# Benchmarks\n")
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


if __name__ == "__main__":
    main()

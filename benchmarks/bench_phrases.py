"""Benchmark `sgns-preprocess --phrases`: agreement with word2phrase, cost, and quality.

    python benchmarks/bench_phrases.py --corpus ../shared/corpora/dev-corpus.txt.gz \\
        [--parts agreement,timing,quality,gensim] [--threshold 100] [--min-count 5] [--scorer npmi]
        [--phrase-args '--phrase-connectors english'] [--rounds 0,1,2]
        [--word2phrase PATH] [--repeat 8] [--seeds 1,2,3] [--out benchmarks/log/phrases.md]

--threshold and --min-count are word2phrase's (its score: agreement and timing compare with
word2phrase and gensim's Phrases); quality runs sgns-preprocess's own defaults (gensim's npmi
above 0.6) and says the settings each dataset's manifest records. --phrase-args: more
sgns-preprocess options for every run with phrases (timing and quality, e.g. `--phrase-scorer
word2phrase`); --rounds: the --phrases values timing and quality run.

gensim (not run by default): what phrases cost gensim itself, its Phrases (--scorer,
  --threshold, --min-count) for each of --rounds and then its Word2Vec, per seed.
agreement: word2vec.c's own word2phrase (`pip install word2vec` compiles it; found on PATH or by
  --word2phrase) runs one round on the decompressed corpus with --threshold and --min-count, and
  so does ours (sgns.pipeline.phrases.blocks.detect_rounds, whose table the Beam run writes byte
  for byte: tests/test_pipeline_phrases.py). word2phrase writes phrased text, not a table, so its
  phrases are the pairs it joined at least once (its output aligned with its input line by line);
  ours are compared both as our table and as the pairs we join in the same text. Jaccard of the
  sets, and every pair on one side only classified by why: word2phrase's pair count crosses line
  ends (its LearnVocabFromTrainFile resets `start` before testing it), its float32 score lands on
  the other side of the threshold, or the pair is in a table but greedy joining never uses it.
timing: the corpus repeated --repeat times (>= 20M tokens at 8 copies of the dev corpus), in one
  run: gensim's vocabulary scan (Word2Vec.build_vocab(LineSentence)), gensim's Phrases with one
  and two rounds (the same min_count, threshold and score: --scorer, word2phrase's by default,
  or npmi, gensim's and ours), and sgns-preprocess with --phrases 0, 1 and 2 and that score
  (wall time of the whole command and of its phrase rounds, from its log), each a subprocess;
  ratios to gensim's scan and to gensim's Phrases.
quality: for each seed and --phrases 0, 1 and 2: benchmarks/bench_train.py's preprocess
  (--passes 5) and training (native engine, 2 threads) and its scores (WordSim-353, SimLex-999,
  analogies: gensim's evaluation skips the pairs and questions whose words are not in the
  vocabulary, as a vocabulary with phrases is scored there), and the nearest neighbours of the
  most frequent phrases and of a few named ones (NAMED). Each part prints its tables and
  appends them, with the date, the machine, the load and the command, to --out (BENCHMARKS.md
  quotes them).
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
from collections import Counter

import numpy as np
from bench_preprocess import build_corpus, machine, measure  # benchmarks/ is on sys.path
from bench_train import HYPER, bench_preprocess, bench_sgns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SAID = ("phrase_scorer", "phrase_threshold", "phrase_min_count", "phrase_connectors")
# phrases whose neighbours are shown when found, beside the six most frequent
NAMED = ("new_york", "los_angeles", "world_war_ii", "computer_science", "roman_catholic_church",
         "greek_mythology", "bank_of_america")  # fmt: skip
GENSIM_SCAN = """
import sys
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
model = Word2Vec(vector_size=100, min_count=5, workers=1)
model.build_vocab(LineSentence(sys.argv[1]))
print(model.corpus_total_words)
"""
GENSIM_PHRASES = """
import sys
from gensim.models.phrases import Phrases
from gensim.models.word2vec import LineSentence
path, rounds, min_count, threshold = sys.argv[1], *map(int, sys.argv[2:4]), float(sys.argv[4])
scoring = {"word2phrase": "default", "npmi": "npmi"}[sys.argv[5]]
sentences = LineSentence(path)
for _ in range(rounds):  # each round learns on the text the rounds before it phrased (streamed)
    found = Phrases(sentences, min_count=min_count, threshold=threshold, scoring=scoring)
    sentences = found.freeze()[sentences]
print(sum(len(s) for s in sentences))  # and the phrased text read once, as a trainer would
if len(sys.argv) > 6:  # and written out, a sentence a line (the gensim part's training text)
    with open(sys.argv[6], "w", encoding="utf-8") as out:
        out.writelines(" ".join(s) + "\\n" for s in sentences)
"""


def word2phrase_tokens(line: bytes) -> list[str]:
    """A line's words as word2phrase's ReadWord reads them: split at space and tab, CR dropped,
    each cut to MAX_STRING - 1 = 59 bytes."""
    words = line.replace(b"\r", b"").replace(b"\t", b" ").split(b" ")
    return [w[:59].decode("utf-8", "replace") for w in words if w]


def joined_pairs(inputs: list[list[str]], outputs: list[list[str]]) -> tuple[Counter, int]:
    """The pairs an output joined (a_b for a b) in the aligned lines, how often; lines that do
    not align (a word cut at 59 bytes in a joined pair, say) are counted and skipped."""
    found: Counter = Counter()
    unaligned = 0
    for words, out in zip(inputs, outputs):
        i, pairs = 0, []
        for token in out:
            if i < len(words) and token == words[i]:
                i += 1
            elif i + 1 < len(words) and token == words[i] + "_" + words[i + 1]:
                pairs.append((words[i], words[i + 1]))
                i += 2
            else:
                break
        if i != len(words):
            unaligned += 1
            continue
        found.update(pairs)
    return found, unaligned


def agreement(args, work: str) -> str:
    """Part (a): the table of set sizes and Jaccard indices, and why the sets differ."""
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.phrases.blocks import detect_rounds
    from sgns.pipeline.phrases.counts import scores
    from sgns.pipeline.phrases.table import Phrases
    from sgns.pipeline.text.blocks import Source, read_blocks

    binary = args.word2phrase or shutil.which("word2phrase")
    if not binary:
        sys.exit("no word2phrase: `pip install word2vec` builds it (or pass --word2phrase PATH)")
    text = os.path.join(work, "in.txt")  # word2phrase keeps at most 59 bytes of a file name
    build_corpus(args.corpus, 1, text)
    phrased = os.path.join(work, "out.txt")
    run = measure([binary, "-train", text, "-output", phrased, "-threshold", str(args.threshold),
                   "-min-count", str(args.min_count), "-debug", "0"])  # fmt: skip
    with open(text, "rb") as f:
        inputs = [word2phrase_tokens(line) for line in f.read().split(b"\n")[:-1]]
    with open(phrased, "rb") as f:
        outputs = [line.decode("utf-8", "replace").split() for line in f.read().split(b"\n")]
    theirs, unaligned = joined_pairs(inputs, outputs)
    config = PipelineConfig(
        (text,), work, phrases=1, phrase_scorer="word2phrase", phrase_threshold=args.threshold,
        phrase_min_count=args.min_count,
    )  # fmt: skip
    with open(text, "rb") as f:
        blocks = list(read_blocks(f, Source(0, text), config.block_bytes, 10000))
    rows, _ = detect_rounds(config, blocks)
    table = {(r.left, r.right) for r in rows}
    ours, _ = joined_pairs(inputs, [Phrases(rows).apply(words) for words in inputs])
    joined = set(ours)
    # word2phrase's counts: ours plus the pairs across line ends (last word, next line's first)
    unigrams = Counter(w for words in inputs for w in words)
    within = Counter(p for words in inputs for p in zip(words, words[1:]))
    lasts = [words[-1] for words in inputs if words]
    across = Counter(zip(lasts, [words[0] for words in inputs if words][1:]))
    total = sum(unigrams.values())

    def why(pair) -> str:
        a, b = unigrams[pair[0]], unigrams[pair[1]]
        counts = {
            name: within[pair] + extra for name, extra in (("ours", 0), ("w2p", across[pair]))
        }
        ok = {}
        for name, count in counts.items():
            score = float(scores([count], [a], [b], total, args.min_count, "word2phrase")[0])
            f32 = (np.float32(count - args.min_count) / np.float32(a) / np.float32(b)
                   * np.float32(total))  # fmt: skip
            ok[name] = (score > args.threshold, bool(f32 > np.float32(args.threshold)))
            ok[name] = ok[name] if count >= args.min_count else (False, False)
        if counts["ours"] != counts["w2p"] and ok["ours"][0] != ok["w2p"][1]:
            return "line ends"
        if ok["ours"][0] != ok["ours"][1]:
            return "float32 score"
        if pair in table:
            return "in our table, never joined"
        return "scored alike, a neighbouring pair took a word"

    only_theirs, only_ours = set(theirs) - joined, joined - set(theirs)
    reasons = {side: Counter(map(why, pairs)) for side, pairs in
               (("word2phrase only", only_theirs), ("ours only", only_ours))}  # fmt: skip

    def jaccard(x: set, y: set) -> str:
        return f"{len(x & y) / max(len(x | y), 1):.4f}"

    lines = [
        f"Corpus: {args.corpus} ({total:,} tokens, {len(inputs):,} lines; {unaligned} lines "
        f"word2phrase's output did not align with, skipped); threshold {args.threshold:g}, "
        f"min_count {args.min_count}, one round; word2phrase {run['wall']:.1f} s.",
        "",
        "| set | phrases | Jaccard with word2phrase's | in both |",
        "|---|---:|---:|---:|",
        f"| word2phrase: pairs it joined | {len(theirs):,} | 1 | {len(theirs):,} |",
        f"| sgns: pairs it joined | {len(joined):,} | {jaccard(joined, set(theirs))} | "
        f"{len(joined & set(theirs)):,} |",
        f"| sgns: its table (phrases.tsv) | {len(table):,} | {jaccard(table, set(theirs))} | "
        f"{len(table & set(theirs)):,} |",
        "",
        "Pairs on one side only, by why: "
        + "; ".join(
            f"{side}: " + (", ".join(f"{k} {v}" for k, v in c.most_common()) or "none")
            for side, c in reasons.items()
        ),  # fmt: skip
        "",
        "Examples (word2phrase only): "
        + (", ".join("_".join(p) for p in sorted(only_theirs)[:8]) or "none"),
        "Examples (ours only): "
        + (", ".join("_".join(p) for p in sorted(only_ours)[:8]) or "none"),
    ]
    return "\n".join(lines)


def timing(args, work: str) -> str:
    """Part (b): gensim's scan and Phrases against the pipeline with each of --rounds."""
    path = os.path.join(work, f"corpus-x{args.repeat}.txt")
    build_corpus(args.corpus, args.repeat, path)
    scan = measure([sys.executable, "-c", GENSIM_SCAN, path])
    rows = [("gensim build_vocab (LineSentence)", 0, scan)]
    for rounds in (1, 2):
        command = [sys.executable, "-c", GENSIM_PHRASES, path, str(rounds), str(args.min_count),
                   str(args.threshold), args.scorer]  # fmt: skip
        rows.append((f"gensim Phrases, {rounds} round(s)", rounds, measure(command)))
    gensim = {rounds: r["wall"] for _, rounds, r in rows[1:]}
    for rounds in args.rounds:
        command = [sys.executable, "-m", "sgns.pipeline.preprocess", "--input", path, "--output",
                   os.path.join(work, f"data-{rounds}"), "--phrases", str(rounds),
                   "--phrase-scorer", args.scorer, "--phrase-threshold", f"{args.threshold:g}",
                   "--phrase-min-count", str(args.min_count),
                   *(shlex.split(args.phrase_args) if rounds else [])]  # fmt: skip
        result = measure(command)
        said = re.findall(r"phrase round \d+: .*, ([0-9.]+) s", result["stderr"])
        result["rounds_s"] = sum(float(s) for s in said)
        rows.append((f"sgns-preprocess --phrases {rounds}", rounds, result))
    table = ["| system | wall s | of which phrase rounds | / gensim scan | / gensim Phrases, "
             "same rounds | peak RSS: process tree |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, rounds, r in rows:
        of_which = f"{r['rounds_s']:.1f}" if "rounds_s" in r else ""
        versus = f"{r['wall'] / gensim[rounds]:.2f}" if rounds in gensim else ""
        table.append(f"| {name} | {r['wall']:.1f} | {of_which} | {r['wall'] / scan['wall']:.2f} | "
                     f"{versus} | {r['tree_peak_kib'] / 1024:.0f} MiB |")  # fmt: skip
    tokens = int(scan["stdout"].split()[-1])
    return f"Corpus: {args.corpus} x {args.repeat} ({tokens:,} tokens).\n\n" + "\n".join(table)


def means_table(first: str, rows: list, rounds_list: list) -> list[str]:
    """Markdown rows: the seeds' mean scores per number of rounds, and each seed's scores;
    `rows`: (rounds, seed, (WordSim, SimLex, analogy))."""
    table = [f"| {first} | seeds | WS353 mean | SimLex mean | analogy mean | per seed |",
             "|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for rounds in rounds_list:
        mine = [s for r, _, s in rows if r == rounds]
        means = [statistics.fmean(s[i] for s in mine) for i in range(3)]
        seeds = ", ".join(f"{a:.4f}/{b:.4f}/{100 * c:.2f}" for a, b, c in mine)
        table.append(f"| {rounds} | {len(mine)} | {means[0]:.4f} | {means[1]:.4f} | "
                     f"{100 * means[2]:.2f}% | {seeds} |")  # fmt: skip
    return table


def quality(args, work: str) -> str:
    """Part (c): scores with each of --rounds per seed (bench_train's machinery)."""
    from gensim.models import KeyedVectors

    from sgns import dataset

    options = argparse.Namespace(corpus=args.corpus, train_args="", ranks=1, threads=2)
    rows, neighbours, settings = [], [], {}
    for seed in args.seeds:
        for rounds in args.rounds:
            flags = ["--passes", str(HYPER["epochs"]), "--phrases", str(rounds)]
            options.preprocess_args = shlex.join(flags) + (f" {args.phrase_args}" if rounds else "")
            name = os.path.join(work, f"r{rounds}")
            os.makedirs(name, exist_ok=True)
            data, prep_wall, prep_rss = bench_preprocess(options, name, seed)
            manifest = dataset.read_manifest(data)
            words, config = manifest["stats"]["tokens"], manifest["config"]
            if rounds and "phrases" in manifest:  # what ran, as the dataset says
                found = manifest["phrases"]["phrases"]
                said = ", ".join(f"{k} {config[k]}" for k in SAID)
                settings[rounds] = f"`--phrases {rounds}`: {found:,} phrases, {said}"
            row = bench_sgns(options, data, prep_wall, prep_rss, "native:pair", 4096, words, name,
                             seed)  # fmt: skip
            rows.append((rounds, seed, row["scores"]))
            print(rounds, seed, row["scores"], flush=True)
            if rounds and seed == args.seeds[0]:
                (run,) = glob.glob(os.path.join(name, f"run-native-pair-4096*-seed{seed}"))
                kv = KeyedVectors.load_word2vec_format(os.path.join(run, "vectors.txt"))
                with open(os.path.join(data, "phrases.tsv"), encoding="utf-8") as f:
                    table = sorted((line.split("\t") for line in f), key=lambda r: -int(r[4]))
                frequent = [r[0] for r in table if r[0] in kv][:6]
                for phrase in frequent + [p for p in NAMED if p in kv and p not in frequent]:
                    near = ", ".join(w for w, _ in kv.most_similar(phrase, topn=5))
                    neighbours.append(f"- `--phrases {rounds}`, **{phrase}**: {near}")
    table = means_table("--phrases", rows, args.rounds)
    said = "Phrase settings (the last seed's manifest): " + "; ".join(settings.values())
    return "\n".join(table + ["", said, "", "Nearest neighbours (first seed):", "", *neighbours])


def gensim_quality(args, work: str) -> str:
    """Part (d): what phrases cost gensim itself: its Phrases (--scorer, --threshold,
    --min-count) for each of --rounds, then its Word2Vec at the benchmark's settings, per seed."""
    from bench_train import bench_gensim

    options = argparse.Namespace(gensim_workers=2, corpus=None)
    rows = []
    for seed in args.seeds:
        for rounds in args.rounds:
            phrased = os.path.join(work, f"gensim-phrased-{rounds}.txt")
            if not os.path.exists(phrased):
                settings = [str(rounds), str(args.min_count), str(args.threshold), args.scorer]
                measure([sys.executable, "-c", GENSIM_PHRASES, args.corpus, *settings, phrased])
            options.corpus = phrased
            rows.append((rounds, seed, bench_gensim(options, work, [], seed)["scores"]))
            print("gensim", rounds, seed, rows[-1][2], flush=True)
    table = means_table("gensim Phrases rounds", rows, args.rounds)
    said = f"gensim Phrases: scoring {args.scorer}, threshold {args.threshold:g}, min_count "
    return "\n".join(table + ["", said + f"{args.min_count}; Word2Vec: {HYPER}, 2 workers."])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--parts", default="agreement,timing,quality")
    parser.add_argument("--threshold", type=float, default=100.0)
    parser.add_argument(
        "--scorer", choices=("word2phrase", "npmi"), default="word2phrase",
        help="timing's score, for gensim's Phrases and ours alike (npmi: pass --threshold 0.6)",
    )  # fmt: skip
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--phrase-args", default="", help="more sgns-preprocess options, "
                        "for the runs with phrases")  # fmt: skip
    parser.add_argument("--rounds", default="0,1,2", help="timing, quality: --phrases values")
    parser.add_argument("--word2phrase", default=None, help="the binary (default: on PATH)")
    parser.add_argument("--repeat", type=int, default=8, help="timing: copies of the corpus")
    parser.add_argument("--seeds", default="1,2,3", help="quality: training seeds")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "log", "phrases.md"))
    parser.add_argument("--work", default=None, help="temp folder (default: a new one in /tmp)")
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.rounds = [int(r) for r in args.rounds.split(",")]
    parts = {"agreement": agreement, "timing": timing, "quality": quality,
             "gensim": gensim_quality}  # fmt: skip
    work = tempfile.mkdtemp(prefix="w2p-", dir=args.work)  # short: word2phrase's path limit
    sections = []
    try:
        for part in args.parts.split(","):
            load = os.getloadavg()
            text = parts[part](args, work)
            print(text, flush=True)
            sections.append((part, text, load, os.getloadavg()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = shlex.join(["python", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    new = not os.path.exists(args.out)
    with open(args.out, "a", encoding="utf-8") as f:
        if new:
            f.write("# Run log: phrases\n\nAppended by `benchmarks/bench_phrases.py`.\n")
        for part, text, before, after in sections:
            f.write(f"\n### Phrases, {part}, "
                    f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
                    f"Machine: {machine()}. Load average before/after: {before[0]:.2f} / "
                    f"{after[0]:.2f}. Command: `{command}`\n\n{text}\n")  # fmt: skip


if __name__ == "__main__":
    main()

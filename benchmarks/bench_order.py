"""Does the order of the pairs explain the quality differences to gensim? An experiment.

    python benchmarks/bench_order.py --corpus ../shared/corpora/dev-corpus.txt.gz \\
        --data DATA [--seeds 1,2] [--orders text,groups,shuffled] [--out benchmarks/log/train.md]

DATA is an sgns dataset of the same corpus (its vocabulary is used). For each seed s, 5 passes of
fresh subsampling and dynamic windows are drawn in memory with the pipeline's own rules
(sgns.pipeline.pairs.draw, generator default_rng([s, pass])) and trained with the native engine (2
threads, batch 4096, lr 0.025 decaying linearly, the trainer's defaults) in each order: `text`,
pairs sorted by their center's position, as gensim and word2vec.c train; `groups`, each center
occurrence's pairs together, the occurrences shuffled; `shuffled`, all pairs of a pass shuffled,
as the dataset's shards hold them. The scores go with those of `bench_train.py` (same
evaluation).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import platform
import shlex
import sys
import time

import numpy as np
import torch
from bench_train import HYPER, evaluate  # benchmarks/ is on sys.path when run as a script

from sgns.dataset import read_manifest, read_manifest_vocab
from sgns.pipeline.pairs.draw import WordIds, keep_probabilities, make_pairs, subsample
from sgns.train.native.kernel import NativeKernel
from sgns.train.sampler import AliasSampler
from sgns.train.table import init_weights
from sgns.vectors import write_vectors

WINDOW, NEGATIVES, DIM, EPOCHS = HYPER["window"], HYPER["negative"], HYPER["dim"], HYPER["epochs"]
SAMPLE, BATCH, LR = HYPER["sample"], 4096, 0.025  # the trainer's default batch and lr


def ordered_pairs(word_ids, sentences, rng, order):
    """make_pairs' pairs (sgns.pipeline.pairs.draw, the same draws) in the given order:
    make_pairs run on the positions gives each pair's center and context position. text: by center
    position; groups: each center occurrence's pairs together, the occurrences shuffled; shuffled:
    all pairs shuffled, as the dataset holds them."""
    centers, contexts = make_pairs(np.arange(len(word_ids)), sentences, WINDOW, rng)
    if order == "text":
        key = centers
    elif order == "groups":
        key = rng.permutation(len(word_ids))[centers]
    else:
        key = rng.permutation(len(centers))
    permutation = np.argsort(key, kind="stable")
    return word_ids[centers[permutation]], word_ids[contexts[permutation]]


def train_ordered(corpus, words, counts, seed, out, order) -> float:
    ids = WordIds(zip(words, range(len(words))))
    keep = keep_probabilities(np.array(counts), SAMPLE)
    with gzip.open(corpus, "rt") if corpus.endswith(".gz") else open(corpus) as f:
        lines = [np.array([ids[w] for w in line.split()], dtype=np.int32) for line in f]
    lengths = np.array([len(t) for t in lines])
    word_ids = np.concatenate(lines)
    sentences = np.repeat(np.arange(len(lines)), lengths)
    known = word_ids >= 0
    word_ids, sentences = word_ids[known], sentences[known]
    passes = []
    for p in range(EPOCHS):
        rng = np.random.default_rng([seed, p])
        passes.append(ordered_pairs(*subsample(word_ids, sentences, keep, rng), rng, order))
    vocab = len(words)
    weights = init_weights(vocab, DIM, torch.Generator().manual_seed(seed))
    engine = NativeKernel(AliasSampler(counts, 0.75), NEGATIVES, threads=2)
    generator = torch.Generator().manual_seed(seed)
    total, done, started = sum(len(c) for c, _ in passes), 0, time.time()
    for centers, contexts in passes:
        for i in range(0, len(centers), BATCH):
            lr = LR * max(1e-4, 1 - done / total)
            batch_seed = int(torch.randint(0, 2**62, (), generator=generator))
            c, o = (
                torch.from_numpy(centers[i : i + BATCH]),
                torch.from_numpy(contexts[i : i + BATCH]),
            )
            engine.step(weights, c, o, batch_seed, lr)
            done += len(c)
    engine.close()
    write_vectors(out, words, weights[:vocab].numpy(), "text")
    return total / (time.time() - started)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--data", required=True, help="an sgns dataset of the same corpus")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--orders", default="text", help="text, groups, shuffled (comma-separated)")
    parser.add_argument("--out", default=None, help="append the table to this file")
    parser.add_argument("--work", default="/tmp")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    words, counts = read_manifest_vocab(args.data, read_manifest(args.data))
    rows = [
        "| order | seed | pairs/s | WS353 | SimLex | analogy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for seed in (int(s) for s in args.seeds.split(",")):
        for order in args.orders.split(","):
            out = os.path.join(args.work, f"order-{order}-{seed}.txt")
            rate = train_ordered(args.corpus, words, counts, seed, out, order)
            ws, sl, an = evaluate(out)
            rows.append(
                f"| {order} | {seed} | {rate:,.0f} | {ws:.4f} | {sl:.4f} | {100 * an:.2f}% |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(rows)
    print(text)
    if args.out:
        command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(
                f"\n### Pair order experiment, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n\n"
                f"Machine: {platform.node()}, {os.cpu_count()} cores. Command: `{command}`\n\n"
                f"{text}\n"
            )


if __name__ == "__main__":
    main()

"""The sgns-eval command line (what it does and its options: its schema, sgns.eval.options).

    sgns-eval runs/demo --similarity wordsim353.tsv --similarity SimLex-999.txt \\
        --analogies questions-words.txt
    sgns-eval vectors.bin --neighbors king,queen --topn 5
    sgns-eval runs/demo --synth-truth data/synth.txt.truth.json --json > runs/demo/eval.json

VECTORS is a word2vec text/binary file (.bin = binary), a .npy with its vocabulary beside it, or a
training run directory (its vectors.txt). The scoring conventions are gensim's (see
sgns.eval.scoring, the library interface), so the numbers compare with
`KeyedVectors.evaluate_word_pairs` and `evaluate_word_analogies`. Also `python -m sgns.eval`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from sgns.dataset.settings import MAX_INT
from sgns.errors import Interruptible, UsageError, configure_logging, fail, printable
from sgns.eval.options import SCHEMA
from sgns.eval.planted import evaluate_synthetic, load_truth
from sgns.eval.scoring import (
    evaluate_analogies,
    evaluate_similarity,
    load_vectors,
    nearest_neighbors,
)
from sgns.files import check_file

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """sgns-eval's command line, parsed by the parser of its schema (sgns.eval.options)."""
    return SCHEMA.parser().parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    for name in ("restrict_vocab", "synth_k", "topn"):
        flag, value = "--" + name.replace("_", "-"), getattr(args, name)
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}")
        if value > MAX_INT:  # (as every command's integers: docs/errors.md)
            raise UsageError(f"{flag} must be at most {MAX_INT}, not {value}")
    for item in args.neighbors:  # (a "," or "": no word, and nothing would be shown for it)
        if not neighbor_queries([item]):
            raise UsageError(f"--neighbors {item!r} names no word: give words separated by "
                             "commas (--neighbors king,queen)")  # fmt: skip
    named = [("--similarity", p) for p in args.similarity]
    named += [("--analogies", p) for p in args.analogies]
    named += [("--synth-truth", args.synth_truth)] if args.synth_truth else []
    for flag, path in named:
        check_file(path, flag)


def neighbor_queries(neighbors: list[str]) -> list[str]:
    """The words of the --neighbors options given (each: WORD[,WORD...])."""
    return [w for item in neighbors for w in item.split(",") if w]


def run(args: argparse.Namespace) -> dict:
    """Everything the arguments ask for, as one JSON-ready dict."""
    check_args(args)
    truth = load_truth(args.synth_truth) if args.synth_truth else None
    start = time.perf_counter()
    words, vectors = load_vectors(args.vectors)
    log.info("loaded %d vectors of %d dims in %.1f s", *vectors.shape, time.perf_counter() - start)
    result: dict = {"vectors": args.vectors, "words": len(words), "dim": int(vectors.shape[1])}
    result["similarity"] = [
        evaluate_similarity(words, vectors, path, args.case_sensitive) for path in args.similarity
    ]
    result["analogies"] = [
        evaluate_analogies(words, vectors, path, args.restrict_vocab, args.case_sensitive)
        for path in args.analogies
    ]
    if truth is not None:
        result["synthetic"] = {
            "file": args.synth_truth,
            **evaluate_synthetic(words, vectors, truth, args.synth_k, args.restrict_vocab),
        }
    queries = neighbor_queries(args.neighbors)
    if queries:
        found, unknown = nearest_neighbors(words, vectors, queries, args.topn)
        result["neighbors"] = {w: [[n, round(s, 4)] for n, s in ns] for w, ns in found.items()}
        result["unknown_words"] = unknown
        if not found and not (args.similarity or args.analogies or truth):  # nothing to show
            said = ", ".join(printable(word) for word in unknown)  # (a newline: one line still)
            raise UsageError(f"none of {said} is in the vocabulary of {args.vectors}")
    log.info("evaluated in %.1f s", time.perf_counter() - start)
    return result


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def format_results(result: dict) -> str:
    """A readable table of `run`'s result; words and section names from the files are shown
    with their control characters escaped (`printable`)."""
    lines = [f"vectors: {result['vectors']} ({result['words']} words x {result['dim']} dims)"]
    if result["similarity"]:
        lines += [
            "",
            f"{'similarity':<32} {'spearman':>8} {'pearson':>8} {'pairs':>6} "
            f"{'oov':>6} {'malformed':>9}",
        ]
        for r in result["similarity"]:
            lines.append(
                f"{os.path.basename(r['file']):<32} {_num(r['spearman']):>8} "
                f"{_num(r['pearson']):>8} {r['pairs']:>6} {r['oov_rate']:>6.1%} "
                f"{r['malformed']:>9}"
            )
    for r in result["analogies"]:
        lines += ["", _analogy_header(os.path.basename(r["file"]), r)]
        lines += _analogy_rows(r)
    synthetic = result.get("synthetic")
    if synthetic:
        lines += [
            "",
            f"synthetic truth {os.path.basename(synthetic['file'])}: cluster precision@"
            f"{synthetic['k']} {_num(synthetic['cluster_precision'])} "
            f"({synthetic['cluster_words']} words, {synthetic['oov_words']} missing)",
        ]
        lines += [_analogy_header("planted analogies", synthetic["analogies"])]
        lines += _analogy_rows(synthetic["analogies"])
    for word, neighbors in result.get("neighbors", {}).items():
        lines += ["", f"nearest to {printable(word)}:"]
        lines += [f"  {printable(n):<24} {s:.3f}" for n, s in neighbors]
    return "\n".join(lines)


def _analogy_header(name: str, r: dict) -> str:
    return (
        f"{name:<32} {_num(r['accuracy']):>8} {r['correct']:>7}/{r['questions']:<7} "
        f"oov {r['oov_rate']:.1%}, malformed {r['malformed']}, restrict {r['restrict_vocab']}"
    )


def _analogy_rows(r: dict) -> list[str]:
    return [
        f"  {printable(s['section'][:30]):<30} {_num(s['accuracy']):>8} "
        f"{s['correct']:>7}/{s['questions']}"
        for s in r["sections"]
    ]


def _encodable(text: str, stream) -> str:
    """`text` with what `stream`'s encoding cannot hold escaped as "\\u6771" (a word on a
    stdout of PYTHONIOENCODING=ascii: a UnicodeEncodeError ended the command)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # (a stream that names no codec Python has: it says so itself)
        return text


def main(argv: list[str] | None = None) -> int:
    configure_logging(logging.INFO, "%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    if sys.stdout is None:  # (started with it closed: `>&-`; the results would be lost)
        return fail("sgns-eval", UsageError("stdout is closed: give the results a place to go "
                                            "(sgns-eval VECTORS ... > results.txt)"))  # fmt: skip
    with Interruptible("sgns-eval") as stop:  # (it writes no file)
        try:
            result = run(args)
        except Exception as e:  # noqa: BLE001 - one line for a user's mistake, else re-raised
            return fail("sgns-eval", e)
        # (allow_nan=False: no NaN or Infinity, which are not JSON; a score that cannot be is
        # None, sgns.eval.scoring)
        text = json.dumps(result, indent=1, allow_nan=False) if args.json else None
        try:
            print(_encodable(text or format_results(result), sys.stdout), flush=True)
        except BrokenPipeError:  # (`| head`: the reader wants no more, which is no error)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if result.get("unknown_words") and sys.stderr is not None:  # (None: `2>&-`, not stdout)
            unknown = ", ".join(result["unknown_words"])
            note = printable(f"sgns-eval: not in the vocabulary: {unknown}")
            print(_encodable(note, sys.stderr), file=sys.stderr)
    return stop.exit_code or 0

"""What sgns-report shows, read from a run directory, and the page written from it.

Reads RUN/metrics.jsonl, RUN/config.json, RUN/vectors.txt and RUN/vocab.tsv (each optional: what
is missing is said on the page), and an `sgns-eval --json` result (--eval; default RUN/eval.json
when it exists). The PNG plots are written beside the HTML file and also embedded in it (base64),
so the HTML alone can be mailed or moved.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

import numpy as np

from sgns.dataset import parse_vocab
from sgns.errors import UsageError, loads_json
from sgns.eval.planted import cluster_similarity
from sgns.files import atomic_write, check_directory, check_file, check_output_file, resolved_path
from sgns.report import plots
from sgns.report.html import render_page, renders
from sgns.rundir import (
    CONFIG_FILE,
    EVAL_FILE,
    METRICS_FILE,
    REPORT_FILE,
    VECTORS_FILE,
    VOCAB_FILE,
    check_not_own_file,
    run_path,
)
from sgns.vectors import read_vectors

STEP_KEYS = ("step", "epoch", "pairs", "loss", "lr", "pairs_per_s", "time")
EPOCH_KEYS = ("epoch", "loss", "pairs", "seconds")


@dataclass(frozen=True)
class ReportConfig:
    """What to read and where to write; the defaults follow the run directory layout."""

    run: str
    output: str | None = None  # default RUN/report.html
    eval: str | None = None  # default RUN/eval.json if it exists
    synth_truth: str | None = None  # default: the truth file named in the eval JSON, if it exists
    words: int = 300  # most frequent words on the PCA map
    labels: int = 60  # of which this many are labelled

    def __post_init__(self):
        check_directory(self.run, "run directory")
        for name in ("eval", "synth_truth"):
            if getattr(self, name) is not None:
                check_file(getattr(self, name), "--" + name.replace("_", "-"))
        if self.output is not None:  # (before a plot is written beside it)
            check_output_file(self.output, "--output")
        if self.words < 2 or self.labels < 0:
            raise UsageError(
                f"--words must be >= 2 and --labels >= 0, not {self.words}, {self.labels}"
            )

    @property
    def html_path(self) -> str:
        if self.output:
            check_not_own_file(self.output, writes=(REPORT_FILE,))
        return self.output or run_path(self.run, REPORT_FILE)


def read_metrics(path: str) -> tuple[list[dict], list[dict], int]:
    """Step records, epoch records and the number of lines that were neither (a torn last line
    of a running trainer, or a foreign record)."""
    steps, epochs, malformed = [], [], 0
    with open(check_file(path, "the run's"), encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                record = loads_json(line)
            except json.JSONDecodeError:
                malformed += 1
                continue
            kind = record.get("kind") if isinstance(record, dict) else None
            keys = STEP_KEYS if kind == "step" else EPOCH_KEYS if kind == "epoch" else None
            if keys is None or not all(isinstance(record.get(k), (int, float)) for k in keys):
                malformed += 1
                continue
            (steps if kind == "step" else epochs).append(record)
    return steps, epochs, malformed


def _read_json(path: str, what: str, notes: list[str], given: str = "") -> dict | None:
    """The JSON object in `path`, or None and a note on the page when there is none; a file the
    user named with the option `given` that is no JSON object is an error (UsageError)."""
    if not os.path.exists(path):
        return None
    try:
        with open(check_file(path, given or "the file"), encoding="utf-8") as f:
            data = loads_json(f.read())
        problem = None if isinstance(data, dict) else "is not a JSON object"
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problem = f"could not be read ({e})"
    if problem and given:
        raise UsageError(f"{given} {path} {problem}: give the file sgns-eval --json or sgns-synth "
                         "wrote")  # fmt: skip
    if problem:
        notes.append(f"{what} {path} {problem}; it is left out.")
        return None
    return data


def word_groups(words: list[str], truth: dict | None) -> list[str | None]:
    """The planted group of each word (a cluster, function words, relation markers) or None."""
    if not truth:
        return [None] * len(words)
    group = {w: "function words" for w in truth.get("function_words", [])}
    for relation in (truth.get("relations") or {}).values():
        group.update((w, "relation markers") for w in relation.get("markers", []))
    for c, cluster in enumerate(truth.get("clusters", [])):
        group.update((w, f"cluster {c}") for w in cluster)
    return [group.get(w) for w in words]


def _png_data(path: str) -> str:
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode("ascii")


def collect(cfg: ReportConfig) -> dict:
    """Everything the page shows, read from the run; plots are written beside the HTML."""
    notes: list[str] = []
    page: dict = {"run": cfg.run, "notes": notes, "images": {}}
    legacy = plots.is_report(cfg.html_path)  # the page is ours: so are its unmarked plots
    for name in PLOTS:  # before any is written: all or none
        path = _image_path(cfg, name)
        if os.path.islink(path):  # replaced by the plot, never written through
            continue
        if os.path.lexists(path) and not (os.path.isfile(path) and plots.is_ours(path, legacy)):
            raise UsageError(
                f"{path} is in the way of the report's plot beside {cfg.html_path} and was not "
                "written by sgns-report; move it, or give --output another name"
            )
    _add_metrics(cfg, page)
    page["config"] = _read_json(run_path(cfg.run, CONFIG_FILE), "config", notes)
    if page["config"] is None:
        notes.append(f"No {CONFIG_FILE} in the run directory.")
    eval_path = cfg.eval or run_path(cfg.run, EVAL_FILE)
    page["eval"] = _read_json(eval_path, "evaluation", notes, "--eval" if cfg.eval else "")
    if page["eval"] is None:
        notes.append(
            "No evaluation: run `sgns-eval RUN --json > RUN/eval.json` (with "
            "--similarity/--analogies/--synth-truth) and make the report again."
        )
    if page["eval"] is not None and not renders(page["eval"]):
        if cfg.eval:
            raise UsageError(f"--eval {eval_path} is not what sgns-eval --json writes")
        notes.append(f"evaluation {eval_path} is not what sgns-eval --json writes; left out.")
        page["eval"] = None
    truth_path = cfg.synth_truth or ((page["eval"] or {}).get("synthetic") or {}).get("file")
    given = "--synth-truth" if cfg.synth_truth else ""
    truth = _read_json(truth_path, "synth truth", notes, given) if truth_path else None
    vocab_path = run_path(cfg.run, VOCAB_FILE)
    if os.path.exists(vocab_path):
        with open(check_file(vocab_path, "the run's"), "rb") as f:
            _, counts = parse_vocab(f.read(), vocab_path)
        page["vocab"] = {"words": len(counts), "tokens": int(sum(counts))}
    _add_vectors(cfg, page, truth)
    return page


PLOTS = ("training", "words", "clusters")  # the PNG files beside the page: {stem}-{name}.png


def _image_path(cfg: ReportConfig, name: str) -> str:
    """Where a plot goes: beside the HTML file, named after it."""
    stem = os.path.splitext(os.path.basename(cfg.html_path))[0]
    return os.path.join(os.path.dirname(resolved_path(cfg.html_path)), f"{stem}-{name}.png")


def _add_image(page: dict, key: str, path: str) -> None:
    page["images"][key] = (os.path.basename(path), _png_data(path))


def _add_metrics(cfg: ReportConfig, page: dict) -> None:
    path = run_path(cfg.run, METRICS_FILE)
    steps, epochs = [], []
    if os.path.exists(path):
        steps, epochs, malformed = read_metrics(path)
        if malformed:
            page["notes"].append(
                f"{malformed} line(s) of {METRICS_FILE} were not metrics and are skipped."
            )
    page.update(steps=steps, epochs=epochs)
    if not steps and not epochs:
        page["notes"].append(f"No training metrics yet ({path} is missing or empty).")
        return
    image = _image_path(cfg, "training")
    plots.plot_training(steps, epochs, image)
    _add_image(page, "training", image)


def _add_vectors(cfg: ReportConfig, page: dict, truth: dict | None) -> None:
    path = run_path(cfg.run, VECTORS_FILE)
    if not os.path.exists(path):
        page["notes"].append(
            f"No {VECTORS_FILE} in the run directory (training not finished, "
            "or exported elsewhere: run sgns-export), so no map of words."
        )
        return
    words, vectors = read_vectors(path)
    page["vectors"] = {"words": len(words), "dim": int(vectors.shape[1])}
    page["planted"] = truth is not None
    image = _image_path(cfg, "words")
    top_words, top_vectors = words[: cfg.words], vectors[: cfg.words]
    plots.plot_projection(top_words, top_vectors, word_groups(top_words, truth), image, cfg.labels)
    _add_image(page, "words", image)
    page["neighbours"] = neighbours(words, vectors)
    if truth and truth.get("clusters"):
        names = [f"cluster {c}" for c in range(len(truth["clusters"]))]
        image = _image_path(cfg, "clusters")
        similarity = cluster_similarity(words, vectors, truth["clusters"])
        plots.plot_cluster_similarity(similarity, names, image)
        _add_image(page, "clusters", image)


NEIGHBOUR_WORDS = 8  # words whose nearest neighbours the page lists,
NEIGHBOURS = 5  # this many each,
SKIPPED_WORDS = 20  # after the most frequent ones (function words, mostly), when there are enough


def neighbours(words: list[str], vectors, count: int = NEIGHBOUR_WORDS) -> list:
    """[(word, [(neighbour, cosine), ...]), ...] of `count` frequent words (rows are in
    frequency order), by cosine over the whole vocabulary."""
    skip = SKIPPED_WORDS if len(words) >= SKIPPED_WORDS + 4 * count else 0
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    shown = []
    for i in range(skip, min(skip + count, len(words))):
        cosines = units @ units[i]
        cosines[i] = -np.inf
        best = np.argsort(-cosines, kind="stable")[: min(NEIGHBOURS, len(words) - 1)]
        shown.append((words[i], [(words[j], float(cosines[j])) for j in best]))
    return shown


def write_report(cfg: ReportConfig) -> str:
    """Make the report; returns the path of the HTML file."""
    page = collect(cfg)
    atomic_write(cfg.html_path, page_bytes(render_page(page)))
    return cfg.html_path


def page_bytes(text: str) -> bytes:
    """The page in UTF-8. A path on it (the run's, a plot's name) that Python decoded with
    surrogateescape, as it does where its filesystem encoding is not UTF-8 (a C locale with
    PYTHONUTF8=0), shows as the name it is when its bytes are UTF-8; else escaped (\\udcff)."""
    try:
        data = text.encode("utf-8", "surrogateescape")
        data.decode("utf-8")  # (bytes that are no UTF-8 would make the page unreadable)
        return data
    except UnicodeError:
        return text.encode("utf-8", "backslashreplace")

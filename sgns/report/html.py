"""The HTML of sgns-report: one static page from the dict that `sgns.report.collect` builds."""

from __future__ import annotations

import datetime
import json
import os
from html import escape

import numpy as np

from sgns.train.options import applies

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1120px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 2px; } h2 { font-size: 18px; margin-top: 32px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #777; font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 18px 0; }
.card { background: #f5f7fa; border-radius: 8px; padding: 10px 14px; min-width: 130px; }
.card .v { font-size: 21px; font-weight: 600; } .card .k { color: #666; font-size: 12px; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 14px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { padding: 4px 12px; text-align: left; border-bottom: 1px solid #eee; }
th { background: #f0f2f5; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.sub td { color: #555; font-size: 13px; } td.sec { padding-left: 28px; }
img { max-width: 100%; border: 1px solid #eee; border-radius: 4px; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
"""


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(
            f'<td class="n">{escape(_fmt(c))}</td>'
            if isinstance(c, (int, float)) or c is None
            else f"<td>{escape(str(c))}</td>"
            for c in row
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _cards(page: dict) -> list[tuple[str, str]]:
    """(value, caption) pairs for the summary row."""
    cards = []
    steps, epochs = page["steps"], page["epochs"]
    if epochs:
        cards.append((f"{epochs[-1]['loss']:.4f}", f"loss, epoch {epochs[-1]['epoch']}"))
        cards.append((f"{sum(e['seconds'] for e in epochs):,.0f} s", f"{len(epochs)} epoch(s)"))
    elif steps:
        cards.append((f"{steps[-1]['loss']:.4f}", f"loss at step {steps[-1]['step']:,}"))
    if steps:
        cards.append((f"{steps[-1]['pairs']:,}", "pairs trained"))
        speed = float(np.median([s["pairs_per_s"] for s in steps]))
        cards.append((f"{speed:,.0f}", "pairs/s (median)"))
    if "vectors" in page:
        cards.append((f"{page['vectors']['words']:,} × {page['vectors']['dim']}", "vectors"))
    if "vocab" in page:
        cards.append((f"{page['vocab']['tokens']:,}", "corpus tokens (vocabulary)"))
    ev = page.get("eval") or {}
    synthetic = ev.get("synthetic")
    if synthetic:
        cards.append(
            (_fmt(synthetic.get("cluster_precision")), f"cluster precision@{synthetic.get('k')}")
        )
        cards.append((_fmt(synthetic.get("analogies", {}).get("accuracy")), "planted analogies"))
    for r in ev.get("similarity", [])[:2]:
        cards.append((_fmt(r.get("spearman")), f"Spearman, {os.path.basename(r['file'])}"))
    for r in ev.get("analogies", [])[:2]:
        cards.append((_fmt(r.get("accuracy")), f"analogies, {os.path.basename(r['file'])}"))
    return cards


def _analogy_rows(name: str, r: dict) -> tuple[list[list], list[str]]:
    rows = [
        [
            name,
            r.get("accuracy"),
            r.get("correct"),
            r.get("questions"),
            f"{r.get('oov_rate', 0):.1%}",
        ]
    ]
    classes = [""]
    for s in r.get("sections", []):
        rows.append([s["section"], s.get("accuracy"), s.get("correct"), s.get("questions"), ""])
        classes.append("sub")
    return rows, classes


def _evaluation(ev: dict) -> str:
    parts = []
    if ev.get("similarity"):
        rows = [
            [
                os.path.basename(r["file"]),
                r.get("spearman"),
                r.get("pearson"),
                r.get("pairs"),
                f"{r.get('oov_rate', 0):.1%}",
            ]
            for r in ev["similarity"]
        ]
        parts.append(_table(["similarity set", "Spearman", "Pearson", "pairs", "OOV"], rows))
    synthetic = ev.get("synthetic")
    if synthetic:
        parts.append(
            f"<p>Planted truth <code>{escape(os.path.basename(synthetic.get('file', '')))}</code>:"
            f" cluster neighbour precision@{synthetic.get('k')} = "
            f"<b>{_fmt(synthetic.get('cluster_precision'))}</b> over "
            f"{_fmt(synthetic.get('cluster_words'))} cluster words.</p>"
        )
    sets = [(os.path.basename(r["file"]), r) for r in ev.get("analogies", [])]
    if synthetic and synthetic.get("analogies"):
        sets.append(("planted analogies", synthetic["analogies"]))
    rows, classes = [], []
    for name, r in sets:
        more_rows, more_classes = _analogy_rows(name, r)
        rows += more_rows
        classes += more_classes
    if rows:
        header = ["analogy set / section", "accuracy", "correct", "questions", "OOV"]
        parts.append(_table(header, rows, classes))
    for word, neighbors in (ev.get("neighbors") or {}).items():
        listed = ", ".join(f"{escape(n)} <span class='sub'>{s:.2f}</span>" for n, s in neighbors)
        parts.append(f"<p><b>{escape(word)}</b> → {listed}</p>")
    return "\n".join(parts) or "<p>The evaluation file holds no results.</p>"


def renders(ev: dict) -> bool:
    """Whether an evaluation (sgns-eval --json's object) has the shape the page shows."""
    try:
        _cards({"eval": ev, "steps": [], "epochs": []}), _evaluation(ev)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        return False
    return True


def _image(page: dict, key: str, alt: str) -> str:
    name, data = page["images"][key]
    return (
        f'<a href="{escape(name)}"><img alt="{escape(alt)}" src="data:image/png;base64,{data}"></a>'
    )


def render_page(page: dict) -> str:
    """The whole HTML document."""
    title = f"Training report: {os.path.basename(os.path.abspath(page['run']))}"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<div class='sub'>{escape(os.path.abspath(page['run']))} · report made {when}</div>",
    ]
    cards = "".join(
        f"<div class='card'><div class='v'>{escape(v)}</div><div class='k'>{escape(k)}</div></div>"
        for v, k in _cards(page)
    )
    out.append(f"<div class='cards'>{cards}</div>")
    if page["notes"]:
        items = "".join(f"<li>{escape(n)}</li>" for n in page["notes"])
        out.append(f"<div class='notes'><ul>{items}</ul></div>")
    out.append("<h2>Training</h2>")
    out.append(
        _image(page, "training", "training curves")
        if "training" in page["images"]
        else "<p>No training metrics yet.</p>"
    )
    out.append("<h2>Evaluation</h2>")
    out.append(_evaluation(page["eval"]) if page.get("eval") else "<p>No evaluation.</p>")
    out += ["<h2>Frequent words</h2>", _words_section(page)]
    out += ["<h2>Configuration</h2>", _config_section(page.get("config"))]
    out.append("</body></html>")
    return "\n".join(out)


def _words_section(page: dict) -> str:
    if "words" not in page["images"]:
        return "<p>No vectors yet.</p>"
    what = "coloured by planted group" if page.get("planted") else "no planted truth given"
    parts = [
        f"<p class='sub'>PCA of unit vectors; {what}.</p>",
        _image(page, "words", "PCA map of frequent words"),
    ]
    if page.get("neighbours"):
        rows = [[w, ", ".join(f"{n} {c:.2f}" for n, c in near)] for w, near in page["neighbours"]]
        parts.append("<p class='sub'>Nearest neighbours by cosine, of frequent words:</p>")
        parts.append(_table(["word", "neighbours (cosine)"], rows))
    if "clusters" in page["images"]:
        parts.append(
            "<p class='sub'>Planted clusters: a bright diagonal on a dark field means "
            "each cluster's words are closer to each other than to other clusters.</p>"
        )
        parts.append(_image(page, "clusters", "mean cosine between planted clusters"))
    return "\n".join(parts)


# Switches the page shows only when on (beside the options that did not apply, which it leaves
# out as sgns-train's schema says: sgns.train.options).
SHOWN_WHEN_ON = ("emulate_ranks", "tensorboard")
# config.json's fields that are no option: what the run settled, where it read, how many ranks
RECORDS = ("dataset", "world_size")


def applied_options(config: dict) -> dict:
    """The options of a run's config.json that applied to it (and its records)."""
    return {
        k: v
        for k, v in config.items()
        if k in RECORDS or (applies(k, config) and (k not in SHOWN_WHEN_ON or v))
    }


def _config_section(config: dict | None) -> str:
    if not config:
        return "<p>No configuration recorded.</p>"
    shown = applied_options(config)
    rows = [[k, v if isinstance(v, str) else json.dumps(v)] for k, v in sorted(shown.items())]
    left = len(config) - len(shown)
    note = f"<p class='sub'>{left} option(s) that did not apply to this run left out.</p>"
    return _table(["option", "value"], rows) + (note if left else "")

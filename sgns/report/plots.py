"""The figures of sgns-report: training curves and a 2-D PCA map of frequent words (PNG files).

matplotlib runs on its Agg backend (no display needed). Each function writes one PNG and returns
nothing; the data it takes is plain lists and numpy arrays, so tests can call it on tiny input.
"""

from __future__ import annotations

import os
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402

# corpus words are drawn as they are: "$$" or "$x^$" is no math for mathtext to parse (and fail)
matplotlib.rcParams["text.parse_math"] = False
from matplotlib.ticker import EngFormatter  # noqa: E402

from sgns.files import atomic_open  # noqa: E402

DPI = 110
OTHER_COLOR = "#c4c4c4"
# tab10 + tab20's light tones without the greys, so no group looks like "other words".
PALETTE = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (14, 15)]
PALETTE = PALETTE[0::2] + PALETTE[1::2]
MARKERS = ("o", "^", "D", "v")
DARK = ("#3d3d3d", "#8c2d04", "#08306b")


# The PNG text chunk that marks a plot as sgns-report's own: a later report replaces a file
# beside its page only when it carries it (`is_ours`), never a user's file of the same name.
SOFTWARE = "sgns-report"
_MARK = b"tEXtSoftware\x00" + SOFTWARE.encode()


def _save(fig, path: str) -> None:
    """The figure as a PNG at `path`, through a new file renamed there: a link at `path` is
    replaced, never written through (a run handed to the user could point it at their files)."""
    with atomic_open(path, durable=False) as f:
        fig.savefig(f, format="png", metadata={"Software": SOFTWARE})


def is_ours(path: str, legacy: bool = False) -> bool:
    """Whether the file at `path` is a plot an sgns-report wrote (its text chunks come before
    the image data, in the first bytes). `legacy`: also a plain matplotlib PNG, as reports
    wrote before they marked their plots (for a plot beside a page that is an sgns report)."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    marks = (_MARK, b"tEXtSoftware\x00Matplotlib") if legacy else (_MARK,)
    return head.startswith(b"\x89PNG\r\n\x1a\n") and any(m in head for m in marks)


def is_report(path: str) -> bool:
    """Whether the file at `path` is a page an sgns-report wrote (its title says so)."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        head = f.read(4096)
    return any(t in head for t in (b"<title>Training report: ", b"<title>sgns run "))


def smooth(values: np.ndarray, points: int = 25) -> np.ndarray:
    """A centred moving average over ~1/points of the series (edges use what exists)."""
    values = np.asarray(values, dtype=np.float64)
    width = max(1, len(values) // points)
    if width == 1:
        return values
    kernel = np.ones(width)
    return np.convolve(values, kernel, "same") / np.convolve(np.ones(len(values)), kernel, "same")


def _style(ax, title: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11, loc="left", fontweight="bold")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def plot_training(steps: list[dict], epochs: list[dict], path: str) -> None:
    """Loss (per step and per epoch), learning rate and throughput against training pairs."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.6), dpi=DPI)
    (ax_loss, ax_epoch), (ax_lr, ax_speed) = axes
    if steps:
        _plot_steps(ax_loss, ax_lr, ax_speed, steps, epochs)
    if epochs:
        _plot_epochs(ax_epoch, epochs)
    _style(ax_loss, "Loss per step", "SGNS loss")
    _style(ax_epoch, "Loss per epoch", "mean loss")
    _style(ax_lr, "Learning rate", "lr")
    _style(ax_speed, "Throughput", "pairs / s")
    for ax in (ax_loss, ax_lr, ax_speed):
        ax.xaxis.set_major_formatter(EngFormatter())
        ax.set_xlabel("training pairs")
    ax_speed.yaxis.set_major_formatter(EngFormatter())
    for ax in (ax_loss, ax_lr, ax_speed) if not steps else ():
        _say_empty(ax, "no steps logged yet")
    if not epochs:
        _say_empty(ax_epoch, "no epoch finished yet")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _plot_steps(ax_loss, ax_lr, ax_speed, steps: list[dict], epochs: list[dict]) -> None:
    pairs = np.array([s["pairs"] for s in steps], dtype=np.float64)
    loss = np.array([s["loss"] for s in steps], dtype=np.float64)
    if len(steps) >= 50:  # many points: faint raw series under a moving average
        ax_loss.plot(pairs, loss, color="#9ecae1", lw=0.8, label="per logged step")
        ax_loss.plot(pairs, smooth(loss), color="#08519c", lw=2, label="moving average")
    else:
        ax_loss.plot(pairs, loss, ".-", color="#08519c", lw=1.5, label="per logged step")
    for e in epochs[:-1]:
        ax_loss.axvline(e["pairs"], color="#888", lw=0.8, ls=":")
    ax_loss.legend(frameon=False, fontsize=9)
    ax_lr.plot(pairs, [s["lr"] for s in steps], color="#d94801", lw=1.5)
    speed = np.array([s["pairs_per_s"] for s in steps], dtype=np.float64)
    ax_speed.plot(pairs, speed, color="#a1d99b", lw=0.8)
    ax_speed.plot(pairs, smooth(speed), color="#238b45", lw=2)
    ax_speed.set_ylim(bottom=0)


def _plot_epochs(ax, epochs: list[dict]) -> None:
    numbers = [e["epoch"] for e in epochs]
    ax.plot(numbers, [e["loss"] for e in epochs], "o-", color="#54278f", lw=2)
    for e in epochs:
        ax.annotate(
            f"{e['loss']:.3f}",
            (e["epoch"], e["loss"]),
            fontsize=8,
            ha="center",
            textcoords="offset points",
            xytext=(0, 7),
        )
    ax.set_xticks(numbers)
    ax.set_xlabel("epoch")
    ax.margins(y=0.2)


def _say_empty(ax, what: str) -> None:
    ax.text(
        0.5, 0.5, what, ha="center", va="center", color="#888", transform=ax.transAxes, fontsize=12
    )
    ax.set_xticks([])
    ax.set_yticks([])


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """Rows projected on their first two principal components (N, 2), via SVD."""
    centred = np.asarray(vectors, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    if len(centred) < 2:
        return np.zeros((len(centred), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ vt[:2].T
    return np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))


def plot_projection(
    words: list[str],
    vectors: np.ndarray,
    groups: list[str | None],
    path: str,
    annotate: int = 60,
) -> None:
    """A PCA map of `words`, coloured by `groups` (a group name per word, None for no group).

    Groups named "cluster ..." get the palette's colours, other groups (function words, markers)
    dark ones. Up to `annotate` words get their text: taken round-robin over the groups (most
    frequent word first) and skipped where a label would sit on top of another one.
    """
    xy = pca_2d(unit_vectors(vectors))
    fig, ax = plt.subplots(figsize=(10.5, 8), dpi=DPI)
    names = sorted({g for g in groups if g is not None}, key=_natural)
    members = {name: [i for i, g in enumerate(groups) if g == name] for name in names}
    members[None] = [i for i, g in enumerate(groups) if g is None]
    if members[None]:
        ax.scatter(
            xy[members[None], 0],
            xy[members[None], 1],
            s=12,
            color=OTHER_COLOR,
            edgecolors="none",
            label="other words" if names else None,
        )
    for name, (color, marker) in zip(names, _group_styles(names)):
        rows = members[name]
        ax.scatter(
            xy[rows, 0],
            xy[rows, 1],
            s=28,
            color=color,
            marker=marker,
            edgecolors="white",
            linewidths=0.4,
            label=name,
        )
    span = np.ptp(xy, axis=0).max() if len(xy) else 1.0
    right = xy[:, 0].max() - 0.15 * span if len(xy) else 0.0
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]  # readable over dots
    for i in _words_to_label(list(members.values()), xy, annotate, min_gap=0.05 * span):
        flip = xy[i, 0] > right  # near the right edge: text to the left of the point
        ax.annotate(
            words[i],
            xy[i],
            fontsize=8,
            xytext=(-3 if flip else 3, 3),
            zorder=5,
            textcoords="offset points",
            ha="right" if flip else "left",
            color="#111",
            path_effects=halo,
        )
    ax.set_xlabel("principal component 1")
    _style(ax, f"{len(words)} most frequent words: PCA of unit vectors", "principal component 2")
    if names:
        ax.legend(
            frameon=False, fontsize=8.5, loc="center left", bbox_to_anchor=(1, 0.5), markerscale=1.3
        )
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _group_styles(names: list[str]) -> list[tuple]:
    """(colour, marker) per group: palette colours for clusters, dark squares for the rest."""
    styles, clusters, others = [], 0, 0
    for name in names:
        if name.startswith("cluster"):
            styles.append(
                (
                    PALETTE[clusters % len(PALETTE)],
                    MARKERS[(clusters // len(PALETTE)) % len(MARKERS)],
                )
            )
            clusters += 1
        else:
            styles.append((DARK[others % len(DARK)], "s"))
            others += 1
    return styles


def _natural(name: str) -> list:
    """Sort key that puts "cluster 2" before "cluster 10"."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def plot_cluster_similarity(similarity: np.ndarray, names: list[str], path: str) -> None:
    """A heatmap of the mean cosine between the words of two clusters (C, C)."""
    size = min(8.5, 3 + 0.35 * len(names))
    fig, ax = plt.subplots(figsize=(size + 1.2, size), dpi=DPI)
    image = ax.imshow(similarity, cmap="viridis", vmin=min(0.0, similarity.min()), vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    if len(names) <= 20:
        for (i, j), value in np.ndenumerate(similarity):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="black" if value > 0.6 else "white",
            )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="mean cosine")
    ax.set_title(
        "Planted clusters: mean cosine between their words",
        fontsize=11,
        loc="left",
        fontweight="bold",
    )
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def unit_vectors(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1)


def _words_to_label(
    groups: list[list[int]], xy: np.ndarray, count: int, min_gap: float
) -> list[int]:
    """Up to `count` row ids, round-robin over groups, none closer than `min_gap` to another."""
    queues = [list(g) for g in groups]
    chosen: list[int] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            while queue and len(chosen) < count:
                i = queue.pop(0)
                if all(np.hypot(*(xy[i] - xy[j])) >= min_gap for j in chosen):
                    chosen.append(i)
                    break
    return chosen

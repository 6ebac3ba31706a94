"""The parameter table: one (2V, D) float32 tensor, and the one place that knows its layout.

Rows 0..V-1 are the input vectors v (the centers'), rows V..2V-1 the output vectors u (the
contexts' and negatives'): word w's input row is w, its output row V + w. One table instead of
two lets a step gather and update every row it touches with one index, and ranks gather it
with one all-reduce (sgns.train.exchange). Everything
that reads or grows the table goes through the functions here (the C kernel takes V and applies
the same rule; see sgns/train/native/sgns_kernel.c).

Online training appends words after the old ones (old ids never change), so growing re-lays the
table out: old rows are copied bit for bit, new input rows are drawn as word2vec.c draws them
(uniform in ±0.5/D) and new output rows are zero (`grow_weights`).
"""

from __future__ import annotations

import os
import resource

import numpy as np
import torch

from sgns.errors import UsageError


def table_rows(vocab: int) -> int:
    """Rows of the table of a vocabulary of `vocab` words."""
    return 2 * vocab


def vocab_size(weights: torch.Tensor) -> int:
    """V of a (2V, D) table."""
    return weights.shape[0] // 2


def output_rows(word_ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """The rows of the output vectors of `word_ids` in a table of `vocab` words."""
    return word_ids + vocab


def word_of_row(rows: torch.Tensor, vocab: int) -> torch.Tensor:
    """The word id each row (input or output) belongs to."""
    return torch.remainder(rows, vocab)


def host_memory() -> int:
    """Bytes of memory this process may take on the host (`_host_memory`)."""
    return _host_memory()[0]


def _host_memory() -> tuple[int, str]:
    """(bytes, what they are): the physical memory of this machine, or less where a limit on
    this process is smaller: its address space (RLIMIT_AS, `ulimit -v`; less what it maps
    already) or its cgroup's memory (`cgroup_memory_limit`). A table past a limit would end
    in an allocation error, not in the one line of a check."""
    page = os.sysconf("SC_PAGE_SIZE")
    found = [(page * os.sysconf("SC_PHYS_PAGES"), "of memory on this machine")]
    address_space = resource.getrlimit(resource.RLIMIT_AS)[0]
    if address_space != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm") as f:
                mapped = int(f.read().split()[0]) * page
        except (OSError, ValueError, IndexError):
            mapped = 0
        what = "left under this process's address-space limit (ulimit -v)"
        found.append((max(0, address_space - mapped), what))
    cgroup = cgroup_memory_limit()
    if cgroup is not None:
        found.append((cgroup, "under this process's cgroup memory limit"))
    return min(found)


def cgroup_memory_limit(cgroups: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup"):
    """The smallest memory limit of this process's cgroup and its ancestors (cgroup v2's
    memory.max, v1's memory/memory.limit_in_bytes), in bytes; None when there is none."""
    try:
        with open(cgroups) as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        lines = []
    places = [("", "memory.max"), ("", "memory/memory.limit_in_bytes")]
    for parts in (p for p in lines if len(p) == 3):
        if parts[0] == "0" and parts[1] == "":
            places.append((parts[2], "memory.max"))
        elif "memory" in parts[1].split(","):
            places.append((parts[2], "memory/memory.limit_in_bytes"))
    limits = []
    for path, name in places:
        folder, _, file = name.rpartition("/")
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts) + 1):  # the cgroup and each of its ancestors
            limit = _read_limit(os.path.join(root, folder, *parts[:depth], file))
            limits += [limit] if limit is not None else []
    return min(limits, default=None)


def _read_limit(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) < 2**62 else None  # ("max": none)


def _memory(device: torch.device) -> tuple[int, str]:
    """(bytes, what they are): the free memory of a GPU, the memory a CPU may take."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0], "free on the GPU"
    return _host_memory()


def check_table_fits(vocab: int, dim: int, device: torch.device) -> None:
    """Raise UsageError, saying how much memory the table needs, when it cannot fit on
    `device` (the physical memory of a CPU, the free memory of a GPU)."""
    needed = table_rows(vocab) * dim * 4  # float32
    available, what = _memory(device)
    if needed > available:
        raise UsageError(
            f"--dim {dim} with {vocab} words needs a table of {needed / 2**30:.1f} GiB "
            f"(2 x {vocab} x {dim} float32) but there are {available / 2**30:.1f} GiB {what}; "
            "lower --dim (or the vocabulary: --min-count, --max-vocab)"
        )


# Scratch of one torch micro-step, in float32-sized copies of its gathered rows and scores (the
# rows, their gradients, the scores and their gradients, each with a temporary or two): an upper
# bound, used only to refuse a step that cannot fit at all, before it allocates anything.
STEP_COPIES = 4


def check_step_fits(micro: int, negatives: int, pool: int | None, dim: int, device) -> None:
    """Raise UsageError, saying what a torch micro-step needs, when its scratch cannot fit on
    `device`: `micro` pairs, `negatives` per pair, or a shared pool of `pool` (pool mode)."""
    drawn = pool if pool is not None else micro * negatives  # negative rows a micro-step gathers
    scores = micro * (pool if pool is not None else negatives)
    needed = STEP_COPIES * 4 * ((2 * micro + drawn) * dim + scores)
    available, what = _memory(device)
    if needed > available:
        what_drawn = f"--pool-size {pool}" if pool is not None else f"--negatives {negatives}"
        raise UsageError(
            f"{what_drawn} with micro-steps of {micro} pairs and --dim {dim} needs about "
            f"{needed / 2**30:.1f} GiB per micro-step but there are {available / 2**30:.1f} GiB "
            f"{what}; lower --negatives (or --pool-size, --micro-batch)"
        )


# Copies of a batch's (centers, contexts) int64 ids a rank holds at once: the loader's, the one
# being trained, and the device's.
BATCH_COPIES = 3


def check_batch_fits(batch_size: int) -> None:
    """Raise UsageError when `batch_size` pairs' ids cannot fit in this machine's memory."""
    needed = BATCH_COPIES * 2 * 8 * batch_size
    available, what = _memory(torch.device("cpu"))
    if needed > available:
        raise UsageError(
            f"--batch-size {batch_size} needs about {needed / 2**30:.1f} GiB for its pairs but "
            f"there are {available / 2**30:.1f} GiB {what}; lower --batch-size"
        )


def init_weights(vocab: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """word2vec.c's initialisation: inputs uniform in ±0.5/dim, outputs zero. Returns (2V, D)."""
    weights = torch.zeros(table_rows(vocab), dim)
    weights[:vocab] = _new_inputs(vocab, dim, generator)
    return weights


def _new_inputs(count: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(count, dim, generator=generator) - 0.5) / dim


def grow_weights(weights: torch.Tensor, vocab: int, generator: torch.Generator) -> torch.Tensor:
    """The (2V_old, D) table re-laid out as (2V, D) for a vocabulary grown to `vocab` words:
    the old words' rows kept exactly, new input rows uniform in ±0.5/dim, new output rows zero."""
    old, dim = vocab_size(weights), weights.shape[1]
    if vocab < old:
        raise ValueError(f"a vocabulary cannot shrink (from {old} to {vocab} words)")
    grown = weights.new_zeros(table_rows(vocab), dim)
    grown[:old] = weights[:old]  # inputs
    grown[vocab : vocab + old] = weights[old:]  # outputs
    grown[old:vocab] = _new_inputs(vocab - old, dim, generator).to(grown.device, grown.dtype)
    return grown


def scale_old_rows(
    rows: torch.Tensor, deltas: torch.Tensor, vocab: int, old_words: int, ratio: float
) -> torch.Tensor:
    """Deltas (R, D) for rows (R,) of the table, with the input and output rows of the first
    `old_words` words scaled by `ratio`: in an increment, the words trained before move at
    increment_lr while the new words learn at the full lr."""
    old = word_of_row(rows, vocab) < old_words  # (R,)
    factor = torch.where(old, ratio, 1.0).to(deltas.dtype)  # (R,)
    return deltas * factor.unsqueeze(1)


def vectors_from_weights(weights: torch.Tensor, which: str = "input") -> np.ndarray:
    """(V, D) float32 vectors of the table: the input rows, or input and output averaged."""
    weights = weights.detach().float().cpu()
    vocab = vocab_size(weights)
    if which == "input":
        out = weights[:vocab]
    elif which == "average":
        out = (weights[:vocab] + weights[vocab:]) / 2
    else:
        raise UsageError(f"--vectors {which!r}: choose input or average")
    return out.numpy().astype(np.float32)

"""One rank's stream of pairs: whole row groups in, fixed-size batches on the device out.

Row groups, not batches, are dealt to DataLoader workers: worker w of W decodes units
first + w, first + w + W, ... (`RowGroups`), so no row group is decoded twice, and the
DataLoader's round-robin over its workers hands them out in unit order; the batch sequence does
not depend on the number of workers. A sorted row group comes out shuffled by its unit's own
permutation (sgns.train.shards), the same in whichever worker reads it. On CUDA the row groups
come pinned (the DataLoader's pin thread) and a background thread copies them to the device on
a side stream (`_on_device`), so the copy overlaps the steps. `PairBatches` cuts the stream
into batches of `batch_size` pairs on the device: a view of one row group where it can, a copy
of at most one batch across row groups. The epoch's last batch is padded to the same shape (its
valid count says how much is real), and a rank past its data gets padding batches with valid
count 0 up to the step count every rank runs. A resumed run starts at any batch index directly.
"""

from __future__ import annotations

import bisect
import queue
import threading
from collections import deque

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from sgns.train.shards import RowGroupReader, Unit

PREFETCH_ROW_GROUPS = 4  # row groups on their way to the device, per rank


class RowGroups(IterableDataset):
    """Each whole row group of `units` from unit `first` on, this worker's share (see the
    module docstring), as one (2, n) int32 tensor: centers, contexts (one tensor, so that a
    worker hands over one shared-memory block per row group, not two)."""

    def __init__(self, units: list[Unit], first: int, vocab_size: int):
        self.units, self.first, self.vocab_size = units, first, vocab_size

    def indices(self, worker: int, workers: int) -> range:
        """The units worker `worker` of `workers` reads."""
        return range(self.first + worker, len(self.units), workers)

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        reader = RowGroupReader(self.vocab_size)
        for i in self.indices(worker, workers):
            unit = self.units[i]
            pairs = torch.empty((2, unit.pairs), dtype=torch.int32)
            if info is not None:  # in shared memory from the start: handed over without a copy
                pairs.share_memory_()
            reader.read_into(unit, pairs.numpy())  # decoded, checked and ordered into it
            yield pairs


class PairBatches:
    """Batches (centers (B,), contexts (B,), valid) of one rank's units on `device`, for steps
    `start` .. `steps` - 1 of an epoch; B = batch_size, valid the real pairs of the batch."""

    def __init__(
        self,
        units: list[Unit],
        batch_size: int,
        steps: int,
        vocab_size: int,
        start: int = 0,
        workers: int = 0,
        device: torch.device | str = "cpu",
    ):
        self.units, self.batch_size, self.steps, self.start = units, batch_size, steps, start
        self.vocab_size, self.workers, self.device = vocab_size, workers, torch.device(device)
        self.offsets = np.cumsum([0] + [u.pairs for u in units]).tolist()  # (U+1,)

    def __iter__(self):
        total, size = self.offsets[-1], self.batch_size
        first_pair = min(self.start * size, total)
        first_unit = bisect.bisect_right(self.offsets, first_pair) - 1
        skip = first_pair - self.offsets[first_unit] if first_unit < len(self.units) else 0
        groups = self._row_groups(first_unit)
        chunks: deque = deque()  # (centers, contexts) pieces not yet batched
        held = 0
        padding = None
        for step in range(self.start, self.steps):
            need = max(0, min(size, total - step * size))
            while held < need:
                centers, contexts = next(groups)  # rows of a (2, n) tensor: views
                if skip:
                    centers, contexts, skip = centers[skip:], contexts[skip:], 0
                chunks.append((centers, contexts))
                held += len(centers)
            if need == 0:
                if padding is None:
                    padding = torch.zeros(size, dtype=torch.int32, device=self.device)
                yield padding, padding, 0
                continue
            centers, contexts = _take(chunks, need)
            held -= need
            if need < size:  # the epoch's last batch: the same shape, the rest masked
                pad = torch.zeros(size - need, dtype=centers.dtype, device=self.device)
                centers, contexts = torch.cat([centers, pad]), torch.cat([contexts, pad])
            yield centers, contexts, need

    def _row_groups(self, first: int):
        stream = RowGroups(self.units, first, self.vocab_size)
        if self.workers:
            cuda = self.device.type == "cuda"
            stream = DataLoader(
                stream, batch_size=None, num_workers=self.workers, pin_memory=cuda,
                prefetch_factor=PREFETCH_ROW_GROUPS,
            )  # fmt: skip
        if self.device.type == "cuda":
            return _on_device(iter(stream), self.device)
        return iter(stream)


def _take(chunks: deque, count: int):
    """The first `count` pairs held in `chunks` (removed from them): a view when one chunk
    holds them, else one copy."""
    first_centers, first_contexts = chunks[0]
    if len(first_centers) >= count:
        chunks[0] = (first_centers[count:], first_contexts[count:])
        if not len(chunks[0][0]):
            chunks.popleft()
        return first_centers[:count], first_contexts[:count]
    parts_c, parts_x, left = [], [], count
    while left:
        centers, contexts = chunks.popleft()
        if len(centers) > left:
            chunks.appendleft((centers[left:], contexts[left:]))
            centers, contexts = centers[:left], contexts[:left]
        parts_c.append(centers)
        parts_x.append(contexts)
        left -= len(centers)
    return torch.cat(parts_c), torch.cat(parts_x)


def _on_device(groups, device: torch.device):
    """Row groups copied to `device` on a side stream by a background thread, ready in order;
    the consuming stream waits on each copy's event, not the host."""
    ready: queue.Queue = queue.Queue(maxsize=PREFETCH_ROW_GROUPS)
    copier = torch.cuda.Stream(device)
    done, stop = object(), threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():  # a consumer that stopped early takes nothing more
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def copy_all():
        try:
            with torch.cuda.stream(copier):
                for pairs in groups:
                    if not pairs.is_pinned():  # read in this thread (no workers): pin it here
                        pairs = pairs.pin_memory()
                    moved = pairs.to(device, non_blocking=True)
                    event = torch.cuda.Event()
                    event.record(copier)
                    if not hand_over((moved, event)):
                        return
            hand_over(done)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            hand_over(e)

    threading.Thread(target=copy_all, daemon=True).start()
    try:
        while True:
            item = ready.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            pairs, event = item
            current = torch.cuda.current_stream(device)
            current.wait_event(event)
            pairs.record_stream(current)  # the allocator must not reuse it while steps read
            yield pairs
    finally:
        stop.set()  # also when the consumer stops mid-epoch: the thread ends, and its workers


def read_units(units: list[Unit], vocab_size: int, workers: int = 0) -> torch.Tensor:
    """Every pair of `units`, in order, as one (n, 2) int32 tensor of (center, context) rows:
    a rank's share of a chunk in the block scheme (sgns.train.episodes), read whole."""
    stream = RowGroups(units, 0, vocab_size)
    if workers:
        stream = DataLoader(stream, batch_size=None, num_workers=workers)
    parts = list(stream)  # (2, n_i) each, in unit order
    if not parts:
        return torch.empty((0, 2), dtype=torch.int32)
    return torch.cat(parts, 1).T.contiguous()

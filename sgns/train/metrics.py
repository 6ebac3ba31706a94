"""Run metrics on rank 0: RUN/metrics.jsonl, optional TensorBoard scalars, the epoch log line.

metrics.jsonl holds one JSON object per line, exactly these shapes (the HTML report reads them):
    {"kind": "step", "step", "epoch", "pairs" (cumulative, all ranks), "loss" (mean per pair over
     the interval), "lr", "pairs_per_s", "time" (seconds since start)}   every --log-interval steps
    {"kind": "epoch", "epoch", "loss" (mean per pair over the epoch), "pairs", "seconds"}
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import torch
from tqdm import tqdm

from sgns.console.streams import QuietStream
from sgns.errors import UsageError, loads_json
from sgns.files import SignalsHeld, atomic_write, check_file
from sgns.rundir import METRICS_FILE, TENSORBOARD_DIR, run_path
from sgns.train import distributed

log = logging.getLogger(__name__)


class RunLog:
    """Writes metrics on the main rank; a no-op elsewhere.

    `resumed_at`: (step, metrics_bytes) of the checkpoint a resumed run continues; the file is
    cut back to what it held then (records written after the checkpoint by the run that was
    stopped would otherwise be there twice). Checkpoints without metrics_bytes (older
    versions) drop the step records after their step instead."""

    def __init__(self, run: str, enabled: bool, tensorboard: bool, resumed_at: tuple | None = None):
        self.enabled = enabled
        self.file = None
        self.writer = None
        if not enabled:
            return
        path = run_path(run, METRICS_FILE)
        if os.path.islink(path):  # appended to or truncated, its target would be: refused
            raise UsageError(
                f"{path} is a link: a run writes its own metrics.jsonl; remove the link (or "
                "put the file itself there) and run again"
            )
        if resumed_at is not None and os.path.lexists(path):
            cut_back(check_file(path, "the run's"), *resumed_at)
        self.file = open(path, "a" if resumed_at is not None else "w", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise UsageError(
                    "--tensorboard needs the tensorboard package (pip install tensorboard)"
                ) from None
            self.writer = SummaryWriter(run_path(run, TENSORBOARD_DIR))

    def step(
        self,
        step: int,
        epoch: int,
        pairs: int,
        loss: float,
        lr: float,
        pairs_per_s: float,
        time: float,
    ) -> None:
        if not self.enabled:
            return
        self._write(
            {
                "kind": "step",
                "step": step,
                "epoch": epoch,
                "pairs": pairs,
                "loss": loss,
                "lr": lr,
                "pairs_per_s": pairs_per_s,
                "time": time,
            }
        )
        if self.writer:
            self.writer.add_scalar("train/loss", loss, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/pairs_per_s", pairs_per_s, step)

    def epoch(self, epoch: int, loss: float, pairs: int, seconds: float) -> None:
        if not self.enabled:
            return
        self._write(
            {"kind": "epoch", "epoch": epoch, "loss": loss, "pairs": pairs, "seconds": seconds}
        )
        if self.writer:
            self.writer.add_scalar("epoch/loss", loss, epoch)
        log.info(
            "epoch %d: loss %.4f per pair, %d pairs, %.1f s (%.0f pairs/s)",
            epoch,
            loss,
            pairs,
            seconds,
            pairs / max(seconds, 1e-9),
        )

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def size(self) -> int:
        """Bytes written to the file so far (0 off the main rank)."""
        return self.file.tell() if self.file else 0

    def close(self) -> None:
        if self.file:
            self.file.close()
        if self.writer:
            self.writer.close()


def cut_back(path: str, step: int, size: int | None) -> None:
    """metrics.jsonl as it was when the checkpoint of `step` was written (`size` bytes)."""
    if size is not None:
        held = os.path.getsize(path)
        if held < size:  # records the checkpoint's run wrote are gone: appending would hide it
            raise UsageError(
                f"{path!r} holds {held} bytes but held {size} when the checkpoint of step "
                f"{step} was written: it was cut or replaced since; move it aside to resume "
                "(a new one is started)"
            )
        if held > size:
            os.truncate(path, size)
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    kept = [ln for ln in lines if not (_is_step_record(ln) and loads_json(ln)["step"] > step)]
    if len(kept) != len(lines):
        atomic_write(path, "".join(kept).encode("utf-8"))


def _is_step_record(line: str) -> bool:
    try:
        record = loads_json(line)
    except json.JSONDecodeError:
        return False
    # (a step that is no count, in a file edited since: no record of ours, kept)
    return (
        isinstance(record, dict)
        and record.get("kind") == "step"
        and type(record.get("step")) is int
    )


class Interval:
    """Loss (float64, on the device) and pairs since the last flush."""

    def __init__(self, device):
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.pairs = 0

    def add(self, loss, pairs: int) -> None:
        self.loss += loss
        self.pairs += pairs

    def reduce(self, world_size: int) -> tuple[float, int]:
        total = float(distributed.all_reduce_sum(self.loss, world_size))
        pairs, self.pairs = self.pairs, 0  # already global: computed from the plan
        self.loss.zero_()
        return total, pairs


class Clock:
    def __init__(self, pairs: int):
        self.start = self.last = time.time()
        self.last_pairs = pairs

    def elapsed(self) -> float:
        return time.time() - self.start

    def rate(self, pairs: int) -> float:
        now = time.time()
        rate = (pairs - self.last_pairs) / max(now - self.last, 1e-9)
        self.last, self.last_pairs = now, pairs
        return rate


def progress(enabled: bool, total: int, initial: int, unit: str = "step"):
    """The run's progress bar, made with SIGINT and SIGTERM held: a stop signal inside tqdm's
    constructor left a bar whose __del__ printed a traceback (no attribute 'pos')."""
    with SignalsHeld() as held:
        held.hold()
        return tqdm(
            file=QuietStream(sys.stderr),  # (a reader gone: the bar stops, not the run)
            total=total,
            initial=initial,
            disable=not enabled,
            unit=unit,
            unit_scale=unit == "pair",
            dynamic_ncols=True,
            mininterval=1.0,
        )

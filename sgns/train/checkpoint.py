"""Checkpoints: the state of a run, saved atomically and durably, loaded with weights_only=True.

A checkpoint is a dict of tensors and plain types only:
    weights         (2V, D) float32 (sgns.train.table; plain SGD has no other state)
    step            global steps done; epoch, batch: the position in the stream (next batch);
                    chunk: with several ranks, the epoch's next chunk (sgns.train.episodes)
    pairs_done      pairs trained so far, all ranks
    loss            the running epoch loss sum (float64) and pairs, and those of the current
                    metrics record, so that resumed metrics are exact
    config          TrainConfig as a dict, engine and negative mode resolved
    vocab_fingerprint
                    sgns.dataset.vocab_fingerprint of the words and counts trained on
                    (RUN/vocab.tsv holds them; sgns-export checks the two agree)
    vocab_size, words_fingerprint
                    V and sgns.dataset.words_fingerprint of its words: it resumes on a dataset
                    whose first V words are these (the same or a grown vocabulary) and whose
                    increment stage.end - 1 had V words (sgns.train.resume)
    stage           the training stage (sgns.train.plan.TrainingStage.record): first, end
                    (increments [first, end)), base_step, lr, total_steps, old_words, old_ratio
    world_size      ranks that wrote it (the stream split depends on it)
    metrics_bytes   the size of RUN/metrics.jsonl when it was written: a resumed run cuts the
                    file back to it, so that no record is there twice
There is no RNG state: every draw is keyed by (seed, rank, step) (sgns.train.sampler), so a
checkpoint resumes on any device. Checkpoints written by earlier versions also hold "lr",
"increments" and generator states ("rng"); nothing reads them.

Saving costs the training thread one copy of the table on its device (a consistent snapshot);
the copy to the host and the write run on a background thread (`CheckpointWriter`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor

import torch

from sgns.console import signals
from sgns.errors import UsageError
from sgns.files import atomic_open, check_file
from sgns.rundir import CHECKPOINT_FILE, run_path
from sgns.train.config import ENGINES, NEGATIVE_MODES, TrainConfig
from sgns.train.engines import scheme_span


def checkpoint_path(run: str) -> str:
    return run_path(run, CHECKPOINT_FILE)


def save_checkpoint(path: str, state: dict) -> None:
    """Write `state` so that `path` holds the old checkpoint or the new one, never half of one.
    A failed write (a full disk) is the OSError of the file, not torch's wrapper of it."""
    with atomic_open(path) as f:
        recorder = _Recorder(f)
        try:
            torch.save(state, recorder)
        except RuntimeError:
            if recorder.error is not None:
                raise recorder.error from None
            raise


class _Recorder:
    """A file whose write errors are kept: torch.save turns them into a RuntimeError."""

    def __init__(self, file):
        self.file, self.error = file, None

    def write(self, data) -> int:
        try:
            return self.file.write(data)
        except OSError as e:
            self.error = e
            raise

    def flush(self) -> None:
        self.file.flush()


def load_checkpoint(path: str) -> dict:
    """The checkpoint at `path`; UsageError when it is not one this trainer wrote."""
    fix = "remove it to start anew, or point --output elsewhere"
    check_file(path, "checkpoint")  # (a FIFO: "is a FIFO, not a file", never opened)
    if os.path.getsize(path) == 0:
        raise UsageError(f"checkpoint {path} is empty (0 bytes): {fix}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch's own message would suggest an unsafe load
        raise UsageError(
            f"checkpoint {path} is damaged or not an sgns checkpoint ({type(e).__name__}): {fix}"
        ) from None
    if not isinstance(state, dict) or "weights" not in state or "config" not in state:
        raise UsageError(f"{path} is not an sgns checkpoint: {fix}")
    problem = fields_problem(state)
    if problem:
        raise UsageError(f"checkpoint {path} is damaged ({problem}): {fix}")
    return state


# No trained table comes near this magnitude: a dot product of such rows saturates the sigmoid,
# and the divergence check (sgns.train.step) stops the run long before a row gets there.
MAX_WEIGHT = 1e6
_COUNTS = ("step", "epoch", "batch", "chunk", "pairs_done", "vocab_size", "metrics_bytes")
_TYPES = {"config": dict, "stage": dict, "loss": dict, "vocab_fingerprint": str,
          "words_fingerprint": str}  # fmt: skip
# what a checkpoint with a stage holds (older ones, without, are refused by sgns.train.resume)
_NEEDED = ("loss", "step", "epoch", "batch", "pairs_done", "world_size", "vocab_size")
_PARTS = {"stage": ("first", "end", "base_step", "lr", "old_words", "old_ratio"),
          "loss": ("sum", "pairs", "record_sum", "record_pairs")}  # fmt: skip


def fields_problem(state: dict) -> str | None:
    """What is wrong with the fields of a loaded checkpoint (their types, a table that is not
    a finite float32 matrix, counters that are not counts), or None: a damaged checkpoint would
    otherwise end in a traceback, or in vectors of NaN with exit 0."""
    weights = state["weights"]
    if not isinstance(weights, torch.Tensor) or weights.dtype != torch.float32:
        return f"its table is {type(weights).__name__} {getattr(weights, 'dtype', '')}".strip()
    if weights.dim() != 2 or not bool(torch.isfinite(weights).all()):
        return f"its table of shape {tuple(weights.shape)} is not a matrix of finite numbers"
    if weights.numel():  # (aminmax: no copy of the table, which may be most of the memory)
        low, high = (float(x) for x in torch.aminmax(weights))
        if max(-low, high) > MAX_WEIGHT:
            return f"its table holds {max(-low, high):.3g}, past any trained value"
    wrong = [k for k, kind in _TYPES.items() if k in state and not isinstance(state[k], kind)]
    if "stage" in state:
        wrong += [k for k in _NEEDED if k not in state]
        for part, keys in _PARTS.items():
            if isinstance(state.get(part), dict):  # (else named above)
                wrong += [f"{part}.{k}" for k in keys if k not in state[part]]
    wrong += _config_problems(state.get("config", {}))
    if wrong:  # (before the checks below, which take these types)
        return f"its {', '.join(wrong)} missing or not of the type sgns-train writes"
    return _numbers_problem(state)


def _config_problems(config) -> list[str]:
    """The fields of a checkpoint's config whose values are not of their TrainConfig type."""
    if not isinstance(config, dict):
        return []  # (said as its config)
    kinds = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    kinds["pool_span"] = "int"
    accept = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    wrong = [
        f"config.{name}"
        for name, value in config.items()
        if name in kinds and type(value) not in accept.get(kinds[name], (type(value),))
    ]
    choices = {"engine": ENGINES, "negative_mode": NEGATIVE_MODES}  # ("auto": never saved)
    return wrong + [
        f"config.{name}"
        for name, known in choices.items()
        if name in config
        and f"config.{name}" not in wrong
        and (config[name] not in known or config[name] == "auto")
    ]


def _numbers_problem(state: dict) -> str | None:
    """Counters that are not counts, or rates and loss sums that are not finite numbers."""
    stage, loss = state.get("stage", {}), state.get("loss", {})
    counts = [(k, state.get(k, 0)) for k in _COUNTS] + [("world_size", state.get("world_size", 1))]
    counts += [(f"stage.{k}", v) for k, v in stage.items() if k not in ("lr", "old_ratio")]
    counts += [(f"loss.{k}", v) for k, v in loss.items() if k.endswith("pairs")]
    wrong = [k for k, v in counts if type(v) is not int or v < (k == "world_size")]
    if wrong:
        return f"its {', '.join(wrong)} is not counts"
    reals = [(f"stage.{k}", stage.get(k, 0.0)) for k in ("lr", "old_ratio")]
    reals += [(f"loss.{k}", v) for k, v in loss.items() if not k.endswith("pairs")]
    wrong = [k for k, v in reals if type(v) not in (int, float) or not math.isfinite(v)]
    return f"its {', '.join(wrong)} is not a finite number" if wrong else None


def training_state(trainer) -> dict:
    """The checkpoint of a sgns.train.trainer.Trainer, in the layout above; its weights a
    snapshot on the training device (`CheckpointWriter` moves them to the host), or on the host
    when the device has no room for a second table."""
    return {
        "weights": _snapshot(trainer.weights),
        "step": trainer.step,
        "epoch": trainer.epoch,
        "batch": trainer.batch,
        "chunk": trainer.chunk,
        "pairs_done": trainer.pairs_done,
        "loss": {
            "sum": trainer.epoch_loss,
            "pairs": trainer.epoch_pairs,
            "record_sum": trainer.record_loss,
            "record_pairs": trainer.record_pairs,
        },
        "config": {**trainer.config.to_dict(), "pool_span": span(trainer)},
        "vocab_fingerprint": trainer.fingerprint,
        "vocab_size": len(trainer.words),
        "words_fingerprint": trainer.words_fingerprint,
        "stage": trainer.stage.record(),
        "world_size": trainer.ctx.world_size,
        "metrics_bytes": trainer.runlog.size(),
    }


def _snapshot(weights: torch.Tensor) -> torch.Tensor:
    if weights.is_cuda and torch.cuda.mem_get_info(weights.device)[0] < 1.25 * (
        weights.numel() * weights.element_size()
    ):
        return weights.cpu()  # no room for a copy on the GPU: the slow way, the training waits
    return weights.clone()


def restore_training_state(trainer, state: dict) -> None:
    """Put a checkpoint's position and loss sums back into a Trainer (its weights and stage
    are restored by the trainer itself)."""
    trainer.step, trainer.epoch, trainer.batch = state["step"], state["epoch"], state["batch"]
    trainer.chunk = state.get("chunk", 0)
    trainer.epoch_loss, trainer.epoch_pairs = state["loss"]["sum"], state["loss"]["pairs"]
    trainer.record_loss = state["loss"]["record_sum"]
    trainer.record_pairs = state["loss"]["record_pairs"]
    trainer.pairs_done = state["pairs_done"]


class CheckpointWriter:
    """Writes checkpoints on a background thread, one at a time: `submit` hands a state over
    (waiting for the write before, so at most one snapshot is held), `wait` waits for the last;
    a failed write (a full disk) raises at the next `submit` or `wait`."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="sgns-checkpoint")
        self.pending = None

    def submit(self, path: str, state: dict, then=None) -> None:
        """Write `state` (its weights a snapshot on the device) to `path`, then call `then`."""
        self.wait()
        snapshot = state["weights"]
        ready = None
        if snapshot.is_cuda:  # the copy to the host waits for the snapshot, not the steps
            ready = torch.cuda.Event()
            ready.record(torch.cuda.current_stream(snapshot.device))
        self.pending = self.pool.submit(self._write, path, state, ready, then)

    def wait(self, quietly: bool = False) -> None:
        """Wait for the last write; raise its error, unless `quietly` (another is in flight)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        while not futures.wait([pending], timeout=5).done:  # (a stopped command: still working)
            signals.still_working()
        if pending.exception() is None or not quietly:
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown()

    @staticmethod
    def _write(path: str, state: dict, ready, then) -> None:
        weights = state["weights"]
        if ready is not None:  # on a side stream: the training stream never waits for it
            side = torch.cuda.Stream(weights.device)
            with torch.cuda.stream(side):
                side.wait_event(ready)
                weights.record_stream(side)
                weights = weights.cpu()
        else:
            weights = weights.cpu()
        save_checkpoint(path, {**state, "weights": weights})
        if then is not None:
            then()


def span(trainer) -> int:
    """The pool span the run trains with (sgns.train.engines.scheme_span), which a resumed run
    must share (sgns.train.resume.check_resumable)."""
    return scheme_span(trainer.config, trainer.blocks)

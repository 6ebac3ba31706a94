"""sgns-train: train skip-gram with negative sampling on a dataset directory; 1..N processes.

One process (CPU or one GPU):
    sgns-train --data DATA --output RUN
N processes on one node (gloo on CPU, NCCL on GPUs), same code path:
    torchrun --nproc-per-node N -m sgns.train --data DATA --output RUN
Several nodes (run on each node; RANK / LOCAL_RANK come from torchrun):
    torchrun --nnodes M --nproc-per-node N --rdzv-backend c10d --rdzv-endpoint HOST:PORT \\
        -m sgns.train --data DATA --output RUN
Elastic restarts continue from the last checkpoint:
    torchrun --max-restarts 3 --nproc-per-node N -m sgns.train --data DATA --output RUN --resume

RUN receives config.json, vocab.tsv, checkpoint.pt (periodic, atomic), metrics.jsonl and, at the
end, vectors.txt (word2vec text). Only rank 0 logs, shows progress and writes.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time

import torch
from torch.utils.data import DataLoader

from sgns import data, dataset
from sgns import distributed as dist_
from sgns.checkpoint import (
    checkpoint_path,
    load_checkpoint,
    numpy_rng_state,
    save_checkpoint,
    set_numpy_rng_state,
)
from sgns.config import TrainConfig, check_resumable
from sgns.export import vectors_from_weights
from sgns.metrics import Clock, Interval, RunLog, progress
from sgns.plan import EpochPlan, load_dataset, make_plans, rank_batch_pairs
from sgns.sampler import AliasSampler
from sgns.step import RowLayout, apply_update, cap_repeated_rows, init_weights, sgns_update
from sgns.vectors import write_vectors

log = logging.getLogger("sgns.train")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def lr_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """Linear decay from lr to lr * min_lr_ratio over the run (word2vec.c's schedule)."""
    return config.lr * max(config.min_lr_ratio, 1.0 - step / max(total_steps, 1))


class Trainer:
    """Holds one rank's state; `train()` runs (or continues) the whole run."""

    def __init__(self, config: TrainConfig, ctx: dist_.Context):
        self.config, self.ctx = config, ctx
        self.manifest, self.words, self.counts, sizes = load_dataset(config.data)
        self.fingerprint = dataset.vocab_fingerprint(self.words, self.counts)
        self.plans = make_plans(config, self.manifest, sizes, ctx.world_size, ctx.rank)
        self.total_steps = sum(p.steps for p in self.plans)
        if self.total_steps == 0:
            raise ValueError(f"dataset {config.data!r} has no pairs")
        self.sampler = AliasSampler(self.counts, config.ns_exponent, ctx.device)
        init = torch.Generator().manual_seed(config.seed)  # same table on every rank
        self.weights = init_weights(len(self.words), config.dim, init).to(ctx.device)  # (2V, D)
        self.generator = torch.Generator(ctx.device).manual_seed(
            config.seed * 1_000_003 + ctx.rank
        )  # each rank its own negatives
        self.step, self.epoch, self.batch = 0, 0, 0
        self.epoch_loss, self.epoch_pairs, self.pairs_done = 0.0, 0, 0
        self.record_loss, self.record_pairs = 0.0, 0  # since the last metrics step record
        self.scale = (
            config.negatives / config.pool_size
            if config.negative_mode == "pool" and config.pool_scale
            else 1.0
        )
        self.layout = RowLayout(
            config.negative_mode, config.negatives, config.pool_size, self.scale
        )
        self.resumed = self._maybe_resume()

    def _maybe_resume(self) -> bool:
        path = checkpoint_path(self.config.output)
        if not os.path.exists(path):
            return False
        if not self.config.resume:
            raise ValueError(
                f"{self.config.output!r} already holds a checkpoint; pass --resume "
                "to continue it or choose another --output"
            )
        state = load_checkpoint(path)
        if state["vocab_fingerprint"] != self.fingerprint:
            raise ValueError(
                f"the checkpoint in {self.config.output!r} was trained on another "
                f"vocabulary than {self.config.data!r}; use a new --output"
            )
        check_resumable(state["config"], self.config)
        if state["world_size"] != self.ctx.world_size:
            raise ValueError(
                f"the checkpoint was written by {state['world_size']} processes; "
                f"resume it with the same number, not {self.ctx.world_size}"
            )
        self.weights.copy_(state["weights"])
        self.step, self.epoch, self.batch = state["step"], state["epoch"], state["batch"]
        self.epoch_loss, self.epoch_pairs = state["loss"]["sum"], state["loss"]["pairs"]
        self.record_loss, self.record_pairs = (
            state["loss"]["record_sum"],
            state["loss"]["record_pairs"],
        )
        self.pairs_done = state["pairs_done"]
        self.generator.set_state(state["rng"]["torch"][self.ctx.rank])
        set_numpy_rng_state(state["rng"]["numpy"])
        return True

    def state(self) -> dict:
        """The checkpoint (gathers every rank's generator state: a collective)."""
        states = dist_.all_gather_objects(self.generator.get_state(), self.ctx.world_size)
        return {
            "weights": self.weights.cpu(),
            "step": self.step,
            "epoch": self.epoch,
            "batch": self.batch,
            "pairs_done": self.pairs_done,
            "lr": {
                "lr": self.config.lr,
                "min_lr_ratio": self.config.min_lr_ratio,
                "total_steps": self.total_steps,
            },
            "rng": {"torch": states, "numpy": numpy_rng_state()},
            "loss": {
                "sum": self.epoch_loss,
                "pairs": self.epoch_pairs,
                "record_sum": self.record_loss,
                "record_pairs": self.record_pairs,
            },
            "config": self.config.to_dict(),
            "vocab_fingerprint": self.fingerprint,
            "world_size": self.ctx.world_size,
        }

    def save(self) -> None:
        """Checkpoint, unless the parameters are no longer finite (then stop, keep the last)."""
        if not bool(torch.isfinite(self.weights).all()):  # identical replicas: same on all ranks
            raise TrainingDiverged(
                f"parameters became NaN/inf at step {self.step}; the last "
                "good checkpoint is kept (try a lower --lr)"
            )
        state = self.state()
        if self.ctx.is_main:
            save_checkpoint(checkpoint_path(self.config.output), state)

    def prepare_run_dir(self) -> None:
        if not self.ctx.is_main:
            return
        os.makedirs(self.config.output, exist_ok=True)
        record = {
            **self.config.to_dict(),
            "dataset": os.path.abspath(self.config.data),
            "world_size": self.ctx.world_size,
        }
        dataset.atomic_write_local(
            os.path.join(self.config.output, "config.json"),
            (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(),
        )
        shutil.copyfile(
            os.path.join(self.config.data, dataset.VOCAB_FILE),
            os.path.join(self.config.output, dataset.VOCAB_FILE),
        )

    def train(self) -> str | None:
        """Run the remaining epochs; returns the vectors path (None when stopped early)."""
        self.prepare_run_dir()
        dist_.barrier(self.ctx)
        runlog = RunLog(
            self.config.output, self.ctx.is_main, self.config.tensorboard, append=self.resumed
        )
        bar = progress(self.ctx.is_main, self.total_steps, self.step)
        self.clock = Clock(self.pairs_done)
        try:
            while self.epoch < self.config.epochs:
                if not self.run_epoch(runlog, bar):
                    return None
        finally:
            bar.close()
            runlog.close()
        return self.finish()

    def run_epoch(self, runlog: RunLog, bar) -> bool:
        """Train from (epoch, batch) to the end of the epoch; False if stopped early."""
        cfg, plan = self.config, self.plans[self.epoch]
        epoch_start = time.time()
        interval = Interval(self.ctx.device)
        for centers, contexts in self.loader(plan):
            lr = lr_at(cfg, self.step, self.total_steps)
            batch_pairs = rank_batch_pairs(plan.rank_pairs, cfg.batch_size, self.batch)
            interval.add(self.train_step(centers, contexts, lr, batch_pairs), sum(batch_pairs))
            self.step, self.batch = self.step + 1, self.batch + 1
            bar.update(1)
            last = self.batch == plan.steps
            record = self.step % cfg.log_interval == 0
            save = last or (cfg.checkpoint_interval and self.step % cfg.checkpoint_interval == 0)
            stop = cfg.stop_after_steps and self.step >= cfg.stop_after_steps
            if record or last or save or stop:
                self.flush(interval)  # before any save: a NaN state is never written
            if record:
                self.record(runlog, bar, lr)
            if last:
                self.end_epoch(runlog, time.time() - epoch_start)
            if save or stop:
                self.save()
            if stop:
                log.info("stopping at step %d (--stop-after-steps)", self.step)
                return False
        return True

    def loader(self, plan: EpochPlan):
        stream = data.PairBatches(plan.units, self.config.batch_size, plan.steps, self.batch)
        cuda = self.ctx.device.type == "cuda"
        return DataLoader(
            stream,
            batch_size=None,
            num_workers=self.config.num_workers,
            pin_memory=cuda,
            prefetch_factor=4 if self.config.num_workers else None,
        )

    def train_step(self, centers, contexts, lr: float, batch_pairs: list[int] | None = None):
        """One synchronised SGD step on this rank's batch; returns its summed loss (device).

        batch_pairs: every rank's pair count in this step (from the plan), for the row sync.
        """
        device = self.ctx.device
        centers = centers.to(device, non_blocking=True).long()  # (B,)
        contexts = contexts.to(device, non_blocking=True).long()  # (B,)
        if centers.numel():
            shape = (
                (self.config.pool_size,)
                if self.config.negative_mode == "pool"
                else (centers.numel(), self.config.negatives)
            )
            negatives = self.sampler.sample(shape, self.generator)  # (P,) or (B, K)
            rows, deltas, loss = sgns_update(
                self.weights, centers, contexts, negatives, lr, self.scale
            )
        else:  # a padding step: no pairs, but still part of every collective
            rows = torch.empty(0, dtype=torch.int64, device=device)
            deltas = self.weights.new_empty(0, self.config.dim)
            loss = torch.zeros((), dtype=torch.float64, device=device)
        sizes = [self.layout.rows(n) for n in batch_pairs] if self.ctx.distributed else None
        rows, deltas = dist_.all_gather_update(rows, deltas, self.ctx.world_size, sizes)
        if self.config.row_cap:  # on the gathered update: the same on every rank
            counts = batch_pairs if self.ctx.distributed else [centers.numel()]
            deltas = cap_repeated_rows(
                rows,
                deltas,
                self.config.row_cap,
                self.weights.shape[0],
                self.layout.multiplicity(counts).to(device),
            )
        apply_update(self.weights, rows, deltas)
        return loss

    def flush(self, interval) -> None:
        """Reduce the interval's loss over ranks into the totals; stop on NaN/inf."""
        loss_sum, pairs = interval.reduce(self.ctx.world_size)
        if not math.isfinite(loss_sum):
            raise TrainingDiverged(
                f"the loss became {loss_sum} before step {self.step}; the "
                "last good checkpoint is kept (try a lower --lr)"
            )
        self.epoch_loss += loss_sum
        self.epoch_pairs += pairs
        self.pairs_done += pairs
        self.record_loss += loss_sum
        self.record_pairs += pairs

    def record(self, runlog: RunLog, bar, lr: float) -> None:
        """The metrics step record and the progress bar's figures."""
        rate = self.clock.rate(self.pairs_done)
        mean = self.record_loss / max(self.record_pairs, 1)
        runlog.step(self.step, self.epoch, self.pairs_done, mean, lr, rate, self.clock.elapsed())
        bar.set_postfix(loss=f"{mean:.4f}", lr=f"{lr:.2e}", pairs_s=f"{rate:,.0f}", refresh=False)
        self.record_loss, self.record_pairs = 0.0, 0

    def end_epoch(self, runlog: RunLog, seconds: float) -> None:
        runlog.epoch(
            self.epoch, self.epoch_loss / max(self.epoch_pairs, 1), self.epoch_pairs, seconds
        )
        self.epoch, self.batch = self.epoch + 1, 0
        self.epoch_loss, self.epoch_pairs = 0.0, 0

    def finish(self) -> str:
        path = os.path.join(self.config.output, "vectors.txt")
        if self.ctx.is_main:
            vectors = vectors_from_weights(self.weights, self.config.export_vectors)
            write_vectors(path, self.words, vectors, "text")
            log.info("wrote %s (%d x %d)", path, *vectors.shape)
        return path


def train(config: TrainConfig) -> str | None:
    """Set up the process (group), train, tear down. Returns the vectors path on rank 0."""
    ctx = dist_.setup(config.device)
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        return Trainer(config, ctx).train()
    finally:
        dist_.teardown(ctx)


def build_parser() -> argparse.ArgumentParser:
    from sgns.cli import train_parser

    return train_parser()


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    is_main = int(os.environ.get("RANK", 0)) == 0
    logging.basicConfig(
        level=logging.INFO if is_main else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        train(TrainConfig(**vars(args)))
    except (ValueError, FileNotFoundError, TrainingDiverged) as e:
        if is_main:
            print(f"sgns-train: error: {e}", file=sys.stderr)
        sys.exit(2 if not isinstance(e, TrainingDiverged) else 3)


if __name__ == "__main__":
    main()

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

Online training (new increments from sgns-preprocess --append or --watch; see sgns.train.plan,
sgns.train.resume): resume the run on the grown dataset, or keep it following the dataset:
    sgns-train --data DATA --output RUN --resume [--increment-lr 0.003125] [--replay 0.25]
    torchrun --nproc-per-node N -m sgns.train --data DATA --output RUN --follow [--resume]
Each new stage grows the tables (old rows kept), rebuilds the noise distribution from the merged
counts and runs --epochs epochs over the new increments' pairs with the lr restarted: new words'
rows from --lr, old words' rows from --increment-lr, both decaying linearly to the stage's end.

RUN receives config.json, vocab.tsv, checkpoint.pt (periodic, atomic), metrics.jsonl and, at the
end, vectors.txt (word2vec text): see sgns.rundir. Only rank 0 logs, shows progress and writes.
"""

from __future__ import annotations

import logging
import math
import time

import torch

from sgns import dataset, errors, rundir
from sgns.train import distributed, engines, episodes, resume, run_files, seeds
from sgns.train.checkpoint import (
    CheckpointWriter,
    checkpoint_path,
    restore_training_state,
    training_state,
)
from sgns.train.config import TrainConfig
from sgns.train.follow import StopSignals, follow
from sgns.train.loader import PairBatches
from sgns.train.metrics import Clock, Interval, RunLog, progress
from sgns.train.plan import TrainingStage, load_stage, rank_batch_pairs
from sgns.train.resume import as_saved, check_continuation, check_same_plan, read_resume_state
from sgns.train.step import initial_loss, loss_limit
from sgns.train.table import check_table_fits, grow_weights, init_weights

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss grew without bound or became NaN/inf; the last checkpoint is kept."""


class Trainer:
    """Holds one rank's state; `train()` runs (or continues) the whole run."""

    def __init__(self, config: TrainConfig, ctx: distributed.Context, threads: int = 1):
        """`config` as given (engine "auto" is settled here, from the checkpoint on --resume);
        `threads`: the native engine's."""
        self.ctx, self.threads = ctx, threads
        self.manifest = dataset.read_manifest(config.data)
        state = read_resume_state(config)
        if state is not None:
            config = as_saved(config, state["config"])
        self.config = config = engines.resolve(config, ctx.device, state and state["config"])
        self.blocks = episodes.blocks_of(config, ctx, self.manifest["vocab"]["size"])
        if state is not None:
            check_continuation(state, config, self.manifest, ctx.world_size)
        self.step, self.epoch, self.batch, self.chunk = 0, 0, 0, 0
        self.epoch_loss, self.epoch_pairs, self.pairs_done = 0.0, 0, 0
        self.record_loss, self.record_pairs = 0.0, 0  # since the last metrics step record
        self.signals = StopSignals() if config.follow else None
        self.engine = None  # sgns.train.engines, made for each stage
        self.engines = {}  # the block scheme's: one per hosted rank (self.engine among them)
        self.vocab_written = -1  # the stage end whose vocabulary RUN/vocab.tsv holds
        self.resumed = state is not None
        self.saved_step = state["step"] if state is not None else None  # the last checkpoint's
        self.saved_at = time.monotonic()
        self.writer = CheckpointWriter()  # checkpoints are written off the training thread
        self.metrics_bytes = state.get("metrics_bytes") if state is not None else None
        if state is None:
            stage = self._load_stage(0, len(self.manifest["increments"]), 0, lr=config.lr)
            if stage.total_steps == 0:
                raise errors.UsageError(f"dataset {config.data!r} has no pairs")
            init = seeds.stream_generator(config.seed, "init")  # the same table on every rank
            check_table_fits(len(stage.words), config.dim, ctx.device)
            weights = init_weights(len(stage.words), config.dim, init)  # (2V, D)
        else:
            s = state["stage"]
            schedule = {k: s[k] for k in ("lr", "old_words", "old_ratio")}
            stage = self._load_stage(s["first"], s["end"], s["base_step"], **schedule)
            check_same_plan(state, stage, config)
            weights = state["weights"]
            restore_training_state(self, state)
        self._enter(stage, weights)

    def _load_stage(self, first: int, end: int, base_step: int, **schedule) -> TrainingStage:
        ctx = self.ctx
        return load_stage(
            self.config, self.manifest, first, end, ctx.world_size, ctx.rank, base_step,
            self.blocks, **schedule,
        )  # fmt: skip

    def _enter(self, stage: TrainingStage, weights: torch.Tensor) -> None:
        """Train `stage` from here on, with `weights` (2V, D) sized to its vocabulary."""
        self.stage, self.words = stage, stage.words
        self.plans, self.total_steps = stage.plans, stage.total_steps
        self.weights = weights.to(self.ctx.device)
        self.close_engines()
        if self.blocks > 1:
            self.exchange, self.engines = episodes.start_stage(self, stage)
            self.engine = self.engines[self.exchange.hosted[0]]
        else:
            self.engine = engines.make_engine(self.config, self.ctx, stage, self.threads)
            self.engine.start(self.step, self.weights)
        self.fingerprint = dataset.vocab_fingerprint(stage.words, stage.counts)
        self.words_fingerprint = dataset.words_fingerprint(stage.words)  # once a stage

    def close_engines(self) -> None:
        """Close the stage's engine(s) (the block scheme's one per hosted rank)."""
        for engine in {id(e): e for e in (self.engine, *self.engines.values()) if e}.values():
            engine.close()
        self.engine, self.engines = None, {}

    def grow(self, end: int) -> None:
        """Start the stage of increments [current end, end): the tables grow to its vocabulary,
        the noise distribution follows its merged counts; the lr schedule restarts, at lr for
        the new words' rows and at increment_lr for the old words' rows (`scale_old_rows`)."""
        first, cfg, ratio = self.stage.end, self.config, self.config.increment_lr / self.config.lr
        stage = self._load_stage(
            first, end, self.step, lr=cfg.lr, old_words=len(self.words), old_ratio=ratio
        )
        resume.check_grown(self, stage)  # (--follow: a dataset rebuilt underneath: refused)
        init = seeds.stream_generator(cfg.seed, "grow", first)  # the same rows on all ranks
        weights = grow_weights(self.weights.cpu(), len(stage.words), init)
        log.info(
            "increments %d..%d: %d -> %d words, %d steps; lr from %g (old words %g)",
            first, end - 1, len(self.words), len(stage.words), stage.total_steps, stage.lr,
            cfg.increment_lr,
        )  # fmt: skip
        self._enter(stage, weights)
        self.epoch, self.batch, self.chunk = 0, 0, 0

    def save(self) -> None:
        """Checkpoint, unless the parameters are no longer finite (then stop, keep the last).
        In the block scheme the ranks first gather the whole table (between chunks)."""
        if self.blocks > 1:
            self.exchange.gather(self.weights)
        if not bool(torch.isfinite(self.weights).all()):  # identical replicas: same on all ranks
            raise self.diverged(f"the parameters became NaN/inf at step {self.step}")
        if self.ctx.is_main:  # replicas are identical: rank 0 alone snapshots and writes
            path = checkpoint_path(self.config.output)
            stage = self.stage  # the vocabulary of the checkpoint's stage, written after it
            self.writer.submit(path, training_state(self), then=lambda: self.write_vocab(stage))
        self.saved_step, self.saved_at = self.step, time.monotonic()

    def diverged(self, what: str) -> TrainingDiverged:
        """The error that stops a diverged run, saying what it leaves and what to do."""
        kept = (
            f"the checkpoint of step {self.saved_step} is kept"
            if self.saved_step is not None
            else "no checkpoint was written before it"
        )
        return TrainingDiverged(
            f"{what}; {kept}. Train again with a lower --lr into a new --output "
            "(a resumed run keeps the --lr it began with)"
        )

    def write_vocab(self, stage: TrainingStage | None = None) -> None:
        """RUN/vocab.tsv: the words and counts of `stage` (the current one; rank 0)."""
        stage = stage or self.stage
        if self.vocab_written != stage.end:
            run_files.write_vocab(self.config.output, stage.words, stage.counts)
            self.vocab_written = stage.end

    def prepare_run_dir(self) -> None:
        if self.ctx.is_main:  # one writer of a run at a time: the lock lives with the trainer
            self.lock = run_files.lock_run(self.config.output)
            run_files.write_config(self.config, self.ctx.world_size)
            self.write_vocab()

    def train(self) -> str | None:
        """Finish the current stage, then train the increments appended since it began (and,
        with --follow, those appended later); returns the vectors path (None when stopped)."""
        self.prepare_run_dir()
        distributed.barrier(self.ctx)
        resumed_at = (self.step, self.metrics_bytes) if self.resumed else None
        self.runlog = RunLog(
            self.config.output, self.ctx.is_main, self.config.tensorboard, resumed_at
        )
        if self.signals:
            self.signals.install()
        try:
            if not self.run_stage():
                return None
            if self.stage.end < len(self.manifest["increments"]):  # grown since: train it too
                path = self.advance(len(self.manifest["increments"]))
            else:
                path = self.finish()
            if path and self.config.follow:
                path = follow(self)
            return path
        except BaseException:
            self.writer.wait(quietly=True)  # the error in flight is the one to report
            raise
        else:
            self.writer.wait()  # the last checkpoint is on disk before train() returns
        finally:
            self.runlog.close()
            if self.ctx.is_main:
                self.lock.release()
            if self.signals:
                self.signals.restore()

    def advance(self, end: int) -> str | None:
        """Grow to increment end - 1 and train the new stage; the vectors path, or None."""
        self.grow(end)
        return self.finish() if self.run_stage() else None

    def run_stage(self) -> bool:
        """Train the current stage's remaining epochs; False if stopped early."""
        if self.blocks > 1:
            bar = episodes.progress_bar(self)
        else:
            bar = progress(self.ctx.is_main, self.total_steps, self.step - self.stage.base_step)
        self.clock = Clock(self.pairs_done)
        try:
            while self.epoch < self.config.epochs:
                if not self.run_epoch(bar):
                    return False
        finally:
            bar.close()
        return True

    def run_epoch(self, bar) -> bool:
        """Train from (epoch, batch) to the end of the epoch; False if stopped early."""
        if self.blocks > 1:
            return episodes.run_block_epoch(self, bar)
        cfg, plan = self.config, self.plans[self.epoch]
        epoch_start = time.time()
        interval = Interval(self.ctx.device)
        if not plan.steps:  # an increment without pairs (all ranks agree: the plan is shared)
            self.end_epoch(0.0)
            self.save()
            return True
        batches = PairBatches(
            plan.units, cfg.batch_size, plan.steps, len(self.words), self.batch,
            cfg.num_workers, self.ctx.device,
        )  # fmt: skip
        for centers, contexts, valid in batches:
            lr = self.stage.lr_at(self.step, cfg.min_lr_ratio)
            pairs = sum(rank_batch_pairs(plan.rank_pairs, cfg.batch_size, self.batch))
            loss = self.engine.step(self.weights, centers, contexts, valid, self.step, lr)
            interval.add(loss, pairs)
            self.step, self.batch = self.step + 1, self.batch + 1
            bar.update(1)
            last = self.batch == plan.steps
            record = self.step % cfg.log_interval == 0
            save = last or (cfg.checkpoint_interval and self.step % cfg.checkpoint_interval == 0)
            stop = bool(cfg.stop_after_steps and self.step >= cfg.stop_after_steps)
            save = save or (record and self.checkpoint_due())
            if record or last or save or stop:
                self.flush(interval)  # before any save: a NaN state is never written
            signalled = save and self.signals is not None and self.signals.any(self.ctx)
            stop = stop or signalled
            if record:
                self.record(bar, lr)
            if last:
                self.end_epoch(time.time() - epoch_start)
            if save or stop:
                self.save()
            if stop:
                why = "a stop signal" if signalled else "--stop-after-steps"
                log.info("stopping at step %d (%s)", self.step, why)
                return False
        return True

    def checkpoint_due(self) -> bool:
        """Whether --checkpoint-seconds have passed since the last save, on any rank."""
        seconds = self.config.checkpoint_seconds
        due = bool(seconds) and time.monotonic() - self.saved_at >= seconds
        return distributed.any_rank(due, self.ctx)

    def flush(self, interval) -> None:
        """Reduce the interval's loss over ranks into the totals; stop on NaN/inf."""
        self.add_loss(*interval.reduce(self.ctx.world_size))

    def add_loss(self, loss_sum: float, pairs: int) -> None:
        """Add a summed loss of `pairs` pairs (all ranks) to the totals; stop on NaN/inf."""
        if not math.isfinite(loss_sum):
            raise self.diverged(f"the loss became {loss_sum} before step {self.step}")
        if pairs and loss_sum / pairs > loss_limit(self.config):
            raise self.diverged(
                f"the loss grew to {loss_sum / pairs:.4g} per pair before step {self.step} "
                f"(beyond {loss_limit(self.config):.3g}: a fresh table's is "
                f"{initial_loss(self.config):.2f})"
            )
        self.epoch_loss += loss_sum
        self.epoch_pairs += pairs
        self.pairs_done += pairs
        self.record_loss += loss_sum
        self.record_pairs += pairs

    def record(self, bar, lr: float) -> None:
        """The metrics step record and the progress bar's figures."""
        rate = self.clock.rate(self.pairs_done)
        mean = self.record_loss / max(self.record_pairs, 1)
        elapsed = self.clock.elapsed()
        self.runlog.step(self.step, self.epoch, self.pairs_done, mean, lr, rate, elapsed)
        bar.set_postfix(loss=f"{mean:.4f}", lr=f"{lr:.2e}", pairs_s=f"{rate:,.0f}", refresh=False)
        self.record_loss, self.record_pairs = 0.0, 0

    def end_epoch(self, seconds: float) -> None:
        self.runlog.epoch(
            self.epoch, self.epoch_loss / max(self.epoch_pairs, 1), self.epoch_pairs, seconds
        )
        self.epoch, self.batch, self.chunk = self.epoch + 1, 0, 0
        self.epoch_loss, self.epoch_pairs = 0.0, 0

    def finish(self) -> str:
        """RUN/vectors.txt (rank 0), once the last checkpoint is written; its path."""
        self.writer.wait()  # a failed checkpoint write is the error to report, before vectors
        cfg = self.config
        if self.ctx.is_main:
            run_files.write_final_vectors(cfg.output, self.words, self.weights, cfg.export_vectors)
        return rundir.run_path(cfg.output, rundir.VECTORS_FILE)


def train(config: TrainConfig) -> str | None:
    """Set up the process (group), train, tear down. Returns the vectors path on rank 0."""
    ctx = distributed.setup(config.device)
    before = torch.get_num_threads()  # torch's default: the cores (1 per process under torchrun)
    trainer = None
    try:
        threads = config.threads or before
        trainer = Trainer(config, ctx, threads)
        # with the native engine its threads do the work; idle torch threads spin and slow them
        torch.set_num_threads(1 if trainer.config.engine == "native" else threads)
        return trainer.train()
    finally:
        if trainer is not None:
            trainer.close_engines()
            trainer.writer.close()
        torch.set_num_threads(before)
        distributed.teardown(ctx)

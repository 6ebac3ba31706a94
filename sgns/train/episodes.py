"""One epoch of several ranks in the block scheme: chunks of the stream, N episodes each.

For each chunk of the epoch (sgns.train.plan.BlockEpochPlan) every hosted rank reads its units
whole, the pairs are routed to the owners of their contexts' output blocks and sorted into
buckets by their centers' input blocks (sgns.train.exchange, sgns.train.blocks); the next
chunk's units are read and their routing posted before this chunk trains, so its all_to_all
travels during this chunk's episodes (the first chunk of an epoch waits for its own). Then N
episodes: in each, every rank trains its bucket in batches of --batch-size with its own engine
(its output block's negatives, its rank's draws), the ranks agree on the episode's loss and
flags, and the input blocks move on. A checkpoint, a stop or a metrics record happens between
chunks or episodes, never inside one, so that a resumed run starts at a chunk boundary and
trains what an uninterrupted run trains.

Steps: an episode lasts as many steps as its largest bucket has batches (every rank knows all
bucket sizes, so all agree); rank r's batch j of episode e is global step first + j, which
keys its negatives (with the rank). The learning rate follows the pairs trained: batch j of a
bucket of n pairs stands at j * batch / n of its episode, and the lr decays linearly in the
stage's pairs (word2vec.c's schedule), the same on every rank and in an emulation.
"""

from __future__ import annotations

import logging
import math
import time

import torch

from sgns.errors import UsageError
from sgns.train import blocks, engines
from sgns.train.exchange import Exchange
from sgns.train.loader import read_units
from sgns.train.metrics import progress
from sgns.train.plan import BlockEpochPlan

log = logging.getLogger(__name__)


def blocks_of(config, ctx, vocab: int) -> int:
    """Ranks of the block scheme: the processes, or those one process emulates (1: neither).
    `vocab`: the dataset's words, which no stage has more of (checked here, before any plan is
    made for the ranks, and again for each stage by `start_stage`)."""
    if config.emulate_ranks > 1 and ctx.world_size > 1:
        raise UsageError(
            "--emulate-ranks trains N ranks in one process; run it without torchrun (or use "
            "--emulate-ranks 0)"
        )
    n = config.emulate_ranks if config.emulate_ranks > 1 else ctx.world_size
    _check_words(n, vocab, config)
    return n


def _check_words(n: int, words: int, config) -> None:
    if n > words:  # a block without a word has no negatives to draw
        what = f"--emulate-ranks {n}" if config.emulate_ranks > 1 else f"{n} ranks"
        raise UsageError(f"{what}: more ranks than the vocabulary has words ({words})")


def start_stage(trainer, stage) -> tuple[Exchange, dict]:
    """The block scheme's exchange and engines for a stage: one engine per hosted rank, its
    negatives from its output block (the whole vocabulary's with --global-negatives)."""
    cfg, n = engines.for_blocks(trainer.config, trainer.blocks), trainer.blocks
    _check_words(n, len(stage.words), cfg)
    hosted = list(range(n)) if cfg.emulate_ranks > 1 else [trainer.ctx.rank]
    span = engines.scheme_span(trainer.config, n)
    if cfg.engine == "torch" and cfg.negative_mode == "pool" and trainer.ctx.is_main:
        log.info("%d ranks in blocks: the torch engine's micro-step is %d pairs (--micro-batch "
                 "/ ranks), its pool of %d shared by %d of them", n, cfg.micro_pairs,
                 cfg.pool_size, span)  # fmt: skip
    sample = trainer.manifest["config"].get("sample", 0.0)
    deal = blocks.Deal.for_counts(stage.counts, sample, n)
    exchange = Exchange(deal, hosted, trainer.ctx.device)
    made = {}
    for r in hosted:
        block = None if cfg.global_negatives else blocks.owned_blocks(r, 0, n)[1]
        noise = deal.noise_weights(stage.counts, cfg.ns_exponent, block)
        made[r] = engines.make_engine(
            cfg, trainer.ctx, stage, trainer.threads, rank=r, noise=noise, host_lr=True,
            span=span,
        )  # fmt: skip
        made[r].start(trainer.step, trainer.weights)
    return exchange, made


def progress_bar(trainer):
    """The stage's progress in pairs (an episode's steps are known only once it is routed)."""
    stage, epoch = trainer.stage, trainer.epoch
    ended = epoch >= len(stage.plans)  # (resumed after the stage's last epoch)
    done = stage.total_pairs if ended else stage.pairs_before(epoch, trainer.chunk)
    return progress(trainer.ctx.is_main, stage.total_pairs, done, "pair")


def run_block_epoch(trainer, bar) -> bool:
    """Train `trainer`'s epoch from its chunk on; False if stopped early."""
    plan: BlockEpochPlan = trainer.plans[trainer.epoch]
    epoch_start = time.time()
    cfg = trainer.config
    routing = 0.0  # seconds of this process spent reading, routing and bucketing pairs
    sent, calls = trainer.exchange.sent_bytes, trainer.exchange.calls
    while trainer.chunk < len(plan.chunks):
        before = trainer.step
        routing += train_chunk(trainer, plan, trainer.chunk, bar)
        trainer.chunk += 1
        last = trainer.chunk == len(plan.chunks)
        save = last or _crossed(before, trainer.step, cfg.checkpoint_interval)
        stop = bool(cfg.stop_after_steps and trainer.step >= cfg.stop_after_steps)
        signalled = trainer.signals is not None and trainer.signals.raised
        due = bool(cfg.checkpoint_seconds) and time.monotonic() - trainer.saved_at >= (
            cfg.checkpoint_seconds
        )
        flags = trainer.exchange.agree([float(signalled), float(due)])
        signalled, due = flags[0] > 0, flags[1] > 0
        save = save or due or stop or signalled
        if last:
            seconds = time.time() - epoch_start
            sent, calls = trainer.exchange.sent_bytes - sent, trainer.exchange.calls - calls
            log.info("epoch %d: %.1f s of %.1f s reading and routing pairs; %.1f MB sent in %d "
                     "collectives (rank %d)", trainer.epoch, routing, seconds, sent / 1e6, calls,
                     trainer.ctx.rank)  # fmt: skip
            trainer.end_epoch(seconds)
        if save:
            trainer.save()
        if stop or signalled:
            trainer.exchange.settle()
            why = "a stop signal" if signalled else "--stop-after-steps"
            log.info("stopping at step %d (%s)", trainer.step, why)
            return False
        if last:  # end_epoch moved the position on to the next epoch's first chunk
            return True
    return True


def _crossed(before: int, after: int, interval: int) -> bool:
    """Whether a multiple of `interval` (0: never) lies in (before, after]."""
    return bool(interval) and after // interval > before // interval


def train_chunk(trainer, plan: BlockEpochPlan, index: int, bar) -> float:
    """Route and train chunk `index` of the epoch: its N episodes. Returns the seconds spent
    reading, routing and bucketing its pairs."""
    start = time.perf_counter()
    cfg, ranks, size = trainer.config, trainer.blocks, trainer.config.batch_size
    device = trainer.ctx.device
    vocab = len(trainer.words)
    exchange = trainer.exchange
    key, ahead = exchange.ahead or (None, None)
    exchange.ahead = None
    routed = ahead if key == (trainer.epoch, index) else _post(trainer, plan, index, vocab)
    owned, counts = routed.wait()
    if index + 1 < len(plan.chunks):  # the next chunk's pairs travel while this one trains
        exchange.ahead = ((trainer.epoch, index + 1), _post(trainer, plan, index + 1, vocab))
    sorted_buckets = [exchange.deal.buckets(p[:, 0], p[:, 1]) for p in owned]
    routing = time.perf_counter() - start
    done = trainer.stage.pairs_before(trainer.epoch, index)  # pairs of the stage before it
    total = trainer.stage.total_pairs
    for episode in range(ranks):
        sizes = blocks.episode_sizes(counts, episode)  # (N,)
        episode_pairs = int(sizes.sum())
        steps = math.ceil(int(sizes.max()) / size)
        loss = torch.zeros((), dtype=torch.float64, device=device)
        for r, (centers, contexts, offsets) in zip(trainer.exchange.hosted, sorted_buckets):
            engine = trainer.engines[r]
            block = blocks.owned_blocks(r, episode, ranks)[0]
            lo, hi = int(offsets[block]), int(offsets[block + 1])
            bucket_c, bucket_x = centers[lo:hi].to(device), contexts[lo:hi].to(device)
            n = hi - lo
            engine.start(trainer.step)
            for j in range(math.ceil(n / size)):
                at = done + episode_pairs * (j * size / n)
                lr = trainer.stage.lr_at_pairs(at, total, cfg.min_lr_ratio)
                c, x, valid = _batch(bucket_c, bucket_x, j, size)
                loss += engine.step(trainer.weights, c, x, valid, trainer.step + j, lr)
        (loss_sum,) = trainer.exchange.agree([float(loss)])
        trainer.exchange.rotate(trainer.weights, episode)
        before, trainer.step = trainer.step, trainer.step + steps
        done += episode_pairs
        trainer.add_loss(loss_sum, episode_pairs)
        bar.update(episode_pairs)
        if _crossed(before, trainer.step, cfg.log_interval):
            trainer.record(bar, trainer.stage.lr_at_pairs(done, total, cfg.min_lr_ratio))
    return routing


def _post(trainer, plan: BlockEpochPlan, index: int, vocab: int):
    """Read chunk `index`'s units and post their routing (sgns.train.exchange.Exchange.post)."""
    cfg, hosted = trainer.config, trainer.exchange.hosted
    return trainer.exchange.post(
        [read_units(plan.chunks[index][r], vocab, cfg.num_workers) for r in hosted]
    )


def _batch(centers: torch.Tensor, contexts: torch.Tensor, j: int, size: int):
    """Batch j of a bucket, padded to `size` pairs: (centers, contexts, valid)."""
    c, x = centers[j * size : (j + 1) * size], contexts[j * size : (j + 1) * size]
    valid = len(c)
    if valid < size:
        pad = torch.zeros(size - valid, dtype=c.dtype, device=c.device)
        c, x = torch.cat([c, pad]), torch.cat([x, pad])
    return c, x, valid

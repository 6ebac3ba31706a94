"""Whether a run may continue from its checkpoint, on this dataset, under this config.

A checkpoint continues on the dataset it was trained on or on one grown from it: an increment
(sgns-preprocess --append) appends new words after the old ones and never changes an old id, so
a model trained on V_old words continues on a dataset whose first V_old words are its words
(`check_vocab_prefix`); only the counts (hence the noise distribution) change. The config must
agree on every field that shapes the parameters or the saved state (`RESUME_FIELDS`), and the
number of ranks must be the same (the stream split depends on it).
"""

from __future__ import annotations

import dataclasses
import os

import torch

from sgns import dataset, rundir
from sgns.errors import UsageError
from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.engines import scheme_span
from sgns.train.plan import BlockEpochPlan

RESUME_FIELDS = (  # in this order: pool_size after batch_size, micro_batch and negatives,
    "dim",  # which its default follows (the first difference named is the one a user made)
    "negatives",
    "ns_exponent",
    "negative_mode",
    "batch_size",
    "micro_batch",
    "pool_size",
    "epochs",
    "lr",
    "min_lr_ratio",
    "seed",
    "pool_scale",
    "engine",
    "group_size",  # the grouped reading order follows it (compared in negative mode group)
)
# fields that matter with several ranks, real or emulated, only (sgns.train.blocks)
BLOCK_FIELDS = ("rounds", "emulate_ranks", "global_negatives")


def read_resume_state(config) -> dict | None:
    """The checkpoint in config.output to continue, or None when there is none; a checkpoint
    without --resume is refused (a new run would overwrite it), and so is an --output that
    holds files but no sgns run (rundir.check_run_output)."""
    rundir.check_run_output(config.output)
    path = checkpoint_path(config.output)
    if not os.path.exists(path):
        return None
    if not config.resume:
        raise UsageError(
            f"{config.output!r} already holds a checkpoint; pass --resume "
            "to continue it or choose another --output"
        )
    return load_checkpoint(path)


def as_saved(config, saved: dict):
    """`config` for resuming a checkpoint written with the config `saved`: one from before the
    torch engine's micro-steps summed each batch as one update, which is a micro-step of the
    whole batch (with the pool it was given, unless this run names another)."""
    if "micro_batch" in saved:
        return config
    updates = {"micro_batch": saved.get("batch_size", config.batch_size)}
    if "pool_size" in saved and config.pool_size == config.auto_pool_size:
        updates["pool_size"] = saved["pool_size"]
    return dataclasses.replace(config, **updates)


def _refuse_switch(name: str, saved: bool, config) -> None:
    default = {f.name: f.default for f in dataclasses.fields(config)}[name]
    flag = ("--" if default is False else "--no-") + name.replace("_", "-")

    def said(value: bool) -> str:
        return ("with " if value != default else "without ") + flag

    raise UsageError(
        f"the checkpoint was written {said(saved)} but this run is {said(not saved)}; "
        f"{'give' if saved != default else 'leave out'} {flag} as it did, or use a new --output"
    )


def check_resumable(saved: dict, config, world_size: int = 1) -> None:
    """Raise UsageError naming the first field where a checkpoint's config and `config` differ
    (the block scheme's fields too when there are several ranks, real or emulated)."""
    if world_size > 1 and "rounds" not in saved:
        raise UsageError(
            "the checkpoint was written by an older sgns-train whose ranks trained replicas of "
            "the table; it cannot continue with ranks that own blocks of it: use a new --output"
        )
    several = world_size > 1 or config.emulate_ranks > 1 or saved.get("emulate_ranks", 0) > 1
    # a checkpoint written before the block fields existed trained one process: their defaults
    before = {f.name: f.default for f in dataclasses.fields(config) if f.name in BLOCK_FIELDS}
    saved = {**before, **saved} if several else saved
    for name in RESUME_FIELDS + (BLOCK_FIELDS if several else ()):
        if name == "group_size" and saved.get("negative_mode") != "group":
            continue
        if name in saved and saved[name] != getattr(config, name):
            flag = "--" + name.replace("_", "-")
            if isinstance(saved[name], bool):  # a switch (--no-pool-scale): no value to pass
                _refuse_switch(name, saved[name], config)
            given = f"{flag} {getattr(config, name)}"
            if name == "pool_size" and config.pool_size == config.auto_pool_size:
                given += " (the default for its --batch-size and --micro-batch)"
            raise UsageError(
                f"the checkpoint was written with {flag} {saved[name]} but this run has "
                f"{given}; pass {flag} {saved[name]} as it did, or use a new --output"
            )
    if several and saved.get("engine") == "torch" and saved.get("negative_mode") == "pool":
        ranks = config.emulate_ranks if config.emulate_ranks > 1 else world_size
        settled = dataclasses.replace(config, engine="torch", negative_mode="pool")
        span, had = scheme_span(settled, ranks), saved.get("pool_span", 1)
        if had != span:  # the same options, another version of the block scheme's pool
            raise UsageError(
                f"the checkpoint's ranks moved their pool every {had} micro-steps, this "
                f"sgns-train's every {span} (sgns.train.engines.pool_span): it would not "
                "continue the same training; use a new --output"
            )


def check_vocab_prefix(saved_size: int, saved_words: str, words: list[str], run: str, data: str):
    """Raise UsageError unless the checkpoint's words (its size and words_fingerprint) are the
    first `saved_size` words of the dataset's vocabulary `words` (the same or a grown one)."""
    if len(words) < saved_size or dataset.words_fingerprint(words[:saved_size]) != saved_words:
        raise UsageError(
            f"the checkpoint in {run!r} was trained on another vocabulary than {data!r} (its "
            f"{saved_size} words are not the first {saved_size} of the dataset's "
            f"{len(words)}); use a new --output"
        )


def check_grown(trainer, stage) -> None:
    """Raise UsageError unless the words `trainer` trained are the first words of the `stage`
    it grows to (sgns-train --follow: a dataset rebuilt since, with fewer words or others,
    would give the trained rows to other words)."""
    words, config = trainer.words, trainer.config
    check_vocab_prefix(len(words), trainer.words_fingerprint, stage.words, config.output,
                       config.data)  # fmt: skip


def check_continuation(state: dict, config, manifest: dict, world_size: int) -> None:
    """Raise UsageError unless the checkpoint `state` may continue on the dataset `manifest`
    (the same vocabulary or a grown one, with the same history) under `config`."""
    run, data = config.output, config.data
    if "stage" not in state or "words_fingerprint" not in state:
        raise UsageError(
            f"the checkpoint in {run!r} was written by an older sgns-train; use a new --output"
        )
    words, _ = dataset.read_manifest_vocab(data, manifest)
    size, end = state["vocab_size"], state["stage"]["end"]
    check_vocab_prefix(size, state["words_fingerprint"], words, run, data)
    increments = manifest["increments"]
    if end > len(increments) or increments[end - 1]["vocab_size"] != size:
        raise UsageError(
            f"the checkpoint in {run!r} was trained on another vocabulary than {data!r} (its "
            f"increment {end - 1} had {size} words, not so in the dataset); use a new --output"
        )
    if state["world_size"] != world_size:
        raise UsageError(
            f"the checkpoint was written by {state['world_size']} processes; "
            f"resume it with the same number, not {world_size}"
        )
    check_resumable(state["config"], config, world_size)
    problem = stage_problem(state["stage"], config, increments)
    if problem:
        _damaged(config, problem)
    saved_replay = state["config"].get("replay", 0.0)
    if state["stage"]["first"] and state["epoch"] < config.epochs and saved_replay != config.replay:
        raise UsageError(
            f"the checkpoint stopped inside an increment trained with replay={saved_replay!r}; "
            f"finish it with the same --replay, not {config.replay!r}"
        )


def stage_problem(stage: dict, config, increments: list) -> str | None:
    """What is wrong with a checkpoint's stage record (sgns.train.plan.TrainingStage.record)
    for this run and dataset, or None: every stage starts at --lr, the first one at step 0 with
    no old words, a later one with the words of the increments before it. A damaged field
    would otherwise be trained with (an lr of 1e9 diverges, and is said as a divergence)."""
    first, end = stage["first"], stage["end"]
    if not first < end:
        return f"its stage.first {first} is not before its stage.end {end}"
    if stage["lr"] != config.lr:  # (config.lr is the checkpoint's: check_resumable)
        return f"its stage.lr {stage['lr']!r} is not the run's --lr {config.lr!r}"
    if stage["old_ratio"] <= 0:
        return f"its stage.old_ratio {stage['old_ratio']!r} is not above 0"
    if first:  # a later stage: its old words are those of the increments before it
        expected = {"old_words": increments[first - 1].get("vocab_size")}
    else:
        expected = {"old_words": 0, "old_ratio": 1.0, "base_step": 0}
    for name, value in expected.items():
        if value is not None and stage[name] != value:
            return f"its stage.{name} {stage[name]!r} is not {value!r}"
    return None


def check_same_plan(state: dict, stage, config) -> None:
    """Raise UsageError when the dataset no longer gives the stage the checkpoint planned, or
    when the checkpoint's table or position does not fit that stage (a damaged checkpoint: its
    vectors would have another shape, or a position past the plan would never end)."""
    total_steps = stage.total_steps
    planned = state["stage"].get("total_steps", total_steps)
    if planned != total_steps:
        raise UsageError(
            f"the checkpoint in {config.output!r} planned {planned} steps for its stage but "
            f"{config.data!r} now gives {total_steps}: its shards changed since; use a new "
            "--output"
        )
    weights, shape = state["weights"], (2 * len(stage.words), config.dim)
    if not isinstance(weights, torch.Tensor) or weights.dtype != torch.float32:
        _damaged(config, f"its table is {type(weights).__name__} {getattr(weights, 'dtype', '')}")
    if tuple(weights.shape) != shape:
        _damaged(config, f"its table is {tuple(weights.shape)}, the run's {shape}")
    position = {k: state.get(k, 0) for k in ("step", "epoch", "batch", "chunk", "pairs_done")}
    if not all(isinstance(v, int) and v >= 0 for v in position.values()):
        _damaged(config, f"its position {position} is not counts")
    epoch = position["epoch"]
    if epoch > config.epochs or (epoch < config.epochs and _past(stage.plans[epoch], position)):
        _damaged(config, f"its position {position} is past the plan of its stage")
    if not any(isinstance(p, BlockEpochPlan) for p in stage.plans):  # (theirs: known as routed)
        at = stage.base_step + sum(p.steps for p in stage.plans[:epoch]) + position["batch"]
        if position["step"] != at:  # the lr schedule and the negatives' keys follow the step
            _damaged(config, f"its step {position['step']} is not its epoch and batch's, {at}")
    base, most = state["stage"]["base_step"], _most_steps(stage, config.batch_size)
    if not base <= position["step"] <= base + most:  # the lr decays over those steps
        _damaged(config, f"its stage.base_step {base} puts its step {position['step']} outside "
                 f"the stage's {most} steps")  # fmt: skip


def _most_steps(stage, batch_size: int) -> int:
    """The most steps the stage can take: its plan's, or in the block scheme (whose plan counts
    balanced buckets, where an episode takes as many steps as its largest bucket) N steps per
    batch of each chunk."""
    most = 0
    for plan in stage.plans:
        if isinstance(plan, BlockEpochPlan):
            chunks = zip(plan.chunks, plan.chunk_pairs)
            most += sum(len(ranks) * -(-n // batch_size) for ranks, n in chunks)
        else:
            most += plan.steps
    return most


def _past(plan, position: dict) -> bool:
    """Whether a checkpoint's position within an epoch lies beyond that epoch's plan."""
    if isinstance(plan, BlockEpochPlan):
        return position["chunk"] > len(plan.chunks)
    return position["batch"] > plan.steps


def _damaged(config, what: str):
    raise UsageError(
        f"the checkpoint in {config.output!r} is damaged ({what}); remove it to start anew, or "
        "point --output elsewhere"
    )

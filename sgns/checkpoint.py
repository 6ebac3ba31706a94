"""Checkpoints: atomic save (temp + fsync + rename) and safe load (torch.load weights_only=True).

A checkpoint is a dict of tensors and plain types only:
    weights         (2V, D) float32: input rows then output rows (plain SGD has no other state)
    step            global steps done; epoch, batch: the position in the stream (next batch)
    lr              the lr schedule's state: base lr, min ratio and total steps
    rng             per-rank torch.Generator states (uint8 tensors, rank order), numpy's state
    loss            the running epoch loss sum (float64) and pairs, so resumed metrics are exact
    config          TrainConfig as a dict; vocab_fingerprint: sgns.dataset.vocab_fingerprint
                    of the words and counts trained on (RUN/vocab.tsv holds them)
    vocab_size, words_fingerprint
                    V and sgns.dataset.words_fingerprint of its words: it resumes on a dataset
                    whose first V words are these (the same or a grown vocabulary) and whose
                    increment stage.end - 1 had V words; any other is refused (sgns.grow)
    increments      indices of the dataset increments it has trained on (the last stage's
                    completely once epoch == epochs)
    stage           the stage being trained (sgns.plan.Stage): first, end (increments
                    [first, end)), base_step, lr, total_steps, old_words, old_ratio
    world_size      ranks that wrote it (the stream split depends on it)
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import torch

from sgns import dataset

CHECKPOINT_FILE = "checkpoint.pt"


def checkpoint_path(run: str) -> str:
    return os.path.join(run, CHECKPOINT_FILE)


def save_checkpoint(path: str, state: dict) -> None:
    """Write `state` so that `path` holds the old checkpoint or the new one, never half of one."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=directory)
    try:
        os.fchmod(fd, dataset.FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str) -> dict:
    """The checkpoint at `path`; ValueError when it is not one this trainer wrote."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(
            f"checkpoint {path} cannot be loaded ({e}); remove it or drop --resume"
        ) from None
    if not isinstance(state, dict) or "weights" not in state or "config" not in state:
        raise ValueError(f"{path} is not an sgns checkpoint")
    return state


def numpy_rng_state() -> dict:
    """numpy's global RandomState as plain types and tensors (weights_only can load it)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "name": name,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def set_numpy_rng_state(state: dict) -> None:
    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (state["name"], keys, state["pos"], state["has_gauss"], state["cached_gaussian"])
    )


def training_state(trainer) -> dict:
    """The checkpoint of a sgns.train.Trainer, in the layout above (gathers every rank's
    generator state: a collective, so every rank calls it)."""
    from sgns import dataset
    from sgns import distributed as dist_

    ctx, config = trainer.ctx, trainer.config
    states = dist_.all_gather_objects(trainer.generator.get_state(), ctx.world_size)
    return {
        "weights": trainer.weights.cpu(),
        "step": trainer.step,
        "epoch": trainer.epoch,
        "batch": trainer.batch,
        "pairs_done": trainer.pairs_done,
        "lr": {
            "lr": config.lr,
            "min_lr_ratio": config.min_lr_ratio,
            "total_steps": trainer.total_steps,
        },
        "rng": {"torch": states, "numpy": numpy_rng_state()},
        "loss": {
            "sum": trainer.epoch_loss,
            "pairs": trainer.epoch_pairs,
            "record_sum": trainer.record_loss,
            "record_pairs": trainer.record_pairs,
        },
        "config": config.to_dict(),
        "vocab_fingerprint": trainer.fingerprint,
        "vocab_size": len(trainer.words),
        "words_fingerprint": dataset.words_fingerprint(trainer.words),
        "increments": list(range(trainer.stage.end)),
        "stage": trainer.stage.record(),
        "world_size": ctx.world_size,
    }


def restore_training_state(trainer, state: dict) -> None:
    """Put a checkpoint's position, loss sums and RNG states back into a Trainer (its weights
    and stage are restored by the trainer itself)."""
    trainer.step, trainer.epoch, trainer.batch = state["step"], state["epoch"], state["batch"]
    trainer.epoch_loss, trainer.epoch_pairs = state["loss"]["sum"], state["loss"]["pairs"]
    trainer.record_loss = state["loss"]["record_sum"]
    trainer.record_pairs = state["loss"]["record_pairs"]
    trainer.pairs_done = state["pairs_done"]
    trainer.generator.set_state(state["rng"]["torch"][trainer.ctx.rank])
    set_numpy_rng_state(state["rng"]["numpy"])

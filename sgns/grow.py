"""Online training: which vocabulary a checkpoint may continue on, and growing its tables.

An increment (sgns-preprocess --append) appends new words after the old ones and never changes an
old id, so a model trained on V_old words continues on a dataset whose first V_old words are its
words (`check_vocab_prefix`); only the counts (hence the noise distribution) change. Growing
re-lays out the (2V, D) table of sgns.step (inputs, then outputs): old rows are copied bit for
bit, new input rows are drawn as word2vec.c draws them (uniform in ±0.5/dim), new output rows are
zero (`grow_weights`).
"""

from __future__ import annotations

import torch

from sgns import dataset
from sgns.config import check_resumable


def grow_weights(weights: torch.Tensor, vocab_size: int, generator: torch.Generator):
    """The (2V_old, D) table re-laid out as (2V, D) for a vocabulary grown to `vocab_size` words:
    rows of old words kept exactly, new input rows uniform in ±0.5/dim, new output rows zero."""
    old, dim = weights.shape[0] // 2, weights.shape[1]
    if vocab_size < old:
        raise ValueError(f"a vocabulary cannot shrink (from {old} to {vocab_size} words)")
    grown = weights.new_zeros(2 * vocab_size, dim)
    grown[:old] = weights[:old]  # inputs
    grown[vocab_size : vocab_size + old] = weights[old:]  # outputs
    new_inputs = (torch.rand(vocab_size - old, dim, generator=generator) - 0.5) / dim
    grown[old:vocab_size] = new_inputs.to(grown.device, grown.dtype)
    return grown


def check_vocab_prefix(saved_size: int, saved_words: str, words: list[str], run: str, data: str):
    """Raise ValueError unless the checkpoint's words (its size and words_fingerprint) are the
    first `saved_size` words of the dataset's vocabulary `words` (the same or a grown one)."""
    if len(words) < saved_size or dataset.words_fingerprint(words[:saved_size]) != saved_words:
        raise ValueError(
            f"the checkpoint in {run!r} was trained on another vocabulary than {data!r} (its "
            f"{saved_size} words are not the first {saved_size} of the dataset's "
            f"{len(words)}); use a new --output"
        )


def check_continuation(state: dict, config, manifest: dict, world_size: int) -> None:
    """Raise ValueError unless the checkpoint `state` may continue on the dataset `manifest`
    (the same vocabulary or a grown one, with the same history) under `config`."""
    run, data = config.output, config.data
    if "stage" not in state or "words_fingerprint" not in state:
        raise ValueError(
            f"the checkpoint in {run!r} was written by an older sgns-train; use a new --output"
        )
    words, _ = dataset.read_manifest_vocab(data, manifest)
    size, end = state["vocab_size"], state["stage"]["end"]
    check_vocab_prefix(size, state["words_fingerprint"], words, run, data)
    increments = manifest["increments"]
    if end > len(increments) or increments[end - 1]["vocab_size"] != size:
        raise ValueError(
            f"the checkpoint in {run!r} was trained on another vocabulary than {data!r} (its "
            f"increment {end - 1} had {size} words, not so in the dataset); use a new --output"
        )
    check_resumable(state["config"], config)
    saved_replay = state["config"].get("replay", 0.0)
    if state["stage"]["first"] and state["epoch"] < config.epochs and saved_replay != config.replay:
        raise ValueError(
            f"the checkpoint stopped inside an increment trained with replay={saved_replay!r}; "
            f"finish it with the same --replay, not {config.replay!r}"
        )
    if state["world_size"] != world_size:
        raise ValueError(
            f"the checkpoint was written by {state['world_size']} processes; "
            f"resume it with the same number, not {world_size}"
        )


def scale_old_rows(
    rows: torch.Tensor, deltas: torch.Tensor, vocab_size: int, old_words: int, ratio: float
) -> torch.Tensor:
    """Deltas (R, D) for rows (R,) of the (2V, D) table, with the input and output rows of the
    first `old_words` words scaled by `ratio`: in an increment, the words trained before move at
    increment_lr while the new words learn at the full lr."""
    old = torch.remainder(rows, vocab_size) < old_words  # (R,)
    factor = torch.where(old, ratio, 1.0).to(deltas.dtype)  # (R,)
    return deltas * factor.unsqueeze(1)

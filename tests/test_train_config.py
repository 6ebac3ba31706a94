"""TrainConfig validates itself, resolves the pool size, and guards resume compatibility."""

import dataclasses
import re

import pytest

from sgns.train.config import TrainConfig
from sgns.train.resume import check_resumable


def test_bad_values_are_rejected_with_the_option_named():
    for bad, option in (
        ({"dim": 0}, "--dim must"),
        ({"batch_size": 0}, "--batch-size must"),
        ({"negative_mode": "x"}, "--negative-mode 'x'"),
        ({"lr": -1.0}, "--lr must"),
        ({"device": "tpu"}, "--device 'tpu'"),
    ):
        with pytest.raises(ValueError, match=option):
            TrainConfig(data="d", output="o", **bad)


def test_pool_size_follows_the_micro_step_not_the_batch_unless_given():
    assert TrainConfig(data="d", output="o").pool_size == 80
    assert TrainConfig(data="d", output="o", batch_size=131072).pool_size == 80
    assert TrainConfig(data="d", output="o", batch_size=16384, micro_batch=16384).pool_size == 320
    assert TrainConfig(data="d", output="o", batch_size=1024).pool_size == 20  # micro = batch
    assert TrainConfig(data="d", output="o", batch_size=16384, pool_size=7).pool_size == 7
    TrainConfig(data="d", output="o", batch_size=10000)  # the native engine takes any batch


def test_resume_needs_the_same_blocks_only_with_several_ranks():
    saved = TrainConfig(data="d", output="o", rounds=3).to_dict()
    check_resumable(saved, TrainConfig(data="d", output="o", rounds=5))  # one rank
    with pytest.raises(ValueError, match="--rounds 3 but this run has --rounds 5"):
        check_resumable(saved, TrainConfig(data="d", output="o", rounds=5), world_size=2)
    emulated = TrainConfig(data="d", output="o", emulate_ranks=8).to_dict()
    with pytest.raises(ValueError, match="--emulate-ranks 8 but this run has --emulate-ranks 0"):
        check_resumable(emulated, TrainConfig(data="d", output="o"))
    # a checkpoint of the replica scheme that came before the blocks
    old = {k: v for k, v in saved.items() if k not in ("rounds", "emulate_ranks")}
    old["sync_pairs"] = 1_048_576
    check_resumable(old, TrainConfig(data="d", output="o"))
    with pytest.raises(ValueError, match="trained replicas"):
        check_resumable(old, TrainConfig(data="d", output="o"), world_size=2)
    # one process before the block scheme: it cannot continue as an emulation of 3 ranks
    single = {k: v for k, v in saved.items() if k not in ("rounds", "emulate_ranks")}
    with pytest.raises(ValueError, match="--emulate-ranks 0 but this run has --emulate-ranks 3"):
        check_resumable(single, TrainConfig(data="d", output="o", emulate_ranks=3))


def test_resume_needs_the_pool_span_the_checkpoints_ranks_trained_with():
    """A block-scheme checkpoint records its pool span (sgns.train.checkpoint.span); a run whose
    sgns-train spans the pool otherwise would not continue the same training."""
    config = TrainConfig(data="d", output="o", engine="torch", negative_mode="pool",
                         batch_size=131072, emulate_ranks=8)  # fmt: skip
    saved = {**config.to_dict(), "pool_span": 8}
    check_resumable(saved, config)
    before = {k: v for k, v in saved.items() if k != "pool_span"}  # the pool moved every step
    with pytest.raises(ValueError, match="every 1 micro-steps, this sgns-train's every 8"):
        check_resumable(before, config)
    native = {**before, "engine": "native", "negative_mode": "pair"}
    check_resumable(native, dataclasses.replace(config, engine="native", negative_mode="pair"))


@pytest.mark.parametrize("name", ["lr", "ns_exponent", "min_lr_ratio", "replay", "row_cap"])
@pytest.mark.parametrize("value", [float("inf"), float("nan"), float("-inf")])
def test_numbers_that_are_not_finite_are_refused_by_option(name, value):
    flag = "--" + name.replace("_", "-")
    with pytest.raises(ValueError, match=f"{flag} must be a finite number"):
        TrainConfig(data="d", output="o", **{name: value})


def test_global_negatives_only_in_an_emulation():
    TrainConfig(data="d", output="o", emulate_ranks=4, global_negatives=True)
    with pytest.raises(ValueError, match="--global-negatives needs --emulate-ranks"):
        TrainConfig(data="d", output="o", global_negatives=True)


def test_resume_needs_the_same_shape_and_schedule():
    saved = TrainConfig(data="d", output="o").to_dict()
    check_resumable(saved, TrainConfig(data="d", output="o", num_workers=3))  # harmless change
    with pytest.raises(ValueError, match="written with --dim 100 but this run has --dim 50"):
        check_resumable(saved, TrainConfig(data="d", output="o", dim=50))


@pytest.mark.parametrize("seconds", [86400.5, 1e10, 1e300, 0.009, 1e-300, 0.0])
def test_a_poll_longer_than_a_day_or_shorter_than_10_ms_is_refused_before_training(seconds):
    said = f"--poll-seconds must be at least 0.01 and at most 86400 (a day), got {seconds}"
    with pytest.raises(ValueError, match=re.escape(said)):  # (1e-300: a busy loop)
        TrainConfig(data="d", output="o", follow=True, poll_seconds=seconds)
    TrainConfig(data="d", output="o", follow=True, poll_seconds=86400)  # (a day: taken)
    TrainConfig(data="d", output="o", follow=True, poll_seconds=0.01)  # (as --watch's floor)

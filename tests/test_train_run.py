"""Whole runs in one process: exact resume, metrics, NaN handling, and bad input rejected early."""

import dataclasses
import hashlib
import json
import os
import shutil

import pytest
import torch
from train_helpers import tiny_config, write_tiny_dataset

import sgns.train.torch_engine
from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.cli import main
from sgns.train.native import build
from sgns.train.native.kernel import NativeKernel
from sgns.train.trainer import train


@pytest.fixture()
def tiny(tmp_path):
    directory = str(tmp_path / "data")
    write_tiny_dataset(directory, vocab_size=40, pairs=1200, shards=2, passes=2)
    return directory


def _config(data, output, **kw):
    defaults = dict(epochs=3, checkpoint_interval=5, log_interval=4)
    return tiny_config(data, output, **{**defaults, **kw})


@pytest.mark.parametrize(
    "engine,mode,workers",
    [("torch", "pool", 0), ("torch", "pair", 2), ("native", "pair", 1), ("native", "group", 2)],
)
def test_killed_and_resumed_run_ends_with_the_same_vectors(tiny, tmp_path, engine, mode, workers):
    if engine == "native" and not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    kw = dict(engine=engine, negative_mode=mode, threads=1)  # one native thread: bit-exact
    threads = torch.get_num_threads()
    whole = str(tmp_path / "whole")
    train(_config(tiny, whole, **kw))
    parts = str(tmp_path / "parts")
    assert train(_config(tiny, parts, stop_after_steps=31, **kw)) is None
    assert load_checkpoint(checkpoint_path(parts))["step"] == 31  # mid epoch 1 (24 steps each)
    train(_config(tiny, parts, resume=True, num_workers=workers, **kw))
    a = load_checkpoint(checkpoint_path(whole))
    b = load_checkpoint(checkpoint_path(parts))
    assert a["step"] == b["step"] == 72
    assert torch.get_num_threads() == threads  # a run leaves torch's thread count as it was
    assert torch.equal(a["weights"], b["weights"])
    with (
        open(os.path.join(whole, "vectors.txt")) as f,
        open(os.path.join(parts, "vectors.txt")) as g,
    ):
        assert f.read() == g.read()
    epochs = [
        [
            r
            for r in map(json.loads, open(os.path.join(run, "metrics.jsonl")))
            if r["kind"] == "epoch"
        ]
        for run in (whole, parts)
    ]
    assert [(r["loss"], r["pairs"]) for r in epochs[0]] == [
        (r["loss"], r["pairs"]) for r in epochs[1]
    ]


@pytest.mark.parametrize("engine,mode", [("torch", "pool"), ("native", "pair")])
def test_emulated_ranks_stopped_and_resumed_end_as_an_uninterrupted_run(
    tiny, tmp_path, engine, mode
):
    """The block scheme in one process (--emulate-ranks 3): a stop falls between chunks and the
    resumed run ends with the uninterrupted run's table, every pair trained once an epoch."""
    if engine == "native" and not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    kw = dict(engine=engine, negative_mode=mode, threads=1, emulate_ranks=3, rounds=4)
    whole, parts = str(tmp_path / "whole"), str(tmp_path / "parts")
    train(_config(tiny, whole, **kw))
    assert train(_config(tiny, parts, stop_after_steps=9, **kw)) is None
    stopped = load_checkpoint(checkpoint_path(parts))
    assert stopped["step"] >= 9 and stopped["chunk"] > 0  # the end of the chunk it was in
    train(_config(tiny, parts, resume=True, **kw))
    a, b = (load_checkpoint(checkpoint_path(run)) for run in (whole, parts))
    assert a["step"] == b["step"] and torch.equal(a["weights"], b["weights"])
    records = [json.loads(line) for line in open(os.path.join(whole, "metrics.jsonl"))]
    assert [r["pairs"] for r in records if r["kind"] == "epoch"] == [1200, 1200, 1200]


def test_a_run_without_pool_scaling_is_not_taken_for_diverged(tiny, tmp_path):
    """Unscaled, the pool's loss starts at (1 + pool) ln 2 per pair, not (1 + K) ln 2."""
    config = _config(tiny, str(tmp_path / "run"), engine="torch", negative_mode="pool")
    config = dataclasses.replace(config, pool_scale=False, pool_size=40)
    assert train(config) is not None


def test_run_writes_metrics_config_vocab_and_the_loss_falls(tiny, tmp_path):
    run = str(tmp_path / "run")
    train(_config(tiny, run, epochs=4))
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert set(steps[0]) == {"kind", "step", "epoch", "pairs", "loss", "lr", "pairs_per_s", "time"}
    assert set(epochs[0]) == {"kind", "epoch", "loss", "pairs", "seconds"}
    assert [r["step"] for r in steps[:3]] == [4, 8, 12]
    assert [r["pairs"] for r in epochs] == [1200] * 4 and steps[-1]["pairs"] <= 4800
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    assert steps[-1]["lr"] < steps[0]["lr"]
    saved = json.load(open(os.path.join(run, "config.json")))
    assert saved["dim"] == 8 and saved["dataset"] == os.path.abspath(tiny)
    assert (
        open(os.path.join(run, "vocab.tsv")).read() == open(os.path.join(tiny, "vocab.tsv")).read()
    )


@pytest.mark.parametrize("engine", ["torch", "native"])
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
    tiny, tmp_path, monkeypatch, capsys, engine
):
    calls = {"n": 0}
    if engine == "torch":
        real = sgns.train.torch_engine.sgns_update

        def poisoned(*args, **kw):
            calls["n"] += 1
            rows, deltas, loss = real(*args, **kw)
            if calls["n"] >= 13:
                return rows, deltas * float("nan"), loss * float("nan")
            return rows, deltas, loss

        monkeypatch.setattr(sgns.train.torch_engine, "sgns_update", poisoned)
    else:
        if not build.available():
            pytest.skip("no C compiler: the native engine cannot be built here")
        real = NativeKernel.step

        def poisoned(self, weights, *args, **kw):
            calls["n"] += 1
            if calls["n"] == 13:  # the C update meets a NaN row: it spreads from there
                weights[0] = float("nan")
            return real(self, weights, *args, **kw)

        monkeypatch.setattr(NativeKernel, "step", poisoned)
    run = str(tmp_path / "run")
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "--data",
                tiny,
                "--output",
                run,
                "--dim",
                "8",
                "--batch-size",
                "50",
                "--device",
                "cpu",
                "--checkpoint-interval",
                "5",
                "--log-interval",
                "7",
                "--engine",
                engine,
            ]
        )
    assert exit_.value.code != 0
    err = [line for line in capsys.readouterr().err.splitlines() if "sgns-train" in line]
    assert len(err) == 1 and err[0].startswith("sgns-train: error:") and "nan" in err[0]
    state = load_checkpoint(checkpoint_path(run))
    assert state["step"] == 10 and torch.isfinite(state["weights"]).all()


def test_a_loss_that_grows_without_bound_stops_as_divergence(tiny, tmp_path, monkeypatch, capsys):
    """Finite but exploding: exit 3 naming the step, the last good checkpoint kept."""
    calls = {"n": 0}
    real = sgns.train.torch_engine.sgns_update

    def exploding(*args, **kw):
        calls["n"] += 1
        rows, deltas, loss = real(*args, **kw)
        return rows, deltas, loss * (1e6 if calls["n"] >= 13 else 1.0)

    monkeypatch.setattr(sgns.train.torch_engine, "sgns_update", exploding)
    run = str(tmp_path / "run")
    argv = ["--data", tiny, "--output", run, "--dim", "8", "--batch-size", "50"]
    argv += ["--device", "cpu", "--engine", "torch", "--checkpoint-interval", "5"]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--log-interval", "7"])
    assert exit_.value.code == 3
    err = [line for line in capsys.readouterr().err.splitlines() if "sgns-train" in line]
    assert len(err) == 1 and "the loss grew to" in err[0] and "before step 14" in err[0], err
    assert "the checkpoint of step 10 is kept" in err[0]
    assert load_checkpoint(checkpoint_path(run))["step"] == 10


def _expect_error(argv, capsys, *fragments):
    capsys.readouterr()  # drop what earlier runs in the test printed
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sgns-train: error:"), err
    for fragment in fragments:
        assert fragment in err[0]


def test_directory_without_manifest_is_rejected(tiny, tmp_path, capsys):
    os.remove(os.path.join(tiny, "manifest.json"))
    _expect_error(["--data", tiny, "--output", str(tmp_path / "r")], capsys, "manifest.json")


def test_unsupported_schema_version_is_rejected(tiny, tmp_path, capsys):
    path = os.path.join(tiny, "manifest.json")
    manifest = json.load(open(path))
    manifest["schema_version"] = 99
    json.dump(manifest, open(path, "w"))
    _expect_error(["--data", tiny, "--output", str(tmp_path / "r")], capsys, "schema_version 99")


def test_ids_beyond_the_vocabulary_are_rejected(tiny, tmp_path, capsys):
    lines = open(os.path.join(tiny, "vocab.tsv")).readlines()[:30]
    open(os.path.join(tiny, "vocab.tsv"), "w").writelines(lines)
    path = os.path.join(tiny, "manifest.json")
    manifest = json.load(open(path))
    manifest["vocab"]["size"] = 30  # a consistent manifest of 30 words, shards of 40
    manifest["increments"][0]["vocab_size"] = manifest["increments"][0]["new_words"] = 30
    manifest["vocab"]["sha256"] = hashlib.sha256("".join(lines).encode()).hexdigest()
    json.dump(manifest, open(path, "w"))
    _expect_error(["--data", tiny, "--output", str(tmp_path / "r")], capsys, "30 words")


def test_corrupt_shard_is_named(tiny, tmp_path, capsys):
    shard = os.path.join(tiny, "pairs/inc-00000/pass-00001/shard-00001-of-00002.parquet")
    with open(shard, "r+b") as f:
        f.seek(-30, 2)
        f.write(b"\0" * 30)
    _expect_error(["--data", tiny, "--output", str(tmp_path / "r")], capsys, shard)


def test_resume_with_another_vocabulary_or_dim_is_rejected(tiny, tmp_path, capsys):
    run = str(tmp_path / "run")
    train(_config(tiny, run, epochs=1))
    _expect_error(
        [
            "--data",
            tiny,
            "--output",
            run,
            "--dim",
            "9",
            "--epochs",
            "3",
            "--batch-size",
            "50",
            "--lr",
            "0.05",
            "--seed",
            "3",
            "--pool-size",
            "10",
            "--resume",
        ],
        capsys,
        "--dim 8",
    )
    other = str(tmp_path / "other")
    write_tiny_dataset(other, vocab_size=41, pairs=1200, shards=2, passes=2)
    _expect_error(
        ["--data", other, "--output", run, "--dim", "8", "--resume"], capsys, "another vocabulary"
    )
    shutil.rmtree(other)


def test_existing_checkpoint_without_resume_is_rejected(tiny, tmp_path, capsys):
    run = str(tmp_path / "run")
    train(_config(tiny, run, epochs=1))
    _expect_error(["--data", tiny, "--output", run], capsys, "--resume")


def test_resume_with_auto_keeps_the_engine_and_mode_the_run_used(tiny, tmp_path):
    # auto picks per machine (native on a CPU with a compiler); a resumed run keeps what it used
    run = str(tmp_path / "run")
    common = ["--data", tiny, "--output", run, "--dim", "8", "--batch-size", "50", "--epochs", "2"]
    main([*common, "--engine", "torch", "--stop-after-steps", "10", "--device", "cpu"])
    config = os.path.join(run, "config.json")
    saved = json.load(open(config))
    assert (saved["engine"], saved["negative_mode"]) == ("torch", "pool")
    del saved["engine"]  # as a run begun before the engines existed wrote it ...
    with open(config, "w") as f:
        json.dump(saved, f)
    state = load_checkpoint(checkpoint_path(run))
    del state["config"]["engine"]  # ... and its checkpoint, which --resume reads
    torch.save(state, checkpoint_path(run))
    main([*common, "--resume", "--device", "cpu"])
    state = load_checkpoint(checkpoint_path(run))
    assert state["step"] == 48
    assert (state["config"]["engine"], state["config"]["negative_mode"]) == ("torch", "pool")


def test_checkpoints_come_by_time_at_metrics_records_and_at_epoch_ends(tiny, tmp_path, monkeypatch):
    from sgns.train.checkpoint import CheckpointWriter

    saved = []
    real = CheckpointWriter.submit

    def spy(self, path, state, then=None):
        saved.append(state["step"])
        return real(self, path, state, then)

    monkeypatch.setattr(CheckpointWriter, "submit", spy)
    common = dict(epochs=1, checkpoint_interval=0, log_interval=4)
    train(_config(tiny, str(tmp_path / "a"), checkpoint_seconds=1e-9, **common))
    assert saved == [4, 8, 12, 16, 20, 24]  # due at every record; 24 is also the epoch's end
    saved.clear()
    train(_config(tiny, str(tmp_path / "b"), checkpoint_seconds=0, **common))
    assert saved == [24]


def test_checkpoints_are_written_off_the_training_thread_and_failures_surface(tmp_path):
    import threading

    from sgns.train import checkpoint

    threads = []
    real = checkpoint.save_checkpoint

    def record(path, state):
        threads.append(threading.current_thread())
        if len(threads) == 2:
            raise OSError(28, "No space left on device", path)
        real(path, state)

    writer = checkpoint.CheckpointWriter()
    original, checkpoint.save_checkpoint = checkpoint.save_checkpoint, record
    try:
        writer.submit(str(tmp_path / "c.pt"), {"weights": torch.zeros(3)})
        writer.wait()
        assert threads[0] is not threading.current_thread()
        writer.submit(str(tmp_path / "c.pt"), {"weights": torch.ones(3)})
        with pytest.raises(OSError, match="No space"):
            writer.wait()
    finally:
        checkpoint.save_checkpoint = original
        writer.close()
    assert torch.equal(torch.load(tmp_path / "c.pt")["weights"], torch.zeros(3))


def test_a_run_whose_stderr_reader_went_away_trains_to_its_end(tmp_path):
    """(issue 20, fourth probe F7) `sgns-train 2>&1 | head -1`: the progress bar's write to the
    closed pipe ended the run, with no checkpoint."""
    import subprocess
    import sys

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=1200, shards=2, passes=2)
    command = (f"{sys.executable} -m sgns.train --data {data} --output {run} --dim 8 --epochs 2 "
               "--threads 1 --device cpu --log-interval 1 2>&1 | head -1")  # fmt: skip
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1, done.stdout
    assert os.path.exists(os.path.join(run, "vectors.txt"))
    assert load_checkpoint(checkpoint_path(run))["epoch"] == 2


def test_resume_with_a_switch_changed_names_the_switch_not_a_value(tmp_path):
    """(issue 20, fourth probe W2) "pass --pool-scale True as it did": no such option form."""
    from sgns.errors import UsageError

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=1200, shards=2, passes=2)
    train(tiny_config(data, run, epochs=1))
    said = (
        "the checkpoint was written without --no-pool-scale but this run is with "
        "--no-pool-scale; leave out --no-pool-scale as it did, or use a new --output"
    )
    with pytest.raises(UsageError) as refused:
        train(tiny_config(data, run, epochs=1, resume=True, pool_scale=False))
    assert str(refused.value) == said

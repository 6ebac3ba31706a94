"""Online training: growing the tables, resuming on a grown dataset, replay, and --follow."""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from train_helpers import append_tiny_increment, tiny_config, write_tiny_dataset

from sgns import dataset
from sgns.errors import UsageError
from sgns.rundir import STOP_FILE
from sgns.train import distributed
from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.cli import main
from sgns.train.config import TrainConfig
from sgns.train.follow import decide
from sgns.train.plan import make_plans, manifest_at, replay_units
from sgns.train.resume import check_vocab_prefix
from sgns.train.shards import load_dataset
from sgns.train.table import grow_weights, scale_old_rows
from sgns.train.trainer import Trainer, train
from sgns.vectors import read_vectors

HELPERS = os.path.join(os.path.dirname(__file__), "train_helpers.py")
BENCH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks")


def _config(data, output, **kw):
    defaults = dict(epochs=2, log_interval=2)
    return tiny_config(data, output, **{**defaults, **kw})


@pytest.fixture()
def trained(tmp_path):
    """A tiny dataset, a run trained on it, and the dataset grown by one increment."""
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=800, shards=2)
    train(_config(data, run))
    before = load_checkpoint(checkpoint_path(run))
    append_tiny_increment(data, new_words=6, pairs=400)
    return data, run, before


def test_grown_table_keeps_old_rows_exactly_and_initialises_new_rows_as_word2vec():
    old = torch.randn(2 * 5, 4)  # V=5: inputs rows 0..4, outputs 5..9
    grown = grow_weights(old, 8, torch.Generator().manual_seed(0))
    assert grown.shape == (16, 4)
    assert torch.equal(grown[:5], old[:5]) and torch.equal(grown[8:13], old[5:])
    new_inputs = grown[5:8]
    assert bool((new_inputs.abs() <= 0.5 / 4).all()) and bool((new_inputs != 0).all())
    assert torch.equal(grown[13:], torch.zeros(3, 4))
    assert torch.equal(grow_weights(old, 5, torch.Generator()), old)
    with pytest.raises(ValueError, match="cannot shrink"):
        grow_weights(old, 4, torch.Generator())


def test_old_words_rows_are_scaled_and_new_ones_kept():
    rows = torch.tensor([0, 2, 3, 5, 7, 4])  # V=4, 3 old words: inputs 0..2, outputs 4..6 old
    deltas = torch.ones(6, 2)
    scaled = scale_old_rows(rows, deltas, 4, 3, 0.25)
    assert scaled[:, 0].tolist() == [0.25, 0.25, 1.0, 0.25, 1.0, 0.25]  # row 4: word 0's output


def test_checkpoint_words_must_be_the_first_words_of_the_dataset():
    words = ["a", "b", "c"]
    fingerprint = dataset.words_fingerprint(words[:2])
    check_vocab_prefix(2, fingerprint, words, "run", "data")  # grown: accepted
    check_vocab_prefix(2, fingerprint, words[:2], "run", "data")  # the same: accepted
    for other in (["b", "a", "c"], ["a"], ["a", "x", "b"]):
        with pytest.raises(ValueError, match="another vocabulary"):
            check_vocab_prefix(2, fingerprint, other, "run", "data")


def _renamed(data: str) -> None:
    """The dataset in `data` with other words, consistent with its manifest."""
    words, counts = dataset.read_vocab(data)
    renamed = dataset.format_vocab(["z" + w for w in words], counts)
    with open(os.path.join(data, dataset.VOCAB_FILE), "wb") as f:
        f.write(renamed)
    manifest = dataset.read_manifest(data)
    manifest["vocab"]["sha256"] = hashlib.sha256(renamed).hexdigest()
    dataset.write_manifest_local(data, manifest)


@pytest.mark.parametrize("vocab_size,rename", [(30, False), (40, True)])
def test_a_dataset_rebuilt_under_a_follower_with_other_words_is_refused(
    trained, vocab_size, rename
):
    data, run, _ = trained
    trainer = Trainer(_config(data, run, resume=True), distributed.setup("cpu"))
    assert trainer.stage.end == 1
    shutil.rmtree(data)  # rebuilt, fewer words or others, and grown since: as --follow reads it
    write_tiny_dataset(data, vocab_size=vocab_size, pairs=800, shards=2)
    if rename:
        _renamed(data)
    trainer.manifest = append_tiny_increment(data, new_words=6, pairs=400)
    with pytest.raises(UsageError, match="another vocabulary"):
        trainer.grow(2)


def test_follow_decisions():
    assert decide(3, 3, 0, 0, False, False) == ("wait", 0)
    assert decide(5, 3, 0, 0, False, False) == ("train", 5)
    assert decide(5, 3, 1, 2, False, False) == ("train", 4)  # only up to the bound
    assert decide(5, 3, 2, 2, False, False) == ("stop", 0)
    assert decide(5, 3, 0, 0, True, False) == ("stop", 0)
    assert decide(5, 3, 0, 0, False, True) == ("stop", 0)


def test_replay_draws_a_seeded_share_of_old_units_in_order():
    units = list(range(20))
    picked = replay_units(units, 0.25, 1, 2, 0)
    assert len(picked) == 5 and picked == sorted(picked)
    assert picked == replay_units(units, 0.25, 1, 2, 0)
    assert picked != replay_units(units, 0.25, 1, 2, 1)  # another epoch, another sample
    assert replay_units(units, 0.0, 1, 2, 0) == []


def test_an_increment_stage_reads_the_new_shards_plus_the_replay_share(trained):
    data, run, _ = trained
    manifest = dataset.read_manifest(data)
    _, words, _, sizes = load_dataset(data, manifest)
    assert len(words) == 46
    plain = make_plans(_config(data, run), manifest, sizes, 1, 0, first=1)
    paths = {u.path for p in plain for u in p.units}
    assert paths and all("/inc-00001/" in path for path in paths)
    assert [p.rank_pairs for p in plain] == [[400], [400]]
    replayed = make_plans(_config(data, run, replay=0.5), manifest, sizes, 1, 0, first=1)
    old_units = [u for u in replayed[0].units if "/inc-00000/" in u.path]
    assert len(old_units) == round(0.5 * sum(len(g) for p, g in sizes.items() if "inc-00000" in p))
    assert manifest_at(manifest, 1)["vocab"]["size"] == 40


def test_resume_on_a_grown_dataset_grows_the_tables_and_the_noise(trained):
    data, run, before = trained
    trainer = Trainer(_config(data, run, resume=True), distributed.setup("cpu"))
    assert trainer.stage.end == 1 and trainer.weights.shape == (80, 8)
    trainer.grow(2)
    w, old = trainer.weights, before["weights"]
    assert w.shape == (92, 8)
    assert torch.equal(w[:40], old[:40]) and torch.equal(w[46:86], old[40:])
    assert bool((w[40:46].abs() <= 0.5 / 8).all()) and bool((w[40:46] != 0).all())
    assert torch.equal(w[86:], torch.zeros(6, 8))
    _, counts = dataset.read_vocab(data)  # the merged counts: old ones + 3, then the new words
    expected = np.asarray(counts, dtype=np.float64) ** 0.75
    expected /= expected.sum()
    sampler = trainer.engine.sampler
    prob, alias = sampler.prob.double().numpy(), sampler.alias.numpy()
    implied = prob + np.bincount(alias, weights=1 - prob, minlength=len(prob))
    np.testing.assert_allclose(implied / len(prob), expected, atol=1e-6)


def test_resumed_run_trains_the_increment_and_exports_the_new_words(trained):
    data, run, before = trained
    train(_config(data, run, resume=True, increment_lr=0.02))
    state = load_checkpoint(checkpoint_path(run))
    assert list(range(state["stage"]["end"])) == [0, 1] and state["vocab_size"] == 46
    assert state["stage"]["first"] == 1 and state["stage"]["old_words"] == 40
    assert state["stage"]["lr"] == 0.05 and state["stage"]["old_ratio"] == pytest.approx(0.4)
    assert state["step"] == before["step"] + 2 * 8  # 400 pairs per epoch, batches of 50
    w = state["weights"]
    assert not torch.equal(w[:40], before["weights"][:40])  # old words trained too
    assert bool((w[86:] != 0).any())  # new output rows learned
    words, vectors = read_vectors(os.path.join(run, "vectors.txt"))
    assert len(words) == 46 and words[40:] == [f"new1x{i:03d}" for i in range(6)]
    assert dataset.read_vocab(run) == dataset.read_vocab(data)
    steps = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    lrs = [r["lr"] for r in steps if r["kind"] == "step" and r["step"] > before["step"]]
    assert lrs and 0.02 < max(lrs) <= 0.05 and lrs == sorted(lrs, reverse=True)  # restarted


def test_an_increment_stopped_midway_and_resumed_ends_with_the_same_weights(trained, tmp_path):
    data, run, before = trained
    parts = str(tmp_path / "parts")
    shutil.copytree(run, parts)
    train(_config(data, run, resume=True, replay=0.5))
    stop = before["step"] + 5
    assert train(_config(data, parts, resume=True, replay=0.5, stop_after_steps=stop)) is None
    assert load_checkpoint(checkpoint_path(parts))["step"] == stop
    train(_config(data, parts, resume=True, replay=0.5))
    a, b = (load_checkpoint(checkpoint_path(r)) for r in (run, parts))
    assert a["step"] == b["step"] > stop and torch.equal(a["weights"], b["weights"])


@pytest.mark.parametrize(
    "field,value,said",
    [("base_step", 10**6, "is not its epoch and batch's"),
     ("old_words", 3, "stage.old_words 3 is not 40"),
     ("old_ratio", -1.0, "stage.old_ratio -1.0 is not above 0"), ("lr", 1e9, "stage.lr")],
)  # fmt: skip
def test_a_later_stages_damaged_record_is_refused_not_trained(trained, tmp_path, field, value,
                                                              said):  # fmt: skip
    data, run, before = trained
    stop = before["step"] + 5
    assert train(_config(data, run, resume=True, stop_after_steps=stop)) is None
    path = checkpoint_path(run)
    state = torch.load(path, weights_only=True)
    assert state["stage"]["first"] == 1
    state["stage"][field] = value
    torch.save(state, path)
    with pytest.raises(ValueError, match="is damaged") as refused:
        train(_config(data, run, resume=True))
    assert said in str(refused.value)


def test_a_block_scheme_checkpoint_whose_step_is_past_its_stage_is_damaged(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=800, shards=2)
    config = _config(data, run, emulate_ranks=2, stop_after_steps=3)
    assert train(config) is None
    state = torch.load(checkpoint_path(run), weights_only=True)
    state["step"] = 10**6  # (in the block scheme no function of its epoch and chunk alone)
    torch.save(state, checkpoint_path(run))
    with pytest.raises(ValueError, match="puts its step 1000000 outside the stage's"):
        train(_config(data, run, emulate_ranks=2, resume=True))


def test_a_finished_block_scheme_run_resumes(tmp_path):
    # its episodes take as many steps as their largest bucket: more than the plan's count of
    # balanced buckets, and still no damage
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=800, shards=2)
    config = _config(data, run, emulate_ranks=2, rounds=4)
    train(config)
    state = torch.load(checkpoint_path(run), weights_only=True)
    assert state["step"] > state["stage"]["total_steps"]  # the case in question
    train(_config(data, run, emulate_ranks=2, rounds=4, resume=True))
    assert torch.equal(torch.load(checkpoint_path(run), weights_only=True)["weights"],
                       state["weights"])  # fmt: skip


def test_resume_without_new_increments_changes_nothing(trained, tmp_path):
    data, run, before = trained  # the increment is there: a second dataset without it
    other, other_run = str(tmp_path / "d2"), str(tmp_path / "r2")
    write_tiny_dataset(other, vocab_size=40, pairs=800, shards=2)
    train(_config(other, other_run))
    train(_config(other, other_run, resume=True))
    state = load_checkpoint(checkpoint_path(other_run))
    assert state["step"] == before["step"] and torch.equal(state["weights"], before["weights"])


def test_resume_on_an_unrelated_vocabulary_is_refused_in_one_line(trained, tmp_path, capsys):
    _, run, _ = trained
    other = str(tmp_path / "other")
    write_tiny_dataset(other, vocab_size=40, pairs=800, shards=2)
    words, counts = dataset.read_vocab(other)
    renamed = dataset.format_vocab(["z" + w for w in words], counts)
    with open(os.path.join(other, dataset.VOCAB_FILE), "wb") as f:
        f.write(renamed)
    manifest = dataset.read_manifest(other)  # a consistent dataset of other words
    manifest["vocab"]["sha256"] = hashlib.sha256(renamed).hexdigest()
    dataset.write_manifest_local(other, manifest)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["--data", other, "--output", run, "--resume", "--dim", "8", "--device", "cpu"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and err[0].startswith("sgns-train: error:") and "another vocabulary" in err[0]
    )


def test_follow_stops_when_the_stop_file_exists(trained):
    data, run, _ = trained
    open(os.path.join(run, STOP_FILE), "w").close()
    start = time.time()
    path = train(_config(data, run, resume=True, follow=True, poll_seconds=30))
    assert time.time() - start < 20  # the first poll saw STOP: no 30 s wait
    assert path == os.path.join(run, "vectors.txt")
    assert load_checkpoint(checkpoint_path(run))["stage"]["end"] == 2  # what was there


@contextlib.contextmanager
def _group(cmd, env):
    """A follow-mode trainer in its own process group, killed with its ranks if a check fails."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


@pytest.mark.slow
def test_follow_under_torchrun_picks_up_an_appended_increment(tmp_path):
    data, run, out = (str(tmp_path / n) for n in ("data", "run", "out"))
    write_tiny_dataset(data, vocab_size=40, pairs=1200, shards=3, row_group_rows=70)
    os.makedirs(out)
    options = ["--device", "cpu", "--dim", "8", "--batch-size", "40", "--epochs", "2"]
    follow = ["--follow", "--poll-seconds", "0.2", "--follow-max-increments", "1"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += [HELPERS, data, run, out, "--threads", "1", *options, *follow]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with _group(cmd, env) as proc:
        deadline = time.time() + 90
        while not os.path.exists(os.path.join(run, "vectors.txt")) and proc.poll() is None:
            assert time.time() < deadline, "the first stage did not finish"
            time.sleep(0.2)
        time.sleep(0.5)  # the trainer is polling now
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        append_tiny_increment(data, new_words=6, pairs=400)
        _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr[-3000:]
    rank0, rank1 = (open(os.path.join(out, f"rank-{r}.sha256")).read().split() for r in (0, 1))
    assert rank0 == rank1  # identical parameters, steps and norm
    state = load_checkpoint(checkpoint_path(run))
    assert list(range(state["stage"]["end"])) == [0, 1] and state["weights"].shape == (92, 8)
    words, _ = read_vectors(os.path.join(run, "vectors.txt"))
    assert len(words) == 46 and "new1x005" in words


@pytest.mark.slow
def test_follow_stops_cleanly_on_sigterm(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=400, shards=1)
    cmd = [sys.executable, "-m", "sgns.train", "--data", data, "--output", run, "--dim", "8"]
    cmd += ["--device", "cpu", "--batch-size", "50", "--follow", "--poll-seconds", "0.1"]
    with _group(cmd, dict(os.environ)) as proc:
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(run, "vectors.txt")) and proc.poll() is None:
            assert time.time() < deadline
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-3000:]
    assert "follow: stopping" in stderr


@pytest.mark.slow
def test_increment_of_new_words_recovers_their_clusters_and_keeps_the_old(tmp_path):
    sys.path.insert(0, BENCH)
    from bench_online import make_split, score

    from sgns.pipeline.preprocess import main as preprocess

    a, b, truth, old, new = make_split(str(tmp_path), 200_000, 1, 4)
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    assert preprocess(["--input", a, "--output", data]) == 0
    base = dict(data=data, output=run, epochs=3, batch_size=2048, device="cpu", seed=1)
    train(TrainConfig(**base))
    before = score(run, truth, old, new)
    words_a, _ = read_vectors(os.path.join(run, "vectors.txt"))
    assert preprocess(["--input", b, "--output", data, "--append"]) == 0
    train(TrainConfig(**base, resume=True))
    after = score(run, truth, old, new, before=None)
    words, _ = read_vectors(os.path.join(run, "vectors.txt"))
    new_words = {w for c in new for w in c}
    assert new_words.isdisjoint(words_a) and len(new_words & set(words)) > 100
    print(f"old clusters {before[0]:.3f} -> {after[0]:.3f}; new clusters {after[1]:.3f}")
    assert before[0] > 0.9 and after[0] > before[0] - 0.05  # A's structure holds
    assert after[1] > 0.35  # 0.57 measured; chance: 48 (a cluster) / vocabulary


@pytest.mark.parametrize("gap", [0.0, 0.03])
def test_a_second_sigterm_while_follow_stops_still_ends_with_exit_0(tmp_path, gap):
    """(issue 20, fourth probe F8) a second SIGTERM just after --follow began to stop (systemd,
    docker stop, `timeout`) met the default handler put back: exit 143 and no line, where
    docs/errors.md promises exit 0."""
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=400, shards=1)
    cmd = [sys.executable, "-m", "sgns.train", "--data", data, "--output", run, "--dim", "8"]
    cmd += ["--device", "cpu", "--batch-size", "50", "--follow", "--poll-seconds", "0.2"]
    log = tmp_path / "err.txt"
    with open(log, "w") as err, subprocess.Popen(cmd, stderr=err, start_new_session=True) as proc:
        try:
            deadline = time.time() + 60
            while "following" not in log.read_text() and proc.poll() is None:
                assert time.time() < deadline
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            while "follow: stopping" not in log.read_text() and proc.poll() is None:
                assert time.time() < deadline
                time.sleep(0.002)
            time.sleep(gap)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in log.read_text()

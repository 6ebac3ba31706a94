"""Real torchrun, 2 to 8 gloo processes in the block scheme: the ranks end with identical
tables, equal bit for bit to one process emulating them (--emulate-ranks); a stop and resume,
and restarts after a killed rank, give the uninterrupted run's parameters."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from procs import run_group
from train_helpers import write_tiny_dataset

from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.native import build

HELPERS = os.path.join(os.path.dirname(__file__), "train_helpers.py")
LAUNCHER = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
# tiny dataset: 1500 pairs in 22 row groups; 4 rounds (chunks) an epoch, 2 episodes each
COMMON = ["--device", "cpu", "--dim", "8", "--batch-size", "40", "--epochs", "2"]
BLOCKS = ["--rounds", "4", "--threads", "1"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _data(tmp_path, **kw):
    data = str(tmp_path / "data")
    if not os.path.exists(data):
        kw = {"vocab_size": 40, "pairs": 1500, "shards": 3, "row_group_rows": 70, **kw}
        write_tiny_dataset(data, **kw)
    return data


def _torchrun(tmp_path, run_name, *options, launcher=LAUNCHER, data=None, ranks=2):
    data, run, out = data or _data(tmp_path), str(tmp_path / run_name), str(tmp_path / "out")
    os.makedirs(out, exist_ok=True)
    launcher = [*launcher[:-1], str(ranks)]
    cmd = [*launcher, HELPERS, data, run, out, *COMMON, *BLOCKS, *options]
    done = run_group(cmd, timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr[:3000] + "\n...\n" + done.stderr[-3000:]
    ranks = [open(os.path.join(out, f"rank-{r}.sha256")).read().split() for r in range(ranks)]
    return ranks, run


def _emulated(tmp_path, run_name, ranks, *options, data=None):
    """The same run in one process that emulates `ranks` ranks: rank 0's digest line."""
    data, run = data or _data(tmp_path), str(tmp_path / run_name)
    out = str(tmp_path / f"out-{run_name}")
    os.makedirs(out, exist_ok=True)
    cmd = [sys.executable, HELPERS, data, run, out, *COMMON, *BLOCKS, *options]
    done = run_group([*cmd, "--emulate-ranks", str(ranks)], timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    return open(os.path.join(out, "rank-0.sha256")).read().split()


@pytest.mark.slow
@pytest.mark.parametrize(
    "engine,mode,cap",
    [("torch", "pool", "3"), ("torch", "pair", "0"), ("native", "pair", "0")],
)
def test_two_gloo_ranks_end_with_the_emulators_parameters(tmp_path, engine, mode, cap):
    if engine == "native" and not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    options = ["--engine", engine, "--negative-mode", mode, "--row-cap", cap]
    (rank0, rank1), run = _torchrun(tmp_path, "run", *options)
    assert rank0 == rank1  # sha256 of the parameters, step count, norm: gathered at the end
    assert _emulated(tmp_path, "emulated", 2, *options) == rank0  # bit for bit
    state = load_checkpoint(checkpoint_path(run))
    assert state["world_size"] == 2 and state["step"] == int(rank0[1])
    assert "rng" not in state  # draws are keyed by (seed, rank, step): no generator state
    assert os.path.exists(os.path.join(run, "vectors.txt"))
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    assert [r["pairs"] for r in records if r["kind"] == "epoch"] == [1500, 1500]


@pytest.mark.slow
def test_eight_gloo_ranks_equal_the_emulator(tmp_path):
    data = _data(tmp_path, vocab_size=80, pairs=4000, row_group_rows=50)
    options = ["--engine", "torch", "--negative-mode", "pool", "--rounds", "3"]
    ranks, _ = _torchrun(tmp_path, "run", *options, data=data, ranks=8)
    assert all(r == ranks[0] for r in ranks)
    assert _emulated(tmp_path, "emulated", 8, *options, data=data) == ranks[0]


@pytest.mark.slow
def test_a_stop_between_chunks_resumes_exactly(tmp_path):
    _data(tmp_path, sorted_rows=True)  # compact row groups: each read in its seeded order
    (whole, _), _ = _torchrun(tmp_path, "whole")
    _torchrun(tmp_path, "parts", "--stop-after-steps", "7")  # stops at the next chunk's end
    state = load_checkpoint(checkpoint_path(str(tmp_path / "parts")))
    assert 7 <= state["step"] < int(whole[1]) and state["chunk"] > 0
    (resumed, other), _ = _torchrun(tmp_path, "parts", "--resume")
    assert resumed == other == whole


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


@pytest.mark.slow
def test_a_killed_rank_restarts_from_the_checkpoint_and_ends_as_an_uninterrupted_run(tmp_path):
    """kill -9 one rank under torchrun --max-restarts: the group restarts, --resume continues
    from the last checkpoint, and every pair is trained exactly once per epoch."""
    data = _data(tmp_path / "big", vocab_size=200, pairs=40_000, row_group_rows=500)
    extra = ["--checkpoint-interval", "50", "--log-interval", "50", "--rounds", "20"]
    (whole, _), _ = _torchrun(tmp_path, "whole", *extra, data=data)
    run, out = str(tmp_path / "killed"), str(tmp_path / "out")
    cmd = [*LAUNCHER[:3], "--max-restarts", "2", *LAUNCHER[3:], HELPERS, data, run, out]
    cmd += [*COMMON, *BLOCKS, *extra, "--resume"]
    for name in ("rank-0.sha256", "rank-1.sha256"):
        os.remove(os.path.join(out, name))
    env = ENV
    with tempfile.TemporaryFile("w+") as err:
        launcher = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 120
            while not os.path.exists(checkpoint_path(run)):  # the first checkpoint: step >= 50
                assert launcher.poll() is None and time.monotonic() < deadline, "no checkpoint"
                time.sleep(0.02)
            victim = _children(launcher.pid)[1]
            os.kill(victim, signal.SIGKILL)
            code = launcher.wait(timeout=180)
        finally:
            if launcher.poll() is None:
                os.killpg(os.getpgid(launcher.pid), signal.SIGKILL)
        err.seek(0)
        log = err.read()
    assert code == 0, log[-3000:]
    assert "Signals.SIGKILL" in log or "exitcode: -9" in log, log[-3000:]
    ranks = [open(os.path.join(out, f"rank-{r}.sha256")).read().split() for r in (0, 1)]
    assert ranks[0] == ranks[1] == whole
    records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0, 1]
    assert all(r["pairs"] == 40_000 for r in epochs)  # each pair once per epoch, no more

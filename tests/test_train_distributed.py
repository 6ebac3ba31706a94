"""Real torchrun, two gloo processes: replicas meet identical at each synchronisation, resume
and restarts after a killed rank give the uninterrupted run's parameters."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from procs import run_group
from train_helpers import write_tiny_dataset

from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.native import build
from sgns.train.sync import Synchroniser, steps_between

HELPERS = os.path.join(os.path.dirname(__file__), "train_helpers.py")
LAUNCHER = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
# tiny dataset: 1500 pairs, batch 40 per rank: 19 steps per epoch; a full sync every 5 steps
COMMON = ["--device", "cpu", "--dim", "8", "--batch-size", "40", "--epochs", "2"]
SYNC = ["--sync-pairs", "200", "--threads", "1"]


def _data(tmp_path, **kw):
    data = str(tmp_path / "data")
    if not os.path.exists(data):
        kw = {"vocab_size": 40, "pairs": 1500, "shards": 3, "row_group_rows": 70, **kw}
        write_tiny_dataset(data, **kw)
    return data


def _torchrun(tmp_path, run_name, *options, launcher=LAUNCHER, data=None):
    data, run, out = data or _data(tmp_path), str(tmp_path / run_name), str(tmp_path / "out")
    os.makedirs(out, exist_ok=True)
    cmd = [*launcher, HELPERS, data, run, out, *COMMON, *SYNC, *options]
    done = run_group(cmd, timeout=180, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [open(os.path.join(out, f"rank-{r}.sha256")).read().split() for r in (0, 1)]
    return ranks, run


@pytest.mark.slow
@pytest.mark.parametrize(
    "engine,mode,cap,hot",
    [("torch", "pool", "3", "0"), ("torch", "pair", "0", "6"), ("native", "pair", "0", "6")],
)
def test_two_gloo_ranks_end_with_identical_parameters(tmp_path, engine, mode, cap, hot):
    if engine == "native" and not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    options = ["--engine", engine, "--negative-mode", mode, "--row-cap", cap, "--sync-hot", hot]
    (rank0, rank1), run = _torchrun(tmp_path, "run", *options)
    assert rank0 == rank1  # sha256 of the parameters, step count, norm
    state = load_checkpoint(checkpoint_path(run))
    assert state["world_size"] == 2 and state["step"] == int(rank0[1])
    assert "rng" not in state  # draws are keyed by (seed, rank, step): no generator state
    assert os.path.exists(os.path.join(run, "vectors.txt"))


@pytest.mark.slow
def test_a_stop_between_synchronisations_waits_for_the_next_and_resumes_exactly(tmp_path):
    _data(tmp_path, sorted_rows=True)  # compact row groups: each read in its seeded order
    (whole, _), _ = _torchrun(tmp_path, "whole")
    _torchrun(tmp_path, "parts", "--stop-after-steps", "7")  # syncs at 5, 10, ...: stops at 10
    state = load_checkpoint(checkpoint_path(str(tmp_path / "parts")))
    assert state["step"] == 10
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
    extra = ["--checkpoint-interval", "50", "--log-interval", "50"]
    (whole, _), _ = _torchrun(tmp_path, "whole", *extra, data=data)
    run, out = str(tmp_path / "killed"), str(tmp_path / "out")
    cmd = [*LAUNCHER[:3], "--max-restarts", "2", *LAUNCHER[3:], HELPERS, data, run, out]
    cmd += [*COMMON, *SYNC, *extra, "--resume"]
    for name in ("rank-0.sha256", "rank-1.sha256"):
        os.remove(os.path.join(out, name))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryFile("w+") as err:
        launcher = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 120
            while not os.path.exists(checkpoint_path(run)):  # the first checkpoint: step 50
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


def _sync_rank(rank: int, store_path: str, results: str, combine: str) -> None:
    store = dist.FileStore(store_path, 2)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=2)
    torch.manual_seed(0)
    weights = torch.randn(2 * 10, 3)  # V = 10: input rows 0..9, output rows 10..19
    start = weights.clone()
    sync = Synchroniser(weights, 2, every=4, hot=2, combine=combine)
    both = {"sum": 1.0, "sqrt": 2**0.5, "mean": 2.0}[
        combine
    ]  # what a row both ranks moved is divided by
    change = torch.full_like(weights, float(rank + 1))  # rank 0 adds 1, rank 1 adds 2 ...
    if rank == 1:
        change[[5, 15]] = 0  # ... except to rows 5 and 15, which only rank 0 moves
    weights += change
    assert sync.after_step(weights, 1, False, True, False) == (False, False)  # hot rows only
    hot = [0, 1, 10, 11]
    cold = [r for r in range(20) if r not in hot]
    # moved by both ranks: their summed changes / `both`; by one rank: its change whole
    expected = start + change
    expected[hot] = start[hot] + 3 / both
    hot_ok = torch.allclose(weights, expected)
    weights += change
    assert sync.after_step(weights, 4, False, False, False) == (True, False)  # every row
    expected = start + 6 / both
    expected[[5, 15]] = start[[5, 15]] + 2.0
    out = {
        "hot_ok": hot_ok,
        "full_ok": torch.allclose(weights, expected),
        "snapshot_ok": torch.equal(sync.snapshot, weights),
        "cold": len(cold),
        "bytes": sync.sent_bytes,
        "calls": sync.calls,
        "digest": weights.numpy().tobytes().hex(),
    }
    with open(os.path.join(results, f"{rank}.json"), "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("combine", ["sum", "sqrt", "mean"])
def test_sync_combines_the_ranks_changes_and_leaves_identical_replicas(tmp_path, combine):
    results = str(tmp_path)
    store = str(tmp_path / "store")
    mp.start_processes(_sync_rank, args=(store, results, combine), nprocs=2, start_method="spawn")
    outs = [json.load(open(os.path.join(results, f"{r}.json"))) for r in (0, 1)]
    assert all(o["hot_ok"] and o["full_ok"] and o["snapshot_ok"] for o in outs)
    assert outs[0]["digest"] == outs[1]["digest"]  # bit for bit
    # hot: 2 parts of 2 rows; full: 20 rows; each row D = 3 floats (and, unless summing, its
    # changed flag)
    row = 3 if combine == "sum" else 4
    assert [o["bytes"] for o in outs] == [(2 * 2 * row + 20 * row) * 4] * 2
    assert [o["calls"] for o in outs] == [3, 3]


def test_steps_between_synchronisations():
    assert steps_between(1_048_576, 4096) == 256
    assert steps_between(1000, 4096) == 1  # at least every step
    assert steps_between(200, 40) == 5

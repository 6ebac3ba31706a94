"""Real torchrun, two gloo processes: replicas stay identical and match the shared plan."""

import os
import sys

import pytest
import torch
from procs import run_group
from train_helpers import write_tiny_dataset

from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.distributed import all_gather_update
from sgns.train.native import build

HELPERS = os.path.join(os.path.dirname(__file__), "train_helpers.py")


def _torchrun(tmp_path, *options):
    data, run, out = (str(tmp_path / n) for n in ("data", "run", "out"))
    if not os.path.exists(data):
        write_tiny_dataset(data, vocab_size=40, pairs=1500, shards=3, row_group_rows=70)
    os.makedirs(out, exist_ok=True)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    options = ["--device", "cpu", "--dim", "8", "--batch-size", "40", "--epochs", "2", *options]
    cmd = [*launcher, "--nproc-per-node", "2", HELPERS, data, run, out, "--threads", "1", *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = run_group(cmd, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return [open(os.path.join(out, f"rank-{r}.sha256")).read().split() for r in (0, 1)], run


@pytest.mark.slow
@pytest.mark.parametrize(
    "engine,mode,cap", [("torch", "pool", "3"), ("torch", "pair", "0"), ("native", "pair", "0")]
)
def test_two_gloo_ranks_end_with_identical_parameters(tmp_path, engine, mode, cap):
    if engine == "native" and not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    options = ["--engine", engine, "--negative-mode", mode, "--row-cap", cap]
    (rank0, rank1), run = _torchrun(tmp_path, *options)
    assert rank0 == rank1  # sha256 of the parameters, step count, norm
    state = load_checkpoint(checkpoint_path(run))
    assert state["world_size"] == 2 and state["step"] == int(rank0[1])
    assert "rng" not in state  # draws are keyed by (seed, rank, step): no generator state
    assert os.path.exists(os.path.join(run, "vectors.txt"))


def test_single_process_gather_is_the_identity():
    rows, deltas = torch.tensor([3, 1]), torch.ones(2, 4)
    out_rows, out_deltas = all_gather_update(rows, deltas, 1)
    assert out_rows is rows and out_deltas is deltas

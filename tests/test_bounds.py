"""Values a command accepts but could never carry out (issue 20, class 4: no hang, bounded
memory) are refused up front, in one line saying what they would need, before anything is
allocated or written; a tampered checkpoint or metrics file is refused, not trusted.

Each command runs in a child process under an address-space limit, so that a bound that stops
working fails its test with a MemoryError instead of taking the test machine's memory; counts
of threads and workers are asked just past their bound, never in the thousands.
"""

import os
import subprocess
import sys

import pytest
from procs import ROOT, cli, one_line
from train_helpers import tiny_config, write_tiny_dataset

from sgns.train.checkpoint import checkpoint_path
from sgns.train.config import MAX_PER_CORE
from sgns.train.trainer import train

MEMORY_LIMIT = 6 * 2**30  # bytes of address space a command under test may take


def _cli(module: str, args: list[str], cwd=None, timeout: int = 120) -> tuple[int, str]:
    return cli(module, args, cwd=cwd, timeout=timeout, memory_bytes=MEMORY_LIMIT,
               env={"OMP_NUM_THREADS": "1"})  # fmt: skip


_one_line = one_line


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("bounds") / "data")
    write_tiny_dataset(path)
    return path


TOO_MANY = MAX_PER_CORE * (os.cpu_count() or 1) + 1


@pytest.mark.parametrize(
    "args,said",
    [
        (["--epochs", "2147483647"], "lower --epochs"),
        (["--negatives", "1000000000", "--engine", "torch"], "GiB per micro-step"),
        (
            ["--negatives", "100000000", "--engine", "torch", "--negative-mode", "pair"],
            "GiB per micro-step",
        ),  # fmt: skip
        (["--pool-size", "2000000000", "--engine", "torch"], "GiB per micro-step"),
        (["--batch-size", "2147483647"], "lower --batch-size"),
        (["--emulate-ranks", "2147483647"], "more ranks than the vocabulary has words"),
        (["--threads", str(TOO_MANY)], "per core"),
        (["--num-workers", str(TOO_MANY)], "per core"),
    ],
)
def test_a_training_that_cannot_be_carried_out_is_refused_up_front(tmp_path, data, args, said):
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if "--batch-size" in args and physical >= 3 * 16 * 2147483647:  # (table.check_batch_fits)
        pytest.skip("this machine holds the largest batch an option may ask for")
    run = str(tmp_path / "run")
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", run, "--device", "cpu", *args])
    assert code == 2 and said in _one_line(err, "sgns-train")
    assert not os.path.exists(run)  # refused before the run directory was made


@pytest.mark.parametrize(
    "args,said",
    [
        (["--passes", "2147483647"], "shard files per increment"),
        (["--num-shards", "100000"], "shard files per increment"),
    ],
)
def test_a_dataset_of_endless_shard_files_is_refused(tmp_path, args, said):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d e f\n" * 50)
    out = tmp_path / "d"
    code, err = _cli(
        "sgns.pipeline.preprocess", ["--input", str(corpus), "--output", str(out), *args]
    )
    assert code == 2 and said in _one_line(err, "sgns-preprocess")
    assert not out.exists()


@pytest.mark.parametrize(
    "args,said",
    [
        (["--similarity-pairs", "1000000000"], "at most 1,000,000"),
        (["--analogies-per-relation", "1000000000"], "at most 1,000,000"),
        (["--filler-words", "1000000000"], "ask for fewer"),
        (["--clusters", "10000", "--cluster-size", "100"], "ask for fewer"),
        (["--function-words", "1000"], "ask for fewer"),
    ],
)
def test_a_synthetic_language_past_what_it_can_make_is_refused_at_once(tmp_path, args, said):
    out = tmp_path / "s.txt"
    code, err = _cli("sgns.synth.cli", ["--output", str(out), *args], timeout=30)
    assert code == 2 and said in _one_line(err, "sgns-synth")
    assert os.listdir(tmp_path) == []


def test_sgns_synth_replaces_a_link_and_never_writes_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    out = tmp_path / "s.txt.gz"
    out.symlink_to(victim)
    code, err = _cli("sgns.synth.cli", ["--output", str(out), "--tokens", "2000"])
    assert code == 0, err
    assert victim.read_text() == "the user's file\n"
    assert not out.is_symlink() and out.stat().st_size > 0
    import gzip

    assert len(gzip.decompress(out.read_bytes()).decode().split()) == 2000
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]


def test_sgns_synth_interrupted_leaves_the_old_corpus_whole(tmp_path):
    out = tmp_path / "s.txt"
    out.write_text("an older corpus\n")
    # killed once its temporary file is there, with the corpus half written
    child = subprocess.Popen(
        [sys.executable, "-m", "sgns.synth", "--output", str(out), "--tokens", "100000000"],
        env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import time

    deadline = time.monotonic() + 60
    while not [n for n in os.listdir(tmp_path) if n != "s.txt"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the corpus was written before it could be interrupted"
    child.kill()
    child.wait()
    assert out.read_text() == "an older corpus\n"


def _stopped_run(tmp_path) -> tuple[str, str]:
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    assert train(tiny_config(data, run, epochs=2, stop_after_steps=3)) is None
    return data, run


SAME = ["--dim", "8", "--batch-size", "50", "--lr", "0.05", "--seed", "3", "--pool-size", "10",
        "--epochs", "2", "--device", "cpu"]  # tiny_config's  # fmt: skip


def test_a_checkpoint_table_past_any_trained_value_is_damaged(tmp_path):
    import torch

    data, run = _stopped_run(tmp_path)
    state = torch.load(checkpoint_path(run), weights_only=True)
    state["weights"][0, 0] = 1e30  # finite, but no training ever writes it
    torch.save(state, checkpoint_path(run))
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", *SAME])
    line = _one_line(err, "sgns-train")
    assert code == 2 and "is damaged" in line and "past any trained value" in line, line
    assert not os.path.exists(os.path.join(run, "vectors.txt"))


def test_a_metrics_file_shorter_than_its_checkpoint_says_stops_the_resume(tmp_path):
    import torch

    data, run = _stopped_run(tmp_path)
    metrics = os.path.join(run, "metrics.jsonl")
    with open(metrics, "ab") as f:
        f.write(b'{"kind": "note"}\n')
    with open(metrics, "rb") as f:
        kept = f.read()
    state = torch.load(checkpoint_path(run), weights_only=True)
    state["metrics_bytes"] = len(kept) + 100  # records the checkpoint counts are gone
    torch.save(state, checkpoint_path(run))
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", *SAME])
    assert code == 2 and "cut or replaced since" in _one_line(err, "sgns-train")
    with open(metrics, "rb") as f:
        assert f.read() == kept  # nothing appended to it
    os.rename(metrics, metrics + ".old")  # as the message says: moved aside, the run resumes
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", *SAME])
    assert code == 0, err
    assert os.path.exists(os.path.join(run, "vectors.txt"))


def test_a_step_record_whose_step_is_no_count_is_kept_when_an_old_checkpoint_resumes(tmp_path):
    from sgns.train.metrics import cut_back

    metrics = tmp_path / "metrics.jsonl"  # (a checkpoint without metrics_bytes: cut by step)
    lines = ['{"kind": "step", "step": 3}\n', '{"kind": "step", "step": "x"}\n',
             '{"kind": "step", "step": 9}\n', '{"kind": "step", "step": null}\n']  # fmt: skip
    metrics.write_text("".join(lines))
    cut_back(str(metrics), 5, None)
    assert metrics.read_text() == "".join(lines[:2] + lines[3:])


def test_a_table_past_the_address_space_limit_is_refused_not_allocated(tmp_path, data):
    from sgns import dataset

    limit = 3 * 2**30  # ulimit -v: far below this machine's memory
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if physical < 3 * limit:
        pytest.skip("this machine's memory is no larger than the limit the test sets")
    words = dataset.read_manifest(data)["vocab"]["size"]
    dim = str(limit // (8 * words) * 2)  # a table of twice the limit, well within the memory
    args = ["--data", data, "--output", str(tmp_path / "run"), "--device", "cpu", "--dim", dim]
    code, err = cli("sgns.train.cli", args, memory_bytes=limit, env={"OMP_NUM_THREADS": "1"})
    line = _one_line(err, "sgns-train")
    assert code == 2 and "address-space limit (ulimit -v)" in line and f"--dim {dim}" in line


def test_a_cgroup_memory_limit_is_read_for_the_process_and_its_ancestors(tmp_path):
    from sgns.train.table import cgroup_memory_limit

    def limits(cgroup: str, files: dict) -> int | None:
        (tmp_path / "cgroup").write_text(cgroup)
        root = tmp_path / "fs"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        found = cgroup_memory_limit(str(tmp_path / "cgroup"), str(root))
        for name in files:
            (root / name).unlink()
        return found

    assert limits("0::/a/b\n", {"memory.max": "max\n", "a/b/memory.max": "max\n"}) is None
    assert limits("0::/a/b\n", {"a/memory.max": "1000\n", "a/b/memory.max": "5000\n"}) == 1000
    v1 = "4:memory:/job\n1:cpu:/\n"
    assert limits(v1, {"memory/job/memory.limit_in_bytes": "2048\n"}) == 2048
    unlimited = {"memory/memory.limit_in_bytes": "9223372036854771712\n"}  # v1's "no limit"
    assert limits(v1, unlimited) is None

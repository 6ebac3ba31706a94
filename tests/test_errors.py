"""Every mistake a user can make, and every fault of the machine, is one line and exit 2
(docs/errors.md); nothing is lost on the way (sgns/errors.py)."""

import errno
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from procs import cli, one_line
from train_helpers import tiny_config, write_tiny_dataset

from sgns import dataset
from sgns.errors import user_message
from sgns.train.checkpoint import checkpoint_path
from sgns.train.trainer import train
from sgns.vectors import write_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_ARGS = ["--dim", "8", "--batch-size", "50", "--lr", "0.05", "--seed", "3", "--pool-size",
             "10", "--epochs", "1", "--device", "cpu"]  # tiny_config's, epochs=1  # fmt: skip
CORPUS = "".join(f"w{i % 40} w{i % 9} w{i % 5} the\n" for i in range(3000))


_cli, _one_line = cli, one_line


def test_os_errors_read_as_what_went_wrong_and_the_file(tmp_path):
    with pytest.raises(OSError) as full, open("/dev/full", "wb") as f:  # a real full disk
        f.write(b"x" * 10)
        f.flush()
    assert full.value.errno == errno.ENOSPC
    assert user_message(full.value).startswith("no space left on the device")
    with pytest.raises(OSError) as folder:
        open(tmp_path, "wb")
    assert user_message(folder.value) == f"a directory is in the way: {tmp_path}"
    wrapped = RuntimeError(
        "Traceback (most recent call last):\n  File ...\n"
        "OSError: [Errno 28] No space left on device: '/d/x' [while running 'MergeShards']"
    )  # as a Beam runner hands back an error of its worker
    assert user_message(wrapped) == "no space left on the device writing /d/x"
    assert user_message(RuntimeError("a bug")) is None


@pytest.mark.parametrize("had", [False, True])
def test_a_full_disk_during_preprocessing_is_one_line_and_leaves_nothing(tmp_path, had):
    """The failed run leaves nothing of its own: the folders it made are removed again, one
    the user had stays as it was, with the user's files."""
    (tmp_path / "c.txt").write_text(CORPUS * 20)
    mine = tmp_path / "mine"  # the user's folder, with a file of theirs
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's notes\n")
    out = mine / "ds" if had else mine / "new" / "ds"  # (the user's empty folder, or none)
    if had:
        out.mkdir()
    code, err = _cli(
        "sgns.pipeline.preprocess",
        [
            "--input",
            str(tmp_path / "c.txt"),
            "--output",
            str(out),
            "--min-count",
            "1",
            "--sample",
            "0",
        ],  # fmt: skip
        limit_bytes=100_000,  # the vocabulary fits; the shards (~600 KB each) do not
    )
    assert code == 2
    assert "file too large writing" in _one_line(err, "sgns-preprocess")
    if had:
        assert os.listdir(out) == []  # rolled back: an empty directory, as before
    assert sorted(os.listdir(mine)) == (["ds", "notes.txt"] if had else ["notes.txt"])
    assert (mine / "notes.txt").read_text() == "the user's notes\n"


def test_a_full_disk_during_training_is_one_line_and_leaves_no_temporary(tmp_path):
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=40, pairs=1000)
    run = tmp_path / "run"
    args = ["--data", data, "--output", str(run), "--dim", "64", "--device", "cpu", "--epochs", "1"]
    code, err = _cli("sgns.train.cli", args, limit_bytes=8_000)  # the checkpoint does not fit
    assert code == 2
    line = _one_line(err, "sgns-train")
    assert "file too large writing" in line and "checkpoint.pt" in line
    assert not [n for n in os.listdir(run) if n.startswith(".")]


def test_an_unwritable_output_directory_is_one_line(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    if subprocess.run(["chattr", "+i", str(blocked)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here: no directory that refuses writes")
    try:
        (tmp_path / "c.txt").write_text(CORPUS)
        code, err = _cli(
            "sgns.pipeline.preprocess",
            ["--input", str(tmp_path / "c.txt"), "--output", str(blocked)],
        )
        assert code == 2 and "no permission for" in _one_line(err, "sgns-preprocess")
        data = str(tmp_path / "data")
        write_tiny_dataset(data)
        code, err = _cli("sgns.train.cli", ["--data", data, "--output", str(blocked / "run")])
        assert code == 2 and "no permission for" in _one_line(err, "sgns-train")
    finally:
        subprocess.run(["chattr", "-i", str(blocked)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: no unreadable input")
def test_an_unreadable_input_is_one_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(CORPUS)
    path.chmod(0)
    code, err = _cli(
        "sgns.pipeline.preprocess", ["--input", str(path), "--output", str(tmp_path / "d")]
    )
    assert code == 2 and f"no permission for {path}" in _one_line(err, "sgns-preprocess")


@pytest.mark.parametrize(
    "module,prog,pattern",
    [
        ("sgns.pipeline.preprocess", "sgns-preprocess", "in/*"),
        ("sgns.pipeline.preprocess", "sgns-preprocess", "in/pipe"),
        ("sgns.pipeline.local", "python -m sgns.pipeline.local", "in/pipe"),
    ],
)
def test_a_fifo_as_input_is_refused_by_name_not_waited_on(tmp_path, module, prog, pattern):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(CORPUS)
    os.mkfifo(tmp_path / "in" / "pipe")  # nobody writes it: reading it would wait forever
    args = ["--input", str(tmp_path / pattern), "--output", str(tmp_path / "d")]
    code, err = _cli(module, args, timeout=60)
    assert code == 2 and f"{tmp_path / 'in' / 'pipe'} is a FIFO" in _one_line(err, prog)


def test_export_onto_a_directory_is_one_line(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    code, err = _cli("sgns.train.export", [run, "--output", str(tmp_path)])
    assert code == 2 and "is a directory" in _one_line(err, "sgns-export")
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]


def test_a_users_directory_is_not_written_over_by_a_run(tmp_path):
    data, out = str(tmp_path / "data"), tmp_path / "mine"
    write_tiny_dataset(data)
    out.mkdir()
    mine = {"config.json": '{"theirs": 1}', "vocab.tsv": "a\t1\n", "vectors.txt": "x"}
    for name, text in mine.items():
        (out / name).write_text(text)
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", str(out), "--device", "cpu"])
    assert code == 2 and "not an sgns run" in _one_line(err, "sgns-train")
    assert {p.name: p.read_text() for p in out.iterdir()} == mine  # nothing touched


@pytest.mark.parametrize(
    "change,said",
    [
        (lambda s: {**s, "weights": s["weights"][:, :4].clone()}, "its table is"),
        (lambda s: {**s, "batch": 10**6}, "past the plan"),
        (lambda s: {**s, "epoch": 99}, "past the plan"),
        (lambda s: {**s, "step": -5}, "is not counts"),
        (lambda s: {**s, "step": s["step"] + 7}, "is not its epoch and batch's"),  # third probe
        (lambda s: {**s, "step": 10**12}, "is not its epoch and batch's"),
        # issue 20, second probe: fields of other types end in one line, not a traceback
        (lambda s: {k: v for k, v in s.items() if k != "loss"}, "its loss missing"),
        (lambda s: {**s, "config": [1]}, "its config missing or not of the type"),
        (lambda s: {**s, "stage": {**s["stage"], "end": "1"}}, "stage.end is not counts"),
        (lambda s: {**s, "metrics_bytes": "x"}, "metrics_bytes is not counts"),
        # fourth probe: a stage's fields that training would take as they are
        (lambda s: {**s, "stage": {**s["stage"], "lr": 1e9}}, "stage.lr 1000000000.0 is not"),
        (lambda s: {**s, "stage": {**s["stage"], "lr": -0.5}}, "stage.lr -0.5 is not the run's"),
        (lambda s: {**s, "stage": {**s["stage"], "base_step": 10**9}}, "stage.base_step"),
        (lambda s: {**s, "stage": {**s["stage"], "old_words": 7}}, "stage.old_words 7 is not 0"),
        (lambda s: {**s, "stage": {**s["stage"], "old_ratio": 1e9}}, "stage.old_ratio"),
        (lambda s: {**s, "loss": {**s["loss"], "sum": float("nan")}}, "loss.sum is not a finite"),
        (lambda s: {**s, "weights": s["weights"].fill_(float("nan"))}, "not a matrix of finite"),
        # a review of issue 20: fields of another type than a dict's, and a dict's keys
        (lambda s: {**s, "stage": 5}, "its stage missing or not of the type"),
        (lambda s: {**s, "stage": None}, "its stage missing or not of the type"),
        (lambda s: {**s, "loss": [1.0]}, "its loss missing or not of the type"),
        (lambda s: {**s, "loss": {"sum": 0.0, "pairs": 0}}, "loss.record_sum, loss.record_pairs"),
        (lambda s: {k: v for k, v in s.items() if k != "vocab_size"}, "its vocab_size missing"),
        (lambda s: {**s, "config": {**s["config"], "emulate_ranks": "2"}}, "config.emulate_ranks"),
        (lambda s: {**s, "config": {**s["config"], "lr": "0.05"}}, "its config.lr missing"),
        (lambda s: {**s, "config": {**s["config"], "negative_mode": "xyz"}}, "config.negative_m"),
        (lambda s: {**s, "config": {**s["config"], "engine": "auto"}}, "its config.engine"),
    ],
)
def test_a_checkpoint_that_does_not_fit_its_run_is_damaged_in_one_line(tmp_path, change, said):
    import torch

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    assert train(tiny_config(data, run, epochs=2, stop_after_steps=3)) is None
    path = checkpoint_path(run)
    torch.save(change(torch.load(path, weights_only=True)), path)
    same = ["--dim", "8", "--batch-size", "50", "--lr", "0.05", "--seed", "3"]
    same += ["--pool-size", "10", "--epochs", "2", "--device", "cpu"]  # tiny_config's
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", *same],
                     timeout=60)  # fmt: skip
    line = _one_line(err, "sgns-train")
    assert code == 2 and "is damaged" in line and said in line, line
    assert not os.path.exists(os.path.join(run, "vectors.txt"))


@pytest.mark.parametrize("stage", [5, None, "x"])
def test_a_checkpoint_whose_stage_is_no_dict_is_damaged_for_export_too(tmp_path, stage):
    import torch

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    path = checkpoint_path(run)
    torch.save({**torch.load(path, weights_only=True), "stage": stage}, path)
    code, err = _cli("sgns.train.export", [run, "--output", str(tmp_path / "v.txt")])
    line = _one_line(err, "sgns-export")
    assert code == 2 and "is damaged (its stage missing or not of the type" in line, line


def test_sigterm_stops_a_run_in_one_line_as_ctrl_c_does(tmp_path):
    import signal
    import time

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    code = "import sys; from sgns.train.cli import main; main(sys.argv[1:])"
    args = ["--data", data, "--output", run, "--device", "cpu", "--epochs", "100000"]
    child = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(run, "metrics.jsonl")):  # training has begun
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        err = child.communicate(timeout=60)[1]
    finally:
        child.kill()
    assert child.returncode == 128 + signal.SIGTERM
    said = [line for line in err.splitlines() if line.startswith("sgns-train")]
    left = (  # (what the line says is left: a checkpoint, once one was written)
        "--resume continues from the last checkpoint"
        if os.path.exists(os.path.join(run, "checkpoint.pt"))
        else "no checkpoint was written yet: run the command again to start the run"
    )
    assert said == [f"sgns-train: interrupted (SIGTERM); {left}"]
    assert "Traceback" not in err


def test_a_second_trainer_of_one_run_is_refused_naming_the_first(tmp_path):
    from sgns.files import DirectoryLock

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1, stop_after_steps=3))  # a run, with its lock released
    with DirectoryLock(run, "sgns-train"):  # as a first trainer holds it while it runs
        before = {n: (tmp_path / "run" / n).read_bytes() for n in ("config.json", "checkpoint.pt")}
        same = ["--dim", "8", "--batch-size", "50", "--lr", "0.05", "--seed", "3"]
        same += ["--pool-size", "10", "--epochs", "1", "--device", "cpu"]  # tiny_config's
        code, err = _cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", *same])
        assert code == 2 and f"pid {os.getpid()}" in _one_line(err, "sgns-train")
        assert {n: (tmp_path / "run" / n).read_bytes() for n in before} == before
    assert train(tiny_config(data, run, epochs=1, resume=True)) is not None  # free again


@pytest.mark.parametrize("name", ["checkpoint.pt", "vocab.tsv", "config.json"])
@pytest.mark.parametrize("module,prog", [("sgns.train.export", "sgns-export"),
                                         ("sgns.report.cli", "sgns-report")])  # fmt: skip
def test_export_and_report_never_write_over_a_runs_own_files(tmp_path, name, module, prog):
    data, run = str(tmp_path / "data"), tmp_path / "run"
    write_tiny_dataset(data)
    train(tiny_config(data, str(run), epochs=1))
    before = (run / name).read_bytes()
    code, err = _cli(module, [str(run), "--output", str(run / name)])
    assert code == 2 and f"the run's own {name}" in _one_line(err, prog)
    assert (run / name).read_bytes() == before
    code, err = _cli("sgns.train.export", [str(run), "--output", os.path.join(data, "vocab.tsv")])
    assert code == 2 and "the dataset's own vocab.tsv" in _one_line(err, "sgns-export")


def test_a_table_too_large_for_the_machine_says_how_much_it_needs(tmp_path):
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=40)
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "r"),
                                        "--dim", "100000000000", "--device", "cpu"])  # fmt: skip
    line = _one_line(err, "sgns-train")
    assert code == 2 and "needs a table of 29802.3 GiB (2 x 40 x 100000000000 float32)" in line


def test_a_fifo_as_the_checkpoint_is_not_a_file_not_an_empty_one(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    os.remove(checkpoint_path(run))
    os.mkfifo(checkpoint_path(run))
    resume = ["--data", data, "--output", run, "--resume"]
    for module, args in [("sgns.train.export", [run, "--output", str(tmp_path / "v")]),
                         ("sgns.train.cli", resume)]:  # fmt: skip
        code, err = _cli(module, args, timeout=60)
        line = _one_line(err, "sgns-" + module.split(".")[-1].replace("cli", "train"))
        assert code == 2 and "is a FIFO (named pipe), not a file" in line, line


@pytest.mark.parametrize("content,said", [(b"", "is empty (0 bytes)"), (b"garbage" * 9, "damaged")])
def test_a_bad_checkpoint_is_one_line_without_unsafe_advice(tmp_path, content, said):
    data, run = str(tmp_path / "data"), tmp_path / "run"
    write_tiny_dataset(data)
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(content)
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", str(run), "--resume"])
    line = _one_line(err, "sgns-train")
    assert code == 2 and said in line and "weights_only" not in err


def test_divergence_before_any_checkpoint_says_none_was_kept(tmp_path):
    data = str(tmp_path / "data")
    write_tiny_dataset(data)
    args = ["--data", data, "--output", str(tmp_path / "r"), "--lr", "1e30", "--dim", "8",
            "--device", "cpu", "--engine", "torch", "--batch-size", "10",
            "--log-interval", "5"]  # fmt: skip
    code, err = _cli("sgns.train.cli", args)
    line = _one_line(err, "sgns-train")
    assert code == 3 and "no checkpoint was written before it" in line
    assert "new --output" in line and not os.path.exists(checkpoint_path(str(tmp_path / "r")))


def _shard_without_statistics(directory: str, ids_from: int, ids_to: int) -> None:
    shard = dataset.pass_shards(directory, dataset.read_manifest(directory), 0)[0]
    old = pq.read_table(shard.path)
    rng = np.random.default_rng(0)
    bad = rng.integers(ids_from, ids_to, old.num_rows).astype(np.int32)
    table = pa.table({"center": old["center"], "context": pa.array(bad)}, dataset.pair_schema())
    pq.write_table(table, shard.path, row_group_size=64, write_statistics=False)


@pytest.mark.parametrize("engine,workers", [("torch", 0), ("torch", 1), ("native", 0)])
def test_ids_outside_the_vocabulary_are_refused_on_every_engine(tmp_path, engine, workers):
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=40, pairs=1000, shards=3)
    _shard_without_statistics(data, 40, 80)  # output rows' range: trained silently before
    code, err = _cli("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "r"),
                                        "--engine", engine, "--num-workers", str(workers),
                                        "--device", "cpu", "--dim", "8"])  # fmt: skip
    line = _one_line(err, "sgns-train")
    assert code == 2 and "but the vocabulary has 40 words" in line and "row group" in line


def test_a_renamed_word_in_the_vocabulary_is_refused(tmp_path):
    data = tmp_path / "data"
    (tmp_path / "c.txt").write_text(CORPUS)
    from sgns.pipeline.preprocess import main as preprocess

    assert preprocess(["--input", str(tmp_path / "c.txt"), "--output", str(data),
                       "--min-count", "1", "--direct_num_workers", "1"]) == 0  # fmt: skip
    snapshot = data / dataset.read_manifest(str(data))["vocab"]["snapshot"]
    snapshot.write_text(snapshot.read_text().replace("w1\t", "wX\t", 1))
    code, err = _cli("sgns.train.cli", ["--data", str(data), "--output", str(tmp_path / "r")])
    assert code == 2 and "was changed since" in _one_line(err, "sgns-train")


def test_training_reads_no_shard_outside_its_dataset(tmp_path):
    from sgns.train.shards import load_dataset

    write_tiny_dataset(str(tmp_path / "other"))
    manifest = write_tiny_dataset(str(tmp_path / "data"))
    shard = manifest["increments"][0]["passes"][0]["shards"][0]
    shard["path"] = "../other/" + shard["path"]  # a readable shard, but another dataset's
    dataset.write_manifest_local(str(tmp_path / "data"), manifest)
    with pytest.raises(ValueError, match="not a relative path inside the dataset") as refused:
        load_dataset(str(tmp_path / "data"))
    assert user_message(refused.value).count("\n") == 0


def test_eval_tells_the_format_from_the_content_not_the_name(tmp_path):
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    for fmt, name in (("binary", "x.binary"), ("text", "y.bin"), ("npy", "z.vec")):
        write_vectors(str(tmp_path / name), ["a", "b", "c"], vectors, fmt)
    for name in ("x.binary", "y.bin", "z.vec"):
        code, err = _cli("sgns.eval.cli", [str(tmp_path / name), "--neighbors", "a"])
        assert code == 0 and "sgns-eval: error" not in err, err


def test_metrics_of_a_killed_and_resumed_run_have_each_step_once(tmp_path):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=1200, shards=2, passes=2)
    kw = dict(epochs=3, checkpoint_interval=10, log_interval=4, engine="torch")
    assert train(tiny_config(data, run, stop_after_steps=31, **kw)) is None
    path = os.path.join(run, "metrics.jsonl")
    with open(path, "a") as f:  # what the killed run wrote after its last checkpoint (step 31)
        f.write(json.dumps({"kind": "step", "step": 32, "epoch": 1, "pairs": 1, "loss": 1.0,
                            "lr": 0.1, "pairs_per_s": 1.0, "time": 9.0}) + "\n")  # fmt: skip
    train(tiny_config(data, run, resume=True, **kw))
    records = [json.loads(line) for line in open(path)]
    steps = [r["step"] for r in records if r["kind"] == "step"]
    assert steps == sorted(set(steps)) and steps[-1] == 72
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [0, 1, 2]
    whole = str(tmp_path / "whole")
    train(tiny_config(data, whole, **kw))
    again = [json.loads(line) for line in open(os.path.join(whole, "metrics.jsonl"))]
    assert [r["step"] for r in again if r["kind"] == "step"] == steps


def test_a_garbled_config_json_does_not_stop_a_resume(tmp_path):
    # --resume takes what it needs from the checkpoint; RUN/config.json is rewritten
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    assert train(tiny_config(data, run, epochs=2, stop_after_steps=5)) is None
    (tmp_path / "run" / "config.json").write_text("{not json")
    assert train(tiny_config(data, run, epochs=2, resume=True)) is not None
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 2


def test_options_neither_we_nor_beam_know_are_refused_by_name(tmp_path, capsys):
    from sgns.pipeline.preprocess import main as preprocess

    (tmp_path / "c.txt").write_text(CORPUS)
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "d")]
    assert preprocess([*args, "--min-cout", "1", "--num-shard", "2"]) == 2
    line = _one_line(capsys.readouterr().err, "sgns-preprocess")
    assert "--min-cout (did you mean --min-count?)" in line and "--num-shard" in line
    assert not (tmp_path / "d").exists()  # refused before anything was written


def test_a_directory_as_input_means_its_files_with_or_without_a_slash(tmp_path):
    from sgns.pipeline.preprocess import main as preprocess

    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_text(CORPUS)
    (tmp_path / "in" / "sub" / "b.txt").write_text(CORPUS)  # not directly in it: not read
    fast = ["--min-count", "1", "--direct_num_workers", "1"]
    for name, given in (("plain", str(tmp_path / "in")), ("slash", f"{tmp_path}/in/")):
        assert preprocess(["--input", given, "--output", str(tmp_path / name), *fast]) == 0
        inputs = dataset.read_manifest(str(tmp_path / name))["increments"][0]["inputs"]
        assert [i["path"] for i in inputs] == [str(tmp_path / "in" / "a.txt")]


@pytest.mark.parametrize(
    "module,args,prog",
    [
        ("sgns.train.cli", ["--data", "d", "--output", "o", "--dim", "abc"], "sgns-train"),
        ("sgns.pipeline.preprocess", ["--output", "o"], "sgns-preprocess"),
        ("sgns.eval.cli", ["v.txt", "--topn", "x"], "sgns-eval"),
    ],
)
def test_a_mistyped_or_missing_option_is_one_line_too(module, args, prog):
    code, err = _cli(module, args)
    assert code == 2 and "--help" in _one_line(err, prog)
    assert "usage:" not in err


def test_export_refuses_a_table_that_is_not_finite_or_not_its_vocabularys(tmp_path):
    import torch

    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    path, out = checkpoint_path(run), str(tmp_path / "v.txt")
    state = torch.load(path, weights_only=True)
    for table, said in [(state["weights"].clone().fill_(float("inf")), "finite numbers"),
                        (state["weights"][1:].clone(), "for the 40 words")]:  # fmt: skip
        torch.save({**state, "weights": table}, path)
        code, err = _cli("sgns.train.export", [run, "--output", out], timeout=60)
        assert code == 2 and said in _one_line(err, "sgns-export")
        assert not os.path.exists(out)


@pytest.mark.parametrize(
    "fifo,readers",
    [("run/metrics.jsonl", ("sgns-report", "sgns-train")),
     ("run/vocab.tsv", ("sgns-report", "sgns-export")),
     ("data/manifest.json", ("sgns-train", "sgns-preprocess"))],
)  # fmt: skip
def test_a_fifo_inside_a_run_or_dataset_is_refused_not_waited_on(tmp_path, fifo, readers):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    os.remove(tmp_path / fifo)
    os.mkfifo(tmp_path / fifo)  # nobody writes it: reading it would wait forever
    commands = {
        "sgns-report": ("sgns.report.cli", [run, "--output", str(tmp_path / "r.html")]),
        "sgns-export": ("sgns.train.export", [run, "--output", str(tmp_path / "v")]),
        "sgns-train": ("sgns.train.cli", ["--data", data, "--output", run, "--resume",
                                          *TINY_ARGS]),
        "sgns-preprocess": ("sgns.pipeline.preprocess",
                            ["--input", run + "/config.json", "--output", data, "--append"]),
    }  # fmt: skip
    for prog in readers:
        module, args = commands[prog]
        code, err = _cli(module, args, timeout=60)
        assert code == 2 and "is a FIFO" in _one_line(err, prog), (prog, err[-2000:])


def test_a_link_in_a_dataset_is_removed_never_what_it_points_at(tmp_path):
    (tmp_path / "a.txt").write_text(CORPUS)
    data, mine = tmp_path / "data", tmp_path / "mine"
    args = ["--input", str(tmp_path / "a.txt"), "--output", str(data), "--min-count", "1"]
    assert _cli("sgns.pipeline.preprocess", args + ["--num-shards", "1"])[0] == 0
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    os.symlink(mine, data / "pairs" / "inc-00001")  # left past the manifest: recovery removes it
    (tmp_path / "b.txt").write_text(CORPUS.replace("the", "a"))
    args = ["--input", str(tmp_path / "b.txt"), "--output", str(data), "--append"]
    code, err = _cli("sgns.pipeline.preprocess", args)
    assert code == 0, err[-2000:]
    assert (mine / "keep.txt").read_text() == "mine"


def test_report_takes_an_evaluation_of_another_shape_as_none(tmp_path):
    data, run = str(tmp_path / "data"), tmp_path / "run"
    write_tiny_dataset(data)
    train(tiny_config(data, str(run), epochs=1))
    (run / "eval.json").write_text('{"synthetic": "x", "similarity": [{"spearman": 1}]}')
    code, err = _cli("sgns.report.cli", [str(run), "--output", str(tmp_path / "r.html")])
    assert code == 0 and "not what sgns-eval --json writes" in (tmp_path / "r.html").read_text()
    given = [str(run), "--eval", str(run / "eval.json"), "--output", str(tmp_path / "s.html")]
    code, err = _cli("sgns.report.cli", given)
    assert code == 2 and "--eval" in _one_line(err, "sgns-report")


def test_no_command_writes_into_a_datasets_files_or_through_a_runs_links(tmp_path):
    data, run = str(tmp_path / "data"), tmp_path / "run"
    manifest = write_tiny_dataset(data)
    train(tiny_config(data, str(run), epochs=1))
    shard = os.path.join(data, manifest["increments"][0]["passes"][0]["shards"][0]["path"])
    before = open(shard, "rb").read()
    code, err = _cli("sgns.train.export", [str(run), "--output", shard])
    assert code == 2 and "the dataset's own" in _one_line(err, "sgns-export")
    code, err = _cli("sgns.synth.cli", ["--output", str(run / "checkpoint.pt"), "--tokens", "500"])
    assert code == 2 and "the run's own checkpoint.pt" in _one_line(err, "sgns-synth")
    assert open(shard, "rb").read() == before
    (tmp_path / "mine.png").write_text("mine")
    os.symlink(tmp_path / "mine.png", run / "report-training.png")  # a run handed to the user
    assert _cli("sgns.report.cli", [str(run)])[0] == 0
    assert (tmp_path / "mine.png").read_text() == "mine"


@pytest.mark.parametrize(
    "args,said",
    [
        (["--window", "10"], "--window: sgns-preprocess settings, fixed in the dataset"),
        (["--min-count", "3", "--sample=1e-4"], "--min-count, --sample: sgns-preprocess"),
        (["--vector-size", "50"], "--vector-size: gensim's name: use --dim"),
        (["--dimm", "50"], "--dimm: did you mean --dim?"),
    ],
)
def test_an_option_of_another_tool_is_said_with_the_fix(tmp_path, args, said):
    code, err = _cli("sgns.train.cli", ["--data", str(tmp_path), "--output", "r", *args])
    assert code == 2 and said in _one_line(err, "sgns-train")


def test_a_corpus_given_as_the_dataset_says_how_to_make_one(tmp_path):
    corpus = tmp_path / "corpus.txt.gz"
    corpus.write_bytes(b"")
    code, err = _cli("sgns.train.cli", ["--data", str(corpus), "--output", str(tmp_path / "r")])
    line = _one_line(err, "sgns-train")
    assert code == 2 and "is a file" in line and f"sgns-preprocess --input {corpus}" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "module,args,prog,option",
    [
        ("sgns.train.cli", ["--data", "d", "--output", "o", "--lr", "-inf"], "sgns-train", "--lr"),
        ("sgns.train.cli", ["--data", "d", "--output", "o", "--lr", "-nan"], "sgns-train", "--lr"),
        ("sgns.pipeline.preprocess", ["--input", "c", "--output", "o", "--sample", "-inf"],
         "sgns-preprocess", "--sample"),
    ],
)  # fmt: skip
def test_a_value_such_as_minus_inf_is_a_value_its_option_names(module, args, prog, option):
    code, err = _cli(module, args)
    line = _one_line(err, prog)
    assert code == 2 and f"{option} must" in line and "expected one argument" not in line, line


@pytest.mark.parametrize(
    "encoding,said",
    [("idna", "no encoding of text files"), ("utf-32", "--encoding utf-32-le or utf-32-be")],
)
def test_an_encoding_no_file_is_in_gets_the_right_advice(tmp_path, encoding, said):
    (tmp_path / "c.txt").write_text(CORPUS)
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "d")]
    code, err = _cli("sgns.pipeline.local", [*args, "--encoding", encoding])
    line = _one_line(err, "python -m sgns.pipeline.local")
    assert code == 2 and said in line and ("byte order" in line) == (encoding != "idna"), line


def test_json_nested_too_deeply_is_one_line_naming_the_file_in_every_reader(tmp_path):
    """(issue 20, fourth probe F6) 100,000 `[`: every JSON reader ended in a RecursionError
    traceback (sgns.errors.loads_json turns it into the JSONDecodeError each reader says)."""
    import shutil

    import sgns
    from sgns.errors import UsageError

    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.json").write_text(deep)
    bad = str(tmp_path / "deep.json")
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    shutil.copytree(data, tmp_path / "d2")
    (tmp_path / "d2" / "manifest.json").write_text(deep)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text(deep)
    cases = [
        ("sgns.train.cli", ["--data", str(tmp_path / "d2"), "--output", str(tmp_path / "r2"),
                            *TINY_ARGS], "sgns-train", "manifest.json: it is not valid JSON"),
        ("sgns.eval.cli", [run, "--synth-truth", bad], "sgns-eval", f"{bad} is not valid JSON"),
        ("sgns.report.cli", [run, "--eval", bad], "sgns-report", f"--eval {bad} could not be"),
        ("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "mine"), *TINY_ARGS],
         "sgns-train", "is a non-empty directory that is not an sgns run"),
    ]  # fmt: skip
    for module, argv, prog, said in cases:
        code, err = _cli(module, argv)
        assert code == 2 and said in _one_line(err, prog), (module, err[-2000:])
    with open(os.path.join(run, "metrics.jsonl"), "a") as f:
        f.write(deep + "\n")  # (a line of no record: counted, not read)
    code, err = _cli("sgns.report.cli", [run, "--output", str(tmp_path / "r.html")])
    assert code == 0 and "Traceback" not in err, err[-2000:]
    shutil.copy(bad, os.path.join(run, "config.json"))
    with pytest.raises(UsageError, match=r"config.json is not the JSON .*\(nested too deeply"):
        sgns.Run(run).config  # noqa: B018 - the property reads the file

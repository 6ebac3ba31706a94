"""What a third probe of issue 20 found (planted links, files that claim what they are not,
options whose maths overflows), each now refused in one line with nothing of the user's touched.
"""

import os

import pytest
from procs import ROOT, cli, one_line
from train_helpers import tiny_config, write_tiny_dataset

from sgns.train.trainer import train


@pytest.fixture
def data(tmp_path) -> str:
    path = str(tmp_path / "data")
    write_tiny_dataset(path)
    return path


def _victim(tmp_path) -> str:
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n" * 50)
    return str(victim)


def test_a_lock_file_planted_as_a_link_is_removed_never_written_through(tmp_path, data):
    victim = _victim(tmp_path)
    os.symlink(victim, os.path.join(data, ".lock"))
    corpus = tmp_path / "more.txt"
    corpus.write_text("a b c d e f g h\n" * 40)
    args = ["--input", str(corpus), "--output", data, "--append", "--min-count", "1"]
    code, err = cli("sgns.pipeline.preprocess", args)
    assert code in (0, 2), err[-2000:]  # (whether the increment is welcome is not the point)
    assert open(victim).read() == "the user's file\n" * 50
    run = str(tmp_path / "run")
    train(tiny_config(data, run, epochs=1))
    os.symlink(victim, os.path.join(run, ".lock"))
    code, err = cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", "--dim", "8"])
    assert open(victim).read() == "the user's file\n" * 50


def test_a_metrics_file_planted_as_a_link_is_refused(tmp_path, data):
    victim = _victim(tmp_path)
    run = tmp_path / "run"
    assert train(tiny_config(data, str(run), epochs=2, stop_after_steps=3)) is None
    os.remove(run / "metrics.jsonl")
    os.symlink(victim, run / "metrics.jsonl")
    same = ["--dim", "8", "--batch-size", "50", "--lr", "0.05", "--seed", "3",
            "--pool-size", "10", "--epochs", "2", "--device", "cpu"]  # fmt: skip
    code, err = cli("sgns.train.cli", ["--data", data, "--output", str(run), "--resume", *same])
    assert code == 2 and "is a link" in one_line(err, "sgns-train")
    assert open(victim).read() == "the user's file\n" * 50


def test_a_dataset_folder_planted_as_a_link_is_refused(tmp_path, data):
    elsewhere = tmp_path / "elsewhere"
    os.rename(os.path.join(data, "pairs"), elsewhere)
    os.symlink(elsewhere, os.path.join(data, "pairs"))
    before = sorted(os.listdir(elsewhere))
    corpus = tmp_path / "more.txt"
    corpus.write_text("a b c d e f g h\n" * 40)
    code, err = cli("sgns.pipeline.preprocess",
                    ["--input", str(corpus), "--output", data, "--append"])  # fmt: skip
    assert code == 2 and "is a link" in one_line(err, "sgns-preprocess")
    assert sorted(os.listdir(elsewhere)) == before


def test_synth_refuses_a_truth_file_where_the_corpus_goes(tmp_path):
    out = str(tmp_path / "c.txt")
    code, err = cli("sgns.synth.cli", ["--output", out, "--truth", out, "--tokens", "500"])
    assert code == 2 and "is where the corpus file goes" in one_line(err, "sgns-synth")
    assert os.listdir(tmp_path) == []


def test_a_lock_file_is_a_runs_own_file(tmp_path, data):
    run = tmp_path / "run"
    train(tiny_config(data, str(run), epochs=1))
    code, err = cli("sgns.train.export", [str(run), "--output", str(run / ".lock")])
    assert code == 2 and "own .lock" in one_line(err, "sgns-export")


@pytest.mark.parametrize("exponent", ["1000", "-1000"])
def test_an_ns_exponent_whose_powers_overflow_is_refused_by_name(tmp_path, data, exponent):
    run = str(tmp_path / "run")
    for engine in ("torch", "auto"):
        args = ["--data", data, "--output", run, "--dim", "8", "--ns-exponent", exponent]
        code, err = cli("sgns.train.cli", [*args, "--engine", engine])
        assert code == 2 and "--ns-exponent" in one_line(err, "sgns-train")


@pytest.mark.parametrize(
    "text,said",
    [
        ("3 1000000000000\na 1 2\nb 1 2\n", "no room for one vector"),
        ("2 2\na nan inf\nb 1 2\n", "not finite"),
    ],
)
def test_a_vector_file_that_lies_or_holds_no_numbers_is_one_line(tmp_path, text, said):
    path = tmp_path / "v.txt"
    path.write_text(text)
    code, err = cli("sgns.eval.cli", [str(path), "--neighbors", "a"], memory_bytes=2 * 2**30)
    assert code == 2 and said in one_line(err, "sgns-eval")


def test_similarity_scores_that_are_not_finite_are_malformed_lines(tmp_path):
    from sgns.eval.sets import read_similarity_pairs

    path = tmp_path / "sim.tsv"
    path.write_text("x\ty\t3\na\tb\tnan\nc\td\tinf\ne\tf\t5\n")
    pairs = read_similarity_pairs(str(path))
    assert [p[:2] for p in pairs.pairs] == [("x", "y"), ("e", "f")] and pairs.malformed == 2


def test_an_input_whose_name_is_not_utf8_is_refused_before_anything_is_written(tmp_path):
    name = os.path.join(os.fsencode(tmp_path), b"bad\xff.txt")
    with open(name, "wb") as f:
        f.write(b"a b c d\n" * 50)
    out = str(tmp_path / "d")
    args = ["--input", os.fsdecode(name), "--output", out, "--min-count", "1"]
    code, err = cli("sgns.pipeline.preprocess", args)
    assert code == 2 and "its name is not UTF-8" in one_line(err, "sgns-preprocess")
    assert not os.path.exists(out)


@pytest.mark.parametrize("sig", ["SIGTERM"])  # (SIGINT: its exit code is not yet steady)
def test_a_signal_stops_sgns_preprocess_in_one_line_and_the_next_run_builds(tmp_path, sig):
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    words = np.array([f"w{i}" for i in range(5000)])
    rng = np.random.default_rng(0)
    with open(tmp_path / "c.txt", "w") as f:  # 4M tokens: seconds of work, time to stop it
        for _ in range(40):
            f.write("\n".join(" ".join(line) for line in words[rng.integers(0, 5000, (5000, 20))]))
            f.write("\n")
    out = str(tmp_path / "d")
    args = ["--input", str(tmp_path / "c.txt"), "--output", out, "--passes", "8"]
    code = "import sys; from sgns.pipeline.preprocess import main; sys.exit(main(sys.argv[1:]))"
    child = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=ROOT))  # fmt: skip
    time.sleep(3)
    assert child.poll() is None, "the build ended before it could be stopped"
    child.send_signal(getattr(signal, sig))
    _, err = child.communicate(timeout=120)
    assert child.returncode == 128 + getattr(signal, sig), err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.startswith("sgns-preprocess")]
    assert len(lines) == 1 and f"interrupted ({sig})" in lines[0], err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    code, err = cli("sgns.pipeline.preprocess", [*args[:4], "--overwrite"])
    assert code == 0, err[-2000:]

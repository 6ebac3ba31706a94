"""What a third probe of issue 20 found (planted links, files that claim what they are not,
options whose maths overflows), each now refused in one line with nothing of the user's touched.
"""

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

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
    line = one_line(err, "sgns-preprocess")
    assert code == 2 and "is a link" in line and "copy the data into the dataset" in line, line
    assert sorted(os.listdir(elsewhere)) == before
    code, err = cli("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "r")])
    line = one_line(err, "sgns-train")  # (its shards resolve outside the dataset)
    assert code == 2 and "copy the data into the dataset instead of linking" in line, line


def test_synth_refuses_a_truth_file_where_the_corpus_goes(tmp_path):
    out = str(tmp_path / "c.txt")
    code, err = cli("sgns.synth.cli", ["--output", out, "--truth", out, "--tokens", "500"])
    assert code == 2 and "is where the corpus file goes" in one_line(err, "sgns-synth")
    assert os.listdir(tmp_path) == []


def test_a_path_through_a_link_and_dotdot_is_checked_where_the_write_lands(tmp_path, data):
    # "sublink/.." is the run to the kernel (and atomic_open), tmp_path to os.path.abspath
    run = tmp_path / "run"
    train(tiny_config(data, str(run), epochs=1))
    (run / "sub").mkdir()
    os.symlink(run / "sub", tmp_path / "sublink")
    before = (run / "checkpoint.pt").read_bytes()
    for module, prog in (("sgns.train.export", "sgns-export"), ("sgns.report.cli", "sgns-report")):
        code, err = cli(module, [str(run), "--output", "sublink/../checkpoint.pt"], cwd=tmp_path)
        assert code == 2 and "the run's own checkpoint.pt" in one_line(err, prog)
    assert (run / "checkpoint.pt").read_bytes() == before
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere" / "deep", tmp_path / "dlink")
    synth = ["--output", "dlink/../new/c.txt", "--tokens", "500"]
    assert cli("sgns.synth.cli", synth, cwd=tmp_path)[0] == 0  # its folder made where it lands
    made = sorted(os.listdir(tmp_path / "elsewhere" / "new"))
    assert made == ["c.txt", *(f"c.txt.{s}" for s in ("questions-words.txt", "similarity.tsv",
                                                       "truth.json"))]  # fmt: skip
    synth = ["--output", "elsewhere/fresh/c.txt", "--truth", "dlink/../fresh/c.txt.similarity.tsv"]
    code, err = cli("sgns.synth.cli", [*synth, "--tokens", "500"], cwd=tmp_path)
    assert code == 2 and "where the similarity file goes" in one_line(err, "sgns-synth")
    code, err = cli("sgns.report.cli", [str(run), "--output", "dlink/../page.html"], cwd=tmp_path)
    assert code == 0, err  # the page and its plots side by side, where the page lands
    assert {"page.html", "page-training.png"} <= set(os.listdir(tmp_path / "elsewhere"))
    assert sorted(os.listdir(tmp_path)) == ["data", "dlink", "elsewhere", "run", "sublink"]


@pytest.mark.parametrize("module", ["sgns.pipeline.preprocess", "sgns.pipeline.local"])
def test_an_input_through_a_link_and_dotdot_is_the_file_the_kernel_opens(tmp_path, module):
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere" / "deep", tmp_path / "dlink")
    (tmp_path / "elsewhere" / "c.txt").write_text("right words here\n" * 50)  # `cat dlink/../c.txt`
    (tmp_path / "c.txt").write_text("wrong words there\n" * 50)  # os.path.abspath's
    args = ["--input", "dlink/../c.txt", "--output", "out", "--min-count", "1"]
    code, err = cli(module, args, cwd=tmp_path)
    assert code == 0, err[-2000:]
    vocab = (tmp_path / "out" / "vocab.tsv").read_text().splitlines()
    assert {line.split("\t")[0] for line in vocab} == {"right", "words", "here"}


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


# A child's SIGINT is as a terminal leaves it: tests/conftest.py handles SIGINT in the test process
# (a test runner started in the background ignores it), and a handled signal is the default again
# in a child once it runs (exec). No preexec_fn: Python code between fork and exec is unsafe in a
# process with threads, as pytest-xdist's workers are (a child died of SIGABRT there).


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
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
    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(out, ".lock")):  # the build has begun: its handler is
        assert child.poll() is None and time.monotonic() < deadline  # set (not still importing)
        time.sleep(0.05)
    time.sleep(1)
    assert child.poll() is None, "the build ended before it could be stopped"
    child.send_signal(getattr(signal, sig))
    _, err = child.communicate(timeout=120)
    assert child.returncode == 128 + getattr(signal, sig), err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.startswith("sgns-preprocess")]
    assert len(lines) == 1 and f"interrupted ({sig})" in lines[0], err[-3000:]
    assert "no dataset was made" in lines[0] and not os.path.exists(
        os.path.join(out, "manifest.json")
    )
    assert "Traceback" not in err, err[-3000:]
    code, err = cli("sgns.pipeline.preprocess", [*args[:4], "--overwrite"])
    assert code == 0, err[-2000:]


# A fourth probe of issue 20: damaged manifests, counts, shards and checkpoints; side files
# that are a user's; compressed copies; no warning lines on stderr for any of them.


def _clean_line(err: str, prog: str) -> str:
    """The one error line, and no warning (numpy's, torch's, tqdm's) beside it."""
    assert "Warning" not in err, err[-3000:]
    return one_line(err, prog)


@pytest.fixture
def built(tmp_path) -> str:
    """A dataset sgns-preprocess's stages wrote (snapshots, counts.tsv), made without Beam."""
    from sgns.pipeline.local import main as build_locally

    corpus = tmp_path / "corpus.txt"
    words = [f"w{i}" for i in range(40)]
    corpus.write_text("".join(" ".join(words[i % 7 :: 3]) + "\n" for i in range(300)))
    out = str(tmp_path / "built")
    assert build_locally(["--input", str(corpus), "--output", out, "--min-count", "1"]) == 0
    return out


def _edit_manifest(directory: str, change) -> None:
    import json

    path = os.path.join(directory, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    change(manifest)
    with open(path, "w") as f:
        json.dump(manifest, f)


def _more(tmp_path) -> str:
    corpus = tmp_path / "more.txt"
    corpus.write_text("w1 w2 w3 w4 new1 new2\n" * 60)
    return str(corpus)


@pytest.mark.parametrize(
    "change,said",
    [
        (lambda m: m.update(counts=[1, 2]), "counts is list, not an object"),
        (lambda m: m.update(config=None), "config is null, not an object"),
        (lambda m: m.update(increments=[]), "increments is empty"),
        (lambda m: m["increments"][0].update(vocab_size="40"), "vocab_size is '40', not a count"),
        (lambda m: m["increments"].append(m["increments"][0]), "has the index 0, not 1"),
        (lambda m: m["increments"][0]["passes"][0]["shards"].append(
            m["increments"][0]["passes"][0]["shards"][0]), "is listed twice"),
    ],
)  # fmt: skip
def test_a_manifest_of_wrong_types_or_repeats_is_damaged_for_append_and_train(
    tmp_path, built, change, said
):
    _edit_manifest(built, change)
    args = ["--input", _more(tmp_path), "--output", built, "--append"]
    code, err = cli("sgns.pipeline.preprocess", args)
    line = _clean_line(err, "sgns-preprocess")
    assert code == 2 and said in line and "manifest is damaged" in line, line
    run = str(tmp_path / "run")
    code, err = cli("sgns.train.cli", ["--data", built, "--output", run, "--dim", "8"])
    line = _clean_line(err, "sgns-train")
    assert code == 2 and said in line and "manifest is damaged" in line, line
    assert not os.path.exists(run)


@pytest.mark.parametrize(
    "change",
    [lambda m: m.update(increments={}), lambda m: m.update(config={"lowercase": "no"}),
     lambda m: m["increments"][0]["passes"][0]["shards"][0].update(path="../x.parquet")],
)  # fmt: skip
def test_a_damaged_manifest_under_overwrite_says_to_remove_the_folder_not_to_rebuild(
    tmp_path, built, change
):
    _edit_manifest(built, change)
    before = sorted(os.listdir(built))
    args = ["--input", _more(tmp_path), "--output", built]
    code, err = cli("sgns.pipeline.preprocess", [*args, "--overwrite"])
    line = _clean_line(err, "sgns-preprocess")
    assert code == 2 and "manifest is damaged" in line and f"remove {built!r}" in line, line
    assert "rebuild the dataset" not in line and sorted(os.listdir(built)) == before
    code, err = cli("sgns.pipeline.preprocess", [*args, "--append"])
    assert code == 2 and "restore it or rebuild the dataset" in _clean_line(err, "sgns-preprocess")


def _rewrite(path: str, change) -> None:
    with open(path) as f:
        lines = f.read().split("\n")
    change(lines)
    with open(path, "w") as f:
        f.write("\n".join(lines))


def test_counts_changed_since_the_manifest_are_refused_by_append(tmp_path, built):
    before = open(os.path.join(built, "vocab.tsv")).read()
    for name in ("counts.tsv", "snapshots/inc-00000/counts.tsv"):  # the file and its snapshot
        _rewrite(os.path.join(built, name), lambda lines: lines.__setitem__(3, "w5\t999999999"))
    args = ["--input", _more(tmp_path), "--output", built, "--append"]
    code, err = cli("sgns.pipeline.preprocess", args)
    assert code == 2 and "changed since the manifest" in _clean_line(err, "sgns-preprocess")
    assert open(os.path.join(built, "vocab.tsv")).read() == before


def _forge(directory: str, name: str, key: str, change) -> None:
    """Change a vocabulary file and its snapshot, and the manifest's sha256 of it to match."""
    import hashlib

    for path in (name, f"snapshots/inc-00000/{name}"):
        _rewrite(os.path.join(directory, path), change)
    with open(os.path.join(directory, name), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    _edit_manifest(directory, lambda m: m[key].update(sha256=digest))


@pytest.mark.parametrize("name,key", [("counts.tsv", "counts"), ("vocab.tsv", "vocab")])
def test_a_word_given_twice_in_a_vocabulary_file_is_refused_naming_file_and_line(
    tmp_path, built, name, key
):
    _forge(built, name, key, lambda lines: lines.__setitem__(5, lines[2]))
    args = ["--input", _more(tmp_path), "--output", built, "--append"]
    code, err = cli("sgns.pipeline.preprocess", args)
    line = _clean_line(err, "sgns-preprocess")
    assert code == 2 and f"{name} line 6 holds the word" in line and "of line 3" in line, line
    if key == "vocab":  # and what trains on it says the same
        run = str(tmp_path / "run")
        code, err = cli("sgns.train.cli", ["--data", built, "--output", run, "--dim", "8"])
        assert code == 2 and f"{name} line 6 holds the word" in _clean_line(err, "sgns-train")


def test_a_null_id_in_a_shard_is_damaged_without_a_warning(tmp_path, data):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = json.load(open(os.path.join(data, "manifest.json")))
    for statistics in (True, False):  # (caught from the footer, or as the row group is read)
        shard = os.path.join(data, manifest["increments"][0]["passes"][0]["shards"][0]["path"])
        table = pq.read_table(shard)
        centers = table.column("center").to_pylist()
        centers[1] = None
        table = pa.table({"center": pa.array(centers, pa.int32()), "context": table["context"]})
        pq.write_table(table, shard, write_statistics=statistics, row_group_size=64)
        run = str(tmp_path / f"run{statistics}")
        code, err = cli("sgns.train.cli", ["--data", data, "--output", run, "--dim", "8"])
        line = _clean_line(err, "sgns-train")
        assert code == 2 and "1 null center ids" in line and "damaged" in line, line


def test_a_shard_that_links_outside_its_dataset_is_refused(tmp_path, data):
    import json
    import shutil

    manifest = json.load(open(os.path.join(data, "manifest.json")))
    shard = os.path.join(data, manifest["increments"][0]["passes"][0]["shards"][0]["path"])
    outside = str(tmp_path / "outside.parquet")
    shutil.move(shard, outside)
    os.symlink(outside, shard)
    code, err = cli("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "r")])
    line = _clean_line(err, "sgns-train")
    assert code == 2 and "outside the dataset" in line and outside in line, line
    assert "copy the data into the dataset instead of linking" in line, line
    os.remove(shard)  # a link inside the dataset stays a file of it
    shutil.move(outside, os.path.join(data, "moved.parquet"))
    os.symlink(os.path.join(data, "moved.parquet"), shard)
    code, err = cli("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "r2"),
                                       "--dim", "8", "--epochs", "1"])  # fmt: skip
    assert code == 0, err[-2000:]


def test_export_refuses_a_users_file_where_the_npy_vocabulary_goes(tmp_path, data):
    run = tmp_path / "run"
    train(tiny_config(data, str(run), epochs=1))
    out = tmp_path / "v.npy"
    (tmp_path / "v.vocab.tsv").write_text("the user's file\n")
    code, err = cli("sgns.train.export", [str(run), "--output", str(out), "--format", "npy"])
    assert code == 2 and "was not written by sgns" in _clean_line(err, "sgns-export")
    assert (tmp_path / "v.vocab.tsv").read_text() == "the user's file\n" and not out.exists()
    os.remove(tmp_path / "v.vocab.tsv")
    for _ in range(2):  # its own earlier output is written over
        code, err = cli("sgns.train.export", [str(run), "--output", str(out), "--format", "npy"])
        assert code == 0, err[-2000:]


@pytest.mark.parametrize("side", ["similarity.tsv", "questions-words.txt", "truth.json"])
def test_synth_refuses_a_users_file_where_a_side_file_goes(tmp_path, side):
    out = str(tmp_path / "c.txt")
    for _ in range(2):  # its own earlier output is written over
        code, err = cli("sgns.synth.cli", ["--output", out, "--tokens", "500"])
        assert code == 0, err[-2000:]
    (tmp_path / f"c.txt.{side}").write_text("the user's file\n")
    code, err = cli("sgns.synth.cli", ["--output", out, "--tokens", "500"])
    line = _clean_line(err, "sgns-synth")
    assert code == 2 and f"c.txt.{side} is in the way" in line, line
    assert (tmp_path / f"c.txt.{side}").read_text() == "the user's file\n"


def test_synth_writes_over_its_truth_file_of_before_the_format_key_not_a_look_alike(tmp_path):
    out, truth = str(tmp_path / "c.txt"), tmp_path / "c.txt.truth.json"
    assert cli("sgns.synth.cli", ["--output", out, "--tokens", "500"])[0] == 0
    planted = json.loads(truth.read_text())
    del planted["format"]  # as a truth file of before the key began
    truth.write_text(json.dumps(planted, indent=1) + "\n")
    code, err = cli("sgns.synth.cli", ["--output", out, "--tokens", "500"])
    assert code == 0 and json.loads(truth.read_text())["format"] == "sgns-synth-truth", err
    mine = json.dumps({"config": planted["config"], "clusters": [], "mine": 1}, indent=1)
    truth.write_text(mine)  # its first keys, and one of the user's: not ours
    code, err = cli("sgns.synth.cli", ["--output", out, "--tokens", "500"])
    assert code == 2 and "c.txt.truth.json is in the way" in _clean_line(err, "sgns-synth")
    assert truth.read_text() == mine


def test_the_same_text_compressed_and_plain_is_counted_once(tmp_path, built):
    import bz2
    import gzip

    from sgns.pipeline.local import main as build_locally

    text = b"".join(b"a%d b%d c d e\n" % (i % 9, i % 5) for i in range(400))
    (tmp_path / "c.txt").write_bytes(text)
    (tmp_path / "c.gz").write_bytes(gzip.compress(text))
    (tmp_path / "c.bz2").write_bytes(bz2.compress(text))
    for pair in (["c.txt", "c.gz"], ["c.gz", "c.bz2"]):
        inputs = [str(tmp_path / name) for name in pair]
        out = str(tmp_path / f"d-{pair[1]}")
        code, err = cli("sgns.pipeline.preprocess", ["--input", ",".join(inputs), "--output", out])
        assert code == 2 and "given twice in this run" in _clean_line(err, "sgns-preprocess")
        assert build_locally(["--input", inputs[0], "--input", inputs[1], "--output", out]) == 2
    corpus = os.path.join(os.path.dirname(built), "corpus.txt")  # the built dataset's own text
    with open(corpus, "rb") as f:
        (tmp_path / "again.gz").write_bytes(gzip.compress(f.read()))
    args = ["--input", str(tmp_path / "again.gz"), "--output", built, "--append"]
    code, err = cli("sgns.pipeline.preprocess", args)
    assert code == 2 and "already in the dataset" in _clean_line(err, "sgns-preprocess")
    import sgns

    with pytest.raises(sgns.UsageError, match="given twice"):
        sgns.fit([str(tmp_path / "c.txt"), str(tmp_path / "c.bz2")], workers=1, epochs=1)


# A fourth probe: outputs that are no files, GCS stores that fail, signals while a store blocks


@pytest.mark.parametrize("module,args", [
    ("sgns.train.export", []), ("sgns.report.cli", []), ("sgns.synth.cli", ["--tokens", "300"]),
])  # fmt: skip
def test_an_output_that_is_a_fifo_or_a_link_to_a_device_is_refused_not_replaced(
    tmp_path, data, module, args
):
    run = str(tmp_path / "run")
    train(tiny_config(data, run, epochs=1))
    os.mkfifo(tmp_path / "pipe")
    os.symlink("/dev/null", tmp_path / "null")  # (`--output /dev/null` replaced the device)
    prog = "sgns-" + module.split(".")[-1 if module.endswith("export") else -2]
    for name, kind in [("pipe", "a FIFO (named pipe)"), ("null", "a character device")]:
        out = str(tmp_path / name)
        code, err = cli(module, ([] if "synth" in module else [run]) + ["--output", out, *args])
        line = one_line(err, prog)
        assert code == 2 and f"--output {out} is {kind}, not a file" in line, err[-2000:]
    # refused before anything was written: no plot of the report's, no file beside the corpus
    assert sorted(os.listdir(tmp_path)) == ["data", "null", "pipe", "run"]
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)
    assert os.readlink(tmp_path / "null") == "/dev/null"


@contextlib.contextmanager
def _gcs_endpoint(fault: str):
    """An endpoint for pyarrow's GCS client on 127.0.0.1 (no network): "stalled" takes
    connections and never answers (a hung store), "killed" has nothing listening. Yields
    (host:port, an Event set once a connection came)."""
    server, came, held = socket.socket(), threading.Event(), []
    server.bind(("127.0.0.1", 0))
    if fault == "stalled":
        server.listen(64)
        server.settimeout(0.2)

        def accept() -> None:
            while server.fileno() != -1:
                with contextlib.suppress(OSError):
                    held.append(server.accept()[0])
                    came.set()

        threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}", came
    finally:
        server.close()
        for connection in held:
            connection.close()


def _gcs_uri(endpoint: str) -> str:
    return f"gs://anonymous@sgns-bucket/data?endpoint_override={endpoint}&scheme=http"


@pytest.mark.parametrize("fault,said", [("stalled", "did not answer"),
                                        ("killed", "refused the connection")])  # fmt: skip
def test_a_gcs_store_that_hangs_or_is_gone_is_one_line_in_bounded_time(tmp_path, fault, said):
    pytest.importorskip("pyarrow._gcsfs")  # (the client waited 2 minutes, or retried for 15)
    limits = {"SGNS_S3_TIMEOUT": "1", "SGNS_S3_RETRIES": "1"}
    with _gcs_endpoint(fault) as (endpoint, _):
        start = time.monotonic()
        args = ["--data", _gcs_uri(endpoint), "--output", str(tmp_path / "r")]
        code, err = cli("sgns.train.cli", args, timeout=90, env=limits)
    assert code == 2 and time.monotonic() - start < 45, err[-2000:]
    line = one_line(err, "sgns-train")
    assert "gs://anonymous@sgns-bucket/data/manifest.json" in line and said in line, line
    assert not os.path.exists(tmp_path / "r")


def test_sigterm_stops_a_training_whose_store_does_not_answer_at_once(tmp_path):
    pytest.importorskip("pyarrow._gcsfs")
    code = "import sys; from sgns.train.cli import main; main(sys.argv[1:])"
    command = [sys.executable, "-c", code, "--data", "", "--output", str(tmp_path / "r")]
    env = dict(os.environ, PYTHONPATH=ROOT, SGNS_S3_TIMEOUT="60")  # it would wait minutes
    with _gcs_endpoint("stalled") as (endpoint, came):
        command[4] = _gcs_uri(endpoint)
        with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as trainer:
            try:
                assert came.wait(120), "sgns-train never asked the store"
                os.kill(trainer.pid, signal.SIGTERM)
                _, err = trainer.communicate(timeout=15)  # (it waited out the blocked request)
            finally:
                trainer.kill()
    assert trainer.returncode == 143, err[-2000:]
    assert "sgns-train: interrupted (SIGTERM)" in err and "Traceback" not in err, err[-2000:]


# A fifth probe: Ctrl-C and SIGTERM in the small commands, outputs that are empty


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
    """A finished run (checkpoint, vocabulary, metrics, vectors.txt) that tests only read."""
    root = tmp_path_factory.mktemp("trained")
    data, run = str(root / "data"), str(root / "run")
    write_tiny_dataset(data)
    train(tiny_config(data, run, epochs=1))
    return run


# The command's own main in a child, with one function of its work replaced by one that sends
# the process `sig` and goes on: the signal arrives at a known moment (in the first file it
# writes: os.fchmod is atomic_open's first step after making its temporary file), not after a
# guessed delay. Nothing else of the command is changed.
_SIGNALLED = """import importlib, os, signal, sys
from {module} import main
owner, name, sig = importlib.import_module(sys.argv[1]), sys.argv[2], int(sys.argv[3])
real = getattr(owner, name)

def signalled(*args, **kwargs):
    setattr(owner, name, real)
    os.kill(os.getpid(), sig)
    return real(*args, **kwargs)

setattr(owner, name, signalled)
sys.exit(main(sys.argv[4:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("module,args,hook", [
    ("sgns.train.export", ["RUN", "--output", "OUT/f.txt"], "os.fchmod"),
    ("sgns.synth.cli", ["--output", "OUT/f.txt", "--tokens", "100000"], "os.fchmod"),
    ("sgns.report.cli", ["RUN", "--output", "OUT/f.html"], "os.fchmod"),
    ("sgns.eval.cli", ["RUN", "--neighbors", "w001"], "sgns.eval.cli.load_vectors"),
])  # fmt: skip
def test_a_signal_stops_each_command_in_one_line_leaving_no_temporary_file(
    tmp_path, trained, sig, module, args, hook
):
    out = tmp_path / "out"
    out.mkdir()
    args = [a.replace("RUN", trained).replace("OUT", str(out)) for a in args]
    before = {"f.txt": "an older file\n"} if "export" in module or "synth" in module else {}
    for name, text in before.items():
        (out / name).write_text(text)
    owner, name = hook.rsplit(".", 1)
    code = _SIGNALLED.format(module=module)
    done = subprocess.run(
        [sys.executable, "-c", code, owner, name, str(int(sig)), *args], capture_output=True,
        text=True, timeout=300, env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    prog = "sgns-" + module.split(".")[-1 if module.endswith("export") else -2]
    said = [line for line in done.stderr.splitlines() if line.startswith(prog)]
    assert done.returncode == 128 + sig, done.stderr[-3000:]
    assert len(said) == 1 and said[0].startswith(f"{prog}: interrupted ({sig.name})"), said
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert {p.name: p.read_text() for p in out.iterdir()} == before  # no temporary, no new file


def test_the_line_names_the_stop_signal_taken_last_whichever_handler_raised(capsys):
    from sgns.errors import Interruptible, note_signal
    from sgns.pipeline.watch import Stopper

    with Interruptible("prog") as stop, Stopper() as stopper:  # --watch's, in an increment
        stopper.busy = True
        os.kill(os.getpid(), signal.SIGTERM)  # a stop request
        assert stopper.requested.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)  # the second abandons the increment
        time.sleep(10)
    assert stop.exit_code == 143 and "prog: interrupted (SIGTERM)" in capsys.readouterr().err
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # (as in a terminal)
    try:
        with Interruptible("prog") as stop:
            note_signal(signal.SIGTERM)  # (a --follow run told to stop, which stopped cleanly)
            os.kill(os.getpid(), signal.SIGINT)  # then Ctrl-C
            time.sleep(10)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stop.exit_code == 130 and "prog: interrupted (SIGINT)" in capsys.readouterr().err


def test_work_left_running_ends_only_the_command_that_left_it(monkeypatch, capsys):
    from sgns.errors import Interruptible, left_running

    def ended(code):
        raise AssertionError(f"os._exit({code})")

    monkeypatch.setattr(os, "_exit", ended)
    stale, running, done = threading.Event(), threading.Event(), threading.Event()
    done.set()
    left_running(stale)  # a read an API call gave up on, outside any command
    with Interruptible("prog") as stop:
        raise KeyboardInterrupt
    assert stop.exit_code == 130  # the process goes on (Python's exit: the caller's)
    with Interruptible("outer") as outer:
        with Interruptible("inner") as inner:
            left_running(done)
            left_running(running)  # (what has ended is dropped)
            assert inner.left == [running]
        assert outer.left == [running]  # still running: the command around it waits for it
    with pytest.raises(AssertionError, match=r"os\._exit\(143\)"), Interruptible("prog"):
        left_running(running)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
    running.set()
    assert "prog: interrupted (SIGTERM)" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_phrase_command_in_one_line(tmp_path, sig):
    from sgns.pipeline.local import main as build_locally

    (tmp_path / "c.txt").write_text("new york times\nnew york\nthe new car\n" * 20)
    data = str(tmp_path / "data")
    phrases = ["--phrases", "1", "--phrase-scorer", "word2phrase", "--phrase-threshold", "0.5"]
    args = ["--input", str(tmp_path / "c.txt"), "--output", data, "--min-count", "1"]
    assert build_locally([*args, *phrases]) == 0
    done = subprocess.run(  # the signal as it reads stdin
        [sys.executable, "-c", _SIGNALLED.format(module="sgns.pipeline.phrases.__main__"),
         "sgns.pipeline.text.own", "sentences", str(int(sig)), data], input="new york times\n",
        capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=ROOT),
    )  # fmt: skip
    prog = "python -m sgns.pipeline.phrases"
    said = [line for line in done.stderr.splitlines() if line.startswith(prog)]
    assert done.returncode == 128 + sig, done.stderr[-3000:]
    assert len(said) == 1 and said[0].startswith(f"{prog}: interrupted ({sig.name})"), said
    assert "Traceback" not in done.stderr and done.stdout == "", done.stderr[-3000:]


@pytest.mark.parametrize("module,args", [
    ("sgns.train.export", ["RUN"]), ("sgns.report.cli", ["RUN"]),
    ("sgns.synth.cli", ["--tokens", "300"]),
])  # fmt: skip
def test_an_empty_output_is_refused_naming_the_option(tmp_path, trained, module, args):
    before = sorted(os.listdir(trained))
    args = [a.replace("RUN", trained) for a in args]
    code, err = cli(module, [*args, "--output", ""], cwd=str(tmp_path))
    prog = "sgns-" + module.split(".")[-1 if module.endswith("export") else -2]
    assert code == 2 and "--output is empty" in one_line(err, prog), err[-2000:]
    assert os.listdir(tmp_path) == [] and sorted(os.listdir(trained)) == before

"""Issue 20's leftovers after the fourth probe: --append reads a manifest as train does, sgns.fit
lists files as sgns-preprocess does, --follow's signal handling ends with the call that set it,
a --device the machine lacks, a dataset's window past today's bound, connectors past a BOM."""

import copy
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from procs import ROOT, cli, one_line
from train_helpers import write_tiny_dataset

from sgns import dataset
from sgns.errors import UsageError
from sgns.pipeline.preprocess import main as preprocess
from sgns.pipeline.text.read import list_files
from sgns.train.config import TrainConfig
from sgns.train.distributed import pick_device

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _text(seed: int, lines: int = 120) -> str:
    """Lines of filler words around "bank of america" and "the": phrases to find."""
    words = [f"w{i}" for i in range(30)]
    out = []
    for n in range(lines):
        fill = [words[(seed * 7 + n * k) % len(words)] for k in (1, 3, 5, 11)]
        out.append(" ".join([fill[0], "the", fill[1], "bank", "of", "america", *fill[2:]]))
    return "\n".join(out) + "\n"


def _build(tmp_path, name: str = "d", *extra) -> str:
    corpus, out = tmp_path / f"{name}-a.txt", str(tmp_path / name)
    corpus.write_text(_text(0))
    assert preprocess(["--input", str(corpus), "--output", out, "--min-count", "1",
                       *extra, *FAST]) == 0  # fmt: skip
    return out


def _append(tmp_path, out: str, seed: int, *extra) -> int:
    corpus = tmp_path / f"more-{seed}.txt"
    corpus.write_text(_text(seed))
    return preprocess(["--input", str(corpus), "--output", out, "--append", *extra, *FAST])


def _error_line(capsys) -> str:
    return one_line(capsys.readouterr().err, "sgns-preprocess")


def _edit(out: str, change) -> bytes:
    path = os.path.join(out, dataset.MANIFEST_FILE)
    manifest = json.load(open(path))
    change(manifest)
    dataset.write_manifest_local(out, manifest)
    return open(path, "rb").read()


def test_append_refuses_two_shard_paths_that_are_one_file_through_a_link(tmp_path, capsys):
    """train and --follow refused an increment folder linked to another inside the dataset
    (read_manifest resolves the shard paths); --append compared strings and grew it."""
    out = _build(tmp_path)
    os.symlink("inc-00000", os.path.join(out, "pairs", "inc-00001"))
    snapshots = os.path.join(out, "snapshots")
    shutil.copytree(os.path.join(snapshots, "inc-00000"), os.path.join(snapshots, "inc-00001"))

    def again(manifest):  # increment 0 listed again as increment 1, with its snapshots
        increment = copy.deepcopy(manifest["increments"][0])
        increment.update(index=1, inputs=[], new_words=0)  # (no words added: sizes add up)
        for listed in increment["passes"]:
            for shard in listed["shards"]:
                shard["path"] = shard["path"].replace("inc-00000", "inc-00001")
        manifest["increments"].append(increment)
        for key in ("vocab", "counts"):
            manifest[key]["snapshot"] = manifest[key]["snapshot"].replace("00000", "00001")

    before = _edit(out, again)
    capsys.readouterr()
    assert _append(tmp_path, out, 1) == 2
    line = _error_line(capsys)
    assert "are one file" in line and "the manifest is damaged" in line, line
    assert open(os.path.join(out, dataset.MANIFEST_FILE), "rb").read() == before
    assert sorted(os.listdir(os.path.join(out, "pairs"))) == ["inc-00000", "inc-00001"]


def test_fit_lists_a_pattern_as_preprocess_does_not_through_a_linked_directory(tmp_path):
    """sgns.fit's glob followed a link to a directory that sgns-preprocess's --input skips
    (with a warning): the same pattern read other files (fourth probe F4)."""
    import sgns

    (tmp_path / "gd" / "real").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "gd" / "real" / "a.txt").write_text("a b c d a b c d\n" * 20)
    (tmp_path / "elsewhere" / "b.txt").write_text("only here linked\n" * 20)
    os.symlink(tmp_path / "elsewhere", tmp_path / "gd" / "linked")
    pattern = str(tmp_path / "gd" / "*" / "*")
    work = tmp_path / "work"
    vectors = sgns.fit(pattern, workdir=work, min_count=1, dim=4, epochs=1, workers=1)
    manifest = dataset.read_manifest(str(work / "dataset"))
    read = [entry["path"] for entry in manifest["increments"][0]["inputs"]]
    assert read == [m.path for m in list_files((pattern,))] == [str(tmp_path / "gd/real/a.txt")]
    assert "only" not in vectors and "a" in vectors


def test_a_follow_api_call_after_the_commands_main_gets_its_signal_handlers_back(tmp_path):
    """sgns-train's main set StopSignals.ending_process for good: in one process (a notebook,
    a test run), a later sgns.train(follow=True) stopped by SIGTERM left its handler installed,
    so SIGTERM went on setting a flag nobody reads."""
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=40, pairs=400, shards=1)
    script = """
import os, signal, sys, threading
import sgns
from sgns.train.cli import main
data, first, second = sys.argv[1:]
same = ["--dim", "8", "--epochs", "1", "--device", "cpu", "--batch-size", "50"]
main(["--data", data, "--output", first, *same])
def mine(signum, frame):
    pass
signal.signal(signal.SIGTERM, mine)
done = threading.Event()
def signal_until_done():  # (before --follow installs its handler, `mine` takes it)
    while not done.wait(0.2):
        os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=signal_until_done, daemon=True).start()
sgns.train(data, second, dim=8, epochs=1, device="cpu", batch_size=50, follow=True,
           poll_seconds=0.1)
done.set()
print("restored" if signal.getsignal(signal.SIGTERM) is mine else "left installed")
"""
    runs = [str(tmp_path / "first"), str(tmp_path / "second")]
    command = [sys.executable, "-c", script, data, *runs]
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["restored"], done.stderr[-3000:]


@pytest.mark.parametrize("device", ["cuda:x", "cuda:", "cuda:-1", "cuda:01", "cuda: 1", "cuda:١"])
def test_a_device_that_names_no_cuda_device_number_is_refused_by_the_config(device):
    with pytest.raises(UsageError, match="--device .*use auto, cpu, cuda or cuda:N"):
        TrainConfig(data="d", output="r", device=device, engine="torch")
    for good in ("cuda:0", "cuda:12", "cpu", "auto", "cuda"):
        assert TrainConfig(data="d", output="r", device=good, engine="torch").device == good


def test_a_cuda_device_past_the_machines_count_is_one_line_naming_the_count():
    """--device cuda:99 passed the config's check and ended in torch's RuntimeError on a
    machine with CUDA (fourth probe W5)."""
    with pytest.raises(UsageError) as refused:
        pick_device("cuda:99", 0, True, 2)
    said = str(refused.value)
    assert "--device cuda:99" in said and "2 CUDA device(s) (cuda:0 to cuda:1)" in said, said
    with pytest.raises(UsageError, match=r"LOCAL_RANK 3 picks cuda:3, .* 2 CUDA device\(s\)"):
        pick_device("cuda", 3, True, 2)  # torchrun with more processes than devices
    assert pick_device("cuda:1", 0, True, 2) == "cuda:1"
    assert pick_device("cuda", 1, True, 2) == pick_device("auto", 1, True, 2) == "cuda:1"
    assert pick_device("auto", 3, False, 0) == "cpu"
    with pytest.raises(UsageError, match="'cuda:99' was asked for but CUDA is not available"):
        pick_device("cuda:99", 0, False, 0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the path of a machine without CUDA")
def test_a_cuda_device_without_cuda_is_one_line(tmp_path):
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=40, pairs=400, shards=1)
    args = ["--data", data, "--output", str(tmp_path / "r"), "--device", "cuda:99"]
    code, err = cli("sgns.train.cli", args + ["--engine", "torch"])
    line = one_line(err, "sgns-train")
    assert code == 2 and "'cuda:99' was asked for but CUDA is not available" in line, line
    assert not os.path.exists(tmp_path / "r")


@pytest.mark.parametrize("given", [[], ["--window", "10000"]])
def test_append_to_a_dataset_whose_window_is_past_todays_bound_is_one_line(tmp_path, capsys, given):
    """A dataset made with a --window that lets one sentence make more than 2^26 pairs (before
    that bound) could not grow, with a line naming --window and --max-sentence-length, options
    the user never gave and could not change. The bound keeps one sentence's pairs within
    memory, which an increment's pairs need as much: refused, naming the fix."""
    out = _build(tmp_path)
    before = _edit(out, lambda m: m["config"].update(window=10000))
    capsys.readouterr()
    assert _append(tmp_path, out, 1, *given) == 2
    line = _error_line(capsys)
    assert "config.window 10000 with config.max_sentence_length 10000" in line, line
    assert "199,980,000 pairs" in line and "at most 67,108,864" in line, line
    assert "with --window 3355 or less" in line and "lower --window" not in line, line
    assert open(os.path.join(out, dataset.MANIFEST_FILE), "rb").read() == before
    assert os.listdir(os.path.join(out, "pairs")) == ["inc-00000"]
    _edit(out, lambda m: m["config"].update(window=3355))  # (the bound itself: it grows)
    assert _append(tmp_path, out, 2) == 0


def test_connectors_of_two_files_joined_each_with_a_bom_are_the_words_on_append(tmp_path):
    """Two connector files, each starting with a byte order mark, joined by cat: the second
    BOM stayed in a word ('\\ufeffof'), so "of" was no connector and "of_america" a phrase."""
    (tmp_path / "conn.txt").write_bytes(b"\xef\xbb\xbfthe\n" + b"\xef\xbb\xbfof\n")
    phrased = ["--phrases", "1", "--phrase-connectors", str(tmp_path / "conn.txt"),
               "--phrase-min-count", "2"]  # fmt: skip
    out = _build(tmp_path, "d", *phrased)
    manifest = dataset.read_manifest(out)
    table = open(os.path.join(out, "phrases.tsv"), "rb").read()
    phrases = [row.split("\t")[0] for row in table.decode().splitlines()]
    assert manifest["phrases"]["connectors"] == ["of", "the"]
    assert "bank_of_america" in phrases, phrases
    assert not [p for p in phrases if p.startswith(("of_", "the_")) or p.endswith(("_of", "_the"))]
    assert _append(tmp_path, out, 1) == 0  # the same kind of text, and the same file named
    assert _append(tmp_path, out, 2, "--phrase-connectors", str(tmp_path / "conn.txt")) == 0
    grown = dataset.read_manifest(out)
    assert grown["phrases"] == manifest["phrases"] and len(grown["increments"]) == 3
    assert open(os.path.join(out, "phrases.tsv"), "rb").read() == table

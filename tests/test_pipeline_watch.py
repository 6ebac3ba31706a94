"""`sgns-preprocess --watch`: which files it takes, and that it runs and stops as promised."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sgns import dataset
from sgns.pipeline.watch import settled

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _File:
    def __init__(self, path, size, mtime):
        self.path, self.size_in_bytes, self.last_updated_in_seconds = path, size, mtime


def test_watch_takes_a_file_only_once_it_has_settled():
    first, seen = settled([_File("a", 10, 1.0), _File("e", 0, 1.0)], {})
    assert first == []  # never seen before: maybe still being written
    again, seen = settled([_File("a", 12, 2.0), _File("e", 0, 1.0)], seen)
    assert again == []  # it grew: still being written; an empty file is never taken
    ready, _ = settled([_File("a", 12, 2.0), _File("e", 0, 1.0)], seen)
    assert [m.path for m in ready] == ["a"]


def test_watch_reads_a_file_and_its_copy_in_one_batch_once(tmp_path):
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.watch import new_files

    (tmp_path / "a.txt").write_text("x y z\n" * 50)
    (tmp_path / "b.txt").write_text("x y z\n" * 50)
    config = PipelineConfig((f"{tmp_path}/*.txt",), str(tmp_path / "out"))
    skipped: set = set()
    assert [m.path for m in new_files(config, None, skipped)] == [str(tmp_path / "a.txt")]
    assert not skipped  # once a.txt is in the dataset, b.txt is skipped as a copy of it


def _watch(corpus, out, log, *extra, pattern="*.txt") -> subprocess.Popen:
    """sgns-preprocess --watch in a child process, its log going to the file `log`."""
    command = [sys.executable, "-m", "sgns.pipeline.preprocess", "--input", f"{corpus}/{pattern}",
               "--output", str(out), "--watch", "--poll-seconds", "0.2", *extra, *FAST]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    with open(log, "w") as f:
        return subprocess.Popen(command, stderr=f, stdout=f, env=env)


def _wait_for(predicate, process, log, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert process.poll() is None, open(log).read()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _increments(out) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["increments"])
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_watch_builds_then_appends_a_file_added_while_it_runs(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    log = tmp_path / "log"
    process = _watch(tmp_path / "in", tmp_path / "ds", log, "--watch-max-increments", "2")
    try:
        _wait_for(lambda: _increments(tmp_path / "ds") == 1, process, log)
        (tmp_path / "in" / "b.txt").write_text("the b1 b2\n" * 50)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    manifest = dataset.read_manifest(str(tmp_path / "ds"))
    inputs = [[i["path"] for i in inc["inputs"]] for inc in manifest["increments"]]
    assert inputs == [[str(tmp_path / "in" / "a.txt")], [str(tmp_path / "in" / "b.txt")]]
    words = dataset.read_vocab(str(tmp_path / "ds"))[0]
    assert words == ["the", "a1", "a2", "a3", "b1", "b2"]


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_watch_stops_cleanly_on_a_signal(tmp_path, stop):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    log = tmp_path / "log"
    process = _watch(tmp_path / "in", tmp_path / "ds", log)
    try:
        _wait_for(lambda: _increments(tmp_path / "ds") == 1, process, log)
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    err = log.read_text()
    assert "stop requested" in err and "watch stopped after 1 increments" in err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "ds" / ".lock")
    assert _increments(tmp_path / "ds") == 1

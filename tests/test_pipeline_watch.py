"""`sgns-preprocess --watch`: which files it takes, and that it runs and stops as promised."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
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


def _inputs(out) -> list[str]:
    """The paths of the input files the manifest in `out` lists (none without one)."""
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except FileNotFoundError:
        return []
    return sorted(i["path"] for inc in manifest["increments"] for i in inc["inputs"])


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


def _watching_its_first_increment(tmp_path):
    """(a watch of one file in tmp_path/in into tmp_path/ds, its log) once its first increment
    is built."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    log = tmp_path / "log"
    process = _watch(tmp_path / "in", tmp_path / "ds", log)
    try:
        _wait_for(lambda: _increments(tmp_path / "ds") == 1, process, log)
    except BaseException:
        process.kill()
        raise
    return process, log


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_watch_stops_cleanly_on_a_signal(tmp_path, stop):
    process, log = _watching_its_first_increment(tmp_path)
    try:
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    err = log.read_text()
    assert "stop requested" in err and "watch stopped after 1 increments" in err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "ds" / ".lock")
    assert _increments(tmp_path / "ds") == 1


def test_poll_seconds_past_a_day_or_not_a_number_are_refused_in_one_line(capsys):
    from sgns.dataset.settings import MAX_POLL_SECONDS
    from sgns.errors import UsageError
    from sgns.pipeline.preprocess import main
    from sgns.pipeline.watch import WatchConfig

    assert WatchConfig(MAX_POLL_SECONDS).poll_seconds == 86400
    for seconds in (float("inf"), 1e10, MAX_POLL_SECONDS + 1, float("nan"), 0, "10", True, 1e-320):
        with pytest.raises(UsageError, match="at most 86400 \\(a day\\)"):
            WatchConfig(seconds)
    assert WatchConfig(0.01).poll_seconds == 0.01  # (the shortest: 1e-320 was a busy loop)
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    for seconds in ("inf", "1e10", "1e-320", "0.001"):
        argv = ["--input", "in/*.txt", "--output", "ds", "--watch", "--poll-seconds", seconds]
        assert main(argv) == 2
        # (a program calling main keeps its handlers: SIGTERM was left ignored, and every
        # process this one started after it, pytest's later tests' children too, ignored it)
        assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and "Traceback" not in err
        said = (
            f"--poll-seconds must be at least 0.01 and at most 86400 (a day), got {float(seconds)}"
        )
        assert said in err


@pytest.mark.slow
def test_signals_repeated_while_the_watch_stops_still_end_it_with_exit_0(tmp_path):
    """systemd, docker stop and `timeout` may signal again: a second SIGTERM 0.02-0.1 s after
    the first ended the stopping watch with 143 and no line (fourth probe F8)."""
    process, log = _watching_its_first_increment(tmp_path)
    try:
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)  # again and again, until it has ended
        assert process.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        process.kill()
    err = log.read_text()
    assert "watch stopped after 1 increments" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "ds" / ".lock")


def _entry(path) -> dict:
    from sgns.pipeline.dataset.inputs import describe_file

    stat = os.stat(path)
    return describe_file(_File(str(path), stat.st_size, stat.st_mtime))


def test_a_file_taken_then_replaced_is_told_apart_by_size_or_content_not_by_mtime(tmp_path):
    from sgns.pipeline.watch import changed_files

    names = ("grown", "same-size", "touched", "kept")
    for name in names:
        (tmp_path / name).write_text("a b c d\n" * 40)
    manifest = {"increments": [{"index": 0, "inputs": [_entry(tmp_path / n) for n in names]}]}
    (tmp_path / "grown").write_text("a b c d\n" * 41)
    (tmp_path / "same-size").write_text("e f g h\n" * 40)
    for name in ("grown", "same-size"):  # rewritten: a new mtime, however coarse the clock
        os.utime(tmp_path / name, (2e9, 2e9))
    os.utime(tmp_path / "touched", (1e9, 1e9))
    files = [_File(str(tmp_path / n), os.path.getsize(tmp_path / n),
                   os.path.getmtime(tmp_path / n)) for n in names]  # fmt: skip
    checked: dict = {}
    changed = changed_files(files, manifest, checked)
    assert sorted(changed) == [str(tmp_path / "grown"), str(tmp_path / "same-size")]
    assert "changed since increment 0 took it" in changed[str(tmp_path / "grown")]
    assert changed_files(files, manifest, checked) == changed  # (read once: `checked`)


def test_a_file_replaced_where_the_watch_took_one_is_said_once_and_not_counted_twice(
    tmp_path, caplog
):
    import logging

    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.preprocess import pipeline_options
    from sgns.pipeline.watch import WatchConfig, watch

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    config = PipelineConfig((f"{tmp_path}/in/*.txt",), str(tmp_path / "ds"), min_count=1)
    options = pipeline_options(FAST)
    assert watch(config, WatchConfig(0.05, 1), options) == 1
    (tmp_path / "in" / "a.txt").write_text("the c1 c2 c3 c4 c5\n" * 50)  # new text, old name
    (tmp_path / "in" / "b.txt").write_text("the b1 b2\n" * 50)
    with caplog.at_level(logging.WARNING, logger="sgns.pipeline.watch"):
        assert watch(config, WatchConfig(0.05, 1), options) == 1
    said = [r.getMessage() for r in caplog.records if "changed since" in r.getMessage()]
    assert said == [f"{tmp_path}/in/a.txt changed since increment 0 took it; not read again: "
                    "give new text a new name"]  # fmt: skip
    manifest = dataset.read_manifest(str(tmp_path / "ds"))
    inputs = [[i["path"] for i in inc["inputs"]] for inc in manifest["increments"]]
    assert inputs == [[f"{tmp_path}/in/a.txt"], [f"{tmp_path}/in/b.txt"]]
    assert manifest["stats"]["tokens"] == 50 * 5 + 50 * 3  # the first a.txt and b.txt, once
    assert "c1" not in dataset.read_vocab(str(tmp_path / "ds"))[0]


@pytest.mark.slow
def test_a_dataset_removed_under_the_watch_is_rebuilt_only_under_its_lock(tmp_path):
    import shutil

    from sgns.errors import UsageError
    from sgns.pipeline.dataset.outdir import DatasetLock

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    out, log = tmp_path / "ds", tmp_path / "log"
    process = _watch(tmp_path / "in", out, log, "--min-count", "1")
    try:
        # (the build's marker gone too: increment 0 is whole, the watch between polls)
        _wait_for(lambda: _increments(out) == 1 and not (out / ".sgns-dataset").exists(),
                  process, log)  # fmt: skip
        shutil.rmtree(out)  # the folder, its lock file and all, while the watch runs
        (tmp_path / "in" / "b.txt").write_text("the b1 b2\n" * 50)
        _wait_for(lambda: len(_inputs(out)) == 2, process, log)  # built again, a and b in it
        with pytest.raises(UsageError, match="is writing"):  # (an --append's lock: refused)
            with DatasetLock(str(out)):
                pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    err = log.read_text()
    assert f"{out} was removed or replaced while --watch held it" in err, err[-3000:]
    manifest = dataset.read_manifest(str(out))  # (a and b in one increment, or in two)
    inputs = sorted(i["path"] for inc in manifest["increments"] for i in inc["inputs"])
    assert inputs == [str(tmp_path / "in" / "a.txt"), str(tmp_path / "in" / "b.txt")]
    assert not os.path.exists(out / ".lock")


class _Polls(threading.Event):
    """A watch's stop event whose waits between polls run `steps`, one a wait, in order: what
    happens to the files between two polls, the same on every machine. Once they are done, a
    few waits on, it stops the watch (as a signal would)."""

    def __init__(self):
        super().__init__()
        self.steps: list = []
        self.idle = 0

    def wait(self, timeout=None) -> bool:
        if self.steps:
            self.steps.pop(0)()
        else:
            self.idle += 1
            if self.idle > 8:
                self.set()
        return super().wait(timeout)


def _watch_in_process(config, increments: int, after_first, monkeypatch):
    """A call of watch() here, polling by _Polls: `after_first`'s one function is given them
    once increment 0 is committed."""
    import sgns.pipeline.watch as watching
    from sgns.pipeline.preprocess import pipeline_options

    polls, real = _Polls(), watching.add_increment

    def add_increment(*args, **kwargs):
        manifest = real(*args, **kwargs)
        if after_first:
            after_first.pop()(polls)
        return manifest

    stopper = watching.Stopper()
    stopper.requested = polls
    monkeypatch.setattr(watching, "add_increment", add_increment)
    settings = watching.WatchConfig(0.01, increments)
    return lambda: watching.watch(config, settings, pipeline_options(FAST), stopper)


def test_a_file_first_seen_as_the_lock_is_taken_again_settles_a_poll_interval_first(
    tmp_path, monkeypatch
):
    import shutil

    from sgns.pipeline.config import PipelineConfig

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    half, rest = "the c1 c2\n" * 25, "the c3 c4\n" * 25
    out, c = tmp_path / "ds", tmp_path / "in" / "c.txt"

    def removed(polls):  # the dataset goes; c.txt is being written, a part per poll interval
        shutil.rmtree(out)
        c.write_text(half)  # first seen by the poll that finds the lock lost (a.txt, new to
        # the folder now, is ready then), and written whole before the poll after that one
        polls.steps += [lambda: None, lambda: c.write_text(half + rest)]

    config = PipelineConfig((f"{tmp_path}/in/*.txt",), str(out), min_count=1)
    assert _watch_in_process(config, 3, [removed], monkeypatch)() == 3
    manifest = dataset.read_manifest(str(out))  # built again: a, then c once written whole
    inputs = [[i["path"] for i in inc["inputs"]] for inc in manifest["increments"]]
    assert inputs == [[str(tmp_path / "in" / "a.txt")], [str(c)]]
    assert manifest["increments"][1]["stats"]["tokens"] == 50 * 3
    assert {"c1", "c4"} <= set(dataset.read_vocab(str(out))[0])


@pytest.mark.parametrize("window", [2, 3])
def test_a_dataset_put_in_the_watchs_place_is_added_to_only_if_made_as_the_watch_makes_its(
    tmp_path, monkeypatch, window
):
    from sgns.errors import UsageError
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.local import main as build_local

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the the a1 a2 a3\n" * 50)
    (tmp_path / "o.txt").write_text("the o1 o2 o3\n" * 50)
    other, out = tmp_path / "other", tmp_path / "ds"
    argv = ["--input", str(tmp_path / "o.txt"), "--output", str(other), "--min-count", "1"]
    assert build_local([*argv, "--window", str(window)]) == 0
    before = (other / "manifest.json").read_bytes()

    def replaced(polls):  # rm -rf ds && mv other ds, while the watch runs
        os.rename(out, tmp_path / "gone")
        os.rename(other, out)

    config = PipelineConfig((f"{tmp_path}/in/*.txt",), str(out), min_count=1, window=2)
    run = _watch_in_process(config, 2, [replaced], monkeypatch)
    if window != 2:  # made with other settings: not added to, said in one line
        with pytest.raises(UsageError) as refused:
            run()
        said = str(refused.value)
        assert (
            said.startswith(f"--watch: {out} was replaced while the watch ran") and "\n" not in said
        )
        assert "--window 2 differs from the dataset's window 3" in said
        assert (out / "manifest.json").read_bytes() == before
        return
    assert run() == 2  # made as the watch makes its increments: a.txt is added to it
    manifest = dataset.read_manifest(str(out))
    inputs = [[i["path"] for i in inc["inputs"]] for inc in manifest["increments"]]
    assert inputs == [[str(tmp_path / "o.txt")], [str(tmp_path / "in" / "a.txt")]]

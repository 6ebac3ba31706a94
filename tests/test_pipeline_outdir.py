"""The output directory is ours or refused, one writer at a time, and --overwrite loses nothing
(pipeline/dataset/outdir.py)."""

import json
import multiprocessing
import os
import socket
import time

import pytest
from tree import file_bytes

from sgns.pipeline.dataset import outdir
from sgns.pipeline.dataset.outdir import LOCK_FILE, MARKER_FILE, STAGING_DIR, DatasetLock, recover
from sgns.pipeline.preprocess import main

FAST = ["--num-shards", "2", "--min-count", "1", "--direct_num_workers", "1"]


def _corpus(path, words="a b c d e f", lines=40):
    path.write_text(f"{words}\n" * lines)
    return str(path)


def _build(inputs, out, *extra):
    return main(["--input", ",".join(inputs), "--output", str(out), *FAST, *extra])


def _one_error_line(capsys):
    err = capsys.readouterr().err.splitlines()
    mine = [line for line in err if line.startswith("sgns-preprocess")]
    assert len(mine) == 1 and mine[0].startswith("sgns-preprocess: error:"), err
    assert not [line for line in err if line.startswith(("Traceback", "  File"))], err
    err = mine
    return err[0]


def test_a_directory_that_is_not_a_dataset_is_refused_and_left_as_it_was(tmp_path, capsys):
    out = tmp_path / "X"
    (out / "snapshots").mkdir(parents=True)
    (out / "snapshots" / "photo.jpg").write_text("precious")
    (out / ".tmp-swap").write_text("t")
    (out / "pairs" / "inc-00000").mkdir(parents=True)
    (out / ".sgns-tmp-mine").write_text("also not ours: no dataset, no marker")
    before = file_bytes(out)
    assert _build([_corpus(tmp_path / "small.txt")], out) == 2
    assert "is not empty" in _one_error_line(capsys)
    assert file_bytes(out) == before
    assert sorted(os.listdir(out)) == [".sgns-tmp-mine", ".tmp-swap", "pairs", "snapshots"]


def test_an_empty_directory_is_built_into_and_keeps_no_marker(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert _build([_corpus(tmp_path / "small.txt")], out) == 0
    assert sorted(os.listdir(out)) == [
        "counts.tsv",
        "manifest.json",
        "pairs",
        "snapshots",
        "vocab.tsv",
    ]


def test_an_unfinished_build_of_ours_is_cleaned_but_a_foreign_file_beside_it_stays(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / MARKER_FILE).write_text("an sgns-preprocess build in progress\n")
    (out / "pairs" / "inc-00000" / "pass-00000").mkdir(parents=True)
    (out / ".sgns-tmp-pieces").mkdir()
    (out / "notes.txt").write_text("the user's")
    recover(str(out))
    assert sorted(os.listdir(out)) == [MARKER_FILE, "notes.txt"]  # all our build wrote: gone


def test_a_failing_overwrite_keeps_the_old_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    assert _build([_corpus(tmp_path / "a.txt")], out) == 0
    before = file_bytes(out)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert _build([str(empty)], out, "--overwrite") == 2
    assert "empty" in _one_error_line(capsys)
    assert file_bytes(out) == before
    assert STAGING_DIR not in os.listdir(out)


def test_an_overwrite_replaces_the_dataset_as_a_fresh_build_would(tmp_path):
    out, fresh = tmp_path / "ds", tmp_path / "fresh"
    assert _build([_corpus(tmp_path / "a.txt")], out) == 0
    new = _corpus(tmp_path / "b.txt", "x y z w", 30)
    assert _build([new], out, "--overwrite") == 0
    assert _build([new], fresh) == 0
    got, want = file_bytes(out), file_bytes(fresh)
    assert sorted(got) == sorted(want)
    assert all(got[k] == want[k] for k in want if k != "manifest.json")
    manifest = json.loads(got["manifest.json"])
    assert manifest["config"]["output"] == str(out) and manifest["config"]["overwrite"]


def test_a_swap_cut_short_is_finished_by_the_next_run(tmp_path, monkeypatch):
    out, fresh = tmp_path / "ds", tmp_path / "fresh"
    assert _build([_corpus(tmp_path / "a.txt")], out) == 0
    new = _corpus(tmp_path / "b.txt", "x y z w", 30)
    moves = []
    real_move = outdir._move

    def dies_after_one_move(source, target):
        if moves:
            raise KeyboardInterrupt("killed in the swap")
        moves.append(source)
        real_move(source, target)

    monkeypatch.setattr(outdir, "_move", dies_after_one_move)
    assert _build([new], out, "--overwrite") == 130  # interrupted (in one line: test_hostile)
    assert "manifest.json" not in os.listdir(out)  # the old one is gone, the new not yet there
    monkeypatch.undo()
    recover(str(out))
    assert _build([new], fresh) == 0
    got, want = file_bytes(out), file_bytes(fresh)
    assert sorted(got) == sorted(want)
    assert all(got[k] == want[k] for k in want if k != "manifest.json")


def _contend(path, start, log, hold):
    start.wait()
    try:
        with DatasetLock(path):
            entered = time.monotonic()
            time.sleep(hold)
            log.put((entered, time.monotonic()))
    except ValueError:
        log.put(None)


@pytest.mark.parametrize("stale", [False, True])
def test_the_lock_admits_one_writer_among_several_processes(tmp_path, stale):
    context = multiprocessing.get_context("fork")
    for trial in range(10):
        out = tmp_path / f"t{trial}"
        out.mkdir()
        if stale:  # what a killed writer of an older sgns left: a pid that is gone
            (out / LOCK_FILE).write_text(f"999999999 {socket.gethostname()}\n")
        start, log = context.Event(), context.Queue()
        procs = [
            context.Process(target=_contend, args=(str(out), start, log, 0.05)) for _ in range(4)
        ]
        for p in procs:
            p.start()
        start.set()
        held = sorted(x for x in (log.get(timeout=30) for _ in procs) if x is not None)
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        assert held, "nobody got the lock"
        for (_, left), (entered, _) in zip(held, held[1:]):
            assert entered >= left, f"two writers at once in trial {trial}: {held}"
        assert not (out / LOCK_FILE).exists()


@pytest.mark.parametrize("append", [False, True])
def test_a_manifest_naming_files_outside_the_dataset_makes_no_run_write_there(
    tmp_path, capsys, append
):
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.local import build

    out = tmp_path / "ds"
    build(PipelineConfig((str(tmp_path / "a.txt"),), str(out), min_count=1),
          [_corpus(tmp_path / "a.txt")])  # fmt: skip
    (tmp_path / "victim.txt").write_text("precious")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["vocab"]["file"] = "../victim.txt"  # recovery would publish vocab.tsv onto it
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = file_bytes(tmp_path)
    extra = ["--append"] if append else []
    assert _build([_corpus(tmp_path / "b.txt", "x y z")], out, *extra) == 2
    line = _one_error_line(capsys)
    assert str(out / "manifest.json") in line and "'../victim.txt'" in line
    after = file_bytes(tmp_path)
    assert after.pop("b.txt") and after == before  # nothing changed but the new corpus file

"""No command writes over a run's or a dataset's own files, nor makes its output in a dataset's
own folders (issue 20, a third probe: docs/errors.md, "Nothing of the user's lost").

A dataset's files are looped over as its contract names them (sgns.dataset.layout, the files
its manifest names) and as a real sgns-preprocess --phrases build leaves them, so that a file
added to either is covered without a test naming it. The commands run in-process.
"""

import json
import os

import numpy as np
import pytest
from procs import cli
from test_one_line import run_command
from train_helpers import tiny_config

import sgns
from sgns.dataset import layout
from sgns.errors import UsageError
from sgns.rundir import DATASET_OWN_FILES, REPORT_FILE, RUN_OWN_FILES, VECTORS_FILE
from sgns.train.trainer import train

WRITERS = {  # prog -> argv that writes the file {out}
    "sgns-export": ["{run}", "--output", "{out}"],
    "sgns-report": ["{run}", "--output", "{out}"],
    "sgns-synth": ["--output", "{out}", "--tokens", "500"],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """A dataset that sgns-preprocess built with --phrases (every file a dataset can hold at its
    top: phrases.tsv too) and a run trained on it."""
    root = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    words = list("abcdefgh")
    lines = [" ".join(rng.choice(words, 6)) + " new york city\n" for _ in range(300)]
    (root / "corpus.txt").write_text("".join(lines))
    data, run = str(root / "data"), str(root / "run")
    args = ["--input", str(root / "corpus.txt"), "--output", data, "--phrases", "1"]
    code, err = cli("sgns.pipeline.preprocess", [*args, "--min-count", "1", "--num-shards", "2"])
    assert code == 0, err[-2000:]
    assert os.path.exists(os.path.join(data, layout.PHRASES_FILE))  # (the table F1 wrote over)
    train(tiny_config(data, run, epochs=1))
    return {"data": data, "run": run}


def _tree(directory: str) -> dict[str, bytes | None]:
    """Every file below `directory` and its bytes (a link's: its target's name), and every
    folder (None)."""
    found = {}
    for folder, _, names in os.walk(directory):
        found[folder] = None
        for name in names:
            path = os.path.join(folder, name)
            found[path] = os.readlink(path).encode() if os.path.islink(path) else b""
            if not os.path.islink(path):
                with open(path, "rb") as f:
                    found[path] = f.read()
    return found


def _dataset_targets(data: str) -> list[str]:
    """Each file the dataset holds (its shards and snapshots too), and each name its contract
    gives a dataset's files, there or not."""
    held = [path for path, content in _tree(data).items() if content is not None]
    return sorted(set(held) | {os.path.join(data, name) for name in DATASET_OWN_FILES})


def test_every_file_a_dataset_holds_or_its_manifest_names_is_one_of_its_own(built):
    data = built["data"]
    top = {n for n in os.listdir(data) if os.path.isfile(os.path.join(data, n))}
    with open(os.path.join(data, layout.MANIFEST_FILE)) as f:
        manifest = json.load(f)
    named = {e.get("file") for e in manifest.values() if isinstance(e, dict)} - {None}
    contract = {v for k, v in vars(layout).items() if k.endswith("_FILE")}
    assert named and layout.PHRASES_FILE in named
    assert top | named | contract <= set(DATASET_OWN_FILES), top | named | contract


@pytest.mark.parametrize("prog", sorted(WRITERS))
def test_no_command_writes_over_any_file_of_a_dataset(built, prog, capsys):
    before = _tree(built["data"])
    for target in _dataset_targets(built["data"]):
        argv = [a.format(run=built["run"], out=target) for a in WRITERS[prog]]
        code = run_command(prog, argv)
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(prog)]
        assert code == 2 and len(lines) == 1, (target, lines)
        assert lines[0].startswith(f"{prog}: error: --output {target!r}"), lines[0]
        assert "the dataset's own" in lines[0], lines[0]
        assert _tree(built["data"]) == before, target  # nothing written, nothing beside it


@pytest.mark.parametrize("fmt", ["text", "binary", "npy"])
def test_vectors_save_never_writes_over_a_runs_or_a_datasets_files(built, fmt):
    vectors = sgns.load(built["run"])
    before = {**_tree(built["data"]), **_tree(built["run"])}
    targets = _dataset_targets(built["data"])
    targets += [os.path.join(built["run"], name) for name in RUN_OWN_FILES]
    for target in targets:
        with pytest.raises(UsageError, match="'s own") as refused:
            vectors.save(target, format=fmt)
        assert repr(target) in str(refused.value)
        assert {**_tree(built["data"]), **_tree(built["run"])} == before, target


def test_every_file_a_run_holds_is_one_of_its_own_but_what_a_command_writes_again(built):
    held = {n for n in os.listdir(built["run"]) if os.path.isfile(os.path.join(built["run"], n))}
    assert held - {VECTORS_FILE, REPORT_FILE} <= set(RUN_OWN_FILES), held  # (sgns-export's)


def _inside(data: str) -> list[str]:
    return [
        os.path.join(data, "pairs"),
        os.path.join(data, "pairs", "inc-00000", "run"),
        os.path.join(data, "snapshots", "run"),
        os.path.join(data, "snapshots", "inc-00000", "deeper", "run"),
    ]


def test_train_refuses_an_output_in_a_datasets_own_folders(built, capsys):
    before = _tree(built["data"])
    for output in _inside(built["data"]):
        argv = ["--data", built["data"], "--output", output, "--dim", "8", "--device", "cpu"]
        code = run_command("sgns-train", argv)
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("sgns-train")]
        assert code == 2 and len(lines) == 1, (output, lines)
        assert f"--output {output!r} lies in " in lines[0], lines[0]
        assert "a dataset's own folder" in lines[0], lines[0]
        assert _tree(built["data"]) == before, output  # (no folder made)


@pytest.mark.parametrize("watch", [False, True])
def test_preprocess_refuses_an_output_in_a_datasets_own_folders(built, tmp_path, watch):
    corpus = tmp_path / "more.txt"
    corpus.write_text("x y z new york\n" * 50)
    before = _tree(built["data"])
    for output in _inside(built["data"]):
        args = ["--input", str(corpus), "--output", output, "--min-count", "1"]
        if watch:  # (were it taken, one increment and the watch ends)
            args += ["--watch", "--poll-seconds", "0.2", "--watch-max-increments", "1"]
        code, err = cli("sgns.pipeline.preprocess", args, timeout=120)
        lines = [ln for ln in err.splitlines() if ln.startswith("sgns-preprocess")]
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, err[-2000:]
        assert f"--output {output!r} lies in " in lines[0], lines[0]
        assert _tree(built["data"]) == before, output  # (no folder made)


def _temporary(data: str) -> list[tuple[str, str]]:
    """(a path, and the name in a dataset that its next sgns-preprocess removes that it is or
    lies in: sgns.files.TEMP_PREFIX, the pieces folders, the pipeline's temporary names)."""
    pieces = os.path.join(data, ".sgns-tmp-pieces")
    named = [os.path.join(data, ".sgns-tmp-run"), os.path.join(data, ".tmp-pieces")]
    return [(path, path) for path in named] + [(os.path.join(pieces, "run"), pieces)]


def test_train_and_the_writers_refuse_a_datasets_temporary_names(built, capsys):
    before = _tree(built["data"])
    for output, name in _temporary(built["data"]):
        runs = [("sgns-train", ["--data", built["data"], "--output", output, "--dim", "8"])]
        runs += [(p, [a.format(run=built["run"], out=output) for a in WRITERS[p]]) for p in WRITERS]
        for prog, argv in runs:
            code = run_command(prog, argv)
            lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(prog)]
            assert code == 2 and len(lines) == 1, (prog, output, lines)
            where = "is" if name == output else "lies in"
            assert f"--output {output!r} {where} {name}, a name" in lines[0], lines[0]
            assert "the dataset's own temporary files" in lines[0], lines[0]
            assert _tree(built["data"]) == before, (prog, output)
    vectors = sgns.load(built["run"])
    with pytest.raises(UsageError, match="temporary files"):
        vectors.save(os.path.join(built["data"], ".sgns-tmp-v.txt"))


def test_a_folder_whose_manifest_json_is_not_a_datasets_is_no_dataset(built, tmp_path):
    from sgns.rundir import MANIFEST_HEAD_BYTES, check_not_own_file, check_outside_dataset

    webapp = tmp_path / "webapp"
    webapp.mkdir()
    manifest = webapp / "manifest.json"
    padding = "a" * MANIFEST_HEAD_BYTES  # (past the bytes read: the head is searched)
    theirs = ['{"name": "app", "icons": []}', "not json {", "[1, 2]", '{"format": "other"}',
              '{"name": "' + padding + '", "format": "sgns-dataset"}']  # fmt: skip
    for text in theirs:
        manifest.write_text(text)
        check_outside_dataset(str(webapp / "snapshots" / "run1"))
        check_outside_dataset(str(webapp / ".sgns-tmp-run"))
        check_not_own_file(str(webapp / "vocab.tsv"))
        check_not_own_file(str(webapp / "pairs" / "v.txt"))
    ours = ['{"format": "sgns-dataset"}', '{"format": "sgns-dataset", "x": "' + padding + '"}']
    for text in ours:  # (a dataset's, small or past the bytes read)
        manifest.write_text(text)
        with pytest.raises(UsageError, match="a dataset's own folder"):
            check_outside_dataset(str(webapp / "snapshots" / "run1"))
        with pytest.raises(UsageError, match="is the dataset's own vocab.tsv"):
            check_not_own_file(str(webapp / "vocab.tsv"))
    manifest.unlink()
    os.mkfifo(manifest)  # never opened: it would block
    check_outside_dataset(str(webapp / "snapshots" / "run1"))
    manifest.unlink()
    manifest.write_text('{"name": "app", "start_url": "/"}')
    run = webapp / "snapshots" / "run1"  # a web app's snapshots, not a dataset's: trained
    train(tiny_config(built["data"], str(run), epochs=1))
    assert (run / VECTORS_FILE).is_file()


URIS = ["s3://bucket/out", "gs://bucket/out", "file://out"]


@pytest.mark.parametrize("uri", URIS)
def test_every_writer_refuses_a_uri_where_it_writes_a_local_path(built, tmp_path, uri, capsys,
                                                               monkeypatch):  # fmt: skip
    """(issue 20, fourth probe F3) os.path made a local folder "s3:" of "s3://b/run", and the
    command said it wrote to the store."""
    monkeypatch.chdir(tmp_path)
    writers = {**WRITERS, "sgns-train": ["--data", "{data}", "--output", "{out}", "--dim", "8"]}
    for prog, argv in writers.items():
        code = run_command(prog, [a.format(run=built["run"], data=built["data"], out=uri)
                                  for a in argv])  # fmt: skip
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(prog)]
        assert code == 2 and len(lines) == 1, (prog, lines)
        assert f"--output {uri!r} is a URI; it must be a local" in lines[0], lines[0]
    calls = {
        "output": lambda: sgns.train(built["data"], uri, dim=8, epochs=1, threads=1),
        "workdir": lambda: sgns.fit(["a b c a b"], workdir=uri, min_count=1, dim=4),
        "path": lambda: sgns.load(built["run"]).save(uri),
    }
    for name, call in calls.items():
        with pytest.raises(UsageError, match=f"^{name} {uri!r} is a URI; it must be a local"):
            call()
    assert os.listdir(tmp_path) == []  # no "s3:" folder made


def test_report_synth_and_export_refuse_the_run_file_another_command_writes(built, capsys):
    """(issue 20, fourth probe F9) sgns-report and sgns-synth wrote over RUN/vectors.txt, which
    sgns.load and sgns-eval read; report.html is sgns-report's alone."""
    refused = {
        "sgns-report": [VECTORS_FILE],
        "sgns-synth": [VECTORS_FILE, REPORT_FILE],
        "sgns-export": [REPORT_FILE],
    }
    open(os.path.join(built["run"], REPORT_FILE), "w").close()  # (sgns-report's, as if run)
    before = _tree(built["run"])
    for prog, names in refused.items():
        for name in names:
            target = os.path.join(built["run"], name)
            argv = [a.format(run=built["run"], out=target) for a in WRITERS[prog]]
            code = run_command(prog, argv)
            lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(prog)]
            assert code == 2 and len(lines) == 1, (prog, name, lines)
            assert f"--output {target!r} is the run's own {name}" in lines[0], lines[0]
            assert _tree(built["run"]) == before, (prog, name)
    with pytest.raises(UsageError, match="the run's own report.html"):
        sgns.load(built["run"]).save(os.path.join(built["run"], REPORT_FILE))
    target = os.path.join(built["run"], VECTORS_FILE)  # sgns-export writes it again (docs)
    assert run_command("sgns-export", [built["run"], "--output", target]) in (0, None)  # exit 0
    assert sgns.load(target).vectors.shape == sgns.load(built["run"]).vectors.shape

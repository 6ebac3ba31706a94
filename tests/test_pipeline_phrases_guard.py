"""A dataset's phrase table is read only as its manifest says, and the files around phrases are
named in one line: the table is applied whenever the dataset has phrases, with the rows the
manifest counts (else the manifest is damaged); a table that is a link out of the dataset is
refused as shards and snapshots are; a connectors file is read past its byte order mark and named
as what it is; the phrase command says a closed stdin or stdout, and an empty --encoding, in one
line. (The table applied: tests/test_pipeline_phrases_apply.py.)"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from sgns import store
from sgns.errors import UsageError
from sgns.pipeline.dataset.outputs import read_bytes
from sgns.pipeline.local import main as build_local
from sgns.pipeline.phrases.__main__ import main as phrases_command
from sgns.pipeline.phrases.table import connector_words, load_phrases
from sgns.pipeline.preprocess import main as preprocess

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = "new york is big\nthe new york times\nnew york city\nold york\na new car\n" * 20


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    """A dataset with one phrase round (new_york), built without Beam."""
    root = tmp_path_factory.mktemp("guard")
    (root / "c.txt").write_text(TEXT)
    (root / "more.txt").write_text("we saw new york again\n" * 20)
    argv = ["--input", str(root / "c.txt"), "--output", str(root / "d"), "--min-count", "1",
            "--phrases", "1", "--phrase-min-count", "2"]  # fmt: skip
    assert build_local(argv) == 0
    assert "new_york" in (root / "d" / "phrases.tsv").read_text()
    return str(root / "d")


@pytest.fixture(scope="module")
def more(data) -> str:
    """A file to append to a copy of `data`."""
    return os.path.join(os.path.dirname(data), "more.txt")


def _edited(data, tmp_path, edit) -> str:
    """A copy of the dataset `data` whose manifest `edit(manifest)` changed."""
    copy = str(tmp_path / "copy")
    shutil.copytree(data, copy)
    path = os.path.join(copy, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    edit(manifest)
    with open(path, "w") as f:
        json.dump(manifest, f)
    return copy


def _one_line(capsys, prog="sgns-preprocess") -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"{prog}: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _append(data, capsys, more) -> tuple[int, str]:
    code = preprocess(["--input", more, "--output", data, "--append", *FAST])
    return code, (_one_line(capsys) if code else "")


def _set_count(count):
    def edit(manifest):
        manifest["phrases"]["phrases"] = count

    return edit


def _drop_entry(manifest):
    del manifest["phrases"]


def _no_rounds(manifest):  # (two edits: the manifest then agrees with itself)
    del manifest["phrases"]
    manifest["config"]["phrases"] = 0


@pytest.mark.parametrize("edit", [_set_count(0), _set_count(7), _drop_entry, _no_rounds],
                         ids=["count-0", "count-7", "no-entry", "no-entry-nor-rounds"])  # fmt: skip
def test_a_table_the_manifest_miscounts_or_leaves_out_is_a_damaged_manifest(
    data, more, tmp_path, capsys, edit
):
    copy = _edited(data, tmp_path, edit)
    code, line = _append(copy, capsys, more)
    assert code == 2 and "the manifest is damaged" in line, line
    if edit is _no_rounds:
        assert "names no phrase table" in line and "holds phrases.tsv" in line, line
    with open(os.path.join(copy, "manifest.json")) as f:
        assert len(json.load(f)["increments"]) == 1  # no increment, phrased or not
    with pytest.raises(UsageError, match="the manifest is damaged"):
        load_phrases(copy)


def test_the_table_its_manifest_counts_is_applied_to_an_increment(data, more, tmp_path, capsys):
    copy = str(tmp_path / "copy")
    shutil.copytree(data, copy)
    assert _append(copy, capsys, more)[0] == 0
    words = [line.split("\t")[0] for line in open(os.path.join(copy, "vocab.tsv"))]
    assert "new_york" in words and "again" in words and "new" in words


def test_a_table_that_links_out_of_the_dataset_is_refused_as_shards_are(
    data, more, tmp_path, capsys, monkeypatch
):
    copy = str(tmp_path / "copy")
    shutil.copytree(data, copy)
    table = os.path.join(copy, "phrases.tsv")
    outside = str(tmp_path / "elsewhere.tsv")
    shutil.move(table, outside)  # the very file: its sha256 and rows are the manifest's
    os.symlink(outside, table)
    code, line = _append(copy, capsys, more)
    assert code == 2 and "outside the dataset" in line and "phrases.tsv" in line, line
    for location in (copy, table):
        with pytest.raises(UsageError, match="outside the dataset"):
            load_phrases(location)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert phrases_command([copy]) == 2
    assert "outside the dataset" in _one_line(capsys, "python -m sgns.pipeline.phrases")


def test_a_connectors_file_is_read_past_its_byte_order_mark(tmp_path):
    path = tmp_path / "connectors.txt"
    path.write_bytes(b"\xef\xbb\xbfof\r\nthe\r\n")
    for read in (store.read_bytes, read_bytes):
        assert connector_words(str(path), read) == ("of", "the")
    # two such files joined by cat: the second's mark is inside (it made the word "\ufeffof")
    path.write_bytes(b"\xef\xbb\xbfbank\n" + b"\xef\xbb\xbfof\r\nthe\xef\xbb\xbfa\n")
    for read in (store.read_bytes, read_bytes):
        assert connector_words(str(path), read) == ("a", "bank", "of", "the")


def test_a_connectors_file_that_is_no_file_is_named_as_the_connectors_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "fifo", tmp_path / "link")
    for read in (store.read_bytes, read_bytes):
        with pytest.raises(UsageError) as caught:
            connector_words(str(tmp_path / "link"), read)
        said = str(caught.value)
        assert "is a FIFO" in said and "connectors file" in said and "dataset file" not in said


def _command(data, redirect: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    script = f"{sys.executable} -m sgns.pipeline.phrases {data} {redirect}"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


@pytest.mark.parametrize("redirect, said", [("<&-", "stdin"), ("< /dev/null >&-", "stdout")])
def test_the_command_with_a_closed_stream_says_so_in_one_line(data, redirect, said):
    done = _command(data, redirect)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, lines
    assert lines[0].startswith("python -m sgns.pipeline.phrases: error:") and said in lines[0]


def test_the_command_refuses_an_empty_encoding_as_sgns_preprocess_does(data, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert phrases_command([data, "--encoding="]) == 2
    assert "--encoding ''" in _one_line(capsys, "python -m sgns.pipeline.phrases")
    assert preprocess(["--input", "x.txt", "--output", "y", "--encoding", ""]) == 2
    assert "--encoding ''" in _one_line(capsys)

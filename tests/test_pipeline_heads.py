"""A file that is not text is refused by name on the driver, from its first bytes, before any
pipeline run starts (sgns.pipeline.text.read.check_heads): a new dataset, --append, --watch, and
inputs on an object store. (tests/test_pipeline_text.py: what is refused, and why.)"""

import gzip
import os

import pytest
from s3server import s3_server  # noqa: F401
from tree import file_bytes

from sgns.pipeline import runs
from sgns.pipeline.preprocess import main as preprocess

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
TEXT = "the cat sat on the mat\n" * 50


@pytest.fixture
def runs_started(monkeypatch) -> list:
    """The pipeline runs started, by their builder's name (each still runs)."""
    started = []
    run_pipeline = runs.run_pipeline

    def counted(options, build, *args):
        started.append(build.__name__)
        return run_pipeline(options, build, *args)

    monkeypatch.setattr(runs, "run_pipeline", counted)
    return started


def _error(capsys) -> str:
    """The one error line (the others on stderr are the log's: "DATE TIME logger: ...")."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("sgns-preprocess: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    "name, content, said",
    [
        ("img.png", PNG, "it looks like a PNG image"),
        ("img.txt.gz", gzip.compress(PNG, mtime=0), "it looks like a PNG image"),
        ("nul.txt", b"some text\n" * 50 + b"\x00 more\n", "a NUL byte at byte 500"),
        (
            "double.txt.gz",
            gzip.compress(gzip.compress(b"a b\n", mtime=0), mtime=0),  # (mtime 0: one test id)
            "it looks like gzip data",
        ),
    ],
)
def test_a_file_that_is_not_text_is_refused_before_any_run(
    tmp_path, capsys, runs_started, name, content, said
):
    (tmp_path / "a.txt").write_text(TEXT)
    (tmp_path / name).write_bytes(content)
    inputs = f"{tmp_path / 'a.txt'},{tmp_path / name}"
    assert preprocess(["--input", inputs, "--output", str(tmp_path / "out"), *FAST]) == 2
    line = _error(capsys)
    assert f"input {tmp_path / name} is not text" in line and said in line
    assert runs_started == [] and not (tmp_path / "out" / "manifest.json").exists()


def test_utf16_text_is_read_and_a_binary_file_in_utf16_refused(tmp_path, capsys, runs_started):
    (tmp_path / "a.txt").write_bytes(TEXT.encode("utf-16"))  # NUL bytes, and text
    out = ["--output", str(tmp_path / "out"), "--encoding", "utf-16", "--min-count", "1", *FAST]
    assert preprocess(["--input", str(tmp_path / "a.txt"), *out]) == 0
    assert runs_started and (tmp_path / "out" / "manifest.json").exists()
    runs_started.clear()
    (tmp_path / "img.png").write_bytes(PNG)
    assert preprocess(["--input", str(tmp_path / "img.png"), *out, "--overwrite"]) == 2
    assert "it looks like a PNG image" in _error(capsys) and runs_started == []


def test_append_and_watch_refuse_it_before_any_run(tmp_path, capsys, runs_started):
    (tmp_path / "a.txt").write_text(TEXT)
    out = tmp_path / "out"
    assert preprocess(["--input", str(tmp_path / "a.txt"), "--output", str(out), *FAST]) == 0
    before, runs_started[:] = file_bytes(out), []
    capsys.readouterr()
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "img.png").write_bytes(PNG)
    append = ["--input", str(tmp_path / "new" / "img.png"), "--output", str(out), "--append"]
    assert preprocess(append + FAST) == 2
    assert "is not text: it looks like a PNG image" in _error(capsys)
    assert runs_started == [] and file_bytes(out) == before
    watch = ["--input", str(tmp_path / "new" / "*"), "--output", str(out), "--watch",
             "--poll-seconds", "0.05", "--watch-max-increments", "1"]  # fmt: skip
    assert preprocess(watch + FAST) == 2
    assert "is not text: it looks like a PNG image" in _error(capsys)
    assert runs_started == [] and file_bytes(out) == before


def test_s3_input_not_text_is_refused_before_any_run(s3_server, tmp_path, capsys, runs_started):  # noqa: F811
    bucket = s3_server.bucket()
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="in/a.txt", Body=TEXT.encode())
    client.put_object(Bucket=bucket, Key="in/b.txt.gz", Body=gzip.compress(PNG))
    options = ["--s3_endpoint_url", s3_server.endpoint]
    args = ["--input", f"s3://{bucket}/in/*", "--output", str(tmp_path / "out"), *options]
    assert preprocess(args + FAST) == 2
    line = _error(capsys)
    assert f"input s3://{bucket}/in/b.txt.gz is not text: it looks like a PNG image" in line
    assert runs_started == []


def test_a_refused_run_leaves_no_folder_it_made(tmp_path, capsys):
    (tmp_path / "img.png").write_bytes(PNG)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    (tmp_path / "empty").mkdir()
    png = ["--input", str(tmp_path / "img.png"), *FAST]
    watch = ["--watch", "--poll-seconds", "0.05", "--watch-max-increments", "1"]
    for output, more in [
        (tmp_path / "new" / "deeper" / "out", []),  # three folders made, three removed
        (tmp_path / "mine" / "sub" / "out", []),  # the user's folder and file stay
        (tmp_path / "empty", []),  # an empty folder of the user's stays
        (tmp_path / "watched", watch),
    ]:
        assert preprocess([*png, "--output", str(output), *more]) == 2
        assert "is not text: it looks like a PNG image" in _error(capsys)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "img.png", "mine"], output
        assert list((tmp_path / "mine").iterdir()) == [tmp_path / "mine" / "notes.txt"]
        assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"
        assert list((tmp_path / "empty").iterdir()) == []
    # --append to a folder that holds no dataset is refused as well, and makes none
    (tmp_path / "a.txt").write_text(TEXT)
    append = ["--input", str(tmp_path / "a.txt"), "--output", str(tmp_path / "x" / "out")]
    assert preprocess([*append, "--append", *FAST]) == 2
    assert "holds no dataset" in _error(capsys) and not (tmp_path / "x").exists()


def test_an_output_through_a_link_and_dotdot_is_where_the_link_leads(tmp_path, monkeypatch,
                                                                     capsys):  # fmt: skip
    # "link/../new" is elsewhere/new to the kernel (and the shell), ./new to os.path.abspath
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere" / "deep", tmp_path / "link")
    (tmp_path / "img.png").write_bytes(PNG)
    (tmp_path / "a.txt").write_text(TEXT)
    monkeypatch.chdir(tmp_path)
    mine = ["a.txt", "elsewhere", "img.png", "link"]
    assert preprocess(["--input", "img.png", "--output", "link/../new", *FAST]) == 2
    assert "is not text: it looks like a PNG image" in _error(capsys)
    assert os.listdir(tmp_path / "elsewhere") == ["deep"]  # the folder the run made is gone
    assert sorted(os.listdir(tmp_path)) == mine  # and none was made where the text points
    assert preprocess(["--input", "a.txt", "--output", "link/../new", *FAST]) == 0
    assert sorted(os.listdir(tmp_path / "elsewhere")) == ["deep", "new"]
    assert "manifest.json" in os.listdir(tmp_path / "elsewhere" / "new")
    assert sorted(os.listdir(tmp_path)) == mine  # the whole dataset went where the link leads

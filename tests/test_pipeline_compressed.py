""".gz and .bz2 inputs are read to their end-of-stream marker or refused by name
(pipeline/compressed.py), by a build and by --watch."""

import bz2
import gzip
import json
import os

import pytest
from test_pipeline_watch import FAST, _increments, _wait_for, _watch

from sgns import dataset
from sgns.pipeline.compressed import decode_problem
from sgns.pipeline.preprocess import main
from sgns.pipeline.watch import decodable

TEXT = "".join(f"w{i % 50} w{i % 7} w{i % 3} the\n" for i in range(20000)).encode()


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("sgns-preprocess")]
    assert len(lines) == 1 and lines[0].startswith("sgns-preprocess: error:"), err
    assert "Traceback" not in err, err
    return lines[0]


def _build(path, out):
    return main(["--input", str(path), "--output", str(out), "--min-count", "1", *FAST])


@pytest.mark.parametrize("suffix,compress", [(".gz", gzip.compress), (".bz2", bz2.compress)])
def test_a_truncated_file_is_refused_by_name_and_makes_no_dataset(
    tmp_path, capsys, suffix, compress
):
    data = compress(TEXT)
    path = tmp_path / f"t.txt{suffix}"
    path.write_bytes(data[: len(data) // 2])
    assert _build(path, tmp_path / "d") == 2
    line = _one_error(capsys)
    assert str(path) in line and "truncated" in line
    assert not (tmp_path / "d" / "manifest.json").exists()
    assert os.listdir(tmp_path / "d") == []


def test_a_corrupt_file_is_refused_by_name(tmp_path, capsys):
    path = tmp_path / "bad.txt.gz"
    path.write_bytes(b"this is not gzip data at all")
    assert _build(path, tmp_path / "d") == 2
    line = _one_error(capsys)
    assert str(path) in line and "corrupt" in line


def test_a_whole_file_of_several_gzip_members_reads_as_the_text(tmp_path):
    half = len(TEXT) // 2
    cut = TEXT.index(b"\n", half) + 1
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(TEXT[:cut]) + gzip.compress(TEXT[cut:]))
    (tmp_path / "a.txt").write_bytes(TEXT)
    assert _build(tmp_path / "a.txt.gz", tmp_path / "gz") == 0
    assert _build(tmp_path / "a.txt", tmp_path / "plain") == 0
    for name in ("vocab.tsv", "counts.tsv"):
        assert (tmp_path / "gz" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    stats = [dataset.read_manifest(str(tmp_path / d))["stats"] for d in ("gz", "plain")]
    assert stats[0]["lines"] == stats[1]["lines"] == 20000


class _File:
    def __init__(self, path):
        self.path = str(path)
        self.size_in_bytes = os.path.getsize(path)
        self.last_updated_in_seconds = os.path.getmtime(path)


def test_watch_takes_only_what_decodes_to_its_end_and_says_so_once(tmp_path, caplog):
    good, half, bad, plain = (tmp_path / n for n in ("g.gz", "h.gz", "b.bz2", "p.txt"))
    good.write_bytes(gzip.compress(TEXT))
    half.write_bytes(gzip.compress(TEXT)[:1000])
    bad.write_bytes(b"BZh9 and then garbage" * 10)
    plain.write_bytes(TEXT)
    assert decode_problem(str(good)) is None
    assert decode_problem(str(half))[0] == "truncated"
    assert decode_problem(str(bad))[0] == "corrupt"
    verdicts = {}
    files = [_File(p) for p in (good, half, bad, plain)]
    assert [m.path for m in decodable(files, verdicts)] == [str(good), str(plain)]
    assert [m.path for m in decodable(files, verdicts)] == [str(good), str(plain)]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # once per file, not per poll
    assert any(str(half) in w and "waiting" in w for w in warnings)
    assert any(str(bad) in w and "skipping" in w for w in warnings)
    half.write_bytes(gzip.compress(TEXT))  # its writer finished
    assert str(half) in [m.path for m in decodable([_File(half)], verdicts)]


@pytest.mark.slow
def test_watch_skips_a_corrupt_file_and_takes_a_half_written_one_once_complete(tmp_path):
    (tmp_path / "in").mkdir()
    good, half, bad = (tmp_path / "in" / n for n in ("a.gz", "b.gz", "c.gz"))
    good.write_bytes(gzip.compress(b"the the a1 a2 a3\n" * 50))
    whole = gzip.compress(b"the b1 b2\n" * 5000)
    half.write_bytes(whole[: len(whole) // 2])
    bad.write_bytes(b"not gzip")
    log = tmp_path / "log"
    process = _watch(tmp_path / "in", tmp_path / "ds", log, "--watch-max-increments", "2",
                     pattern="*.gz")  # fmt: skip
    try:
        _wait_for(lambda: _increments(tmp_path / "ds") == 1, process, log)
        half.write_bytes(whole)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    inputs = [[i["path"] for i in inc["inputs"]] for inc in manifest["increments"]]
    assert inputs == [[str(good)], [str(half)]]
    assert manifest["increments"][1]["stats"]["lines"] == 5000
    err = log.read_text()
    assert "Traceback" not in err and f"{bad} is a corrupt gzip file" in err


def test_watch_tries_a_file_it_cannot_read_again_rather_than_skip_it(tmp_path, caplog):
    odd = tmp_path / "odd.gz"
    odd.mkdir()  # reading it fails with an OS error, not with bad data
    files = [_File(odd)]
    verdicts = {}
    assert decodable(files, verdicts) == [] and verdicts == {}  # nothing remembered
    assert any("trying again" in r.getMessage() for r in caplog.records)

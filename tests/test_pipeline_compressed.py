""".gz and .bz2 inputs are read to their end-of-stream marker or refused by name
(pipeline/text/compressed.py), by a build and by --watch."""

import bz2
import gzip
import json
import logging
import os
from collections import Counter

import numpy as np
import pytest
from test_pipeline_watch import FAST, _increments, _wait_for, _watch

from sgns import dataset
from sgns.pipeline.preprocess import main
from sgns.pipeline.text.compressed import decode_problem
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
    assert not (tmp_path / "d").exists()  # the refused run removes the folder it made


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


# What identifies a compressed input (pipeline/dataset/inputs.py): its raw bytes, and its text only
# when the first MiB of that text is another input's; decoding a whole file on the driver is the
# cost.


class _Counted:
    """An opener of local files that counts the raw bytes read through it, per file."""

    def __init__(self):
        self.read = Counter()

    def __call__(self, path):
        opened, counter = open(path, "rb"), self

        class Counting:
            def read(self, size=-1):
                data = opened.read(size)
                counter.read[path] += len(data)
                return data

            def __getattr__(self, name):
                return getattr(opened, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                opened.close()

        return Counting()


def _words(megabytes: float, seed: int = 0) -> bytes:
    """Text of random words: gzip cannot shrink it much, so its compressed file is big too."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 50_000, int(megabytes * 2**20 / 6))
    return "\n".join(" ".join(f"w{i}" for i in line) for line in np.array_split(ids, 2000)).encode()


def test_a_large_compressed_input_is_not_decompressed_in_the_driver_when_nothing_collides(
    tmp_path,
):
    from sgns.pipeline.dataset.inputs import already_ingested, check_distinct, describe_file

    text = _words(12)
    big, other = tmp_path / "big.txt.gz", tmp_path / "other.txt"
    big.write_bytes(gzip.compress(text, compresslevel=1))
    other.write_bytes(_words(3, seed=1))
    opener = _Counted()
    described = [describe_file(_File(p), opener) for p in (big, other)]
    check_distinct(described, opener)
    manifest = {"increments": [{"index": 0, "inputs": [describe_file(_File(other), opener)]}]}
    assert already_ingested(described[:1], manifest, opener) == {}
    # the raw head and tail (2 MiB) and what one MiB of text takes: not the file's 5+ MB
    assert opener.read[str(big)] < 3 * 2**20 < big.stat().st_size / 2
    assert "content_head_tail_sha256" not in described[0]  # (not taken: nothing shares its head)
    # the same text plain: the heads agree, so the text is decoded (once) and compared
    (tmp_path / "big.txt").write_bytes(text)
    again = describe_file(_File(tmp_path / "big.txt"), opener)
    opener.read.clear()
    with pytest.raises(ValueError, match="given twice in this run"):
        check_distinct([again, described[0]], opener)
    assert opener.read[str(big)] >= big.stat().st_size
    assert described[0]["content_size"] == len(text)  # recorded: the manifest keeps it


def test_an_old_compressed_input_is_decoded_when_a_new_one_shares_its_head_or_said_when_gone(
    tmp_path, caplog
):
    from sgns.pipeline.dataset.inputs import already_ingested, describe_file

    text = _words(1.5)
    old = tmp_path / "old.txt.bz2"
    old.write_bytes(bz2.compress(text))
    entry = describe_file(_File(old), _Counted())
    assert "content_head_tail_sha256" not in entry  # as the dataset recorded it
    (tmp_path / "new.txt.gz").write_bytes(gzip.compress(text))
    (tmp_path / "other.txt.gz").write_bytes(gzip.compress(text[:-20]))  # the same head only
    new, other = (describe_file(_File(tmp_path / n)) for n in ("new.txt.gz", "other.txt.gz"))

    def manifest():
        return {"increments": [{"index": 0, "inputs": [dict(entry)]}]}

    notes = already_ingested([new, other], manifest())
    assert notes == {new["path"]: f"{new['path']} (same content as {old}, increment 0)"}
    old.write_bytes(bz2.compress(text + b"more text\n"))  # replaced in place, the same head
    (tmp_path / "longer.txt.gz").write_bytes(gzip.compress(text + b"more text\n"))
    longer = describe_file(_File(tmp_path / "longer.txt.gz"))  # its text is not the dataset's
    assert already_ingested([longer], manifest()) == {}  # the file at old's path is not old
    old.unlink()  # its text can no longer be compared: said, and the new file is read
    assert already_ingested([new], manifest()) == {}
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 2 and all(str(old) in w for w in said), said
    assert longer["path"] in said[0] and "not the file that was read" in said[0]
    assert new["path"] in said[1]


def test_a_renamed_copy_of_an_input_of_a_dataset_written_before_content_fields_is_refused(
    tmp_path, capsys, monkeypatch
):
    root = logging.getLogger()  # main() sets its handler on capsys's stream: put back after
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(TEXT))
    assert _build(tmp_path / "a.txt.gz", tmp_path / "d") == 0
    path = tmp_path / "d" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["increments"][0]["inputs"]:  # as sgns-preprocess wrote them before
        for key in [k for k in entry if k.startswith("content_")]:
            del entry[key]
    path.write_text(json.dumps(manifest))
    (tmp_path / "a.txt.gz").rename(tmp_path / "renamed.txt.gz")
    args = ["--input", str(tmp_path / "renamed.txt.gz"), "--output", str(tmp_path / "d")]
    assert main([*args, "--append", "--min-count", "1", *FAST]) == 2
    line = _one_error(capsys)
    assert "already in the dataset" in line and "renamed.txt.gz" in line, line


def test_watch_decodes_a_new_compressed_file_once_for_its_check_and_its_fingerprint(
    tmp_path, monkeypatch
):
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.text import compressed
    from sgns.pipeline.watch import new_files, texts

    text, path = _words(3), str(tmp_path / "a.txt.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(text, compresslevel=1))
    opener = _Counted()
    monkeypatch.setattr(compressed, "_beam_raw", opener)  # what its text is decoded from
    verdicts = {}
    config = PipelineConfig((f"{tmp_path}/*.gz",), str(tmp_path / "out"))
    found = new_files(config, None, set(), lambda files: decodable(files, verdicts), verdicts)
    assert [m.path for m in found] == [path]
    assert opener.read[path] == os.path.getsize(path)  # once: the check's pass, no second
    fields = texts(found, verdicts)[path]
    assert fields["content_size"] == len(text) and "content_head_tail_sha256" in fields

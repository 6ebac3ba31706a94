"""Increments (`--append`, `--watch`): stable ids, merged counts, crash safety, watching."""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from sgns import dataset
from sgns.pipeline.dataset.outdir import LOCK_FILE, DatasetLock, recover
from sgns.pipeline.pairs.draw import keep_probabilities
from sgns.pipeline.preprocess import main
from sgns.pipeline.vocab.counting import select_vocabulary

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
# "the" makes 30% of A and 10% of B: its keep probability over A+B (20%) differs from B's alone.
A_WORDS = [f"a{i}" for i in range(30)]
B_WORDS = [f"b{i}" for i in range(30)]
LINE = 2000  # long lines: with --window 1 each kept center makes 2 pairs but at a line's ends


def _text(rng, words, the_share: float, lines: int, extra: list[str]) -> str:
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    out = []
    for _ in range(lines):
        line = rng.choice(words, size=LINE, p=weights)
        line[rng.random(LINE) < the_share] = "the"
        out.append(" ".join(line))
    out.append(" ".join(extra))  # rare words, on a line of their own
    return "\n".join(out) + "\n"


def _pairs(directory, increment: int) -> np.ndarray:
    """(center, context) rows of every pass of one increment."""
    manifest = dataset.read_manifest(str(directory))
    rows = []
    for p in manifest["increments"][increment]["passes"]:
        for shard in p["shards"]:
            table = pq.read_table(os.path.join(directory, shard["path"]))
            rows.append(np.stack([table["center"].to_numpy(), table["context"].to_numpy()], 1))
    return np.concatenate(rows)


def _bytes(directory) -> dict:
    names = (dataset.MANIFEST_FILE, dataset.VOCAB_FILE, dataset.COUNTS_FILE)
    return {n: open(os.path.join(directory, n), "rb").read() for n in names}


def _append(corpus_files, out, *extra) -> int:
    return main(["--input", ",".join(map(str, corpus_files)), "--output", str(out), "--append"]
                + list(extra) + FAST)  # fmt: skip


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("sgns-preprocess: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """Datasets `a` (A only), `ab` (A, then B appended with other passes and shards) and
    `whole` (A and B in one build)."""
    root = tmp_path_factory.mktemp("append")
    rng = np.random.default_rng(3)
    # rare: 3 times in A and in B (6 >= min_count 5 only over both); n1, n2: 7 times, B only
    (root / "a.txt").write_text(_text(rng, A_WORDS, 0.3, 20, ["rare"] * 3))
    (root / "b.txt").write_text(_text(rng, B_WORDS, 0.1, 20, ["rare"] * 3 + ["n2", "n1"] * 7))
    build = ["--input", str(root / "a.txt"), "--output", str(root / "a"), "--window", "1"]
    assert main(build + ["--num-shards", "2", "--min-count", "5"] + FAST) == 0
    shutil.copytree(root / "a", root / "ab")
    assert _append([root / "b.txt"], root / "ab", "--passes", "2", "--num-shards", "3") == 0
    both = ["--input", f"{root / 'a.txt'},{root / 'b.txt'}", "--output", str(root / "whole")]
    assert main(both + ["--window", "1", "--num-shards", "2", "--min-count", "5"] + FAST) == 0
    return root


def test_old_ids_never_change_and_an_old_reader_still_sees_its_dataset(grown):
    old = dataset.read_manifest(str(grown / "a"))
    new = dataset.read_manifest(str(grown / "ab"))
    old_words, old_counts = dataset.read_vocab(str(grown / "a"))
    words, counts = dataset.read_vocab(str(grown / "ab"))
    assert words[: len(old_words)] == old_words and len(words) > len(old_words)
    assert dataset.words_fingerprint(words[: len(old_words)]) == old["vocab"]["words_sha256"]
    assert new["vocab"]["words_sha256"] == dataset.words_fingerprint(words)
    assert counts[0] > old_counts[0]  # "the": counts are merged
    # the old manifest's files are all still there, unchanged, in the grown directory
    assert dataset.read_manifest_vocab(str(grown / "ab"), old) == (old_words, old_counts)
    assert new["increments"][0] == old["increments"][0]
    for p in old["increments"][0]["passes"]:
        for shard in p["shards"]:
            assert pq.read_metadata(grown / "ab" / shard["path"]).num_rows == shard["pairs"]
    assert [i["index"] for i in new["increments"]] == [0, 1]
    assert new["increments"][1]["vocab_size"] == len(words) == new["vocab"]["size"]
    assert new["increments"][1]["new_words"] == len(words) - len(old_words)


def test_new_words_get_ids_after_the_old_ones_by_merged_count_then_word(grown):
    old_words, _ = dataset.read_vocab(str(grown / "a"))
    words, counts = dataset.read_vocab(str(grown / "ab"))
    assert "rare" not in old_words  # 3 < min_count in A alone
    seen, seen_counts = dataset.parse_vocab((grown / "a" / "counts.tsv").read_bytes())
    assert dict(zip(seen, seen_counts))["rare"] == 3  # counts.tsv keeps it anyway
    added = list(zip(words[len(old_words) :], counts[len(old_words) :]))
    assert added == sorted(added, key=lambda wc: (-wc[1], wc[0]))
    assert dict(added)["rare"] == 6 and dict(added)["n1"] == dict(added)["n2"] == 7
    assert words.index("n1") + 1 == words.index("n2")  # a tie goes by the word
    assert set(w for w, _ in added) == set(B_WORDS) | {"rare", "n1", "n2"}
    text = (grown / "a.txt").read_text().split() + (grown / "b.txt").read_text().split()
    merged = Counter(text)
    assert dict(zip(words, counts)) == {w: merged[w] for w in words}
    assert dataset.parse_vocab((grown / "ab" / "counts.tsv").read_bytes()) == (
        [w for w, _ in sorted(merged.items(), key=lambda wc: (-wc[1], wc[0]))],
        sorted(merged.values(), reverse=True),
    )


def test_appending_counts_as_one_build_of_all_the_files_would(grown):
    words, counts = dataset.read_vocab(str(grown / "ab"))
    whole_words, whole_counts = dataset.read_vocab(str(grown / "whole"))
    assert dict(zip(words, counts)) == dict(zip(whole_words, whole_counts))
    assert (grown / "ab" / "counts.tsv").read_bytes() == (
        grown / "whole" / "counts.tsv"
    ).read_bytes()
    ab, whole = (dataset.read_manifest(str(grown / d)) for d in ("ab", "whole"))
    for key in ("tokens", "lines", "files"):
        assert ab["stats"][key] == whole["stats"][key]


def test_the_increment_pairs_only_the_new_files(grown):
    words, _ = dataset.read_vocab(str(grown / "ab"))
    ids = {w: i for i, w in enumerate(words)}
    in_b = {ids[w] for w in set((grown / "b.txt").read_text().split()) if w in ids}
    in_a = {ids[w] for w in set((grown / "a.txt").read_text().split()) if w in ids}
    first, second = np.unique(_pairs(grown / "ab", 0)), np.unique(_pairs(grown / "ab", 1))
    assert set(second.tolist()) <= in_b and set(first.tolist()) <= in_a
    assert {ids["b0"], ids["rare"]} <= set(second.tolist()) and ids["a0"] not in second
    manifest = dataset.read_manifest(str(grown / "ab"))
    increment = manifest["increments"][1]
    assert [i["path"] for i in increment["inputs"]] == [str(grown / "b.txt")]
    assert increment["stats"]["tokens"] == len((grown / "b.txt").read_text().split())
    assert [len(p["shards"]) for p in increment["passes"]] == [3, 3]
    assert increment["passes"][1]["shards"][2]["path"] == dataset.shard_path(1, 1, 2, 3)
    assert manifest["stats"]["pairs"] == sum(
        p["pairs"] for i in manifest["increments"] for p in i["passes"]
    )


def test_the_increment_subsamples_with_the_merged_counts(grown):
    words, counts = dataset.read_vocab(str(grown / "ab"))
    the = words.index("the")
    merged_keep = keep_probabilities(np.array(counts), 1e-3)[the]
    b_counts = Counter((grown / "b.txt").read_text().split())
    b_only_keep = keep_probabilities(np.array(list(b_counts.values())), 1e-3)[
        list(b_counts).index("the")
    ]
    n = b_counts["the"]
    kept = np.sum(_pairs(grown / "ab", 1)[:, 0] == the) / 2 / 2  # 2 pairs per center, 2 passes
    sd = np.sqrt(n * merged_keep * (1 - merged_keep) / 2)
    assert abs(b_only_keep - merged_keep) * n > 8 * sd  # the test can tell the two apart
    assert abs(kept - n * merged_keep) < 4 * sd


def test_appending_a_file_again_is_refused_naming_it(grown, tmp_path, capsys):
    before = _bytes(grown / "ab")
    assert _append([grown / "b.txt"], grown / "ab") == 2
    assert f"{grown / 'b.txt'} (increment 1)" in _error_line(capsys)
    shutil.copy(grown / "a.txt", tmp_path / "copy.txt")
    assert _append([tmp_path / "copy.txt"], grown / "ab") == 2
    assert f"same content as {grown / 'a.txt'}, increment 0" in _error_line(capsys)
    assert _bytes(grown / "ab") == before


def test_a_file_given_twice_in_one_run_is_refused_as_an_append_of_it_would_be(tmp_path, capsys):
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.local import build

    (tmp_path / "a.txt").write_text("x y z\n" * 50)
    shutil.copy(tmp_path / "a.txt", tmp_path / "copy.txt")
    os.symlink(tmp_path / "a.txt", tmp_path / "link.txt")
    for twice in ("copy.txt", "link.txt"):
        inputs = [tmp_path / "a.txt", tmp_path / twice]
        out = tmp_path / f"out-{twice}"
        argv = ["--input", ",".join(map(str, inputs)), "--output", str(out), *FAST]
        assert main(argv) == 2
        line = _error_line(capsys)
        assert f"{tmp_path / twice} (same content as {tmp_path / 'a.txt'})" in line
        assert not out.exists() or os.listdir(out) == []
        with pytest.raises(ValueError, match="given twice in this run"):
            build(PipelineConfig(tuple(map(str, inputs)), str(out)), list(map(str, inputs)))


def test_the_same_path_given_twice_is_read_once_with_or_without_beam(tmp_path):
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.local import build

    (tmp_path / "a.txt").write_text("x y z\n" * 50)
    twice = (str(tmp_path / "a.txt"), f"{tmp_path}/*.txt")
    assert main(["--input", ",".join(twice), "--output", str(tmp_path / "b"), *FAST]) == 0
    local = build(PipelineConfig(twice, str(tmp_path / "l"), min_count=1), [twice[0]] * 2)
    for manifest in (dataset.read_manifest(str(tmp_path / "b")), local):
        assert manifest["stats"]["tokens"] == 150 and manifest["stats"]["files"] == 1


def test_settings_that_differ_from_the_dataset_are_refused_by_name(grown, capsys):
    before = _bytes(grown / "ab")
    (grown / "c.txt").write_text("the b0 b1\n")
    assert _append([grown / "c.txt"], grown / "ab", "--window", "8") == 2
    assert "--window 8 differs from the dataset's window 1" in _error_line(capsys)
    assert _append([grown / "c.txt"], grown / "ab", "--lowercase", "--min-count", "2") == 2
    line = _error_line(capsys)
    assert "--lowercase true differs" in line and "--min-count 2 differs" in line
    assert _append([grown / "c.txt"], grown / "nothing") == 2
    assert "holds no dataset" in _error_line(capsys)
    assert _bytes(grown / "ab") == before


def test_a_failed_manifest_write_leaves_the_dataset_as_it_was(grown, tmp_path, monkeypatch):
    shutil.copytree(grown / "a", tmp_path / "ds")
    before = _bytes(tmp_path / "ds")

    def broken(output, manifest):
        raise OSError("disk full")

    monkeypatch.setattr("sgns.pipeline.dataset.manifest.write_manifest", broken)
    with pytest.raises(Exception, match="disk full"):
        _append([grown / "b.txt"], tmp_path / "ds")
    assert _bytes(tmp_path / "ds") == before  # vocab.tsv and counts.tsv were published: undone
    assert sorted(os.listdir(tmp_path / "ds" / "pairs")) == ["inc-00000"]
    assert sorted(os.listdir(tmp_path / "ds" / "snapshots")) == ["inc-00000"]
    assert not [n for n in os.listdir(tmp_path / "ds") if n.startswith(".")]
    monkeypatch.undo()
    assert _append([grown / "b.txt"], tmp_path / "ds") == 0  # nothing left in the way


def test_a_killed_append_is_undone_by_the_next_run(grown, tmp_path):
    shutil.copytree(grown / "a", tmp_path / "ds")
    before = _bytes(tmp_path / "ds")
    ds = tmp_path / "ds"
    # what a run killed between publishing vocab.tsv/counts.tsv and the manifest leaves behind
    for name in ("vocab.tsv", "counts.tsv"):
        shutil.copy(grown / "ab" / name, ds / name)
    shutil.copytree(grown / "ab" / "pairs" / "inc-00001", ds / "pairs" / "inc-00001")
    shutil.copytree(grown / "ab" / "snapshots" / "inc-00001", ds / "snapshots" / "inc-00001")
    (ds / ".sgns-tmp-pieces").mkdir()
    (ds / ".tmp-pieces").mkdir()  # as sgns before 2026-12 named its pieces
    (ds / ".sgns-tmp-abc").write_text("half")
    recover(str(ds))
    assert _bytes(ds) == before
    assert sorted(os.listdir(ds)) == [
        "counts.tsv",
        "manifest.json",
        "pairs",
        "snapshots",
        "vocab.tsv",
    ]
    assert os.listdir(ds / "pairs") == ["inc-00000"] == os.listdir(ds / "snapshots")


def test_a_bad_input_file_leaves_the_dataset_as_it_was(grown, tmp_path, capsys):
    shutil.copytree(grown / "a", tmp_path / "ds")
    before = _bytes(tmp_path / "ds")
    (tmp_path / "bad.txt.gz").write_bytes(b"not gzip at all")
    assert _append([grown / "b.txt", tmp_path / "bad.txt.gz"], tmp_path / "ds") == 2
    assert str(tmp_path / "bad.txt.gz") in _error_line(capsys)
    assert _bytes(tmp_path / "ds") == before
    assert os.listdir(tmp_path / "ds" / "pairs") == ["inc-00000"]


def test_max_vocab_caps_the_new_words_and_never_evicts_old_ones():
    counts = Counter({"old": 1, "x": 9, "y": 9, "z": 20, "low": 2})
    assert select_vocabulary(counts, 2, 3, ["old"]) == (["old", "z", "x"], [1, 20, 9])
    assert select_vocabulary(counts, 2, 1, ["old"]) == (["old"], [1])
    assert select_vocabulary(counts, 2, None, ["old"])[0] == ["old", "z", "x", "y", "low"]


HOLD_LOCK = """
import sys, time
from sgns.pipeline.dataset.outdir import DatasetLock
with DatasetLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_and_a_dead_writers_lock_taken_over(tmp_path, capsys):
    (tmp_path / "c.txt").write_text("a b a b a b c\n" * 5)
    out = tmp_path / "ds"
    out.mkdir()
    holder = subprocess.Popen(  # a live writer, in another process
        [sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        args = ["--input", str(tmp_path / "c.txt"), "--output", str(out), "--min-count", "1"]
        assert main(args + FAST) == 2
        assert f"pid {holder.pid}" in _error_line(capsys)
    finally:
        holder.kill()
        holder.wait()
    assert (out / LOCK_FILE).exists()  # what a killed writer leaves: a file nobody holds
    with DatasetLock(str(out)):
        assert (out / LOCK_FILE).read_text().split()[1] == str(os.getpid())
    assert not (out / LOCK_FILE).exists()


@pytest.mark.parametrize(
    "key,field,victim",
    [
        ("vocab", "file", "notes.txt"),
        ("vocab", "file", "manifest.json"),
        ("counts", "file", ".lock"),
        ("vocab", "snapshot", "SHARD"),
        ("counts", "snapshot", "notes.txt"),
        ("vocab", "file", "counts.tsv"),
    ],
)
def test_a_manifest_naming_another_file_of_the_dataset_as_vocab_or_counts_is_damaged(
    grown, tmp_path, capsys, key, field, victim
):
    """--append publishes the new vocabulary and counts to the names the manifest gives: one
    naming notes.txt, a shard or manifest.json had --append write over it (fourth probe F2)."""
    out = tmp_path / "a"
    shutil.copytree(grown / "a", out)
    (out / "notes.txt").write_text("my notes\n")
    path = out / dataset.MANIFEST_FILE
    manifest = json.loads(path.read_text())
    if victim == "SHARD":
        victim = manifest["increments"][0]["passes"][0]["shards"][0]["path"]
    manifest[key][field] = victim
    path.write_text(json.dumps(manifest))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != LOCK_FILE}
    assert _append([grown / "b.txt"], out) == 2
    line = _error_line(capsys)
    assert f"{key}.{field} is {victim!r:.40}" in line and "the manifest is damaged" in line
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != LOCK_FILE}
    assert after == before

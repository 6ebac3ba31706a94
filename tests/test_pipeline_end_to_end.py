"""sgns-preprocess end to end on a real DirectRunner with real Parquet, and its bad-input errors."""

import bz2
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from sgns import dataset
from sgns.pipeline.pairs.draw import keep_probabilities
from sgns.pipeline.preprocess import main

# One in-process worker: the fastest way through Beam for a tiny corpus (the default local mode,
# two worker processes, gets its own test below).
FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
WORDS = [f"w{i}" for i in range(120)]


def _write_corpus(root) -> dict:
    """Three files (plain with a few bad bytes, .gz, .bz2) of Zipf-like words; what they hold."""
    rng = np.random.default_rng(42)
    weights = 1.0 / np.arange(1, len(WORDS) + 1)
    weights /= weights.sum()
    texts = []
    for _ in range(3):
        lines = []
        for _ in range(40):
            n = int(rng.integers(0, 400))
            lines.append(" ".join(rng.choice(WORDS, size=n, p=weights)))
        texts.append("\n".join(lines) + "\n")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "a.txt"), "wb") as f:
        f.write(texts[0].encode() + b"bad \xff\xfe bytes\n")
    with gzip.open(os.path.join(root, "b.txt.gz"), "wb") as f:
        f.write(texts[1].encode())
    with bz2.open(os.path.join(root, "c.txt.bz2"), "wb") as f:
        f.write(texts[2].encode())
    tokens = [w for t in texts for w in t.split()] + ["bad", "\ufffd\ufffd", "bytes"]
    return {"tokens": tokens, "lines": sum(t.count("\n") for t in texts) + 1, "replaced": 2}


def _run(corpus, out, *extra, fast=True) -> int:
    args = ["--input", f"{corpus}/*.txt,{corpus}/*.gz,{corpus}/*.bz2", "--output", str(out)]
    return main(
        args
        + ["--num-shards", "3", "--passes", "2", "--min-count", "3"]
        + list(extra)
        + (FAST if fast else [])
    )


def _pairs(directory, pass_index) -> np.ndarray:
    manifest = dataset.read_manifest(str(directory))
    rows = []
    for shard in dataset.pass_shards(str(directory), manifest, pass_index):
        table = pq.read_table(shard.path)
        rows.append(np.stack([table["center"].to_numpy(), table["context"].to_numpy()], axis=1))
    return np.concatenate(rows)


def _multiset(pairs: np.ndarray) -> list:
    return sorted(map(tuple, pairs.tolist()))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    truth = _write_corpus(root / "corpus")
    assert _run(root / "corpus", root / "one", "--seed", "7") == 0
    assert _run(root / "corpus", root / "two", "--seed", "7") == 0
    assert _run(root / "corpus", root / "other", "--seed", "8") == 0
    return root, truth


def test_vocabulary_and_manifest_agree_with_the_corpus(built):
    root, truth = built
    manifest = dataset.read_manifest(str(root / "one"))
    words, counts = dataset.read_vocab(str(root / "one"))
    expected = {}
    for w in truth["tokens"]:
        expected[w] = expected.get(w, 0) + 1
    ranked = sorted(((-c, w) for w, c in expected.items() if c >= 3))
    assert words == [w for _, w in ranked] and counts == [-c for c, _ in ranked]
    stats = manifest["stats"]
    assert stats["tokens"] == len(truth["tokens"])
    assert stats["lines"] == truth["lines"] and stats["files"] == 3
    assert stats["replaced_bytes"] == truth["replaced"]
    assert stats["oov_tokens"] == len(truth["tokens"]) - sum(counts)
    assert manifest["vocab"]["size"] == len(words)
    assert manifest["vocab"]["sha256"] == dataset.vocab_fingerprint(words, counts)
    assert manifest["seed"] == 7 and manifest["config"]["window"] == 5
    assert manifest["schema_version"] == dataset.SCHEMA_VERSION
    assert not os.path.exists(root / "one" / ".tmp-pieces")


def test_shards_agree_with_the_manifest(built):
    root, _ = built
    manifest = dataset.read_manifest(str(root / "one"))
    V = manifest["vocab"]["size"]
    increment = manifest["increments"][0]
    assert [p["pass"] for p in increment["passes"]] == [0, 1]
    total = 0
    for p in increment["passes"]:
        assert len(p["shards"]) == 3
        assert p["pairs"] == sum(s["pairs"] for s in p["shards"]) > 0
        for s in p["shards"]:
            meta = pq.ParquetFile(root / "one" / s["path"]).metadata
            assert meta.num_rows == s["pairs"] and meta.num_row_groups == s["row_groups"]
            assert all(
                meta.row_group(i).num_rows <= dataset.ROW_GROUP_ROWS
                for i in range(meta.num_row_groups)
            )
        pairs = _pairs(root / "one", p["pass"])
        assert len(pairs) == p["pairs"] and pairs.min() >= 0 and pairs.max() < V
        assert pq.read_schema(root / "one" / p["shards"][0]["path"]).equals(dataset.pair_schema())
        total += p["pairs"]
    assert manifest["stats"]["pairs"] == total
    assert manifest["stats"]["tokens_kept"] == sum(p["tokens_kept"] for p in increment["passes"])


def test_kept_fraction_of_a_frequent_word_matches_the_formula(built):
    root, _ = built
    manifest = dataset.read_manifest(str(root / "one"))
    _, counts = dataset.read_vocab(str(root / "one"))
    keep = keep_probabilities(np.array(counts), 1e-3)
    assert keep[0] < 0.5  # the test needs a word that subsampling really thins out
    for p in manifest["increments"][0]["passes"]:
        centers = _pairs(root / "one", p["pass"])[:, 0]
        # each kept center makes 2b pairs, E = window + 1 (lines are long: few edge effects)
        kept_estimate = np.sum(centers == 0) / 6
        expected = counts[0] * keep[0]
        sd = np.sqrt(counts[0] * keep[0] * (1 - keep[0]) + expected * 8 / 36)
        assert abs(kept_estimate - expected) < 5 * sd + 0.05 * expected
        total_expected = float(np.dot(counts, keep))
        assert p["tokens_kept"] == pytest.approx(total_expected, rel=0.05)


def test_same_seed_same_vocab_bytes_and_pairs_other_seed_other_pairs(built):
    root, _ = built
    with open(root / "one" / "vocab.tsv", "rb") as a, open(root / "two" / "vocab.tsv", "rb") as b:
        assert a.read() == b.read()
    for p in (0, 1):
        assert _multiset(_pairs(root / "one", p)) == _multiset(_pairs(root / "two", p))
        assert _multiset(_pairs(root / "one", p)) != _multiset(_pairs(root / "other", p))
    assert _multiset(_pairs(root / "one", 0)) != _multiset(_pairs(root / "one", 1))


@pytest.mark.slow
def test_default_local_runner_gives_the_same_dataset(built, tmp_path):
    root, _ = built
    assert _run(root / "corpus", tmp_path / "default", "--seed", "7", fast=False) == 0
    for p in (0, 1):
        assert _multiset(_pairs(tmp_path / "default", p)) == _multiset(_pairs(root / "one", p))


def test_merging_in_groups_gives_the_same_pairs(built, tmp_path, monkeypatch):
    root, _ = built
    small = ["--block-bytes", "1024", "--seed", "7"]
    assert _run(root / "corpus", tmp_path / "wide", *small) == 0
    monkeypatch.setattr("sgns.pipeline.pairs.merge.MAX_FAN_IN", 3)  # many blocks: merged in groups
    assert _run(root / "corpus", tmp_path / "grouped", *small) == 0
    for p in (0, 1):
        grouped = _pairs(tmp_path / "grouped", p)
        assert _multiset(grouped) == _multiset(_pairs(tmp_path / "wide", p))
    blocks = dataset.read_manifest(str(tmp_path / "grouped"))["stats"]
    assert blocks["pairs"] == len(_pairs(tmp_path / "grouped", 0)) + len(grouped)
    assert not os.path.exists(tmp_path / "grouped" / ".tmp-pieces")


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("sgns-preprocess: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_pattern_matching_nothing_names_the_pattern(tmp_path, capsys):
    missing = str(tmp_path / "nothing-*.txt")
    assert main(["--input", missing, "--output", str(tmp_path / "out")]) == 2
    assert missing in _error_line(capsys)
    assert not os.path.exists(tmp_path / "out" / "manifest.json")


def test_empty_corpus_is_refused(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("  \n\n \t\n")
    code = main(["--input", str(tmp_path / "empty.txt"), "--output", str(tmp_path / "o")] + FAST)
    assert code == 2 and "empty" in _error_line(capsys)
    assert not (tmp_path / "o").exists()  # nothing left: the refused run removes what it made
    (tmp_path / "mine").mkdir()  # a folder the user had stays, empty
    code = main(["--input", str(tmp_path / "empty.txt"), "--output", str(tmp_path / "mine")] + FAST)
    assert code == 2 and "empty" in _error_line(capsys)
    assert os.listdir(tmp_path / "mine") == []


def test_empty_vocabulary_after_min_count_is_refused(tmp_path, capsys):
    (tmp_path / "c.txt").write_text("a b c a\n")
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "o"), "--min-count", "3"]
    assert main(args + FAST) == 2
    assert "--min-count" in _error_line(capsys)
    assert not os.path.exists(tmp_path / "o" / "manifest.json")


def test_existing_dataset_refused_unless_overwrite(built, tmp_path, capsys):
    root, _ = built
    target = tmp_path / "ds"
    (tmp_path / "c.txt").write_text("a b a b a b c\n" * 5)
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(target), "--num-shards", "2"]
    assert main(args + FAST) == 0
    first = json.loads((target / "manifest.json").read_text())
    capsys.readouterr()
    assert main(args + FAST) == 2
    assert "--overwrite" in _error_line(capsys)
    assert main(args + ["--overwrite", "--seed", "5"] + FAST) == 0
    second = dataset.read_manifest(str(target))
    assert second["seed"] == 5 and first["seed"] == 1


@pytest.mark.parametrize(
    "option, value",
    [
        ("--window", "0"),
        ("--sample", "-0.1"),
        ("--min-count", "0"),
        ("--passes", "0"),
        ("--num-shards", "0"),
        ("--max-vocab", "0"),
    ],
)
def test_invalid_options_rejected_before_the_pipeline(tmp_path, capsys, option, value):
    (tmp_path / "c.txt").write_text("a b c\n")
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "o"), option, value]
    assert main(args) == 2
    assert option in _error_line(capsys)
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.slow
def test_console_script_prints_one_line_and_exits_2(tmp_path):
    pattern = str(tmp_path / "no*.txt")
    command = [
        sys.executable,
        "-m",
        "sgns.pipeline.preprocess",
        "--input",
        pattern,
        "--output",
        "o",
    ]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("sgns-preprocess")]
    assert ours == [f"sgns-preprocess: error: --input pattern {pattern!r} matches no file"]

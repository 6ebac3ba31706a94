"""The pipeline's functions run without Beam (pipeline/local.py) build the dataset the Beam
pipeline builds, byte for byte: the stages are thin shells around them."""

import gzip
import json
import os

from tree import same_dataset

from sgns.pipeline.local import main as build_local
from sgns.pipeline.preprocess import main as preprocess

TEXT = "".join(f"w{i % 97} w{i % 13} the w{(i * 7) % 31} a{i % 5}\n" for i in range(6000))


def test_without_beam_the_same_dataset_byte_for_byte(tmp_path):
    (tmp_path / "a.txt").write_text(TEXT)
    with gzip.open(tmp_path / "b.txt.gz", "wt") as f:  # with a token longer than a block
        f.write(TEXT[: len(TEXT) // 2] + f"w1 {'z' * 300_000} w2\nw3 {'y' * 150}\n")
    inputs = f"{tmp_path / 'a.txt'},{tmp_path / 'b.txt.gz'}"
    settings = [
        "--min-count",
        "2",
        "--passes",
        "2",
        "--num-shards",
        "3",
        "--seed",
        "7",
        "--block-bytes",
        "20000",
    ]  # fmt: skip  (several blocks: several pieces a shard)
    beam_only = ["--direct_num_workers", "1"]
    assert preprocess(["--input", inputs, "--output", str(tmp_path / "beam"), *settings,
                       *beam_only]) == 0  # fmt: skip
    assert build_local(["--input", inputs, "--output", str(tmp_path / "local"), *settings]) == 0
    beam = same_dataset(tmp_path / "beam", tmp_path / "local")
    shards = [name for name in beam if name.endswith(".parquet")]
    assert len(shards) == 6
    a = json.loads(beam["manifest.json"])
    assert a["stats"]["long_tokens"] == 2  # both cut to 100 characters, counted


def test_the_local_build_refuses_an_output_in_a_datasets_own_folder(tmp_path, capsys):
    (tmp_path / "c.txt").write_text("a b c\n" * 20)
    argv = ["--input", str(tmp_path / "c.txt"), "--min-count", "1"]
    assert build_local([*argv, "--output", str(tmp_path / "d")]) == 0
    (tmp_path / "d" / "pairs" / "x").mkdir()
    capsys.readouterr()
    assert build_local([*argv, "--output", str(tmp_path / "d" / "pairs" / "x")]) == 2
    assert "a dataset's own folder" in capsys.readouterr().err
    assert os.listdir(tmp_path / "d" / "pairs" / "x") == []

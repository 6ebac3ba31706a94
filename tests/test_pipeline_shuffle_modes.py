"""--shuffle runner (pairs through the runner's GroupByKey) writes the dataset that --shuffle files
(temporary piece files) writes, byte for byte, and leaves no piece file anywhere."""

import json
import os

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing import test_pipeline
from corpora import write_corpus
from tree import file_bytes

from sgns import dataset
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.pairs.make import MakePairs
from sgns.pipeline.pairs.merge import merge_parts, merge_pieces
from sgns.pipeline.pairs.pieces import MAX_FAN_IN, PIECES_DIR, piece_name, piece_path, write_piece
from sgns.pipeline.preprocess import LOCAL_RUNNER, default_shuffle, main
from sgns.pipeline.text.blocks import Source
from sgns.pipeline.text.read import ReadBlocks

WORDS = [f"w{i:03d}" for i in range(300)]
# shards of more than one row group (ROW_GROUP_ROWS), so that their bytes pin the merge's order
SETTINGS = ["--passes", "2", "--num-shards", "2", "--min-count", "2", "--seed", "7",
            "--sample", "0", "--block-bytes", "4096"]  # fmt: skip
FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _write_corpus(root) -> str:
    """Two files of Zipf-like lines, about 60 blocks of 4 KiB; their glob."""
    write_corpus(root, WORDS, files=2, lines=1300, longest=40, seed=3)
    return os.path.join(root, "part-*")


def _files(directory) -> dict:
    """Every file of a dataset directory -> its bytes; the manifest without its timestamps and
    its output's path."""
    found = file_bytes(directory)
    manifest = json.loads(found.pop(dataset.MANIFEST_FILE))
    del manifest["created"], manifest["config"]["output"]
    for increment in manifest["increments"]:
        del increment["created"]
    return found | {"manifest": manifest}


@pytest.fixture(scope="module")
def with_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("shuffle")
    corpus = _write_corpus(root / "corpus")
    out = root / "files"
    assert main(["--input", corpus, "--output", str(out), "--shuffle", "files", *SETTINGS]) == 0
    return corpus, _files(out)


@pytest.mark.slow
def test_runner_shuffle_writes_the_files_shuffle_dataset_byte_for_byte(with_files, tmp_path):
    corpus, want = with_files
    out = tmp_path / "runner"
    assert main(["--input", corpus, "--output", str(out), "--shuffle", "runner", *SETTINGS]) == 0
    got = _files(out)
    shards = [s for p in want["manifest"]["increments"][0]["passes"] for s in p["shards"]]
    assert len(shards) == 4 and all(s["row_groups"] >= 2 for s in shards), shards
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
    assert "shuffle" not in got["manifest"]["config"]  # how it was made, not what it holds


@pytest.mark.slow
def test_an_append_with_the_runner_shuffle_matches_one_with_files(with_files, tmp_path):
    corpus, _ = with_files
    more = tmp_path / "more.txt"
    more.write_text("w001 w002 w003 w999 w998\n" * 300)
    datasets = {}
    for mode in ("files", "runner"):
        out = str(tmp_path / mode)
        shuffle = ["--shuffle", mode]
        assert main(["--input", corpus, "--output", out, *shuffle, *SETTINGS, *FAST]) == 0
        assert main(["--input", str(more), "--output", out, "--append", *shuffle, *FAST]) == 0
        datasets[mode] = _files(out)
    assert len(datasets["runner"]["manifest"]["increments"]) == 2
    assert datasets["runner"] == datasets["files"]


def _make_pairs_only(tmp_path, shuffle: str) -> str:
    out = str(tmp_path / shuffle)
    os.makedirs(out)
    words = [f"w{i}" for i in range(10)]
    with open(os.path.join(out, dataset.VOCAB_FILE), "wb") as f:
        f.write(dataset.format_vocab(words, [10] * 10))
    rng = np.random.default_rng(0)
    text = tmp_path / "a.txt"
    text.write_text("\n".join(" ".join(rng.choice(words, 50)) for _ in range(40)) + "\n")
    config = PipelineConfig(
        inputs=("a",), output=out, sample=0, num_shards=3, block_bytes=1024, shuffle=shuffle
    )
    with test_pipeline.TestPipeline(runner=LOCAL_RUNNER) as p:
        blocks = p | beam.Create([Source(0, str(text))]) | ReadBlocks(1024, 100)
        pieces, _ = blocks | MakePairs(config, [0])
        _ = pieces | beam.GroupByKey()
    return out


def test_the_runner_shuffle_writes_no_piece_files(tmp_path):
    assert os.listdir(os.path.join(_make_pairs_only(tmp_path, "files"), PIECES_DIR))
    assert not os.path.exists(os.path.join(_make_pairs_only(tmp_path, "runner"), PIECES_DIR))


def test_a_shard_from_parts_in_any_order_is_the_shard_from_piece_files(tmp_path):
    rng = np.random.default_rng(9)
    parts = []  # more than MAX_FAN_IN: the grouped merge runs too
    for k in range(MAX_FAN_IN + 44):
        packed = rng.integers(0, 1 << 40, size=int(rng.integers(1, 2000)), dtype=np.int64)
        parts.append((f"0:{k * 4096}:0", packed))
    pieces = []
    for key, packed in parts:
        path = piece_path(str(tmp_path / "files"), 0, 1, key)
        pieces.append((path, write_piece(path, packed)))
    want_path = str(tmp_path / "want.parquet")
    want, _ = merge_pieces(want_path, sorted(pieces), np.random.default_rng(5), str(tmp_path))
    for order in (parts, parts[::-1], [parts[i] for i in rng.permutation(len(parts))]):
        got_path = str(tmp_path / "got.parquet")
        stream = ((piece_name(key), packed.tobytes()) for key, packed in order)
        written, count = merge_parts(got_path, stream, np.random.default_rng(5))
        assert (written, count) == (want, len(parts)) and want[1] >= 2  # row groups
        with open(got_path, "rb") as a, open(want_path, "rb") as b:
            assert a.read() == b.read()


def test_the_default_shuffle_follows_the_runner_and_a_bad_one_is_refused(tmp_path):
    in_memory = ([], ["--runner=DirectRunner"], ["--runner", LOCAL_RUNNER], ["--runner=Dask"])
    for runner in in_memory:  # runners whose GroupByKey holds a key's values in memory
        assert default_shuffle(runner) == "files"
    for distributed in (["--runner=DataflowRunner"], ["--runner", "SparkRunner"],
                        ["--runner=FlinkRunner", "--flink_master=host:8081"]):  # fmt: skip
        assert default_shuffle(distributed) == "runner"
    with pytest.raises(ValueError, match="--shuffle must be files or runner"):
        PipelineConfig(inputs=("a",), output="o", shuffle="objects")
    with pytest.raises(SystemExit) as refused:  # argparse's choices, in one line
        main(["--input", "a", "--output", str(tmp_path / "o"), "--shuffle", "objects"])
    assert refused.value.code == 2


@pytest.mark.slow
def test_dask_runner_with_the_runner_shuffle_writes_the_local_dataset(with_files, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    corpus, want = with_files
    out = tmp_path / "dask"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        runner = ["--runner", "DaskRunner", "--dask_client_address", cluster.scheduler_address]
        args = ["--input", corpus, "--output", str(out), "--shuffle", "runner", *runner]
        assert main(args + SETTINGS) == 0
    assert _files(out) == want


def test_a_grouped_merge_of_a_local_spill_drops_each_group_once_merged(tmp_path):
    from sgns.pipeline.pairs.pieces import reduce_fan_in

    pieces = []
    for k in range(10):
        path = str(tmp_path / f"p{k}.arrow")
        pieces.append((path, write_piece(path, np.arange(k * 5, k * 5 + 5, dtype=np.int64))))
    left, made = reduce_fan_in(pieces, np.random.default_rng(1), str(tmp_path), 3, True)
    assert len(made) == 4 + 2 and [p for p, _ in left] == made[4:]  # 10 -> 4 -> 2 pieces
    assert [os.path.exists(p) for p, _ in pieces] == [False] * 10
    assert [os.path.exists(p) for p in made] == [False] * 4 + [True] * 2
    assert sum(rows for _, rows in left) == 50

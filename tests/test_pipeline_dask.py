"""sgns-preprocess on real distributed engines: Beam's DaskRunner on a dask.distributed
LocalCluster of two worker processes, and DirectRunner's multi_processing mode, give the local
run's dataset (the same vocab.tsv bytes, the same multiset of pairs in every pass)."""

import os

import pyarrow.parquet as pq
import pytest
from corpora import write_corpus

from sgns import dataset
from sgns.pipeline.preprocess import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = [f"w{i:03d}" for i in range(400)]
SETTINGS = ["--passes", "2", "--num-shards", "3", "--min-count", "2", "--seed", "11"]
FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _write_corpus(root) -> str:
    """Six files (plain, .gz, .bz2) of 500 Zipf-like lines each; their glob."""
    write_corpus(root, WORDS, files=6, lines=500, longest=30, seed=5, compress=True)
    return os.path.join(root, "part-*")


def _pairs(directory, pass_index) -> list:
    manifest = dataset.read_manifest(str(directory))
    rows = []
    for shard in dataset.pass_shards(str(directory), manifest, pass_index):
        table = pq.read_table(shard.path)
        rows += zip(table["center"].to_pylist(), table["context"].to_pylist())
    return sorted(rows)


def _same_dataset(got, want) -> None:
    with open(os.path.join(got, "vocab.tsv"), "rb") as a, open(want / "vocab.tsv", "rb") as b:
        assert a.read() == b.read()
    got_stats = dataset.read_manifest(str(got))["stats"]
    assert got_stats == dataset.read_manifest(str(want))["stats"] and got_stats["pairs"] > 0
    for p in (0, 1):
        assert _pairs(got, p) == _pairs(want, p)
    assert not [n for n in os.listdir(got) if n.startswith(".sgns")]


def test_dask_runner_is_taken_by_its_short_name_with_one_source_per_partition():
    pytest.importorskip("dask.distributed")
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners.dask.dask_runner import DaskOptions

    from sgns.pipeline.preprocess import DASK_RUNNER, build_parser, check_options, pipeline_options

    args = ["--runner", "DaskRunner", "--dask_client_address", "HOST:8786"]
    check_options(args, build_parser())  # its options are known, not refused as typos
    options = pipeline_options(args)
    assert options.view_as(StandardOptions).runner == DASK_RUNNER
    assert options.view_as(DaskOptions).partition_size == 1
    assert options.view_as(DaskOptions).address == "HOST:8786"
    mine = pipeline_options(["--runner", DASK_RUNNER, "--dask_npartitions", "7"])
    assert mine.view_as(DaskOptions).npartitions == 7
    assert mine.view_as(DaskOptions).partition_size is None


def test_dask_runner_with_an_object_store_path_is_refused_before_anything_runs(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    out = "s3://some-bucket/data"
    assert main(["--input", str(corpus), "--output", out, "--runner", "DaskRunner"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DaskRunner cannot read or write 's3://some-bucket/data'" in err[0]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    corpus = _write_corpus(root / "corpus")
    assert main(["--input", corpus, "--output", str(root / "local"), *SETTINGS, *FAST]) == 0
    return corpus, root / "local"


@pytest.mark.slow
def test_dask_runner_on_two_worker_processes_gives_the_local_dataset(local, cluster, tmp_path):
    from dask.distributed import Client

    corpus, want = local
    out = str(tmp_path / "dask")
    runner = ["--runner", "DaskRunner", "--dask_client_address", cluster.scheduler_address]
    assert main(["--input", corpus, "--output", out, *SETTINGS, *runner]) == 0
    _same_dataset(out, want)
    with Client(cluster.scheduler_address) as client:  # both processes did some of the work
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and all(n > 0 for n in executed.values()), executed


@pytest.mark.slow
def test_direct_runner_in_worker_processes_gives_the_local_dataset(local, tmp_path, monkeypatch):
    corpus, want = local
    # the SDK worker processes import our steps: they find them as this test process does
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    out = str(tmp_path / "processes")
    runner = ["--runner", "DirectRunner", "--direct_running_mode", "multi_processing"]
    assert main(["--input", corpus, "--output", out, *SETTINGS, *runner]) == 0
    _same_dataset(out, want)

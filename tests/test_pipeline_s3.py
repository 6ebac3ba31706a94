"""sgns-preprocess from s3:// to s3:// through Beam's S3 filesystem and its --s3_* options,
against a real S3 server on 127.0.0.1 (tests/s3server.py): the local run's dataset, the
output's safety logic on an object store (ours or refused, prefix-aware, failures put back), and
a store that stops answering, refuses, or refuses the keys: one line in bounded time."""

import errno
import io
import json
import logging
import os
import time

import pyarrow.parquet as pq
import pytest
from corpora import write_corpus
from s3server import ACCESS_KEY, REGION, SECRET_KEY, dead_endpoint, s3_server  # noqa: F401

from sgns.pipeline.dataset import outdir
from sgns.pipeline.preprocess import main

SETTINGS = ["--passes", "1", "--num-shards", "2", "--min-count", "2", "--seed", "3"]
FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
WORDS = [f"v{i:03d}" for i in range(300)]
FILES = 54  # plain, .gz and .bz2 in turn
_AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")


def _s3_args(server) -> list[str]:
    return [
        "--s3_endpoint_url", server.endpoint, "--s3_access_key_id", ACCESS_KEY,
        "--s3_secret_access_key", SECRET_KEY, "--s3_region_name", REGION,
    ]  # fmt: skip


def _run(server, inputs: str, output: str, *extra, s3_args=None) -> int:
    """sgns-preprocess as a user runs it: the server named only by the --s3_* options (none of
    boto3's AWS_* variables set, so a step that ignored the options would not reach it)."""
    with pytest.MonkeyPatch.context() as env:
        for name in _AWS_ENV:
            env.delenv(name, raising=False)
        args = ["--input", inputs, "--output", output, *SETTINGS, *FAST, *extra]
        s3_args = _s3_args(server) if s3_args is None else s3_args
        return main(args + (s3_args if "s3://" in inputs + output else []))


def _objects(server, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object under s3://bucket/prefix/, its key relative to it -> its bytes."""
    client = server.client()
    return {
        key[len(prefix) + 1 :]: client.get_object(Bucket=bucket, Key=key)["Body"].read()
        for key in server.keys(bucket, prefix + "/")
    }


def _files(directory) -> dict[str, bytes]:
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                found[os.path.relpath(os.path.join(root, name), directory)] = f.read()
    return found


def _pairs(files: dict[str, bytes], pass_index: int) -> list:
    manifest = json.loads(files["manifest.json"])
    rows = []
    for shard in manifest["increments"][-1]["passes"][pass_index]["shards"]:
        table = pq.read_table(io.BytesIO(files[shard["path"]]))
        rows += zip(table["center"].to_pylist(), table["context"].to_pylist())
    return sorted(rows)


def _write_corpus(root) -> list[str]:
    return write_corpus(root, WORDS, FILES, lines=(20, 60), longest=25, seed=9, compress=True)


@pytest.fixture(scope="module")
def corpus(s3_server, tmp_path_factory):  # noqa: F811
    """(bucket, local folder) of the same corpus, uploaded to s3://bucket/corpus/."""
    root = tmp_path_factory.mktemp("s3") / "corpus"
    bucket = s3_server.bucket()
    for name in _write_corpus(root):
        s3_server.client().upload_file(str(root / name), bucket, f"corpus/{name}")
    return bucket, root


@pytest.fixture(scope="module")
def built(s3_server, corpus, tmp_path_factory):  # noqa: F811
    """The corpus preprocessed locally and from s3:// to s3://bucket/data."""
    bucket, root = corpus
    local = tmp_path_factory.mktemp("local") / "data"
    assert _run(s3_server, str(root / "*"), str(local)) == 0
    assert _run(s3_server, f"s3://{bucket}/corpus/*", f"s3://{bucket}/data") == 0
    return _objects(s3_server, bucket, "data"), _files(local)


@pytest.mark.slow
def test_a_sharded_mixed_corpus_on_s3_gives_the_local_dataset(built):
    on_s3, local = built
    assert sorted(on_s3) == sorted(local)  # no temporary object, marker or lock left
    for name in ("vocab.tsv", "counts.tsv"):
        assert on_s3[name] == local[name]
    s3_manifest, local_manifest = (json.loads(d["manifest.json"]) for d in (on_s3, local))
    for key in ("stats", "vocab", "counts", "seed", "schema_version"):
        assert s3_manifest[key] == local_manifest[key]
    s3_passes, local_passes = (m["increments"][0]["passes"] for m in (s3_manifest, local_manifest))
    assert s3_passes == local_passes  # pairs, tokens kept, shard paths, pairs and row groups
    s3_inputs = s3_manifest["increments"][0]["inputs"]
    assert len(s3_inputs) == FILES and all(i["path"].startswith("s3://") for i in s3_inputs)
    assert s3_manifest["stats"]["files"] == FILES and s3_manifest["stats"]["pairs"] > 0
    assert _pairs(on_s3, 0) == _pairs(local, 0)


@pytest.mark.slow
def test_a_prefix_on_s3_that_is_not_a_dataset_is_refused_and_left_as_it_was(s3_server, corpus):  # noqa: F811
    bucket, root = corpus
    s3_server.client().put_object(Bucket=bucket, Key="photos/cat.jpg", Body=b"precious")
    assert _run(s3_server, str(root / "part-000.txt"), f"s3://{bucket}/photos") == 2
    assert _objects(s3_server, bucket, "photos") == {"cat.jpg": b"precious"}


def test_an_input_that_names_no_object_is_said_to_match_none(s3_server, corpus, capsys):  # noqa: F811
    bucket, _ = corpus
    for missing in ("corpus/nothere.txt", "corpus//part-000.txt", "nothere"):
        path = f"s3://{bucket}/{missing}"
        assert _run(s3_server, path, f"s3://{bucket}/out-missing") == 2
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if "error:" in line]
        assert len(lines) == 1 and f"--input pattern {path!r} matches no object" in lines[0], err
        assert "directory" not in lines[0]
    s3_server.client().put_object(Bucket=bucket, Key="tiny/a.txt", Body=b"a b c a b c\n" * 9)
    assert _run(s3_server, f"s3://{bucket}/tiny", f"s3://{bucket}/out-tiny") == 0  # its objects


def test_no_lock_object_is_written_on_s3(s3_server, corpus):  # noqa: F811
    bucket, _ = corpus
    with outdir.DatasetLock(f"s3://{bucket}/locked"):  # no flock there, and no stand-in
        assert s3_server.keys(bucket, "locked") == []


@pytest.mark.slow
def test_objects_beside_the_output_prefix_are_not_inside_it(s3_server, corpus):  # noqa: F811
    bucket, root = corpus
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="ds-notes.txt", Body=b"mine")  # shares "ds" as text
    client.put_object(Bucket=bucket, Key="ds2/pairs/keep.txt", Body=b"mine too")
    for _ in range(2):  # a build, then an overwrite (which removes and moves by prefix)
        assert _run(s3_server, str(root / "part-00[0-2]*"), f"s3://{bucket}/ds", "--overwrite") == 0
    assert client.get_object(Bucket=bucket, Key="ds-notes.txt")["Body"].read() == b"mine"
    assert s3_server.keys(bucket, "ds2") == ["ds2/pairs/keep.txt"]
    assert "manifest.json" in _objects(s3_server, bucket, "ds")


@pytest.mark.slow
def test_a_failed_initial_build_on_s3_leaves_no_object(s3_server, corpus):  # noqa: F811
    bucket, root = corpus
    # every word is rarer than min_count: the vocabulary run writes, then the driver refuses
    words = root.parent / "rare.txt"
    words.write_text("one two three\n")
    assert _run(s3_server, str(words), f"s3://{bucket}/rare", "--min-count", "5") == 2
    assert s3_server.keys(bucket, "rare") == []


@pytest.mark.slow
def test_a_failing_append_on_s3_leaves_the_dataset_as_it_was(s3_server, corpus, monkeypatch):  # noqa: F811
    bucket, root = corpus
    assert _run(s3_server, str(root / "part-01[0-2]*"), f"s3://{bucket}/grow") == 0
    before = _objects(s3_server, bucket, "grow")
    import sgns.pipeline.pairs.merge as shards

    real_write, written = shards.write_shard, []

    def fails_after_one_shard(path, chunks):
        if written:
            raise OSError(errno.EIO, "injected failure while writing a shard")
        written.append(path)
        return real_write(path, chunks)

    monkeypatch.setattr(shards, "write_shard", fails_after_one_shard)
    new = str(root / "part-02[0-2]*")
    assert _run(s3_server, new, f"s3://{bucket}/grow", "--append") == 2
    assert written and written[0].startswith(f"s3://{bucket}/grow/pairs/inc-00001/")
    assert _objects(s3_server, bucket, "grow") == before  # its one shard and all else: gone
    monkeypatch.undo()
    assert _run(s3_server, new, f"s3://{bucket}/grow", "--append") == 0
    manifest = json.loads(_objects(s3_server, bucket, "grow")["manifest.json"])
    assert len(manifest["increments"]) == 2


@pytest.mark.slow
def test_a_swap_cut_short_on_s3_is_finished_by_recover(s3_server, corpus, monkeypatch):  # noqa: F811
    bucket, root = corpus
    out, fresh = f"s3://{bucket}/swap", f"s3://{bucket}/fresh"
    assert _run(s3_server, str(root / "part-03[0-2]*"), out) == 0
    new = str(root / "part-04[0-2]*")
    moves = []
    real_move = outdir._move

    def dies_after_one_move(source, target):
        if moves:
            raise KeyboardInterrupt("killed in the swap")
        moves.append(source)
        real_move(source, target)

    monkeypatch.setattr(outdir, "_move", dies_after_one_move)
    assert _run(s3_server, new, out, "--overwrite") == 130  # interrupted, as a kill would
    halfway = _objects(s3_server, bucket, "swap")
    assert "manifest.json" not in halfway  # the old one is gone, the new not yet there
    assert any(k.startswith(outdir.STAGING_DIR + "/") for k in halfway)  # staged, marked
    monkeypatch.undo()
    outdir.recover(out)  # what any next run does first (claim, then recover)
    assert _run(s3_server, new, fresh) == 0
    got, want = _objects(s3_server, bucket, "swap"), _objects(s3_server, bucket, "fresh")
    assert sorted(got) == sorted(want)  # nothing staged or marked is left
    assert all(got[k] == want[k] for k in want if k != "manifest.json")
    assert json.loads(got["manifest.json"])["config"]["output"] == out


# ---------------------------------------------------------------------------------------------
# A store that fails: one line naming the bucket or key and the cause, exit 2, within a bound

TIMEOUT = 1  # SGNS_S3_TIMEOUT and SGNS_S3_RETRIES in these tests: a request gives up in ~2-3 s
BOUND = 20  # seconds a failed command may take here (it hung 5-6.5 minutes)


@pytest.fixture
def limits(monkeypatch):
    """Small limits; and the root logger's handlers put back after the test (main() sets one
    on capsys's stream, closed once the test ends)."""
    monkeypatch.setenv("SGNS_S3_TIMEOUT", str(TIMEOUT))
    monkeypatch.setenv("SGNS_S3_RETRIES", "1")
    monkeypatch.setattr(logging.getLogger(), "handlers", list(logging.getLogger().handlers))


def _fails_in_one_line(capsys, words: tuple, *run_args, **run_kwargs) -> None:
    """_run(*run_args, **run_kwargs) ends within BOUND seconds, exit 2, and one line on stderr
    (less timestamped log lines) that holds each of `words`."""
    capsys.readouterr()
    start = time.monotonic()
    assert _run(*run_args, **run_kwargs) == 2
    assert time.monotonic() - start < BOUND
    err = [line for line in capsys.readouterr().err.splitlines() if not line[:4].isdigit()]
    assert len(err) == 1 and err[0].startswith("sgns-preprocess: error: "), err
    assert all(word in err[0] for word in words), err
    time.sleep(TIMEOUT)  # a store that did not answer is taken as down for that long


@pytest.fixture(scope="module")
def small(s3_server, corpus):  # noqa: F811
    """A small dataset on s3://bucket/small, and local files to append to it."""
    bucket, root = corpus
    assert _run(s3_server, str(root / "part-05[0-2]*"), f"s3://{bucket}/small") == 0
    return f"s3://{bucket}/small", str(root / "part-05[3-5]*")


@pytest.mark.slow
@pytest.mark.parametrize("how", [["--append"], ["--watch", "--watch-max-increments", "1"]])
def test_a_store_that_stopped_answering_ends_an_append_in_one_line(
    s3_server,  # noqa: F811
    small,
    limits,
    capsys,
    how,
):
    output, new = small
    bucket = output.split("/")[2]
    before = _objects(s3_server, bucket, "small")
    with s3_server.stalled():
        words = (f"{output}/manifest.json", "did not answer")
        _fails_in_one_line(capsys, words, s3_server, new, output, *how, "--poll-seconds", "0.1")
    assert _objects(s3_server, bucket, "small") == before


@pytest.mark.slow
def test_a_store_that_stops_answering_mid_append_leaves_its_dataset(
    s3_server,  # noqa: F811
    corpus,
    limits,
    monkeypatch,
    capsys,
):
    bucket, root = corpus
    output, new = f"s3://{bucket}/paused", str(root / "part-04[6-8]*")
    assert _run(s3_server, str(root / "part-04[3-5]*"), output) == 0
    manifest = _objects(s3_server, bucket, "paused")["manifest.json"]
    import sgns.pipeline.pairs.merge as shards

    real_write, stalled = shards.write_shard, s3_server.stalled()

    def stalls_the_store(path, chunks):  # the store stops answering as the shards are written
        stalled.__enter__()
        return real_write(path, chunks)

    monkeypatch.setattr(shards, "write_shard", stalls_the_store)
    try:
        _fails_in_one_line(capsys, (output, "did not answer"), s3_server, new, output, "--append")
    finally:
        stalled.__exit__(None, None, None)
    monkeypatch.undo()
    assert _objects(s3_server, bucket, "paused")["manifest.json"] == manifest
    assert _run(s3_server, new, output, "--append") == 0
    assert not [k for k in _objects(s3_server, bucket, "paused") if ".sgns-tmp-" in k]  # removed
    assert (
        len(json.loads(_objects(s3_server, bucket, "paused")["manifest.json"])["increments"]) == 2
    )


def _with(s3_args: list[str], option: str, value: str) -> list[str]:
    return [value if s3_args[i - 1] == option else a for i, a in enumerate(s3_args)]


def test_a_killed_store_is_one_line(s3_server, corpus, limits, capsys):  # noqa: F811
    bucket, root = corpus
    s3_args = _with(_s3_args(s3_server), "--s3_endpoint_url", dead_endpoint())
    words = (f"s3://{bucket}/gone", "refused the connection")
    _fails_in_one_line(
        capsys, words, s3_server, str(root / "part-000*"), f"s3://{bucket}/gone", s3_args=s3_args
    )


def test_a_wrong_key_is_one_line(s3_server, corpus, limits, capsys, tmp_path):  # noqa: F811
    bucket, _ = corpus
    s3_args = _with(_s3_args(s3_server), "--s3_access_key_id", "wrong")  # (the server checks ids)
    words = (f"s3://{bucket}/corpus/", "access denied")
    _fails_in_one_line(
        capsys, words, s3_server, f"s3://{bucket}/corpus/*", str(tmp_path / "x"), s3_args=s3_args
    )


@pytest.mark.parametrize("where", ["input", "output"])
def test_a_missing_bucket_is_one_line(s3_server, corpus, limits, capsys, tmp_path, where):  # noqa: F811
    missing = "s3://sgns-no-such-bucket/data"
    local = (str(corpus[1] / "part-000*"), str(tmp_path / "x"))
    paths = (missing + "/*", local[1]) if where == "input" else (local[0], missing)
    _fails_in_one_line(capsys, ("s3://sgns-no-such-bucket/", "does not exist"), s3_server, *paths)


@pytest.mark.parametrize(
    "name,value",
    [("SGNS_S3_TIMEOUT", "nan"), ("SGNS_S3_RETRIES", "1e3"), ("SGNS_S3_RETRIES", "11")],
)
def test_a_bad_store_setting_is_one_line(s3_server, corpus, limits, capsys, tmp_path, monkeypatch,  # noqa: F811
                                         name, value):  # fmt: skip
    monkeypatch.setenv(name, value)  # (past 10 retries a dead store would take minutes again)
    words = (f"{name}={value}", "retries from 0 to 10")
    bucket, _ = corpus
    _fails_in_one_line(
        capsys, words, s3_server, f"s3://{bucket}/corpus/part-000.txt", str(tmp_path / "x")
    )


def test_a_manifest_naming_a_users_object_as_vocab_file_is_damaged_on_s3(
    s3_server,  # noqa: F811
    corpus,
    capsys,
):
    """--append published the vocabulary to the manifest's vocab.file: a user's object in the
    dataset's prefix was overwritten (fourth probe F2, on S3)."""
    bucket, root = corpus
    assert _run(s3_server, str(root / "part-04[0-2]*"), f"s3://{bucket}/named") == 0
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="named/notes.txt", Body=b"my notes\n")
    manifest = json.loads(_objects(s3_server, bucket, "named")["manifest.json"])
    manifest["vocab"]["file"] = "notes.txt"
    client.put_object(Bucket=bucket, Key="named/manifest.json", Body=json.dumps(manifest).encode())
    before = _objects(s3_server, bucket, "named")
    assert _run(s3_server, str(root / "part-04[3-5]*"), f"s3://{bucket}/named", "--append") == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "vocab.file is 'notes.txt', not 'vocab.tsv'" in lines[0], lines
    assert _objects(s3_server, bucket, "named") == before

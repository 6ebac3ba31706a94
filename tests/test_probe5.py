"""Issue 20, a fifth probe's findings in the pipeline, sgns-synth, the Python API and training:
a failed sgns-synth leaves the old files, a corpus changed between the pipeline's two reads is
refused, an increment listed twice (a copy, a hard link) is damaged, a failed sgns.fit leaves
its workdir as it found it, --follow's poll has a floor, and a dataset's own file is no input."""

import copy
import errno
import gzip
import json
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from procs import cli, one_line
from train_helpers import append_tiny_increment, write_tiny_dataset

from sgns import dataset
from sgns.pipeline import runs
from sgns.pipeline.preprocess import main as preprocess
from sgns.synth import generate
from sgns.synth.cli import main as synth

SYNTH = ["--tokens", "2000"]
FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
TRAIN = ["--dim", "8", "--epochs", "1", "--threads", "1"]


def _files(folder) -> dict:
    """Every file under `folder`, by its path there, with its bytes."""
    found = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): p.read_bytes() for p in found}


def test_synth_refused_for_its_truth_file_leaves_the_old_corpus_and_its_files(tmp_path, capsys):
    out = tmp_path / "c.txt"
    assert synth(["--output", str(out), *SYNTH, "--seed", "0"]) == 0
    before = _files(tmp_path)
    assert len(before) == 4
    missing = tmp_path / "nodir" / "t.json"
    assert synth(["--output", str(out), *SYNTH, "--seed", "2", "--truth", str(missing)]) == 2
    line = one_line(capsys.readouterr().err, "sgns-synth")
    assert "--truth" in line and "nodir" in line and "does not exist" in line, line
    assert _files(tmp_path) == before


def test_synth_with_a_name_too_long_for_a_file_beside_it_writes_nothing(tmp_path, capsys):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    out = tmp_path / ("c" * (limit - 4) + ".txt")  # fits; OUT.truth.json does not
    assert synth(["--output", str(out), *SYNTH]) == 2
    line = one_line(capsys.readouterr().err, "sgns-synth")
    assert "truth.json" in line and f"{limit}" in line and "shorter" in line, line
    assert list(tmp_path.iterdir()) == []


def test_synth_that_fails_on_its_last_file_replaces_none_of_the_four(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c.txt"
    assert synth(["--output", str(out), *SYNTH, "--seed", "0"]) == 0
    before = _files(tmp_path)

    def full_disk(*args):  # the disk fills while the last file (the similarity pairs) is written
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out) + ".similarity.tsv")

    monkeypatch.setattr(generate, "similarity_pairs", full_disk)
    assert synth(["--output", str(out), *SYNTH, "--seed", "2"]) == 2
    assert "no space left" in one_line(capsys.readouterr().err, "sgns-synth")
    assert _files(tmp_path) == before  # (no temporary file left either)


def _corpus(path, seed: int, lines: int = 400) -> None:
    words = [f"w{i}" for i in range(40)]
    path.write_text("".join(" ".join(words[(seed + n * k) % 40] for k in range(1, 9)) + "\n"
                            for n in range(lines)))  # fmt: skip


def _dataset(tmp_path):
    """A dataset of one corpus file, `tmp_path`/d, built by sgns-preprocess."""
    out, corpus = tmp_path / "d", tmp_path / "a.txt"
    _corpus(corpus, 0)
    assert (
        preprocess(["--input", str(corpus), "--output", str(out), "--min-count", "1", *FAST]) == 0
    )
    return out


def _between_the_runs(monkeypatch, change) -> None:
    """Call `change()` after the vocabulary run, before the pairs run reads the inputs."""
    checked = runs.check_vocabulary

    def check(*args, **kwargs):
        checked(*args, **kwargs)
        change()

    monkeypatch.setattr(runs, "check_vocabulary", check)


@pytest.mark.parametrize("change", ["cut", "rewritten", "gz replaced"])
def test_an_input_changed_between_the_vocabulary_and_pairs_runs_is_refused(
    tmp_path, monkeypatch, capsys, change
):
    out = _dataset(tmp_path)
    before = _files(out)
    corpus = tmp_path / ("new.txt.gz" if change == "gz replaced" else "new.txt")
    _corpus(tmp_path / "plain.txt", 3)
    data = (tmp_path / "plain.txt").read_bytes()
    corpus.write_bytes(gzip.compress(data) if change == "gz replaced" else data)

    def edit():
        if change == "rewritten":  # the same size, other text: only its mtime tells
            corpus.write_bytes(data.replace(b"w1 ", b"w2 "))
            os.utime(corpus, ns=(0, os.stat(corpus).st_mtime_ns + 10**9))
        elif change == "cut":
            corpus.write_bytes(data[: len(data) // 4])
        else:  # a whole .gz of a quarter of the text
            corpus.write_bytes(gzip.compress(data[: len(data) // 4]))

    _between_the_runs(monkeypatch, edit)
    assert preprocess(["--input", str(corpus), "--output", str(out), "--append", *FAST]) == 2
    line = one_line(capsys.readouterr().err, "sgns-preprocess")
    assert str(corpus) in line and "changed while" in line, line
    assert _files(out) == before  # the dataset as it was


GROWN = {  # how a file grows between the runs: (its name, its bytes, the bytes appended, flags)
    "utf-16, read whole": ("c.txt", lambda t: t.encode("utf-16"), lambda t: t.encode("utf-16-le"),
                           ["--encoding", "utf-16"]),
    ".gz, read whole": ("c.txt.gz", lambda t: gzip.compress(t.encode()),
                        lambda t: gzip.compress(t.encode()), []),
    "a last line without its newline": ("c.txt", lambda t: t.rstrip("\n").encode(),
                                        lambda t: (" more " + t).encode(), []),
}  # fmt: skip


@pytest.mark.parametrize("how", sorted(GROWN))
def test_an_input_that_grew_between_the_runs_and_is_read_past_its_listed_size_is_refused(
    tmp_path, monkeypatch, capsys, how
):
    """(review of FI's F3) utf-16 or .gz text appended after the vocabulary run was paired but
    never counted: exit 0, tokens 20000 and tokens_kept 80000."""
    name, content, appended, flags = GROWN[how]
    _corpus(tmp_path / "plain.txt", 3)
    text = (tmp_path / "plain.txt").read_text()
    corpus, out = tmp_path / name, tmp_path / "d"
    corpus.write_bytes(content(text))
    listed = corpus.stat().st_size

    def grow():
        with open(corpus, "ab") as f:
            f.write(appended(text))

    _between_the_runs(monkeypatch, grow)
    args = ["--input", str(corpus), "--output", str(out), "--min-count", "1", *flags, *FAST]
    assert preprocess(args) == 2
    line = one_line(capsys.readouterr().err, "sgns-preprocess")
    assert str(corpus) in line and f"changed while sgns-preprocess read it ({listed} bytes" in line
    assert not (out / dataset.MANIFEST_FILE).exists()


def test_a_file_read_in_ranges_that_grew_after_a_whole_line_is_read_to_its_listed_size(
    tmp_path, monkeypatch
):
    _corpus(tmp_path / "c.txt", 3)
    corpus, out = tmp_path / "c.txt", tmp_path / "d"
    tokens = len(corpus.read_text().split())

    def grow():
        with open(corpus, "a") as f:
            f.write(corpus.read_text())

    _between_the_runs(monkeypatch, grow)
    args = ["--input", str(corpus), "--output", str(out), "--min-count", "1", "--sample", "0"]
    assert preprocess([*args, *FAST]) == 0
    stats = dataset.read_manifest(str(out))["stats"]
    assert stats["tokens"] == stats["tokens_kept"] == tokens  # (the text when listed, twice read)


def _copied_increment(directory, how: str) -> None:
    """List the dataset's last increment again as a new one, its shard files and snapshots
    copied (`how` "copy"), hard-linked ("link") to the new increment's folders, as a user who
    wants its text trained twice might (the manifest is damaged)."""
    manifest = dataset.read_manifest(directory)
    last = manifest["increments"][-1]
    new = copy.deepcopy(last)
    new["index"] = k = last["index"] + 1
    new["new_words"] = 0  # (its vocabulary the last one's: the sizes add up)
    old_folder, new_folder = f"inc-{k - 1:05d}", f"inc-{k:05d}"
    for listed in new["passes"]:
        for shard in listed["shards"]:
            source = os.path.join(directory, shard["path"])
            shard["path"] = shard["path"].replace(old_folder, new_folder)
            target = os.path.join(directory, shard["path"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            (os.link if how == "link" else shutil.copyfile)(source, target)
    shutil.copytree(os.path.join(directory, "snapshots", old_folder),
                    os.path.join(directory, "snapshots", new_folder))  # fmt: skip
    manifest["increments"].append(new)
    for key in ("vocab", "counts"):
        if "snapshot" in manifest.get(key, {}):
            manifest[key]["snapshot"] = manifest[key]["snapshot"].replace(old_folder, new_folder)
    dataset.write_manifest_local(directory, manifest)


@pytest.mark.parametrize("how", ["copy", "link"])
def test_an_increment_copied_or_hard_linked_and_listed_again_is_refused(tmp_path, how):
    data = str(tmp_path / "d")
    write_tiny_dataset(data, sorted_rows=True)
    append_tiny_increment(data)
    dataset.read_manifest(data)  # two increments of their own: read
    _copied_increment(data, how)
    with pytest.raises(dataset.DamagedManifest) as refused:
        dataset.read_manifest(data)
    said = str(refused.value)
    assert "increment 1" in said and "increment 2" in said and "twice" in said, said
    if how == "copy":  # the trainer says it in one line, before it trains
        code, err = cli("sgns.train.cli", ["--data", data, "--output", str(tmp_path / "r"), *TRAIN])
        assert code == 2 and "the manifest is damaged" in one_line(err, "sgns-train"), err
        assert not (tmp_path / "r").exists()


def test_two_increments_alike_in_the_manifest_but_not_in_their_pairs_are_read(tmp_path):
    data = str(tmp_path / "d")
    write_tiny_dataset(data, sorted_rows=True)
    append_tiny_increment(data)
    _copied_increment(data, "copy")
    shard = os.path.join(data, dataset.shard_path(2, 0, 0, 2))  # other pairs, as many, in as
    # many row groups: another increment's, alike in the manifest (as tiny ones may be)
    table = pq.read_table(shard)
    centers = pa.array(table.column(0).to_numpy()[::-1].copy())
    pq.write_table(table.set_column(0, table.schema.field(0), centers), shard, row_group_size=64)
    listed = dataset.read_manifest(data)["increments"][2]["passes"][0]["shards"][0]
    assert pq.ParquetFile(shard).num_row_groups == listed["row_groups"]
    assert len(dataset.read_manifest(data)["increments"]) == 3


def _sentences(count: int = 1500) -> list[list[str]]:
    return [[f"w{(n * k) % 50}" for k in range(1, 9)] for n in range(count)]


@pytest.mark.parametrize("made", [True, False])
def test_a_failed_fit_leaves_its_workdir_as_it_found_it_and_a_retry_there_trains(tmp_path, made):
    import sgns

    workdir = tmp_path / "new" / "wk" if made else tmp_path / "wk"
    if not made:
        workdir.mkdir()
    bad = _sentences()
    bad[700] = ["ok", "bad token"]  # refused as sentence 701 is written, 700 lines after the start
    settings = {"workdir": str(workdir), "min_count": 2, "dim": 8, "epochs": 1, "workers": 1}
    with pytest.raises(sgns.UsageError, match="sentence 701"):
        sgns.fit(bad, **settings)
    assert not (tmp_path / "new").exists() if made else list(workdir.iterdir()) == []

    def failing():  # a generator of the caller's that fails midway
        yield from _sentences()[:900]
        raise ValueError("the caller's own error")

    with pytest.raises(ValueError, match="the caller's own error"):
        sgns.fit(failing(), **settings)
    assert not (tmp_path / "new").exists() if made else list(workdir.iterdir()) == []
    assert len(sgns.fit(_sentences(), **settings).words) == 50  # the retry, in the same workdir
    assert (workdir / "run").is_dir()


def test_a_failed_fit_keeps_what_was_in_its_workdir_before(tmp_path):
    import sgns

    workdir = tmp_path / "wk"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("mine")
    with pytest.raises(sgns.UsageError, match="not empty"):  # refused: nothing touched
        sgns.fit(_sentences(), workdir=str(workdir), min_count=2, dim=8, epochs=1, workers=1)
    assert [p.name for p in workdir.iterdir()] == ["notes.txt"]


def test_a_runs_config_in_a_removed_folder_is_a_missing_file_error(tmp_path):
    import sgns
    from sgns.errors import MissingFileError

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"dim": 8}')
    assert sgns.Run(run).config == {"dim": 8}
    shutil.rmtree(run)
    for read in (lambda r: r.config, lambda r: r.vectors):  # (as .vectors says it)
        with pytest.raises(MissingFileError, match="not exist") as raised:
            read(sgns.Run(run))
        assert str(run) in str(raised.value) and "Traceback" not in str(raised.value)


@pytest.mark.parametrize("size", [0, 20, 45, 999])
def test_an_increments_vocab_size_that_does_not_add_up_is_the_manifests_fault(tmp_path, size):
    data = str(tmp_path / "d")
    write_tiny_dataset(data, sorted_rows=True)  # 40 words, then 6 new ones: 46
    append_tiny_increment(data)
    path = os.path.join(data, dataset.MANIFEST_FILE)
    manifest = json.load(open(path))
    manifest["increments"][0 if size != 45 else 1]["vocab_size"] = size
    dataset.write_manifest_local(data, manifest)
    with pytest.raises(dataset.DamagedManifest, match="vocab_size is") as refused:
        dataset.read_manifest(data)
    assert f"vocab_size is {size}, not" in str(refused.value)


def test_resume_on_a_manifest_whose_vocab_size_was_changed_blames_the_manifest(tmp_path):
    data, run = str(tmp_path / "d"), str(tmp_path / "r")
    write_tiny_dataset(data, sorted_rows=True)
    append_tiny_increment(data)
    assert cli("sgns.train.cli", ["--data", data, "--output", run, *TRAIN])[0] == 0
    path = os.path.join(data, dataset.MANIFEST_FILE)
    manifest = json.load(open(path))
    manifest["increments"][0]["vocab_size"] = 20
    dataset.write_manifest_local(data, manifest)
    code, err = cli("sgns.train.cli", ["--data", data, "--output", run, "--resume", *TRAIN])
    line = one_line(err, "sgns-train")
    assert code == 2 and "increment 0's vocab_size is 20" in line, line
    assert "the manifest is damaged" in line and "checkpoint" not in line, line


@pytest.mark.parametrize("mode", ["append", "overwrite", "watch"])
def test_an_input_inside_the_output_dataset_is_refused(tmp_path, capsys, mode):
    out = _dataset(tmp_path)
    before = _files(out)
    capsys.readouterr()
    given = {"append": str(out / "vocab.tsv"), "overwrite": f"{tmp_path}/a.txt,{out}/*.tsv",
             "watch": f"{out}/*.tsv"}[mode]  # fmt: skip
    flags = {
        "append": ["--append"],
        "overwrite": ["--overwrite"],
        "watch": ["--watch", "--poll-seconds", "0.05", "--watch-max-increments", "1"],
    }[mode]
    assert preprocess(["--input", given, "--output", str(out), *flags, *FAST]) == 2
    line = one_line(capsys.readouterr().err, "sgns-preprocess")
    assert f"{out}{os.sep}" in line and "lies in the dataset" in line, line
    assert _files(out) == before

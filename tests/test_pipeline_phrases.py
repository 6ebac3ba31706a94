"""--phrases: word2phrase's bigram detection as pipeline stages. Scores are word2phrase's formula
(checked by hand), two rounds make trigrams, connector words (--phrase-connectors) never start or
end a phrase but may stand inside one, the table is part of the dataset and --append applies it,
the build without Beam equals Beam's byte for byte, DaskRunner gives the same table, and pruning
bounds what a round holds. (A table applied to text: tests/test_pipeline_phrases_apply.py.)"""

import gzip
import hashlib
import math
import os
import random
import shutil
import signal

import pyarrow as pa
import pytest
from s3server import ACCESS_KEY, REGION, SECRET_KEY, s3_server  # noqa: F401
from tree import same_dataset

from sgns import dataset
from sgns.pipeline.local import main as build_local
from sgns.pipeline.phrases.counts import Summed, add_counts, compact
from sgns.pipeline.phrases.table import (
    ENGLISH_CONNECTORS,
    connector_words,
    load_phrases,
)
from sgns.pipeline.preprocess import main as preprocess
from sgns.pipeline.text.tokens import COUNTS_SCHEMA

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
# The hand-checked corpus: 14 tokens; new 5, york 4; the pair "new york" 3 times, every other
# pair once; "york is" / "is new" never cross the line between "york" and "is".
SMALL = "new york times\nnew york\nnew york city\nthe new car\nyork is new\n"
# The phrase settings of `built` (tests/test_pipeline_phrases_apply.py builds its dataset so too):
# the phrases replace their words, as word2phrase's text (tests/test_pipeline_phrase_words.py: keep)
SETTINGS = ["--min-count", "3", "--phrases", "2", "--phrase-scorer", "word2phrase",
            "--phrase-threshold", "9", "--lowercase", "--tokenizer", "words",
            "--phrase-connectors", "english", "--phrase-words", "replace"]  # fmt: skip


def _noise(rng: random.Random, words: int) -> str:
    return " ".join(f"w{rng.randrange(40)}" for _ in range(words))


def _corpus() -> str:
    """Lines of noise words; a third of them hold "new york times" (half "New York Times,"), a
    third "york" alone, a third "times" alone. Round 1: new_york scores about N / (t + y) and
    york_times about N t / ((t + y) (t + m)), half that (t, y, m: the three kinds of line, N:
    the tokens); round 2: new_york_times scores about N / (t + m), as new_york did. A fifth of
    the lines end in "the bank of America": with connector words, the pair (bank, america),
    "of" between; without, "the bank" and "bank of" are pairs as good."""
    rng = random.Random(5)
    lines = []
    for i in range(1500):
        inserted = ("new york times", "york", "times")[i % 3]
        if i % 6 == 3:
            inserted = "New York Times,"  # --tokenizer words splits the comma off
        before, after = _noise(rng, rng.randint(0, 6)), _noise(rng, rng.randint(0, 6))
        lines.append(f"{before} {inserted} {after}" + ("" if i % 5 else " the bank of America"))
    return "\n".join(lines) + "\n"


def _table(directory) -> list[list[str]]:
    with open(os.path.join(directory, "phrases.tsv"), encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def _vocab(directory) -> dict:
    words, counts = dataset.read_vocab(str(directory))
    return dict(zip(words, counts))


def test_scores_are_word2phrases_formula_and_the_pairs_are_joined(tmp_path):
    (tmp_path / "c.txt").write_text(SMALL)

    def build(name, *more):
        args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / name),
                "--min-count", "1", "--phrases", "1", "--phrase-min-count", "2",
                "--phrase-words", "replace", *more]  # fmt: skip
        assert build_local(args) == 0

    build("w2p", "--phrase-scorer", "word2phrase", "--phrase-threshold", "0.5")
    rows = _table(tmp_path / "w2p")
    # only "new york" is seen >= 2 times: (count(ab) - min_count) / count(a) / count(b) * tokens
    assert [r[:3] for r in rows] == [["new_york", "new", "york"]]
    assert float(rows[0][3]) == pytest.approx((3 - 2) / 5 / 4 * 14, rel=1e-12)  # 0.7
    assert rows[0][4:] == ["3", "1"]
    vocab = _vocab(tmp_path / "w2p")
    assert (vocab["new_york"], vocab["new"], vocab["york"]) == (3, 2, 1)
    manifest = dataset.read_manifest(str(tmp_path / "w2p"))
    assert manifest["stats"]["tokens"] == 14 - 3  # a phrase is one token
    assert manifest["phrases"]["rounds"][0]["tokens"] == 14
    # above the threshold only: 0.7 is not > 0.75
    build("hi", "--phrase-scorer", "word2phrase", "--phrase-threshold", "0.75")
    assert _table(tmp_path / "hi") == [] and "new_york" not in _vocab(tmp_path / "hi")
    # gensim's npmi: log(p(ab) / (p(a) p(b))) / -log(p(ab)), p = count / 14
    build("npmi", "--phrase-scorer", "npmi", "--phrase-threshold", "0.4")
    expected = math.log((3 / 14) / ((5 / 14) * (4 / 14))) / -math.log(3 / 14)  # 0.4816
    rows = _table(tmp_path / "npmi")
    assert [r[0] for r in rows] == ["new_york"]
    assert float(rows[0][3]) == pytest.approx(expected, rel=1e-12)
    # the default: npmi above 0.6 (0.4816 is not); word2phrase's default threshold is its 100
    build("default")
    config = dataset.read_manifest(str(tmp_path / "default"))["config"]
    assert (config["phrase_scorer"], config["phrase_threshold"]) == ("npmi", 0.6)
    assert _table(tmp_path / "default") == []
    build("w2p-default", "--phrase-scorer", "word2phrase")
    config = dataset.read_manifest(str(tmp_path / "w2p-default"))["config"]
    assert (config["phrase_scorer"], config["phrase_threshold"]) == ("word2phrase", 100)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The corpus (a plain file and a .gz one), built by Beam and without Beam, 2 rounds."""
    root = tmp_path_factory.mktemp("phrases")
    text = _corpus()
    (root / "a.txt").write_text(text)
    with gzip.open(root / "b.txt.gz", "wt") as f:
        f.write(text[: len(text) // 3])
    inputs = f"{root / 'a.txt'},{root / 'b.txt.gz'}"
    settings = [*SETTINGS, "--passes", "2", "--num-shards", "3", "--block-bytes", "8192"]
    assert preprocess(["--input", inputs, "--output", str(root / "beam"), *settings, *FAST]) == 0
    assert build_local(["--input", inputs, "--output", str(root / "local"), *settings]) == 0
    return root, inputs, settings


def test_two_rounds_make_trigrams_and_the_table_is_in_the_manifest(built):
    root, _, _ = built
    rows = _table(root / "beam")
    # york_times, about half as likely as new_york, is no phrase; "of" is a connector word
    want = [["bank_of_america", "bank", "america", "1"], ["new_york", "new", "york", "1"],
            ["new_york_times", "new_york", "times", "2"]]  # fmt: skip
    assert sorted(r[:3] + r[5:] for r in rows) == want
    vocab = _vocab(root / "beam")
    text = (root / "a.txt").read_text() + gzip.decompress((root / "b.txt.gz").read_bytes()).decode()
    trigrams = text.lower().count("new york times")
    assert vocab["new_york_times"] == trigrams > 600 and "new" not in vocab and "york" in vocab
    banks = text.lower().count("the bank of america")
    assert vocab["bank_of_america"] == vocab["the"] == banks > 350 and "of" not in vocab
    manifest = dataset.read_manifest(str(root / "beam"))
    entry = manifest["phrases"]
    data = (root / "beam" / "phrases.tsv").read_bytes()
    assert entry["file"] == "phrases.tsv" and entry["phrases"] == len(rows) > 1
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert [r["round"] for r in entry["rounds"]] == [1, 2] and entry["rounds"][1]["phrases"] > 0
    assert manifest["config"]["phrases"] == 2 and manifest["config"]["phrase_threshold"] == 9
    assert manifest["config"]["phrase_connectors"] == "english"
    assert entry["connectors"] == sorted(ENGLISH_CONNECTORS)
    phrases = load_phrases(str(root / "beam"))  # the user's API
    assert phrases.apply("the new york times said".split())[:2] == ["the", "new_york_times"]
    assert phrases.apply("a bank of america of".split()) == ["a", "bank_of_america", "of"]


def test_a_connectors_file_that_cannot_be_read_is_named_with_its_option(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 de la".encode("latin-1"))
    for bad in (tmp_path, tmp_path / "latin1.txt"):  # a folder; text that is not UTF-8
        with pytest.raises(ValueError, match=f"--phrase-connectors {bad}: "):
            connector_words(str(bad))


def test_a_connectors_file_on_s3_is_read_through_the_s3_options(s3_server, tmp_path, capsys):  # noqa: F811
    bucket = s3_server.bucket()
    s3_server.client().put_object(Bucket=bucket, Key="words/of.txt", Body=b"of the\n")
    (tmp_path / "c.txt").write_text(_corpus())
    connectors = f"s3://{bucket}/words/of.txt"
    settings = ["--phrases", "1", "--phrase-scorer", "word2phrase", "--phrase-threshold", "9",
                "--lowercase", "--phrase-connectors", connectors]  # fmt: skip
    s3 = ["--s3_endpoint_url", s3_server.endpoint, "--s3_access_key_id", ACCESS_KEY,
          "--s3_secret_access_key", SECRET_KEY, "--s3_region_name", REGION]  # fmt: skip

    def run(name, output, *more) -> int:  # as a user runs it: the store named by --s3_* only
        with pytest.MonkeyPatch.context() as env:
            for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
                env.delenv(variable)
            args = ["--input", str(tmp_path / name), "--output", str(tmp_path / output), *more]
            return preprocess([*args, *s3, *FAST])

    assert run("c.txt", "beam", *settings) == 0
    assert ["bank_of_america", "bank", "america"] in [r[:3] for r in _table(tmp_path / "beam")]
    manifest = dataset.read_manifest(str(tmp_path / "beam"))
    assert manifest["phrases"]["connectors"] == ["of", "the"]
    assert manifest["config"]["phrase_connectors"] == connectors
    # without Beam, through the store's environment (s3server's): the same table
    assert build_local(["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "local"),
                        *settings]) == 0  # fmt: skip
    assert _table(tmp_path / "local") == _table(tmp_path / "beam")
    # the table of a dataset on S3, or the file itself, applied as the dataset tokenised
    for name in ("manifest.json", "phrases.tsv"):
        s3_server.client().upload_file(str(tmp_path / "beam" / name), bucket, f"ds/{name}")
    for location in (f"s3://{bucket}/ds", f"s3://{bucket}/ds/phrases.tsv"):
        assert load_phrases(location).apply(["Bank", "of", "America"]) == ["bank_of_america"]
    # --append compares the setting as written and never reads the file again
    s3_server.client().delete_object(Bucket=bucket, Key="words/of.txt")
    (tmp_path / "d.txt").write_text("at the bank of america\n" * 20)
    before = _vocab(tmp_path / "beam")["bank_of_america"]
    assert run("d.txt", "beam", "--append", "--phrase-connectors", connectors) == 0
    assert _vocab(tmp_path / "beam")["bank_of_america"] == before + 20
    # a file that is not there: one line naming the option, soon, and no folder made
    capsys.readouterr()
    previous = signal.signal(signal.SIGALRM, _too_long)
    signal.alarm(60)  # (it hung here: a store's 404 is its own cause, and the error's chain
    try:  # was walked for the store's line without end)
        assert run("c.txt", "missing", *settings) == 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--phrase-connectors {connectors!r} is no file" in err[0], err
    assert not (tmp_path / "missing").exists()


def _too_long(signum, frame):
    raise TimeoutError("sgns-preprocess took more than 60 s")


def test_a_phrase_never_starts_or_ends_with_a_connector_word(tmp_path):
    (tmp_path / "c.txt").write_text(_corpus())
    (tmp_path / "words.txt").write_text("of the\n")

    def build(name, connectors) -> list[list[str]]:
        args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / name),
                "--phrases", "1", "--phrase-scorer", "word2phrase", "--phrase-threshold", "9",
                "--lowercase", "--phrase-connectors", connectors]  # fmt: skip
        assert build_local(args) == 0
        return _table(tmp_path / name)

    def ends(rows) -> set:
        return {w for r in rows for w in (r[1], r[2], r[0].split("_")[0], r[0].split("_")[-1])}

    # without connector words, "the bank" and "of america" are phrases as good as any
    rows = build("none", "none")
    assert ends(rows) & set(ENGLISH_CONNECTORS) == {"the", "of"}
    assert "bank_of_america" not in [r[0] for r in rows]
    rows = build("english", "english")
    assert not ends(rows) & set(ENGLISH_CONNECTORS)
    assert ["bank_of_america", "bank", "america"] in [r[:3] for r in rows]
    # a file of words: the same phrases here (no other connector word is in the text)
    assert build("file", str(tmp_path / "words.txt")) == rows
    entry = dataset.read_manifest(str(tmp_path / "file"))["phrases"]
    assert entry["connectors"] == ["of", "the"]


def test_without_beam_the_same_dataset_byte_for_byte(built):
    root, _, _ = built
    assert "phrases.tsv" in same_dataset(root / "beam", root / "local")


def test_append_applies_the_datasets_table_and_refuses_other_settings(built, tmp_path, capsys):
    root, _, _ = built
    out = tmp_path / "data"
    shutil.copytree(root / "beam", out)
    table = (out / "phrases.tsv").read_bytes()
    before = _vocab(out)
    (tmp_path / "new.txt").write_text("the new york times said so\nat the bank of america\n" * 40)
    assert preprocess(["--input", str(tmp_path / "new.txt"), "--output", str(out), "--append",
                       *FAST]) == 0  # fmt: skip
    after = _vocab(out)
    assert after["new_york_times"] == before["new_york_times"] + 40
    assert after["bank_of_america"] == before["bank_of_america"] + 40 and "of" not in after
    assert after.get("new", 0) == before.get("new", 0) == 0 and after["york"] == before["york"]
    assert (out / "phrases.tsv").read_bytes() == table  # applied, never detected again
    assert dataset.read_manifest(str(out))["phrases"]["sha256"] == hashlib.sha256(table).hexdigest()
    (tmp_path / "more.txt").write_text("new york\n")
    more = ["--input", str(tmp_path / "more.txt"), "--output", str(out), "--append"]
    capsys.readouterr()
    assert preprocess([*more, "--phrases", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--phrases 1 differs from the dataset's phrases 2" in err[0]
    assert preprocess([*more, "--phrase-connectors", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--phrase-connectors none differs from the dataset's phrase_connectors english" in err[0]
    (out / "phrases.tsv").write_bytes(table + b"x\tx\n")  # edited after the dataset was built
    assert preprocess(more) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "phrases.tsv" in err[0] and "sha256 differs" in err[0]


def test_overwrite_without_phrases_leaves_no_table(built, tmp_path):
    root, inputs, _ = built
    out = tmp_path / "data"
    shutil.copytree(root / "beam", out)
    assert preprocess(["--input", inputs, "--output", str(out), "--overwrite", *FAST]) == 0
    assert "phrases" not in dataset.read_manifest(str(out)) and "new" in _vocab(out)
    assert not (out / "phrases.tsv").exists()
    with pytest.raises(FileNotFoundError, match="built without --phrases"):
        load_phrases(str(out))


def test_pruning_bounds_what_a_bucket_holds(tmp_path):
    summed = Summed([])
    for i in range(40):  # 40 tables: 25 pairs seen once each, and "x y" twice
        words = [f"p{i} q{j}" for j in range(25)] + ["x y"]
        table = pa.table([words, [1] * 25 + [2]], schema=COUNTS_SCHEMA)
        summed = add_counts(summed, table, cap=30)
    summed = compact(summed, cap=30)
    table = summed.tables[0]
    assert table.num_rows <= 30 and summed.pruned >= 40 * 25 - 30
    assert table.to_pydict()["word"] == ["x y"] and summed.min_reduce > 2
    # through a build: 64 buckets of at most 1 pair each
    (tmp_path / "c.txt").write_text(_corpus())
    args = ["--input", str(tmp_path / "c.txt"), "--output", str(tmp_path / "d"), "--phrases", "1",
            "--phrase-max-vocab", "64"]  # fmt: skip
    assert build_local(args) == 0
    (summary,) = dataset.read_manifest(str(tmp_path / "d"))["phrases"]["rounds"]
    assert summary["bigrams"] <= 64 < summary["bigrams"] + summary["pruned"]


@pytest.mark.parametrize(
    "args, said",
    [
        (["--phrase-threshold", "100"], "--phrase-threshold 100 is outside npmi's range"),
        (["--phrases", "-1"], "--phrases must be an integer >= 0"),
        (["--phrase-min-count", "0"], "--phrase-min-count must be an integer >= 1"),
        (["--phrase-threshold", "nan"], "--phrase-threshold must be a finite number"),
        (
            ["--phrases", "1", "--phrase-connectors", "no-such-file"],
            "--phrase-connectors 'no-such-file' is no file: pass english",
        ),
        (["--phrases", "1", "--phrase-connectors", "CONNECTORS"], "the word 'new_york' holds '_'"),
    ],
)
def test_a_wrong_phrase_setting_is_one_line(tmp_path, capsys, args, said):
    (tmp_path / "c.txt").write_text(SMALL)
    (tmp_path / "connectors.txt").write_text("of\nnew_york\n")
    args = [str(tmp_path / "connectors.txt") if a == "CONNECTORS" else a for a in args]
    out = str(tmp_path / "d")
    assert preprocess(["--input", str(tmp_path / "c.txt"), "--output", out, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
    assert not os.path.exists(out)


@pytest.mark.slow
def test_dask_runner_finds_the_same_phrases(built, cluster, tmp_path):
    root, inputs, settings = built
    out = tmp_path / "dask"
    runner = ["--runner", "DaskRunner", "--dask_client_address", cluster.scheduler_address]
    assert preprocess(["--input", inputs, "--output", str(out), *settings, *runner]) == 0
    for name in ("phrases.tsv", "vocab.tsv", "counts.tsv"):
        assert (out / name).read_bytes() == (root / "local" / name).read_bytes(), name
    assert not [n for n in os.listdir(out) if n.startswith(".sgns")]

"""The seventh probe's file and encoding findings (issue 20): folders a failed command made for
its --output, a filesystem encoding that is not UTF-8, vector files with more than their header
says, words that are no str, a constant cosine, the kernel cache under umask 777, an unknown
--neighbors word with a newline, and an object-store timeout too small to wait at all."""

import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
from corpora import write_corpus
from procs import ROOT, cli, one_line

from sgns.errors import UsageError

LONG = "n" * 256  # one name longer than a filesystem's 255 bytes


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[str, str]:
    """(a dataset, a run trained on it), made in the usual (UTF-8) locale."""
    root = tmp_path_factory.mktemp("built")
    write_corpus(str(root / "corpus"), [f"w{i}" for i in range(40)], 1, 300, 12, seed=1)
    data, run = str(root / "data"), str(root / "run")
    corpus = str(root / "corpus" / "part-000.txt")
    code, err = cli("sgns.pipeline.preprocess", ["--input", corpus, "--output", data])
    assert code == 0, err[-3000:]
    args = ["--data", data, "--output", run, "--dim", "8", "--epochs", "1", "--threads", "1"]
    code, err = cli("sgns.train.cli", args)
    assert code == 0, err[-3000:]
    return data, run


# F4: a failed command removes the folders it made for --output, deepest first


@pytest.mark.parametrize("module,prog", [("sgns.pipeline.preprocess", "sgns-preprocess"),
                                         ("sgns.train.cli", "sgns-train")])  # fmt: skip
def test_a_too_long_output_name_leaves_none_of_the_folders_made_for_it(
    tmp_path, built, module, prog
):
    data, _ = built
    where = tmp_path / "work"
    where.mkdir()
    output = os.path.join("new1", "new2", LONG)
    if module == "sgns.train.cli":
        args = ["--data", data, "--output", output, "--dim", "8", "--threads", "1"]
    else:
        args = ["--input", os.path.join(os.path.dirname(data), "corpus"), "--output", output]
    code, err = cli(module, args, cwd=str(where))
    assert code == 2 and "too long" in one_line(err, prog)
    assert os.listdir(where) == []  # (new1/new2 were left: the rmdir of the long name failed)


def test_removing_the_made_folders_skips_ones_never_made_and_stops_at_one_in_use(tmp_path):
    from sgns.rundir import missing_folders, remove_made

    deepest = os.path.join(tmp_path, "a", "b", "c", LONG)
    made = missing_folders(deepest)
    assert made == [deepest, *(os.path.join(tmp_path, *"abc"[:n]) for n in (3, 2, 1))]
    os.makedirs(os.path.dirname(deepest))
    remove_made(made)
    assert not os.path.exists(tmp_path / "a")
    os.makedirs(tmp_path / "a" / "b" / "c")
    (tmp_path / "a" / "b" / "theirs.txt").write_text("a file put there meanwhile\n")
    remove_made(made)
    assert sorted(os.listdir(tmp_path / "a" / "b")) == ["theirs.txt"]  # c went; b and a stay


# F5: a filesystem encoding that is not UTF-8 (LC_ALL=C with PYTHONUTF8=0) and non-ASCII names


def _c_locale(module: str, args: list[str], cwd) -> tuple[int, str]:
    """`module`'s main run where Python's filesystem encoding is ascii: LC_ALL=C, PYTHONUTF8=0
    and no LANG (the C locale alone turns UTF-8 mode on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(LC_ALL="C", PYTHONUTF8="0", PYTHONPATH=ROOT)
    code = (
        "import sys; assert sys.getfilesystemencoding() == 'ascii'; "
        f"from {module} import main; sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, cwd=cwd, env=env, timeout=300
    )
    return done.returncode, done.stderr.decode("utf-8", "backslashreplace")


def _says_the_locale(err: str, prog: str, name: str) -> None:
    line = one_line(err, prog)
    assert name in line and "PYTHONUTF8=1" in line and "UTF-8 locale" in line, line
    assert "not a readable Parquet" not in line and "is not UTF-8" not in line, line


def test_a_report_of_a_run_with_a_non_ascii_name_is_written_where_names_are_not_utf8(
    tmp_path, built
):
    shutil.copytree(built[1], tmp_path / "ré")
    code, err = _c_locale("sgns.report.cli", ["ré"], tmp_path)
    assert code == 0 and "Traceback" not in err, err[-3000:]
    page = (tmp_path / "ré" / "report.html").read_bytes()
    assert os.path.join(str(tmp_path), "ré").encode("utf-8") in page  # the run's name, as it is


def test_train_names_the_dataset_and_the_fix_not_a_damaged_shard(tmp_path, built):
    shutil.copytree(built[0], tmp_path / "dé")
    args = ["--data", "dé", "--output", "r2", "--dim", "8", "--epochs", "1", "--threads", "1"]
    code, err = _c_locale("sgns.train.cli", args, tmp_path)
    assert code == 2
    _says_the_locale(err, "sgns-train", "'d\\xe9'")
    assert not os.path.exists(tmp_path / "r2")


@pytest.mark.parametrize("case", ["new", "append", "input", "connectors"])
def test_preprocess_names_the_path_and_the_fix_before_anything_is_written(tmp_path, built, case):
    data = built[0]
    corpus = os.path.join(os.path.dirname(data), "corpus", "part-000.txt")
    shutil.copytree(data, tmp_path / "dé")
    shutil.copy(corpus, tmp_path / "é.txt")
    before = (tmp_path / "dé" / "manifest.json").read_bytes()
    args, name = {
        "new": (["--input", corpus, "--output", "dé2"], "'d\\xe92'"),
        "append": (["--input", corpus, "--output", "dé", "--append"], "'d\\xe9'"),
        "input": (["--input", "é.txt", "--output", "plain"], "\\xe9.txt'"),
        "connectors": (["--input", corpus, "--output", "plain", "--phrases", "1",
                        "--phrase-connectors", "é.txt"], "'\\xe9.txt'"),
    }[case]  # fmt: skip
    code, err = _c_locale("sgns.pipeline.preprocess", args, tmp_path)
    assert code == 2
    _says_the_locale(err, "sgns-preprocess", name)
    assert sorted(os.listdir(tmp_path)) == ["dé", "é.txt"]
    assert (tmp_path / "dé" / "manifest.json").read_bytes() == before


def test_a_name_that_is_not_utf8_is_still_told_to_be_renamed():
    from sgns.dataset import check_utf8_name

    check_utf8_name("dé/x.txt", "--output")  # (UTF-8 mode, or a UTF-8 locale: the tests')
    with pytest.raises(UsageError, match=r"--output b'd\\xff': its name is not UTF-8.*rename"):
        check_utf8_name(os.fsdecode(b"d\xff"), "--output")


# Notes: vector files, words that are no str, a constant cosine, the cache, --neighbors, S3


def _vector_file(tmp_path, fmt: str, words=("a", "b", "c")) -> str:
    from sgns.vectors import write_vectors

    path = str(tmp_path / f"v-{fmt}-{len(words)}")
    rng = np.random.default_rng(len(words))
    write_vectors(path, list(words), rng.standard_normal((len(words), 4)), fmt)
    return path


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_a_vector_file_with_more_than_its_header_says_is_refused_by_line(tmp_path, fmt):
    import sgns

    first, second = _vector_file(tmp_path, fmt), _vector_file(tmp_path, fmt, ("x", "y"))
    joined = str(tmp_path / "joined")
    with open(joined, "wb") as f:  # cat first second > joined
        f.write(open(first, "rb").read() + open(second, "rb").read())
    where = "line 5 is b'2 4'" if fmt == "text" else f"byte {os.path.getsize(first)} is b'2 4'"
    with pytest.raises(UsageError, match=f"holds more than the 3 words of its header '3 4': "
                                         f"{where} .two files joined"):  # fmt: skip
        sgns.load(joined)
    with open(first, "ab") as f:  # blank space after the last word is no word
        f.write(b"\n \n")
    assert sgns.load(first).words == ["a", "b", "c"]
    with open(first, "ab") as f:
        f.write(b"garbage\n")
    with pytest.raises(UsageError, match="holds more than the 3 words"):
        sgns.load(first)


@pytest.mark.parametrize("word", [memoryview(b"w0"), ["w0"], None, 5, ("w0",)])
def test_similarity_of_what_is_no_str_says_words_are_str(word):
    from sgns import Vectors

    wv = Vectors(["w0", "w1"], [[1.0, 0.0], [0.6, 0.8]])
    for a, b in ((word, "w1"), ("w0", word)):
        with pytest.raises(UsageError, match=r"similarity: words are str, not \w+: "):
            wv.similarity(a, b)
    with pytest.raises(UsageError, match="most_similar: words are str, not bytes"):
        wv.most_similar(memoryview(b"w0"))


def test_pairs_of_a_word_with_itself_have_no_spearman_not_float_noise(tmp_path):
    from sgns.eval.scoring import evaluate_similarity

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    vectors = (rng.standard_normal((40, 10)) * rng.uniform(0.1, 10, (40, 1))).astype(np.float32)
    path = tmp_path / "self.tsv"
    path.write_text("".join(f"{w}\t{w}\t{rng.uniform(0, 10):.2f}\n" for w in words))
    result = evaluate_similarity(words, vectors, str(path))
    assert (result["spearman"], result["pearson"], result["pairs"]) == (None, None, 40)
    path.write_text("w1\tw2\t3\nw2\tw1\t7\n" * 5)  # one pair both ways: one cosine
    result = evaluate_similarity(words, vectors, str(path))
    assert (result["spearman"], result["pearson"]) == (None, None)
    path.write_text("".join(f"{w}\tw0\t{i}\n" for i, w in enumerate(words[1:])))
    assert evaluate_similarity(words, vectors, str(path))["spearman"] is not None


UMASK_BUILD = """
import os, sys
os.umask(0o777)
from sgns.train.native import build
build.load()
"""


def test_the_kernel_cache_is_made_mode_700_whatever_the_umask(tmp_path):
    from sgns.train.native import build

    if not build.available():
        pytest.skip("no C compiler: the native engine cannot be built here")
    cache = tmp_path / "cache" / "sgns"
    env = dict(os.environ, SGNS_CACHE=str(cache), PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", UMASK_BUILD], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    libraries = [p for p in os.listdir(cache) if p.endswith(".so")]
    assert len(libraries) == 1
    for path in (cache.parent, cache, cache / libraries[0]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700, path


def test_an_unknown_neighbors_word_with_a_newline_is_said_whole(built):
    code, err = cli("sgns.eval.cli", [built[1], "--neighbors", "x\ny"])
    line = one_line(err, "sgns-eval")
    assert code == 2 and "none of x\\ny is in the vocabulary of" in line, line


@pytest.mark.parametrize("timeout,fine", [("1e-300", False), ("0.0009", False), ("0.001", True)])
def test_an_object_store_timeout_below_a_millisecond_is_refused_by_name(monkeypatch, timeout, fine):
    from sgns.store import store_limits

    monkeypatch.setenv("SGNS_S3_TIMEOUT", timeout)
    monkeypatch.delenv("SGNS_S3_RETRIES", raising=False)
    if fine:
        assert store_limits() == (0.001, 2)
        return
    with pytest.raises(UsageError, match=f"SGNS_S3_TIMEOUT='{timeout}'.*from 0.001 to 300"):
        store_limits()

"""The Python API: `sgns.load` and `Vectors`, its documented example run, its numbers gensim's;
`sgns.fit`, `sgns.preprocess` and `sgns.train`: their examples, the commands' files and lines."""

import doctest
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_one_line import PROGRESS, run_command

import sgns
from sgns.api import commands, fitting
from sgns.eval.planted import cluster_precision
from sgns.eval.sets import read_analogies, read_similarity_pairs
from sgns.rundir import VECTORS_FILE
from sgns.synth import SynthConfig, planted_truth, sentences
from sgns.vectors import keyed, write_vectors

EXAMPLE_WORDS = ["man", "woman", "king", "queen", "apple"]
EXAMPLE_VECTORS = [[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [0, 0, -1]]


def _random(count=300, dim=16, seed=0):
    words = [f"w{i}" for i in range(count)]
    return words, np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)


def _gensim_kv(words, vectors):
    gensim_models = pytest.importorskip("gensim.models")
    kv = gensim_models.KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def _gensim_file(name):
    gensim = pytest.importorskip("gensim")
    return os.path.join(os.path.dirname(gensim.__file__), "test", "test_data", name)


def test_the_documented_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_vectors("vectors.txt", EXAMPLE_WORDS, np.array(EXAMPLE_VECTORS, dtype=np.float32))
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(keyed, globs={}):
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted >= 8 and failed == 0


def test_load_and_vectors_are_reached_from_sgns_without_importing_torch():
    code = (
        "import sys, sgns\n"
        "assert 'sgns.vectors.keyed' not in sys.modules, 'import sgns loads the vectors'\n"
        "from sgns import Vectors, load\n"
        "assert 'torch' not in sys.modules, 'sgns.load imports torch'\n"
        "from sgns import Run, UsageError, fit, preprocess, train\n"
        "heavy = [m for m in ('torch', 'apache_beam') if m in sys.modules]\n"
        "assert not heavy, f'reaching the API imports {heavy}'\n"
        "names = {'Run', 'UsageError', 'Vectors', 'fit', 'load', 'preprocess', 'train'}\n"
        "assert names <= set(dir(sgns)), names - set(dir(sgns))\n"
        "import sgns.train.config  # the trainer's package: still the API's train when called\n"
        "assert sgns.train is train and callable(sgns.train), sgns.train\n"
        "assert sgns.train.config.TrainConfig.__name__ == 'TrainConfig'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with pytest.raises(AttributeError, match="nosuch"):
        sgns.nosuch  # noqa: B018


@pytest.mark.parametrize("fmt,name", [("text", "v.txt"), ("binary", "v.bin"), ("npy", "v.npy")])
def test_load_reads_back_each_format_save_writes(tmp_path, fmt, name):
    words, vectors = _random(20, 7)
    path = str(tmp_path / name)
    sgns.Vectors(words, vectors).save(path, format=fmt)
    loaded = sgns.load(path)
    assert loaded.words == words and loaded.vectors.dtype == np.float32
    np.testing.assert_allclose(loaded.vectors, vectors, rtol=1e-5, atol=1e-6)


def test_load_reads_a_run_directory(tmp_path):
    words, vectors = _random(10, 4)
    write_vectors(str(tmp_path / VECTORS_FILE), words, vectors)
    wv = sgns.load(str(tmp_path))
    assert len(wv) == 10 and "w3" in wv and wv.index("w3") == 3
    with pytest.raises(FileNotFoundError, match="nosuch"):
        sgns.load(str(tmp_path / "nosuch"))


def test_an_unknown_word_is_a_key_error_naming_it():
    wv = sgns.Vectors(*_random(10, 4))
    for call in (lambda: wv["kings"], lambda: wv.most_similar(["w1", "kings"]),
                 lambda: wv.similarity("w1", "kings"), lambda: wv.index("kings")):  # fmt: skip
        with pytest.raises(KeyError, match="kings") as raised:
            call()
        assert "\n" not in str(raised.value)
    assert "kings" not in wv and "w1" in wv


def test_words_and_vectors_must_agree():
    with pytest.raises(ValueError, match="3 words"):
        sgns.Vectors(["a", "b", "c"], np.zeros((4, 2)))
    with pytest.raises(ValueError, match="a word in positive or negative"):
        sgns.Vectors(*_random(5, 2)).most_similar()


def test_most_similar_and_similarity_equal_gensim():
    words, vectors = _random()
    wv, kv = sgns.Vectors(words, vectors), _gensim_kv(words, vectors)
    queries = [
        {"positive": "w5"},
        {"positive": ["w5"], "topn": 3},
        {"positive": ["w1", "w2"], "negative": ["w3"]},  # 3CosAdd: w2 - w3 + w1
        {"positive": ["w250"], "negative": "w7", "topn": 20},
        {"negative": ["w9"], "topn": 4},
        {"positive": [vectors[4] + vectors[8]], "topn": 5},  # a vector, not a word
    ]
    for restrict in (None, 60):  # with 60, w250 is a query but never a candidate
        for query in queries:
            ours = wv.most_similar(**query, restrict=restrict)
            theirs = kv.most_similar(**query, restrict_vocab=restrict)
            assert [w for w, _ in ours] == [w for w, _ in theirs], query
            np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
            assert len(ours) == query.get("topn", 10)
            assert all(words.index(w) < (restrict or len(words)) for w, _ in ours)
    for a, b in [("w1", "w2"), ("w7", "w7"), ("w0", "w299")]:
        assert wv.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-5)
    assert wv.most_similar("w1", topn=0) == [] and len(wv.most_similar("w1", topn=999)) == 299


def test_evaluate_word_pairs_equals_gensim_on_wordsim353_and_simlex999():
    for name in ("wordsim353.tsv", "simlex999.txt"):
        path = _gensim_file(name)
        pairs = read_similarity_pairs(path).pairs
        pair_words = sorted({w.lower() for a, b, _ in pairs for w in (a, b)})
        words = pair_words[::3] + pair_words[1::3]  # a third of the words is missing
        vectors = np.random.default_rng(2).standard_normal((len(words), 20)).astype(np.float32)
        kv = _gensim_kv(words, vectors)
        for restrict in (300000, len(words) // 2):
            ours = sgns.Vectors(words, vectors).evaluate_word_pairs(path, restrict=restrict)
            pearson, spearman, oov = kv.evaluate_word_pairs(path, restrict_vocab=restrict)
            assert ours["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
            assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-6)
            assert 100 * ours["oov_rate"] == pytest.approx(oov)
            assert ours["pairs"] > 20 and 0 < ours["oov_rate"] < 1


def _planted_analogies(path, sections=4, seed=3):
    """Vectors for the words of the first `sections` sections of questions-words.txt in which
    the second word of each pair is the first plus the section's offset and noise: gensim's own
    file, some of its words covered, answers neither trivial nor hopeless."""
    analogy_set = read_analogies(path)
    kept = set(analogy_set.sections[:sections])
    rng = np.random.default_rng(seed)
    dim = 24
    offsets = {name: rng.standard_normal(dim) for name in kept}
    found: dict[str, np.ndarray] = {}
    for section, *question in analogy_set.questions:
        if section not in kept:
            continue
        for x, y in (question[:2], question[2:]):
            x, y = x.lower(), y.lower()  # the file's "Athens" is our "athens"
            found.setdefault(x, rng.standard_normal(dim))
            noise = 0.9 * rng.standard_normal(dim)
            found.setdefault(y, found[x] + offsets[section] + noise)
    words = sorted(found)
    rng.shuffle(words)
    return words, np.array([found[w] for w in words], dtype=np.float32)


def test_evaluate_word_analogies_equals_gensim_on_questions_words():
    path = _gensim_file("questions-words.txt")
    words, vectors = _planted_analogies(path)
    wv, kv = sgns.Vectors(words, vectors), _gensim_kv(words, vectors)
    for restrict in (300000, len(words) * 2 // 3):
        ours = wv.evaluate_word_analogies(path, restrict=restrict)
        score, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict)
        assert 0.1 < ours["accuracy"] < 0.95  # neither trivial nor hopeless
        assert ours["accuracy"] == pytest.approx(score, abs=1e-12)
        theirs = {s["section"]: s for s in sections[:-1]}  # the last is gensim's "Total"
        for mine in ours["sections"]:
            other = theirs.get(mine["section"], {"correct": [], "incorrect": []})
            assert mine["correct"] == len(other["correct"]), mine["section"]
            assert mine["questions"] == len(other["correct"]) + len(other["incorrect"])
        assert ours["questions"] > 200 and ours["oov_questions"] > 10000


def test_to_gensim_holds_the_same_words_and_vectors(monkeypatch):
    pytest.importorskip("gensim")
    words, vectors = _random(50, 8)
    kv = sgns.Vectors(words, vectors).to_gensim()
    assert kv.index_to_key == words
    np.testing.assert_array_equal(kv.vectors, vectors)
    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(ImportError, match="pip install gensim"):
        sgns.Vectors(words, vectors).to_gensim()


# --- sgns.fit, sgns.preprocess, sgns.train -----------------------------------------------------

SMALL = SynthConfig(tokens=100_000)  # sgns-synth's language: planted clusters, in about 2 s
FAST = {"dim": 24, "threads": 1}  # one thread: the same vectors every time; 5 epochs: < 1 s


def _run_examples(module, tmp_path, monkeypatch) -> tuple[int, int]:
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, globs={}):
        runner.run(test)
    return runner.summarize(verbose=False)


def test_the_fit_examples_run(tmp_path, monkeypatch):
    failed, attempted = _run_examples(fitting, tmp_path, monkeypatch)
    assert attempted >= 8 and failed == 0


@pytest.mark.slow  # Beam's pipeline, then the trainer
def test_the_preprocess_and_train_examples_run(tmp_path, monkeypatch):
    failed, attempted = _run_examples(commands, tmp_path, monkeypatch)
    assert attempted >= 8 and failed == 0


@pytest.mark.slow  # Beam's pipeline, then the trainer
def test_the_python_pages_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "python.md")
    failed, attempted = doctest.testfile(
        page, module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert attempted >= 15 and failed == 0


def test_fit_on_token_lists_finds_the_planted_clusters():
    truth = planted_truth(SMALL)
    wv = sgns.fit(sentences(SMALL), **FAST)  # a generator: read once
    assert isinstance(wv, sgns.Vectors) and wv.vectors.shape[1] == FAST["dim"]
    found = cluster_precision(wv.words, wv.vectors, truth["clusters"])
    chance = cluster_precision(wv.words, _random(len(wv), 24)[1], truth["clusters"])
    assert found["cluster_words"] > 700  # (of 768: a few rare forms fall below min_count)
    assert found["cluster_precision"] > 0.85 > 0.2 > chance["cluster_precision"], (found, chance)
    for cluster in truth["clusters"][:4]:  # most_similar of a cluster word: its cluster
        neighbours = [w for w, _ in wv.most_similar(cluster[0], topn=5)]
        assert sum(w in cluster for w in neighbours) >= 4, (cluster[0], neighbours)


def test_fit_on_files_equals_fit_on_their_token_lists(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    with gzip.open(folder / "part-0.txt.gz", "wt", encoding="utf-8") as f:  # a compressed file
        f.writelines(" ".join(s) + "\n" for s in sentences(SMALL))
    ours = sgns.fit(sentences(SMALL), **FAST)
    for source in (str(folder / "part-0.txt.gz"), folder, [str(folder / "*.gz")]):
        theirs = sgns.fit(source, **FAST)  # a file, a directory, a list of patterns
        assert theirs.words == ours.words
        np.testing.assert_array_equal(theirs.vectors, ours.vectors)
    assert not np.array_equal(sgns.fit(folder, **FAST, seed=2).vectors, ours.vectors)


def test_fit_keeps_its_work_in_workdir_or_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    os.makedirs(tmp_path / "tmp")
    wv = sgns.fit(sentences(SMALL), **FAST)
    assert os.listdir(tmp_path / "tmp") == []
    work = tmp_path / "work"
    kept = sgns.fit(sentences(SMALL), **FAST, workdir=work)
    assert (work / "dataset" / "manifest.json").is_file() and (work / "corpus.txt").is_file()
    loaded = sgns.load(str(work / "run"))
    assert loaded.words == kept.words == wv.words
    np.testing.assert_array_equal(loaded.vectors, kept.vectors)
    with pytest.raises(sgns.UsageError, match="is not empty"):
        sgns.fit(sentences(SMALL), workdir=work)


def test_fit_takes_gensims_names(tmp_path):
    work = tmp_path / "work"
    gensim_names = {"vector_size": 16, "negative": 3, "workers": 1, "alpha": 0.05,
                    "min_alpha": 0.0005, "iter": 1, "min_count": 3, "sg": 1, "hs": 0}  # fmt: skip
    sgns.fit(sentences(SMALL), workdir=work, **gensim_names)
    with open(work / "run" / "config.json") as f:
        config = json.load(f)
    ours = {"dim": 16, "negatives": 3, "threads": 1, "lr": 0.05, "epochs": 1}
    assert {k: config[k] for k in ours} == ours
    assert config["min_lr_ratio"] == pytest.approx(0.01)
    with open(work / "dataset" / "manifest.json") as f:
        assert json.load(f)["config"]["min_count"] == 3
    for settings, said in [
        ({"sg": 0}, "sg=0: sgns trains skip-gram (sg=1); leave sg out"),
        ({"hs": 1}, "hs=1: sgns trains negative sampling; leave hs out"),
        ({"dim": 8, "vector_size": 8}, "dim and vector_size are the same setting: give one"),
    ]:
        with pytest.raises(sgns.UsageError) as raised:
            sgns.fit([["a", "b"]], **settings)
        assert str(raised.value) == said


@pytest.mark.parametrize(
    "name,arguments,keyword,nearest",
    [
        ("fit", ([["a"]],), "windw", "window"),
        ("fit", ([["a"]],), "negativs", "negatives"),
        ("fit", ([["a"]],), "vocab", "max_vocab"),
        ("train", ("d", "r"), "negative", "negatives"),  # gensim's names are fit's alone
        ("train", ("d", "r"), "seeds", "seed"),
        ("preprocess", ("c", "d"), "min_cont", "min_count"),
        ("preprocess", ("c", "d"), "dim", None),  # a training option: none is near
    ],
)
def test_an_unknown_keyword_is_one_line_naming_the_nearest(name, arguments, keyword, nearest):
    with pytest.raises(sgns.UsageError) as raised:
        getattr(sgns, name)(*arguments, **{keyword: 1})
    said = str(raised.value)
    assert said.startswith(f"sgns.{name} has no setting {keyword!r}") and "\n" not in said
    if nearest:
        assert said.endswith(f"(did you mean {nearest}?)"), said
    else:
        assert "min_count" in said and "window" in said, said  # then it lists them


def test_token_lists_that_would_not_read_back_are_refused(tmp_path):
    for corpus, said in [
        ([["new york", "city"]], "sentence 1 holds the token 'new york'"),
        ([["a"], ["b", ""]], "sentence 2 holds the token ''"),
        ([["a", 3]], "sentence 1 holds 3: tokens are str"),
        (["the cat sat"], "(a sentence is a list of tokens: 'the cat sat'.split())"),
        ([["a"], "b c"], "sentence 2 is 'b c': a sentence is a list of str tokens"),
        ([], "sgns.fit got no sentences and no corpus paths"),
        (str(tmp_path / "none-*.txt"), f"no corpus file matches {str(tmp_path / 'none-*.txt')!r}"),
        ("gs://b/corpus.txt", "sgns.fit reads local files"),
        ([["a"], ["c", "a\udcffb"]], "sentence 2 holds the token 'a\\udcffb', whose '\\udcff'"),
    ]:
        with pytest.raises(sgns.UsageError) as raised:
            sgns.fit(corpus)
        assert said in str(raised.value), (corpus, str(raised.value))


def _command_line(prog: str, argv: list[str], capsys) -> str:
    """The one error line `prog` prints for `argv`, less "PROG: error: "."""
    capsys.readouterr()
    assert run_command(prog, argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if not PROGRESS.match(line)]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), lines
    return lines[0][len(f"{prog}: error: ") :]


def test_a_bad_value_is_the_commands_line(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c\n" * 20)
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    cases = [  # (command, its argv, the same call from Python)
        ("sgns-train", ["--data", data, "--output", run, "--dim", "0"],
         lambda: sgns.train(data, run, dim=0)),
        ("sgns-train", ["--data", data, "--output", run, "--engine", "native", "--device", "cuda"],
         lambda: sgns.train(data, run, engine="native", device="cuda")),
        ("sgns-train", ["--data", data, "--output", run], lambda: sgns.train(data, run)),
        ("sgns-preprocess", ["--input", str(corpus), "--output", data, "--window", "0"],
         lambda: sgns.preprocess(corpus, data, window=0)),
        ("sgns-preprocess", ["--input", str(tmp_path / "no-*"), "--output", data],
         lambda: sgns.preprocess(str(tmp_path / "no-*"), data)),
        ("sgns-preprocess", ["--input", str(corpus), "--output", data, "--min-count", "50"],
         lambda: sgns.preprocess(corpus, data, min_count=50)),
    ]  # fmt: skip
    for prog, argv, call in cases:
        said = _command_line(prog, argv, capsys)
        with pytest.raises(sgns.UsageError) as raised:
            call()
        assert str(raised.value) == said, (prog, argv)
    for settings in ({"window": 0}, {"min_count": 50}):  # fit: the dataset's lines too
        flag = "--" + next(iter(settings)).replace("_", "-")
        argv = ["--input", str(corpus), "--output", data, flag, str(*settings.values())]
        with pytest.raises(sgns.UsageError) as raised:
            sgns.fit([["a", "b", "c"]] * 20, **settings)
        said = _command_line("sgns-preprocess", argv, capsys)
        assert str(raised.value) == said
    argv = ["--data", data, "--output", run, "--dim", "many"]  # argparse's own line
    said = _command_line("sgns-train", argv, capsys)
    with pytest.raises(sgns.UsageError) as raised:
        sgns.fit([["a"]], dim="many")
    assert said == f"{raised.value} (see sgns-train --help)"


def _files(root) -> dict[str, bytes]:
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = open(path, "rb").read()
    return found


def _without(document: dict, keys: set[str]):
    """A JSON document less `keys` wherever they are (paths and times that differ by run)."""
    if isinstance(document, dict):
        return {k: _without(v, keys) for k, v in document.items() if k not in keys}
    if isinstance(document, list):
        return [_without(v, keys) for v in document]
    return document


@pytest.mark.slow  # Beam's pipeline twice, the trainer twice
def test_preprocess_and_train_write_what_the_commands_write(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(" ".join(s) + "\n" for s in sentences(SMALL)))
    settings = {"min_count": 3, "window": 4, "passes": 2, "num_shards": 3, "seed": 7}
    options = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    ours_data, theirs_data = tmp_path / "ours-data", tmp_path / "theirs-data"
    argv = ["--input", str(corpus), "--output", str(theirs_data), *options]
    assert run_command("sgns-preprocess", argv) == 0
    assert sgns.preprocess(str(corpus), str(ours_data), **settings) == str(ours_data)
    ours, theirs = _files(ours_data), _files(theirs_data)
    assert sorted(ours) == sorted(theirs) and len(ours) > 8
    manifest = [_without(json.loads(d.pop("manifest.json")), {"created", "output"})
                for d in (ours, theirs)]  # fmt: skip
    assert manifest[0] == manifest[1] and ours == theirs

    training = {"dim": 20, "epochs": 2, "threads": 1, "seed": 5, "negatives": 4}
    options = [f"--{k}={v}" for k, v in training.items()]
    argv = ["--data", str(theirs_data), "--output", str(tmp_path / "theirs-run"), *options]
    assert run_command("sgns-train", argv) in (0, None)
    run = sgns.train(ours_data, tmp_path / "ours-run", **training)
    assert isinstance(run, sgns.Run) and os.fspath(run) == str(tmp_path / "ours-run")
    ours, theirs = _files(tmp_path / "ours-run"), _files(tmp_path / "theirs-run")
    assert sorted(ours) == sorted(theirs)
    for name in ("vectors.txt", "vocab.tsv"):  # the vectors bit for bit
        assert ours[name] == theirs[name], name
    paths = {"data", "dataset", "output"}
    assert _without(run.config, paths) == _without(json.loads(theirs["config.json"]), paths)
    assert run.vectors.words == sgns.load(str(tmp_path / "theirs-run")).words


def test_fit_refuses_an_encoding_for_sentences_that_are_str_already(tmp_path):
    with pytest.raises(sgns.UsageError, match="encoding: for corpus files"):
        sgns.fit([["caf\u00e9", "au", "lait"]] * 20, encoding="cp1252", workdir=str(tmp_path / "w"))


@pytest.mark.parametrize(
    "call,said",
    [
        (lambda: sgns.preprocess([["corpus.txt"]], "data"), "inputs: give a file"),
        (lambda: sgns.preprocess(5, "data"), "inputs: give a list, not int 5"),
        (lambda: sgns.preprocess("corpus.txt", ["data"]), "output: give a path"),
        (lambda: sgns.preprocess("corpus.txt", "data", runner=3), "runner: give"),
        (lambda: sgns.preprocess("corpus.txt", "data", beam_args=[1]), "beam_args: give str"),
        (lambda: sgns.train(["data"], "run"), "data: give a path"),
        (lambda: sgns.train("data", None), "output: give a path"),
        (lambda: sgns.fit([["a"]], workdir=3), "workdir: give a path"),
        (lambda: sgns.load(3), "path: give a path"),
        # a NUL in a path: Python's open says "embedded null byte", a ValueError (a traceback)
        (lambda: sgns.train("ds\0x", "run"), "data: 'ds\\x00x' holds a NUL character"),
        (lambda: sgns.preprocess(["c.txt", "d\0.txt"], "data"), "inputs: 'd\\x00.txt' holds"),
        (lambda: sgns.preprocess("c.txt", "d\0"), "output: 'd\\x00' holds a NUL"),
        (lambda: sgns.load("v\0.txt"), "path: 'v\\x00.txt' holds a NUL"),
        (lambda: sgns.preprocess("c.txt", "d", phrase_connectors="a\0"), "--phrase-connectors"),
    ],
)
def test_an_argument_of_the_wrong_type_is_one_line_naming_it(call, said):
    with pytest.raises(sgns.UsageError) as raised:
        call()
    assert str(raised.value).startswith(said) and "\n" not in str(raised.value), raised.value


@pytest.mark.parametrize(
    "inputs,output,runner,said",
    [
        ("xyz://a/b.txt", "data", None, "--input 'xyz://a/b.txt': Beam has no filesystem"),
        ("{corpus}", "xyz://bucket/o", None, "--output 'xyz://bucket/o': Beam has no filesystem"),
        ("{corpus}", "data", "NoSuchRunner", "--runner NoSuchRunner: Unexpected pipeline runner"),
    ],
)
def test_a_place_or_runner_beam_has_not_is_one_line_naming_the_option(
    tmp_path, monkeypatch, inputs, output, runner, said
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text("a b c\n" * 20)
    with pytest.raises(sgns.UsageError) as raised:
        sgns.preprocess(inputs.format(corpus="c.txt"), output, runner=runner, min_count=1)
    assert str(raised.value).startswith(said) and "\n" not in str(raised.value), raised.value
    assert os.listdir(tmp_path) == ["c.txt"]  # refused before anything was written


def test_a_runs_config_that_is_no_json_is_a_usage_error_naming_it(tmp_path):
    (tmp_path / "config.json").write_bytes(b'{"dim": 8')  # cut short
    with pytest.raises(sgns.UsageError, match="config.json is not the JSON sgns-train writes"):
        _ = sgns.Run(tmp_path).config


def test_load_of_a_missing_or_bad_file_is_a_usage_error_of_the_kind_it_was(tmp_path):
    with pytest.raises(sgns.UsageError, match="do not exist") as missing:
        sgns.load(str(tmp_path / "nothing.txt"))
    assert isinstance(missing.value, FileNotFoundError)  # (caught as before)
    (tmp_path / "bad.txt").write_text("not vectors\n")
    with pytest.raises(sgns.UsageError, match="word2vec header") as bad:
        sgns.load(str(tmp_path / "bad.txt"))
    assert isinstance(bad.value, ValueError) and not isinstance(bad.value, FileNotFoundError)


def test_a_flag_set_false_is_false_also_where_unset_means_the_datasets(tmp_path):
    from sgns.pipeline.local import main as build_local

    (tmp_path / "a.txt").write_text("The cat sat\n" * 30)
    (tmp_path / "b.txt").write_text("A dog ran\n" * 30)
    data = str(tmp_path / "data")
    argv = ["--input", str(tmp_path / "a.txt"), "--output", data, "--min-count", "1", "--lowercase"]
    assert build_local(argv) == 0
    with pytest.raises(sgns.UsageError, match="--lowercase false differs from the dataset's"):
        sgns.preprocess(tmp_path / "b.txt", data, append=True, lowercase=False)


def test_call_arguments_misspelled_or_mistyped_are_one_line_naming_them(tmp_path):
    """(issue 20, fourth probe W3) `input=` suggested min_count; an unclosed quote in beam_args
    was shlex's raw ValueError; Run(5) a raw TypeError at first use."""
    from sgns.errors import UsageError

    out = str(tmp_path / "d")
    with pytest.raises(UsageError, match=r"^sgns.preprocess has no setting 'input' \(did you "
                       r"mean inputs, an argument of sgns.preprocess\?\)$"):  # fmt: skip
        sgns.preprocess(str(tmp_path / "c.txt"), out, input="c.txt")
    with pytest.raises(UsageError, match=r"^beam_args '--a \"b': No closing quotation"):
        sgns.preprocess(str(tmp_path / "c.txt"), out, beam_args='--a "b')
    with pytest.raises(UsageError, match=r"^Run: give a path \(str or os.PathLike\), not int 5"):
        sgns.Run(5)
    assert not os.path.exists(out)

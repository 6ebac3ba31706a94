"""The Python API: `sgns.load` and `Vectors`, its documented example run, its numbers gensim's."""

import doctest
import os
import subprocess
import sys

import numpy as np
import pytest

import sgns
from sgns.eval.sets import read_analogies, read_similarity_pairs
from sgns.rundir import VECTORS_FILE
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
        "assert {'Vectors', 'load'} <= set(dir(sgns))\n"
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

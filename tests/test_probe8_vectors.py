"""`Vectors` and .npy vector files given what the eighth probe of issue 20 gave them: vectors or
words changed in place after a query (F3), two .npy files joined (F2), a .npy cut short while it
is read (F4), NaN rows given to the constructor (N10), a query that cancels out (N2). Each is an
error in one line or a right answer, never a stale cosine, a dropped array or a SIGBUS."""

import copy
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import sgns
from sgns.errors import UsageError
from sgns.vectors import read_vectors, write_vectors

WORDS = ["a", "b", "c"]
ROWS = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]


def _one_line(error) -> str:
    said = str(error.value)
    assert "\n" not in said and said, said
    return said


def test_vectors_changed_in_place_after_a_query_raise_instead_of_stale_cosines():
    """(F3) `wv.vectors *= 10` after a query gave cosines of 7.07 (lengths cached)."""
    wv = sgns.Vectors(WORDS, ROWS)
    before = wv.most_similar("a", topn=2)
    for change in (lambda v: v.__imul__(10), lambda v: v.__setitem__(0, 5.0)):
        with pytest.raises(ValueError, match="read-only"):
            change(wv.vectors)
    with pytest.raises(ValueError, match="read-only"):  # (as a notebook normalises)
        wv.vectors /= np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    assert wv.most_similar("a", topn=2) == before
    assert all(score <= 1 for _, score in wv.most_similar("a", topn=2))
    scaled = sgns.Vectors(wv.words, wv.vectors * [[10.0], [1.0], [3.0]])  # the documented way
    assert [w for w, _ in scaled.most_similar("a", topn=2)] == ["b", "c"]
    np.testing.assert_allclose([s for _, s in scaled.most_similar("a", topn=2)], [0.7071, 0.0],
                               atol=1e-4)  # fmt: skip


def test_words_changed_in_place_raise_and_still_compare_as_a_list():
    """(F3) `wv.words[0] = 'x'` left the look-up of rows stale."""
    wv = sgns.Vectors(WORDS, ROWS)
    assert wv.index("a") == 0
    changes = (
        lambda w: w.__setitem__(0, "x"),
        lambda w: w.append("d"),
        lambda w: w.sort(),
        lambda w: w.__delitem__(0),
        lambda w: w.__iadd__(["d"]),
        lambda w: w.pop(),
    )
    for change in changes:
        with pytest.raises(TypeError, match=r"sgns\.Vectors\(words, vectors\)"):
            change(wv.words)
    assert wv.words == WORDS and wv.words[:2] == ["a", "b"] and "x" not in wv
    with pytest.raises(AttributeError):
        wv.vectors = np.zeros((3, 2))
    with pytest.raises(AttributeError):
        wv.words = ["x", "y", "z"]


def test_the_callers_array_is_copied_not_frozen_or_shared():
    mine = np.array(ROWS, dtype=np.float32)
    words = list(WORDS)
    wv = sgns.Vectors(words, mine)
    assert mine.flags.writeable
    mine *= 0  # the caller's array, changed after: wv keeps its own
    words[0] = "x"
    assert wv.words == WORDS and wv.similarity("a", "b") == pytest.approx(0.70710677)


def test_loaded_vectors_are_read_only_and_copies_pickles_and_gensim_still_work(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    path = str(tmp_path / "v.npy")
    sgns.Vectors(WORDS, ROWS).save(path, format="npy")
    wv = sgns.load(path)
    with pytest.raises(ValueError, match="read-only"):
        wv.vectors[1] = 0
    for again in (copy.deepcopy(wv), copy.copy(wv), pickle.loads(pickle.dumps(wv))):
        assert again.words == WORDS and not again.vectors.flags.writeable
        assert again.most_similar("a", topn=1) == wv.most_similar("a", topn=1)
    assert copy.deepcopy(wv.words) == WORDS and pickle.loads(pickle.dumps(wv.words)) == WORDS
    kv = wv.to_gensim()
    assert kv.index_to_key == WORDS and kv.vectors.flags.writeable  # (gensim's own array)
    assert kv.most_similar("a", topn=1)[0][0] == wv.most_similar("a", topn=1)[0][0]
    kv.save(str(tmp_path / "kv"))
    assert gensim_models.KeyedVectors.load(str(tmp_path / "kv")).index_to_key == WORDS
    wv.save(str(tmp_path / "v.bin"), format="binary")
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    np.testing.assert_array_equal(kv.vectors, wv.vectors)


def _npy(tmp_path, rows: int = 20, dim: int = 4) -> str:
    path = str(tmp_path / "v.npy")
    vectors = np.random.default_rng(0).normal(size=(rows, dim)).astype(np.float32)
    write_vectors(path, [f"w{i}" for i in range(rows)], vectors, "npy")
    return path


def test_two_npy_files_joined_are_refused_by_name(tmp_path):
    """(F2) `cat a.npy a.npy` loaded as the first array, the second dropped unsaid."""
    path = _npy(tmp_path)
    data = open(path, "rb").read()
    for extra in (data, b"\n", b"\0" * 3):
        with open(path, "wb") as f:
            f.write(data + extra)
        with pytest.raises(UsageError) as error:
            sgns.load(path)
        said = _one_line(error)
        assert re.match(rf"{re.escape(repr(path))} holds {len(extra)} bytes? after its array", said)
    with open(path, "wb") as f:
        f.write(data)
    assert len(sgns.load(path)) == 20


def test_a_npy_shorter_than_its_header_says_is_cut_short(tmp_path):
    path = _npy(tmp_path)
    size = os.path.getsize(path)
    os.truncate(path, size - 5)
    with pytest.raises(UsageError) as error:
        read_vectors(path)
    assert f"{path!r} is cut short: it ends 5 bytes before" in _one_line(error)


_LOADS = textwrap.dedent("""
    import sys, time
    import sgns
    path, stop = sys.argv[1], time.time() + float(sys.argv[2])
    print("ready", flush=True)
    lines = set()
    while time.time() < stop:
        try:
            sgns.load(path)
        except sgns.UsageError as e:  # (cut short, or not yet an .npy: one line each)
            assert "\\n" not in str(e), str(e)
            lines.add(str(e).split(":")[0])
    print(sorted(lines))
""")


def test_a_npy_shrinking_while_it_is_read_is_one_line_never_sigbus(tmp_path):
    """(F4) np.load's map, then a copy: a file cut short meanwhile touched pages past its end,
    SIGBUS (exit 135, a notebook's kernel dead)."""
    rows = np.random.default_rng(0).normal(size=(20000, 100)).astype(np.float32)
    path = str(tmp_path / "big.npy")
    write_vectors(path, [f"w{i}" for i in range(len(rows))], rows, "npy")
    full = open(path, "rb").read()
    child = subprocess.Popen([sys.executable, "-c", _LOADS, path, "6"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout.readline() == "ready\n"
    while child.poll() is None:  # another writer's np.save: truncates, then writes in place
        with open(path, "r+b") as f:
            f.truncate(len(full) // 3)
            time.sleep(0.002)
            f.seek(0)
            f.write(full)
        time.sleep(0.002)
    out, err = child.communicate()
    assert child.returncode != -signal.SIGBUS, "the reader died of SIGBUS"
    assert child.returncode == 0, err[-2000:]


def test_the_constructor_refuses_nan_and_inf_naming_the_first_bad_row():
    """(N10) sgns.Vectors took NaN rows that sgns.load and Vectors.save refuse."""
    for value in (np.nan, np.inf, -np.inf, 1e39):
        rows = np.ones((4, 3))
        rows[2, 1], rows[3, 0] = value, value
        with pytest.raises(UsageError) as error, np.errstate(over="ignore"):
            sgns.Vectors(["a", "b", "c", "d"], rows)
        assert "the vector of 'c' (row 2) holds NaN or inf" in _one_line(error)


@pytest.mark.parametrize(
    "query",
    [{"positive": ["a"], "negative": ["a"]},
     {"positive": ["a", "c"], "negative": ["c", "a"]},
     {"positive": [np.zeros(2)]},
     {"positive": [np.array([1.0, 1.0]), np.array([-1.0, -1.0])]}],
)  # fmt: skip
def test_a_query_whose_vectors_cancel_out_is_refused(query):
    """(N2) it returned the first words at cosine 0.0, an arbitrary answer."""
    wv = sgns.Vectors(WORDS, ROWS)
    with pytest.raises(UsageError) as error:
        wv.most_similar(**query)
    assert "the query's vectors cancel out" in _one_line(error)
    assert wv.most_similar(positive=["a"], negative=["c"], topn=1)[0][0] == "b"


def test_vectors_near_float32s_largest_compare_right():
    """(review) lengths and the query's mean in float32 overflowed: a cosine of 0, a false
    'cancel out', or no answer at all."""
    v = sgns.Vectors(["a", "b", "c"], [[3e38, 3e38], [1, 0], [0, 1]])
    assert v.similarity("a", "b") == pytest.approx(0.7071, abs=1e-4)
    assert [w for w, _ in v.most_similar("a")] == ["b", "c"]
    top = v.most_similar(positive=[v["a"], v["a"]], topn=1)
    assert top[0][0] == "a" and top[0][1] == pytest.approx(1.0, abs=1e-4)


class Mine(sgns.Vectors):
    pass


def test_copies_keep_a_subclass_and_a_pickle_from_before_read_only_vectors_loads():
    v = Mine(["a", "b"], [[1, 0], [0, 1]])
    assert type(copy.copy(v)) is Mine and type(pickle.loads(pickle.dumps(v))) is Mine
    old = sgns.Vectors.__new__(sgns.Vectors)  # the state such a pickle holds
    old.__setstate__({"words": ["a", "b"], "vectors": np.eye(2, dtype=np.float32),
                      "_rows": {"a": 0, "b": 1}, "_norms": None})  # fmt: skip
    assert old.most_similar("a", topn=1)[0][0] == "b" and not old.vectors.flags.writeable


def test_a_float64_npy_beyond_float32s_range_is_refused_not_loaded_as_inf(tmp_path):
    """(ninth probe, F1) the check ran on float64, the readers cast to float32 after it: a
    4e38 became inf, and sgns-eval listed neighbours scored -inf with exit 0."""
    np.save(tmp_path / "v.npy", np.array([[1.0, 0.0], [4e38, 1.0]], dtype=np.float64))
    (tmp_path / "v.vocab.tsv").write_text("w0\t5\nw1\t3\n")
    with pytest.raises(UsageError, match="word 1 holds a number that is not finite as float32"):
        sgns.load(str(tmp_path / "v.npy"))

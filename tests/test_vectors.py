"""Vector files: our word2vec text/binary writers load in gensim, and our reader reads them back."""

import gzip
import os
import re
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from sgns.vectors import read_vectors, write_vectors

WORDS = ["the", "caf\u00e9", "king", "queen"]


@pytest.fixture
def vectors():
    return np.random.default_rng(0).standard_normal((len(WORDS), 7)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_gensim_loads_what_we_write(tmp_path, vectors, fmt):
    gensim_models = pytest.importorskip("gensim.models")
    path = str(tmp_path / f"v.{'bin' if fmt == 'binary' else 'txt'}")
    write_vectors(path, WORDS, vectors, fmt)
    kv = gensim_models.KeyedVectors.load_word2vec_format(path, binary=fmt == "binary")
    assert kv.index_to_key == WORDS
    np.testing.assert_allclose(kv.vectors, vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt,name", [("text", "v.txt"), ("binary", "v.bin"), ("npy", "v.npy")])
def test_read_back_what_we_write(tmp_path, vectors, fmt, name):
    path = str(tmp_path / name)
    write_vectors(path, WORDS, vectors, fmt)
    words, loaded = read_vectors(path)
    assert words == WORDS
    np.testing.assert_allclose(loaded, vectors, rtol=1e-5, atol=1e-6)


def test_unknown_format_and_shape_mismatch_are_refused(tmp_path, vectors):
    with pytest.raises(ValueError, match="unknown vector format"):
        write_vectors(str(tmp_path / "v"), WORDS, vectors, "csv")
    with pytest.raises(ValueError, match="3 words"):
        write_vectors(str(tmp_path / "v"), WORDS[:3], vectors, "text")


def test_truncated_text_file_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match="line 3"):
        read_vectors(str(path))


def test_word2vecs_own_text_files_end_each_line_with_a_space_and_are_read_as_text(tmp_path):
    path = tmp_path / "w2v.txt"  # word2vec.c writes fprintf("%lf ") per number, then "\n"
    path.write_text("2 3\n</s> 0.100000 -0.200000 0.300000 \ncat 0.300000 0.200000 -0.100000 \n")
    words, loaded = read_vectors(str(path))  # (it was taken for binary: garbage, exit 0)
    assert words == ["</s>", "cat"]
    np.testing.assert_allclose(loaded, [[0.1, -0.2, 0.3], [0.3, 0.2, -0.1]], rtol=1e-6)


@pytest.mark.parametrize(
    "content,said",
    [("2 2\na 1 0\na 0 1\n", "has the word 'a' twice (lines 2 and 3)"),
     ("2 2\n 1 0\nb 0 1\n", "line 2 has no word")],
)  # fmt: skip
def test_a_vector_file_with_a_word_twice_or_none_is_refused(tmp_path, content, said):
    path = tmp_path / "v.txt"  # a query for the word would find its other row as an answer
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(said)):
        read_vectors(str(path))


def _word2vec(rows: list[tuple[bytes, list[float]]], fmt: str) -> bytes:
    """A word2vec file of these (word as bytes, vector) rows, as word2vec.c writes it."""
    out = [f"{len(rows)} {len(rows[0][1])}\n".encode()]
    for word, row in rows:
        numbers = np.asarray(row, dtype="<f4")
        body = numbers.tobytes() if fmt == "binary" else " ".join(map(str, row)).encode()
        out.append(word + b" " + body + b"\n")
    return b"".join(out)


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_words_that_are_no_utf8_stay_distinct_and_only_a_repeat_byte_for_byte_is_refused(
    tmp_path, fmt
):
    path = tmp_path / "v"
    path.write_bytes(_word2vec([(b"caf\xe9", [1, 0]), (b"caf\xe8", [0, 1])], fmt))
    words, loaded = read_vectors(str(path))  # (both were "caf\ufffd": refused as one word twice)
    assert words == ["caf\\xe9", "caf\\xe8"]
    np.testing.assert_array_equal(loaded, [[1, 0], [0, 1]])
    path.write_bytes(_word2vec([(b"caf\xe9", [1, 0]), (b"caf\xe9", [0, 1])], fmt))
    with pytest.raises(ValueError, match=re.escape("twice (") + ".* each word has one vector"):
        read_vectors(str(path))


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_a_word_that_reads_as_an_earlier_one_once_escaped_keeps_the_first_vector(
    tmp_path, fmt, caplog
):
    path = tmp_path / "v"  # a word spelled as the escape of another's bytes: gensim keeps the first
    rows = [(b"caf\\xe9", [1, 0]), (b"the", [2, 2]), (b"caf\xe9", [0, 1])]
    path.write_bytes(_word2vec(rows, fmt))
    words, loaded = read_vectors(str(path))
    assert words == ["caf\\xe9", "the"]
    np.testing.assert_array_equal(loaded, [[1, 0], [2, 2]])
    unit = "word 2 reads as word 0" if fmt == "binary" else "line 4 reads as line 2"
    assert unit in caplog.text and "(1 dropped)" in caplog.text, caplog.text


def test_distinct_utf8_words_are_decoded_in_place_without_the_dicts_that_find_a_repeat():
    from sgns.vectors.formats import _decode_words

    # the dicts and a second list of the words took ~0.5 GB more for a file of 3M words
    raw = [f"w{i:07d}".encode() for i in range(200_000)]
    held = sum(map(sys.getsizeof, raw))
    tracemalloc.start()
    try:
        words, _ = _decode_words(raw, np.zeros((len(raw), 1), np.float32), "v.txt", "line", 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words == [f"w{i:07d}" for i in range(200_000)]
    assert peak < 2 * held  # (a set of the words, then their str: ~1.5 x; the dicts: 5.5 x)


def test_a_compressed_vector_file_says_to_decompress_it(tmp_path, vectors):
    write_vectors(str(tmp_path / "v.bin"), WORDS, vectors, "binary")
    packed = tmp_path / "v.bin.gz"
    packed.write_bytes(gzip.compress((tmp_path / "v.bin").read_bytes()))
    with pytest.raises(ValueError, match=r"is gzip data: decompress it first \(gzip -d\)"):
        read_vectors(str(packed))


@pytest.mark.parametrize(
    "array,said",
    [(np.array([[0.0, np.nan], [1.0, 2.0]], dtype=np.float32), "word 0 holds a number that is not"),
     (np.ones((2, 2), dtype=np.complex64), "holds complex64 values, not real numbers")],
)  # fmt: skip
def test_npy_vectors_that_are_not_finite_real_numbers_are_refused(tmp_path, array, said):
    np.save(tmp_path / "v.npy", array)  # as text and binary files with NaN are
    (tmp_path / "v.vocab.tsv").write_text("a\t0\nb\t0\n")
    with pytest.raises(ValueError, match=said):
        read_vectors(str(tmp_path / "v.npy"))


def test_npy_vectors_are_checked_for_nan_without_a_mask_of_the_whole_array(tmp_path):
    import tracemalloc

    array = np.ones((1000, 1000), dtype=np.float32)
    array[-1, -1] = np.inf  # (found in the last row, as in the first)
    np.save(tmp_path / "v.npy", array)
    (tmp_path / "v.vocab.tsv").write_text("".join(f"w{i}\t0\n" for i in range(1000)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="word 999 holds a number that is not finite"):
            read_vectors(str(tmp_path / "v.npy"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < array.nbytes * 1.1, peak  # the vectors' copy; a mask was 1/4 of it more


def test_most_similar_refuses_counts_and_vectors_it_cannot_rank_with(vectors):
    import sgns

    wv = sgns.Vectors(WORDS, vectors)
    assert [w for w, _ in wv.most_similar("the", restrict=2)] == ["café"]
    for query in ({"topn": -1}, {"topn": 2.5}, {"restrict": -1}):  # -1 was all words but one
        with pytest.raises(sgns.UsageError, match="must be an integer >= 0"):
            wv.most_similar("the", **query)
    with pytest.raises(sgns.UsageError, match=r"shape \(3,\), not of these vectors' \(7,\)"):
        wv.most_similar(positive=[np.ones(3)])
    with pytest.raises(sgns.UsageError, match="holds NaN or inf"):
        wv.most_similar(positive=[np.full(7, np.nan)])  # (it gave no neighbour, silently)


def test_an_interrupt_between_the_npy_and_its_vocabulary_replaces_both_or_neither(
    tmp_path, vectors, monkeypatch
):
    import os
    import signal

    path = str(tmp_path / "v.npy")
    write_vectors(path, WORDS, vectors, "npy")
    replace = os.replace

    def interrupted_after_the_first(src, dst):  # Ctrl-C lands between the two renames
        replace(src, dst)
        monkeypatch.setattr(os, "replace", replace)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", interrupted_after_the_first)
    other = ["a", "b", "c", "d"]
    with pytest.raises(KeyboardInterrupt):  # taken once both are in place
        write_vectors(path, other, vectors * 2, "npy")
    words, read = read_vectors(path)
    assert words == other
    np.testing.assert_array_equal(read, vectors * 2)


@pytest.mark.parametrize("shape", [(0, 4), (2, 0), (0, 0)])
def test_a_npy_of_no_rows_or_no_dimensions_is_refused_as_a_header_saying_so_is(tmp_path, shape):
    np.save(tmp_path / "v.npy", np.zeros(shape, dtype=np.float32))
    (tmp_path / "v.vocab.tsv").write_text("".join(f"w{i}\t0\n" for i in range(shape[0])))
    with pytest.raises(
        ValueError, match=re.escape(f"holds an array of shape {shape}: it holds no")
    ):
        read_vectors(str(tmp_path / "v.npy"))
    (tmp_path / "v.txt").write_text(f"{shape[0]} {shape[1]}\n")
    with pytest.raises(ValueError, match="it holds no vectors"):  # (as text, as ever)
        read_vectors(str(tmp_path / "v.txt"))
    for fmt in ("text", "npy"):  # and none is written that could not be read
        with pytest.raises(ValueError, match="no vectors to write"):
            write_vectors(str(tmp_path / f"w.{fmt}"), [f"w{i}" for i in range(shape[0])],
                          np.zeros(shape), fmt)  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["v.npy", "v.txt", "v.vocab.tsv"]


def test_a_npy_whose_vocabulary_is_a_fifo_is_refused_not_waited_on(tmp_path, vectors):
    path = str(tmp_path / "v.npy")
    write_vectors(path, WORDS, vectors, "npy")
    os.remove(tmp_path / "v.vocab.tsv")
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "fifo", tmp_path / "v.vocab.tsv")  # (the vector file's own check)
    done = subprocess.run(  # (a child: a read that waits on the FIFO ends in the timeout)
        [sys.executable, "-c", f"from sgns.vectors import read_vectors; read_vectors({path!r})"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0 and "v.vocab.tsv is a FIFO" in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize(
    "fmt,words,said",
    [("text", ["a", "b c"], "word 1, 'b c', is empty or holds a newline or ' '"),
     ("binary", ["a", ""], "word 1, '', is empty"),
     ("text", ["a\nb", "c"], "word 0, 'a\\nb', is empty or holds a newline"),
     ("npy", ["a\tb", "c"], "word 0, 'a\\tb', is empty or holds a newline or '\\t'"),
     ("npy", ["a", "a"], "word 1, 'a', is word 0 again"),
     ("binary", ["a\udcffb", "c"], "word 0, 'a\\udcffb', holds '\\udcff', which UTF-8 cannot"),
     ("text", ["a", 3], "word 1 is int 3, not str")],
)  # fmt: skip
def test_words_a_vector_file_could_not_read_back_are_refused_before_writing(
    tmp_path, fmt, words, said
):
    path = str(tmp_path / "v")
    with pytest.raises(ValueError, match=re.escape(f"{path!r} cannot be written: {said}")):
        write_vectors(path, words, np.ones((len(words), 3)), fmt)
    assert os.listdir(tmp_path) == []
    write_vectors(path, ["a\tb", "c"] if fmt != "npy" else ["a b", "c"], np.ones((2, 3)), fmt)
    assert read_vectors(path)[0] == (["a\tb", "c"] if fmt != "npy" else ["a b", "c"])


@pytest.mark.parametrize("fmt", ["text", "binary", "npy"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e39])
def test_save_refuses_a_vector_of_nan_or_inf_that_load_would_refuse(tmp_path, fmt, value):
    """(issue 20, fourth probe F10) Vectors.save wrote "a nan 1 1", which sgns.load refuses;
    1e39 became inf as float32 without a word. (Eighth probe N10: sgns.Vectors refuses such
    vectors itself now; the writer of save and sgns-export still does.)"""
    import warnings

    import sgns
    from sgns.errors import UsageError

    rows = [[1.0, 1.0, 1.0], [1.0, value, 1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (numpy: 1e39 overflows float32)
        with pytest.raises(UsageError, match=r"the vector of 'b' \(row 1\) holds NaN or inf"):
            sgns.Vectors(["a", "b"], rows)
        path = tmp_path / f"v.{fmt}"
        with pytest.raises(UsageError, match=r"the vector of 'b' \(row 1\) holds NaN or inf"):
            write_vectors(str(path), ["a", "b"], np.array(rows), fmt)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("token,at", [(b"x", 2), (b"0x1p0", 1), (b"one", 3)])
def test_a_word_where_a_number_goes_names_the_line_and_the_token(tmp_path, token, at):
    """(issue 20, fourth probe W1) "a 1 x 3" was read as binary: "ends inside the vector of
    word 1"."""
    from sgns.errors import UsageError

    numbers = [b"1", b"2", b"3"]
    numbers[at - 1] = token
    path = tmp_path / "v.txt"
    path.write_bytes(b"2 3\na " + b" ".join(numbers) + b"\nb 1 2 3\n")
    with pytest.raises(UsageError) as refused:
        read_vectors(str(path))
    said = f"line 2 holds {b' '.join(numbers)!r}, not numbers ({token.decode()!r}, number {at} "
    assert said + "of its vector, is no number)" in str(refused.value)

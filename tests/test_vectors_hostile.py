"""Vector files and `Vectors` given what they were not made for (issue 20, fifth probe): a header
that does not match its lines, a file that is neither format, a word twice, paths and arguments
of the wrong kind. Each is one line naming the thing (a sgns.UsageError), never garbage."""

import os
import re

import numpy as np
import pytest

import sgns
from sgns.errors import MissingFileError, UsageError
from sgns.vectors import read_vectors, sniff_format, write_vectors

ROWS = np.random.default_rng(0).normal(size=(50, 10))


def _text(path, header: str, rows=ROWS) -> str:
    lines = "".join(f"w{i} " + " ".join(f"{x:.6g}" for x in r) + "\n" for i, r in enumerate(rows))
    path.write_text(header + "\n" + lines)
    return str(path)


@pytest.mark.parametrize("header", ["10 50", "10 5", "5 20", "2 40", "50 11", "50 9", "50 1"])
def test_a_text_file_whose_header_does_not_match_its_lines_names_line_2_and_its_count(
    tmp_path, header
):
    """(F1, W1) read as binary: words '46', '.781311', values 2.8e33, exit 0; or "word 44 has
    no word before its numbers"."""
    path = _text(tmp_path / "v.txt", header)
    assert sniff_format(path) == "text"
    dim = header.split()[1]
    with pytest.raises(UsageError, match=re.escape(f"line 2 has 10 numbers, not the {dim} of")):
        sgns.load(path)


def test_a_text_file_with_a_number_too_few_on_a_line_names_that_line(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0] = rows[0][:9]  # line 2: 9 numbers
    path = tmp_path / "v.txt"
    path.write_text("50 10\n" + "".join(f"w{i} " + " ".join(map(str, r)) + "\n"
                                        for i, r in enumerate(rows)))  # fmt: skip
    with pytest.raises(UsageError, match="line 2 has 9 numbers, not the 10 of its header"):
        read_vectors(str(path))


@pytest.mark.parametrize(
    "body",
    ["the quick brown fox jumps\nover the lazy dog\n",  # a text of words, no numbers
     "w0\t0.5\t0.25\t1\nw1\t1\t2\t3\n",  # tab-separated numbers
     "new york 0.5 0.25 1\nparis 1 2 3\n"],  # a word with a space
)  # fmt: skip
def test_a_file_that_is_neither_text_nor_binary_vectors_is_refused_by_name(tmp_path, body):
    """(F1) taken for binary: its text read as words and 4-byte floats, exit 0."""
    path = tmp_path / "v.bin"
    path.write_text("2 3\n" + body)
    with pytest.raises(UsageError, match=r"'.*v\.bin' is neither a word2vec text file \(line 2"):
        sgns.load(str(path))


def test_a_header_with_nothing_after_it_says_where_the_file_ends(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("5 10\n")
    with pytest.raises(UsageError, match="no room for one vector of 10 numbers"):
        read_vectors(str(path))


def _binary(rows: list[tuple[bytes, bytes]]) -> bytes:
    """A binary vector file of (word, vector bytes) records, as word2vec.c writes it."""
    dim = len(rows[0][1]) // 4
    return f"{len(rows)} {dim}\n".encode() + b"".join(w + b" " + v + b"\n" for w, v in rows)


@pytest.mark.parametrize(
    "first", [b"1\n\x00\x3f", b"1 2\n", b"12\n?", b"\n\x00\x00\x3f", b"0.5 "]
)  # (a float whose bytes begin "1\n": line 2 reads "w0 1", a word and a number)
@pytest.mark.parametrize("count", [1, 3])
def test_binary_vectors_whose_first_bytes_read_as_a_word_and_numbers_stay_binary(
    tmp_path, first, count
):
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((count, 8)).astype("<f4")
    vectors[0, 0] = np.frombuffer(first, dtype="<f4")[0]
    path = tmp_path / "v.bin"
    path.write_bytes(_binary([(f"w{i}".encode(), v.tobytes()) for i, v in enumerate(vectors)]))
    assert sniff_format(str(path)) == "binary"
    words, read = read_vectors(str(path))
    assert words == [f"w{i}" for i in range(count)]
    np.testing.assert_array_equal(read, vectors)


@pytest.mark.parametrize("dim", [3, 8, 300])
def test_binary_vectors_of_any_values_are_told_binary(tmp_path, dim):
    rng = np.random.default_rng(dim)
    for scale in (1e-3, 1.0, 1e3):
        for count in (1, 2, 40):
            words = [f"w{i}" for i in range(count)]
            vectors = (scale * rng.standard_normal((count, dim))).astype(np.float32)
            write_vectors(str(tmp_path / "v.bin"), words, vectors, "binary")
            assert read_vectors(str(tmp_path / "v.bin"))[0] == words


def test_a_binary_word_holding_a_newline_is_refused(tmp_path):
    """(F1) word2vec.c ends a word at a newline: such a "word" is text or damage."""
    body = np.ones(4, dtype="<f4").tobytes()
    path = tmp_path / "v.bin"
    path.write_bytes(_binary([(b"a", body), (b"b\nc", body)]))
    with pytest.raises(UsageError, match=r"word 1 holds a newline \(after b'b'\)"):
        read_vectors(str(path), binary=True)


def test_vectors_refuse_a_word_given_twice():
    """(F6) most_similar("a") answered ("a", 0.99995): the word's other row."""
    with pytest.raises(UsageError, match=r"the word 'a' is given twice \(rows 0 and 1\)"):
        sgns.Vectors(["a", "a", "b"], [[1, 0], [1, 0.01], [0, 1]])


@pytest.mark.parametrize(
    "path,said,kind",
    [("", "Vectors.save: path is empty", UsageError),
     ("folder", "Vectors.save: path folder is a directory", UsageError),
     (".", "Vectors.save: path . is a directory", UsageError),
     ("folder/", "Vectors.save: path folder/ is a directory", UsageError),
     ("nodir/v.txt", "no such file or directory: nodir/v.txt", MissingFileError),
     ("x" * 300 + ".txt", "File name too long: xxx", UsageError),
     (b"v.txt", "path: give a path (str or os.PathLike), not bytes", UsageError)],
)  # fmt: skip
@pytest.mark.parametrize("fmt", ["text", "npy"])
def test_save_says_a_path_it_cannot_write_in_one_line(tmp_path, monkeypatch, path, said, kind, fmt):
    """(F15) FileNotFoundError "[Errno 2] ... ''", IsADirectoryError, "Device or resource
    busy"; sgns-export says each in one line."""
    monkeypatch.chdir(tmp_path)
    os.mkdir("folder")
    wv = sgns.Vectors(["a", "b"], np.eye(2))
    with pytest.raises(kind) as refused:
        wv.save(path, format=fmt)
    assert str(refused.value).startswith(said) and "\n" not in str(refused.value)
    assert sorted(os.listdir(".")) == ["folder"] and os.listdir("folder") == []


def test_save_takes_a_path_object_in_every_format(tmp_path):
    """(F15) npy: AttributeError 'PosixPath' object has no attribute 'endswith'."""
    wv = sgns.Vectors(["a", "b"], np.eye(2))
    for fmt in ("text", "binary", "npy"):
        wv.save(tmp_path / f"v.{fmt}", format=fmt)
        assert sgns.load(tmp_path / f"v.{fmt}").words == ["a", "b"]
    assert (tmp_path / "v.vocab.tsv").exists()


@pytest.mark.parametrize("restrict", [-1, 0, 2.5, "10", True])
@pytest.mark.parametrize("call", ["evaluate_word_pairs", "evaluate_word_analogies"])
def test_evaluations_refuse_a_restrict_that_is_no_count(tmp_path, call, restrict):
    """(F17) -1 dropped the last word silently, or "'minlength' must not be negative"; 2.5 and
    '10': TypeError "slice indices"."""
    wv = sgns.Vectors(["a", "b", "c", "d"], np.eye(4))
    path = tmp_path / "e.txt"
    path.write_text("a\tb\t1\nc\td\t2\n" if call == "evaluate_word_pairs" else ": s\na b c d\n")
    with pytest.raises(UsageError, match=f"{call}: restrict must be None or an integer >= 1"):
        getattr(wv, call)(str(path), restrict=restrict)
    assert getattr(wv, call)(path, restrict=None)["file"] == str(path)  # (a Path: 'endswith')


@pytest.mark.parametrize("call", ["evaluate_word_pairs", "evaluate_word_analogies"])
def test_evaluations_say_a_path_they_cannot_read_in_one_line(tmp_path, call):
    wv = sgns.Vectors(["a", "b", "c", "d"], np.eye(4))
    with pytest.raises(MissingFileError, match="evaluation file .*nosuch.txt does not exist"):
        getattr(wv, call)(str(tmp_path / "nosuch.txt"))
    with pytest.raises(UsageError, match="is a directory, not a file"):
        getattr(wv, call)(str(tmp_path))
    with pytest.raises(UsageError, match="path: give a path .* not bytes"):
        getattr(wv, call)(b"e.txt")


@pytest.mark.parametrize(
    "query,said",
    [({"positive": b"w0"}, "words are str, not bytes: b'w0'"),
     ({"positive": [b"w0", "w1"]}, "words are str, not bytes: b'w0'"),
     ({"negative": [b"w1"]}, "words are str, not bytes: b'w1'"),
     ({"positive": [("w0", 2.0)]}, "('w0', 2.0) is neither a word (str) nor a vector"),
     ({"positive": [5]}, "5 is neither a word (str) nor a vector"),
     ({"positive": 5}, "positive is int 5: give a word (str), a vector, or a list of them")],
)  # fmt: skip
def test_most_similar_says_what_is_no_word_and_no_vector(query, said):
    """(W3) "a vector of shape ()", "could not convert string to float", "'int' object is not
    iterable"."""
    wv = sgns.Vectors(["w0", "w1", "w2"], np.eye(3))
    with pytest.raises(UsageError, match=re.escape(f"most_similar: {said}")):
        wv.most_similar(**query)


@pytest.mark.parametrize("first", [b"abc?", b"x\n@?", b"Zz.?", b"\tq)>"])
def test_binary_vectors_of_one_dimension_whose_first_float_is_text_stay_binary(tmp_path, first):
    """(review of FG's sniff) "w0 abc?": a word and a word, as a text line with a word where a
    number goes: read as text and refused, for about 2% of the binary files of dimension 1."""
    vectors = np.array([[np.frombuffer(first, "<f4")[0]], [-1.0], [0.5]], dtype="<f4")
    path = tmp_path / "v.bin"
    path.write_bytes(_binary([(f"w{i}".encode(), v.tobytes()) for i, v in enumerate(vectors)]))
    assert sniff_format(str(path)) == "binary"
    words, read = read_vectors(str(path))
    assert words == ["w0", "w1", "w2"]
    np.testing.assert_array_equal(read, vectors)


def test_binary_vectors_of_one_dimension_are_told_binary(tmp_path):
    rng = np.random.default_rng(0)
    told = []
    for _ in range(300):
        vectors = rng.standard_normal((5, 1)).astype(np.float32)
        write_vectors(str(tmp_path / "v.bin"), [f"w{i}" for i in range(5)], vectors, "binary")
        told.append(sniff_format(str(tmp_path / "v.bin")))
    assert told.count("binary") == 300, told.count("text")


@pytest.mark.parametrize("line", ["w0 abcd", "w0 ab", "w0 x\n@?"])
def test_a_text_line_with_a_word_where_a_number_goes_is_still_named(tmp_path, line):
    """The binary check now comes first: a text file stays text, its reader names line 2."""
    path = tmp_path / "v.txt"
    path.write_text(f"3 1\n{line}\nw1 0.5\nw2 0.25\n")
    assert sniff_format(str(path)) == "text"
    with pytest.raises(UsageError, match="line 2"):
        read_vectors(str(path))

"""Vector files: our word2vec text/binary writers load in gensim, and our reader reads them back."""

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

"""Export: word2vec text and binary load in gensim with the trained values; npy round trip."""

import os

import numpy as np
import pytest
import torch
from train_helpers import write_tiny_dataset

from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.config import TrainConfig
from sgns.train.export import main as export_main
from sgns.train.trainer import train
from sgns.vectors import read_vectors


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    data, output = str(root / "data"), str(root / "run")
    write_tiny_dataset(data, vocab_size=30, pairs=600, shards=2)
    train(TrainConfig(data=data, output=output, dim=6, epochs=2, batch_size=64, device="cpu"))
    return output


def test_text_and_binary_round_trip_through_gensim(run, tmp_path):
    from gensim.models import KeyedVectors

    weights = load_checkpoint(checkpoint_path(run))["weights"]
    for fmt, binary in (("text", False), ("binary", True)):
        path = str(tmp_path / f"v.{fmt}")
        export_main([run, "--format", fmt, "--output", path])
        kv = KeyedVectors.load_word2vec_format(path, binary=binary)
        assert kv.index_to_key[:3] == ["w000", "w001", "w002"] and kv.vectors.shape == (30, 6)
        np.testing.assert_allclose(kv.vectors, weights[:30].numpy(), rtol=1e-5, atol=1e-6)


def test_end_of_run_text_file_is_the_input_vectors(run):
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(os.path.join(run, "vectors.txt"))
    weights = load_checkpoint(checkpoint_path(run))["weights"]
    np.testing.assert_allclose(kv.vectors, weights[:30].numpy(), rtol=1e-5, atol=1e-6)


def test_npy_average_vectors(run, tmp_path):
    path = str(tmp_path / "v.npy")
    export_main([run, "--format", "npy", "--output", path, "--vectors", "average"])
    words, vectors = read_vectors(path)
    weights = load_checkpoint(checkpoint_path(run))["weights"]
    assert words[0] == "w000"
    expected = ((weights[:30] + weights[30:]) / 2).numpy()
    assert torch.count_nonzero(weights[30:]) > 0
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)


def test_export_of_a_directory_that_is_no_run_fails_cleanly(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        export_main([str(tmp_path), "--output", str(tmp_path / "v.txt")])
    assert exit_.value.code != 0
    assert capsys.readouterr().err.startswith("sgns-export: error:")

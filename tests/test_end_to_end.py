"""The whole path, as `make demo` runs it: sgns-synth -> sgns-preprocess (Beam, DirectRunner)
-> torchrun with 2 gloo processes -> vectors that recover the planted structure."""

import os
import sys

import numpy as np
import pytest
import torch
from procs import run_group

from sgns.dataset import read_vocab
from sgns.eval.planted import evaluate_synthetic, load_truth
from sgns.pipeline.preprocess import main as preprocess
from sgns.synth.cli import main as synth
from sgns.train.table import init_weights
from sgns.vectors import read_vectors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    corpus = str(work / "corpus.txt.gz")
    assert synth(["--output", corpus, "--tokens", "300000", "--seed", "3"]) == 0
    assert preprocess(["--input", corpus, "--output", str(work / "data")]) == 0
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "sgns.train", "--data", str(work / "data"), "--output", str(work / "run"),
        "--epochs", "5", "--threads", "1", "--seed", "5", "--batch-size", "2048",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = run_group(command, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return work, load_truth(corpus + ".truth.json")


def test_training_recovers_planted_clusters_and_analogies(trained):
    work, truth = trained
    words, vectors = read_vectors(str(work / "run" / "vectors.txt"))
    result = evaluate_synthetic(words, vectors, truth, k=10)
    assert result["cluster_precision"] > 0.9
    assert result["analogies"]["questions"] > 500
    assert result["analogies"]["accuracy"] > 0.12  # 0.21 measured; chance is 1/1648


def test_a_model_trained_for_zero_steps_recovers_nothing(trained):
    work, truth = trained
    words, _ = read_vocab(str(work / "data"))
    weights = init_weights(len(words), 100, torch.Generator().manual_seed(5))
    vectors = weights[: len(words)].numpy()  # input vectors, as exported
    result = evaluate_synthetic(words, np.ascontiguousarray(vectors), truth, k=10)
    assert result["cluster_precision"] < 0.2
    assert result["analogies"]["accuracy"] < 0.05

"""The native engine's negative mode "group": the C kernel's grouped update against a plain
HogBatch loop, its threads, and the grouped reading order it trains in (sgns.train.shards)."""

import math

import numpy as np
import pytest
import torch
from train_helpers import check_threads_agree, tiny_config, write_tiny_dataset

from sgns.train import seeds
from sgns.train.config import TrainConfig
from sgns.train.engines import resolve
from sgns.train.native import build
from sgns.train.native.kernel import CHUNK, NativeKernel
from sgns.train.sampler import AliasSampler
from sgns.train.shards import group_order
from sgns.train.trainer import train

needs_native = pytest.mark.skipif(
    not build.available(), reason="no C compiler: the native engine cannot be built here"
)


def _reference(weights, centers, contexts, negatives, group, lr, old_words=0, old_ratio=1.0):
    """Groups of at most `group` consecutive pairs with one center, in plain Python (float64),
    in place: the contexts' input rows, one after another, against the center's output row and
    the negatives drawn for the group's first pair, all output rows at the group's starting
    values and moved once, at its end."""
    vocab = weights.shape[0] // 2
    rate = lambda word: lr * old_ratio if word < old_words else lr  # noqa: E731
    centers, contexts, loss, lo = centers.tolist(), contexts.tolist(), 0.0, 0
    while lo < len(centers):
        c, hi = centers[lo], lo + 1
        while hi < len(centers) and hi - lo < group and centers[hi] == c:
            hi += 1
        targets = [c, *negatives[lo].tolist()]
        outputs = weights[[vocab + t for t in targets]].copy()
        steps = np.zeros_like(outputs)
        for i in range(lo, hi):
            v = weights[contexts[i]]
            g = np.zeros(len(targets))
            for j, t in enumerate(targets):
                if j > 0 and t == c:
                    continue
                f = float(outputs[j] @ v)
                g[j] = (1.0 if j == 0 else 0.0) - 1.0 / (1.0 + math.exp(-f))
                loss += math.log1p(math.exp(-f)) if j == 0 else math.log1p(math.exp(f))
            steps += np.outer(g, v)
            v += rate(contexts[i]) * (g @ outputs)
        for j, t in enumerate(targets):
            weights[vocab + t] += rate(t) * steps[j]
        lo = hi
    return loss


def _setup(vocab=12, dim=6, pairs=CHUNK, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 50, vocab)
    sampler = AliasSampler(counts, 0.75)
    weights = torch.from_numpy(rng.normal(0, 0.3, (2 * vocab, dim)).astype(np.float32))
    centers = torch.from_numpy(np.sort(rng.integers(0, vocab, pairs)).astype(np.int32))
    contexts = torch.from_numpy(rng.integers(0, vocab, pairs).astype(np.int32))
    return sampler, weights, centers, contexts


@needs_native
@pytest.mark.parametrize("group,old_words,old_ratio", [(5, 0, 1.0), (7, 5, 0.25), (1, 0, 1.0)])
def test_kernel_matches_the_hogbatch_loop(group, old_words, old_ratio):
    # One chunk of sorted centers: runs of ~21 pairs, cut into groups of `group`.
    sampler, weights, centers, contexts = _setup()
    engine = NativeKernel(sampler, negatives=4, threads=1, group=group)
    negatives = engine.negatives(seed=123, pairs=len(centers))
    assert (negatives == centers.long().unsqueeze(1)).any()  # the masked case occurs
    expected = weights.double().numpy().copy()
    want = _reference(expected, centers, contexts, negatives, group, 0.05, old_words, old_ratio)
    got = engine.step(weights, centers, contexts, 123, 0.05, old_words, old_ratio)
    assert got == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(weights.numpy(), expected, atol=2e-5)


@needs_native
def test_groups_of_one_pair_train_the_pairs_loss_and_threads_train_each_group_once():
    sampler, weights, centers, contexts = _setup(vocab=200, dim=16, pairs=20_000)
    pairwise = NativeKernel(sampler, 5, threads=1)
    ones = NativeKernel(sampler, 5, threads=1, group=1)
    # At lr 0 a group of one pair has the pair's loss, with the context as the input word.
    frozen = weights.clone()
    swapped = pairwise.step(frozen, contexts, centers, 9, 0.0)
    assert ones.step(frozen, centers, contexts, 9, 0.0) == pytest.approx(swapped, rel=1e-6)
    one = NativeKernel(sampler, 5, threads=1, group=10)
    three = NativeKernel(sampler, 5, threads=3, group=10)
    check_threads_agree(one, three, weights, centers, contexts)


def _check_runs(centers, out, size):
    """`out` is a permutation of the row group's pairs in which each center's pairs come in
    runs of `size` (one shorter), each read as one block (two runs of a center may meet), the
    runs in a random order; returns the pairs of the most frequent center, in reading order."""
    assert sorted(out.tolist()) == list(range(len(centers)))
    where = np.argsort(out)  # where[p]: pair p's place in the grouped order
    for word in np.unique(centers):
        places = np.sort(where[centers == word])
        blocks = np.split(places, np.flatnonzero(np.diff(places) != 1) + 1)
        assert len(blocks) <= math.ceil(len(places) / size)
        assert {len(b) % size for b in blocks} <= {0, len(places) % size}
        assert len(places) < 4 * size or len(blocks) > 1  # cut into runs, not read whole
    assert np.any(np.diff(centers[out]) < 0)  # the runs are not in the centers' order
    top = np.bincount(centers).argmax()
    return out[centers[out] == top]


@needs_native
def test_grouped_order_keeps_each_centers_pairs_together_in_random_runs():
    rng = np.random.default_rng(3)
    centers = np.sort(rng.integers(0, 50, 5000)).astype(np.int32)  # a sorted row group
    out = group_order(centers, 8, seeds.stream_generator(1, "rows", 0))
    top = _check_runs(centers, out, 8)
    assert np.any(np.diff(top) < 0)  # a center's pairs (stored by context) come shuffled
    again = group_order(centers, 8, seeds.stream_generator(1, "rows", 0))
    assert np.array_equal(again, out)  # the unit's stream decides it: a resumed run reads it
    assert not np.array_equal(group_order(centers, 8, seeds.stream_generator(1, "rows", 1)), out)
    # a row group that is not sorted (a version-1 shuffled shard) is grouped all the same
    shuffled = rng.permutation(centers)
    _check_runs(shuffled, group_order(shuffled, 8, seeds.stream_generator(1, "rows", 2)), 8)
    assert len(group_order(centers[:0], 8, seeds.stream_generator(1, "rows", 3))) == 0


def _config(**kw):
    return resolve(TrainConfig(data="d", output="o", device="cpu", **kw), torch.device("cpu"))


@needs_native
def test_group_mode_is_the_native_engines_in_one_process(monkeypatch):
    assert _config(negative_mode="group").engine == "native"
    # several ranks (the block scheme owns input rows by center): auto is pair, group refused
    assert _config(emulate_ranks=2).negative_mode == "pair"
    with pytest.raises(ValueError, match="negative-mode pair"):
        _config(negative_mode="group", emulate_ranks=2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _config().negative_mode == "pair"
    with pytest.raises(ValueError, match="native engine"):
        TrainConfig(data="d", output="o", engine="torch", negative_mode="group")
    with pytest.raises(ValueError, match="group-size"):
        TrainConfig(data="d", output="o", group_size=build.MAX_GROUP + 1)


@needs_native
def test_a_grouped_run_resumes_only_with_its_group_size(tmp_path):
    data = str(tmp_path / "data")
    write_tiny_dataset(data, vocab_size=40, pairs=1200, shards=2, passes=2)
    run = str(tmp_path / "run")
    kw = dict(engine="native", threads=1, epochs=2, checkpoint_interval=5, log_interval=4)
    assert train(tiny_config(data, run, stop_after_steps=5, **kw)) is None
    with pytest.raises(ValueError, match="--group-size 10"):
        train(tiny_config(data, run, resume=True, group_size=4, **kw))
    train(tiny_config(data, run, resume=True, **kw))  # as it was: resumes

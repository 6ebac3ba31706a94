"""The native CPU engine (sgns/train/native): the C kernel against a plain Python word2vec update,
its negative draws, threads, and how the config picks it. Skips where no C compiler builds it."""

import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch
from procs import ROOT
from train_helpers import check_threads_agree

from sgns.train.config import TrainConfig
from sgns.train.engines import resolve
from sgns.train.native import build
from sgns.train.native.kernel import NativeKernel
from sgns.train.sampler import AliasSampler, batch_key
from sgns.train.seeds import stream_seed

needs_native = pytest.mark.skipif(
    not build.available(), reason="no C compiler: the native engine cannot be built here"
)


def _reference(weights, centers, contexts, negatives, lr, old_words=0, old_ratio=1.0):
    """word2vec.c's skip-gram negative-sampling loop in plain Python (float64): in place."""
    vocab = weights.shape[0] // 2
    loss = 0.0
    for c, o, negs in zip(centers.tolist(), contexts.tolist(), negatives.tolist()):
        v = weights[c]
        lr_v = lr * old_ratio if c < old_words else lr
        e = np.zeros_like(v)
        for j, t in enumerate([o, *negs]):
            if j > 0 and t == o:
                continue
            u = weights[vocab + t]
            f = float(u @ v)
            g = (1.0 if j == 0 else 0.0) - 1.0 / (1.0 + math.exp(-f))
            loss += math.log1p(math.exp(-f)) if j == 0 else math.log1p(math.exp(f))
            e += g * lr_v * u
            u += g * (lr * old_ratio if t < old_words else lr) * v
        v += e
    return loss


def _setup(vocab=12, dim=6, pairs=300, seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 50, vocab)
    sampler = AliasSampler(counts, 0.75)
    weights = torch.from_numpy(rng.normal(0, 0.3, (2 * vocab, dim)).astype(np.float32))
    centers = torch.from_numpy(rng.integers(0, vocab, pairs).astype(np.int32))
    contexts = torch.from_numpy(rng.integers(0, vocab, pairs).astype(np.int32))
    return counts, sampler, weights, centers, contexts


@needs_native
@pytest.mark.parametrize("old_words,old_ratio", [(0, 1.0), (5, 0.25)])
def test_kernel_matches_the_word2vec_loop(old_words, old_ratio):
    _, sampler, weights, centers, contexts = _setup()
    engine = NativeKernel(sampler, negatives=4, threads=1)
    negatives = engine.negatives(seed=123, pairs=len(centers))
    assert (negatives == contexts.long().unsqueeze(1)).any()  # the masked case occurs
    expected = weights.double().numpy().copy()
    want = _reference(expected, centers, contexts, negatives, 0.05, old_words, old_ratio)
    got = engine.step(weights, centers, contexts, 123, 0.05, old_words, old_ratio)
    assert got == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(weights.numpy(), expected, atol=2e-5)


@needs_native
def test_draws_follow_count_to_the_power_and_depend_only_on_seed_and_pair():
    counts, sampler, *_ = _setup(vocab=30)
    engine = NativeKernel(sampler, negatives=5)
    draws = engine.negatives(seed=7, pairs=100_000)
    assert draws.shape == (100_000, 5) and draws.min() >= 0 and draws.max() < 30
    freq = np.bincount(draws.view(-1).numpy(), minlength=30) / draws.numel()
    want = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(freq, want, atol=4 * np.sqrt(want.max() / draws.numel()))
    assert torch.equal(engine.negatives(seed=7, pairs=100_000), draws)
    assert torch.equal(engine.negatives(seed=7, pairs=10, first=500), draws[500:510])
    assert not torch.equal(engine.negatives(seed=8, pairs=1000), draws[:1000])
    key = batch_key(stream_seed(1, "negatives", 0), 2**31 + 42)  # past 2**63: as uint64
    assert torch.equal(sampler.sample((1000, 5), key), engine.negatives(key, 1000))


@needs_native
def test_threads_share_a_batch_and_train_each_pair_once():
    _, sampler, weights, centers, contexts = _setup(vocab=200, dim=16, pairs=20_000)
    check_threads_agree(
        NativeKernel(sampler, 5, threads=1), NativeKernel(sampler, 5, threads=3), weights,
        centers, contexts,
    )  # fmt: skip


@needs_native
def test_bad_tables_are_refused():
    _, sampler, weights, centers, contexts = _setup()
    engine = NativeKernel(sampler, 5)
    with pytest.raises(ValueError, match="float32"):
        engine.step(weights.double(), centers, contexts, 1, 0.1)
    with pytest.raises(ValueError, match="sampler"):
        engine.step(torch.zeros(2 * 13, 6), centers, contexts, 1, 0.1)
    assert engine.step(weights, centers[:0], contexts[:0], 1, 0.1) == 0.0
    with pytest.raises(ValueError, match="word ids"):  # the C code would write out of bounds
        engine.step(weights, centers, contexts + 12, 1, 0.1)
    with pytest.raises(ValueError, match="contexts"):
        engine.step(weights, centers, contexts[:-1], 1, 0.1)


def _config(**kw):
    """A config with engine and mode settled for the CPU, as the trainer settles them."""
    return resolve(TrainConfig(data="d", output="o", device="cpu", **kw), torch.device("cpu"))


@needs_native
def test_auto_picks_native_groups_on_cpu_and_torch_for_a_pool():
    assert (_config().engine, _config().negative_mode) == ("native", "group")
    assert _config(negative_mode="pair").engine == "native"
    assert _config(negative_mode="pool").engine == "torch"
    assert _config(engine="torch").negative_mode == "pool"
    assert _config(engine="torch", negative_mode="pair").negative_mode == "pair"
    with pytest.raises(ValueError, match="negative-mode pair"):
        _config(engine="native", negative_mode="pool")


def test_without_a_compiler_auto_falls_back_and_native_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("SGNS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "_loaded", {})
    unresolved = TrainConfig(data="d", output="o", device="cpu", engine="native")
    assert build._loaded == {}  # a config validates; it does not try to build the kernel
    config = _config()
    assert (config.engine, config.negative_mode) == ("torch", "pool")
    with pytest.raises(ValueError, match="no C compiler"):
        resolve(unresolved, torch.device("cpu"))


def test_native_needs_the_cpu():
    with pytest.raises(ValueError, match="CPU"):
        TrainConfig(data="d", output="o", device="cuda", engine="native")
    auto_device = TrainConfig(data="d", output="o", engine="native")  # device auto: on CUDA ...
    with pytest.raises(ValueError, match="CPU"):
        resolve(auto_device, torch.device("cuda"))  # ... it is refused where it is settled


def test_a_resumed_run_keeps_its_engine_and_mode():
    auto = TrainConfig(data="d", output="o", device="cpu")
    kept = resolve(auto, torch.device("cpu"), {"engine": "torch", "negative_mode": "pair"})
    assert (kept.engine, kept.negative_mode) == ("torch", "pair")
    older = resolve(auto, torch.device("cpu"), {"negative_mode": "pool"})  # before engines
    assert (older.engine, older.negative_mode) == ("torch", "pool")


@needs_native
def test_sizes_beyond_the_kernel_fall_back_or_are_refused():
    assert _config(negatives=300).engine == "torch"
    assert _config(dim=5000).engine == "torch"
    with pytest.raises(ValueError, match="--negatives <= 256"):
        _config(engine="native", negatives=300)


@needs_native
def test_an_unwritable_cache_falls_back_to_the_temp_directory(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("SGNS_CACHE", str(blocker / "cache"))  # cannot be created
    monkeypatch.setattr(build, "_loaded", {})
    assert build.load()._name.startswith(tempfile.gettempdir())


@needs_native
def test_a_cached_kernel_cut_short_is_compiled_again_not_loaded(tmp_path):
    env = dict(os.environ, SGNS_CACHE=str(tmp_path / "cache"), PYTHONPATH=ROOT)
    code = "import logging; logging.basicConfig(level=logging.INFO); from sgns.train.native "
    load = [sys.executable, "-c", code + "import build; print(build.load()._name)"]
    first = subprocess.run(load, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    library = first.stdout.strip()
    whole = os.path.getsize(library)
    os.truncate(library, whole // 2)  # a crash or a full disk before its blocks were written
    again = subprocess.run(load, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, (again.returncode, again.stderr[-2000:])  # (it was SIGBUS)
    assert again.stdout.strip() == library and os.path.getsize(library) == whole
    assert "the cached one is cut short" in again.stderr


@needs_native
def test_a_compiled_kernel_reaches_the_disk_before_it_takes_its_name(monkeypatch, tmp_path):
    done = []  # ("fsync" or "replace", the file's inode), in order
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        done.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source, target):
        done.append(("replace", os.stat(source).st_ino))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = str(tmp_path / "cache" / "sgns_kernel.so")
    build._compile(build._compiler(), ["-O0", *build._LIMITS], target)
    library = os.stat(target).st_ino
    assert ("fsync", library) in done, done  # (a crash could leave it cut short: SIGBUS)
    assert done.index(("fsync", library)) < done.index(("replace", library)), done
    assert build._is_whole(target)

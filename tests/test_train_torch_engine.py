"""The torch engine's step (sgns/train/torch_engine.py): fixed shapes with masked padding, no
host round trip, one graph under torch.compile, a pinned op count, micro-steps."""

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from sgns.train import distributed
from sgns.train.config import TrainConfig
from sgns.train.plan import TrainingStage
from sgns.train.sampler import AliasSampler
from sgns.train.torch_engine import TorchEngine

V, D = 50, 8
# aten ops of one steady step of one micro-step (pool mode, row cap on, the valid count a
# device tensor as in a captured step); BENCHMARKS.md records it. Fewer is better: lower it
# when the step gets leaner, never raise it without a reason in BENCHMARKS.md.
STEADY_STEP_OPS = 95  # 76 of them compute, the rest are views


def _engine(batch=64, micro=64, mode="pool", old_words=0, span=1, **kw):
    counts = (1000 / np.arange(1, V + 1)).astype(int) + 3
    config = TrainConfig(
        data="d", output="o", dim=D, batch_size=batch, micro_batch=micro, engine="torch",
        negative_mode=mode, device="cpu", pool_size=7, **kw,
    )  # fmt: skip
    ratio = 0.5 if old_words else 1.0
    stage = TrainingStage(0, 1, 0, 0.05, [str(i) for i in range(V)], counts.tolist(), [],
                          old_words, ratio)  # fmt: skip
    stage.plans = []  # total_steps 0: the lr schedule is flat at lr
    sampler = AliasSampler(counts, 0.75)
    return TorchEngine(config, distributed.setup("cpu"), stage, sampler, pool_span=span)


def _data(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(2 * V, D, generator=g) * 0.1
    return weights, torch.randint(V, (n,), generator=g), torch.randint(V, (n,), generator=g)


@pytest.mark.parametrize("mode", ["pool", "pair"])
def test_padding_changes_nothing_and_a_masked_batch_is_its_valid_pairs(mode):
    weights, centers, contexts = _data(64)
    runs = []
    for padding in ("zeros", "garbage"):
        engine, w = _engine(mode=mode), weights.clone()
        c, x = centers.clone(), contexts.clone()
        c[40:] = 0 if padding == "zeros" else torch.randint(V, (24,))
        x[40:] = 0 if padding == "zeros" else torch.randint(V, (24,))
        loss = engine.step(w, c, x, torch.tensor(40), 0, 0.05)
        runs.append((w, loss))
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    whole, w = _engine(batch=40, micro=40, mode=mode), weights.clone()
    if mode == "pair":  # per-pair negatives: the same draws for the first 40 pairs
        loss = whole.step(w, centers[:40], contexts[:40], 40, 0, 0.05)
        torch.testing.assert_close(w, runs[0][0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(loss, runs[0][1], rtol=1e-5, atol=1e-6)


def test_a_step_trains_its_batch_as_micro_steps_in_sequence():
    weights, centers, contexts = _data(64)
    one, w1 = _engine(batch=64, micro=32), weights.clone()
    loss = one.step(w1, centers, contexts, 64, 0, 0.05)
    two, w2 = _engine(batch=64, micro=32), weights.clone()  # the same micro-steps by hand
    total = torch.zeros((), dtype=torch.float64)
    for m in range(2):
        part = slice(32 * m, 32 * (m + 1))
        total += two._micro_step(w2, centers[part], contexts[part], 32, torch.tensor(m), 0.05)
    assert torch.equal(w1, w2) and torch.equal(loss, total)
    assert int(one.step_count) == 1


@pytest.mark.parametrize("span, valid", [(2, 64), (3, 64), (3, 40)])
def test_the_micro_steps_of_a_span_share_one_pool_whose_rows_move_once(span, valid):
    """The block scheme's spans (sgns.train.engines.for_blocks): the pool is drawn at a span's
    first micro-step, and its rows take the span's summed deltas once, at its end (a span cut
    short by the step's end or its padding too); centers and contexts move at each micro-step."""
    from sgns.train.sampler import batch_key
    from sgns.train.step import apply_update, sgns_update

    weights, centers, contexts = _data(64)
    engine, w = _engine(batch=64, micro=16, span=span, row_cap=0), weights.clone()
    loss = engine.step(w, centers, contexts, valid, 0, 0.05)
    expected, total = weights.clone(), torch.zeros((), dtype=torch.float64)
    for first in range(0, 4, span):
        negatives = engine.sampler.sample((7,), batch_key(engine.seed, first))
        pool = torch.zeros(7, D)
        for m in range(first, min(first + span, 4)):
            left = valid - 16 * m
            if left <= 0:
                break
            mask = None if left >= 16 else (torch.arange(16) < left).float()
            part = slice(16 * m, 16 * (m + 1))
            rows, deltas, more = sgns_update(
                expected, centers[part], contexts[part], negatives, 0.05, engine.scale, mask
            )
            apply_update(expected, rows[:32], deltas[:32])
            pool += deltas[32:]
            total += more
        apply_update(expected, rows[32:], pool)
    torch.testing.assert_close(w, expected, rtol=0, atol=1e-7)
    torch.testing.assert_close(loss, total)
    assert not torch.equal(w, _stepped(weights, centers, contexts, valid))  # spans matter


def _stepped(weights, centers, contexts, valid):
    """`weights` after one step of micro-steps of 16 with a pool each (no span)."""
    w = weights.clone()
    _engine(batch=64, micro=16, row_cap=0).step(w, centers, contexts, valid, 0, 0.05)
    return w


class _Ops(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def test_a_steady_step_reads_nothing_back_and_its_op_count_is_pinned():
    engine = _engine()
    weights, centers, contexts = _data(64)
    valid = torch.tensor(64)
    engine.step(weights, centers, contexts, valid, 0, 0.05)  # warm: caches filled
    with _Ops() as ops:
        engine.step(weights, centers, contexts, valid, 1, 0.05)
    assert "aten._local_scalar_dense" not in ops.names  # .item(), bool(), int(): host syncs
    assert not [n for n in ops.names if "nonzero" in n or "unique" in n]  # data-dependent
    assert len(ops.names) <= STEADY_STEP_OPS, f"{len(ops.names)} ops: {sorted(set(ops.names))}"


@pytest.mark.parametrize("mode, micro, span", [("pool", 64, 1), ("pair", 64, 1), ("pool", 16, 3)])
def test_the_steady_step_compiles_as_one_graph(mode, micro, span):
    weights, centers, contexts = _data(64)
    kw = dict(mode=mode, old_words=10, micro=micro, span=span)
    eager, compiled = _engine(**kw), _engine(**kw)
    w_eager, w_compiled = weights.clone(), weights.clone()
    step = torch.compile(compiled._step, fullgraph=True, backend="aot_eager", dynamic=False)
    for i in range(3):
        valid = torch.tensor(64 if i < 2 else 50)
        a = eager._step(w_eager, centers, contexts, valid)
        b = step(w_compiled, centers, contexts, valid)  # fullgraph: a graph break raises
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(w_eager, w_compiled)
    explained = torch._dynamo.explain(eager._step)(w_eager, centers, contexts, torch.tensor(64))
    assert explained.graph_count == 1 and explained.graph_break_count == 0


def test_the_device_learning_rate_is_the_schedule():
    from sgns.train.step import decayed_lr

    for step in (0, 7, 99, 150):
        host = decayed_lr(step, 5, 100, 0.025, 1e-4)
        device = decayed_lr(torch.tensor(step), 5, 100, 0.025, 1e-4)
        assert float(device) == pytest.approx(host, rel=1e-6)


@pytest.mark.slow
def test_the_step_compiled_by_inductor_trains_as_the_eager_one():
    weights, centers, contexts = _data(64)
    eager, compiled = _engine(), _engine(step_mode="compile")  # torch.compile(fullgraph=True)
    w_eager, w_compiled = weights.clone(), weights.clone()
    for step in range(3):
        a = eager.step(w_eager, centers, contexts, torch.tensor(64), step, 0.05)
        b = compiled.step(w_compiled, centers, contexts, torch.tensor(64), step, 0.05)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(w_eager, w_compiled, rtol=1e-5, atol=1e-6)


def test_the_torch_engine_takes_whole_micro_steps_and_a_settled_mode():
    from sgns.train.engines import resolve

    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match="multiple of --micro-batch"):
        resolve(TrainConfig(data="d", output="o", batch_size=10000, engine="torch"), cpu)
    assert resolve(TrainConfig(data="d", output="o", batch_size=2048, engine="torch"), cpu)
    with pytest.raises(ValueError, match="settle it first"):
        unsettled = TrainConfig(data="d", output="o", engine="torch")  # negative_mode auto
        TorchEngine(unsettled, distributed.setup("cpu"), None, None)


def test_a_checkpoint_from_before_the_micro_steps_resumes_as_it_trained():
    from sgns.train.resume import as_saved, check_resumable

    old = TrainConfig(data="d", output="o", batch_size=8192, micro_batch=8192).to_dict()
    del old["micro_batch"]  # as a checkpoint of before wrote its config: pool 160 at 8192
    config = as_saved(TrainConfig(data="d", output="o", batch_size=8192), old)
    assert (config.micro_batch, config.pool_size) == (8192, 160)
    check_resumable(old, config)  # accepted: the same summed update, the same pool

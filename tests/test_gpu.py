"""The torch engine on a CUDA device: the same step as on the CPU, a captured graph that trains
as the eager step does, no host sync in steady steps, checkpoints that cross devices.
Skipped without CUDA (CI has none); `make gpu-check` runs them on a machine with a GPU. This
file imports neither Beam nor gensim: that machine has neither."""

import numpy as np
import pytest
import torch
from train_helpers import tiny_config, write_tiny_dataset

from sgns.train import distributed
from sgns.train.checkpoint import checkpoint_path, load_checkpoint
from sgns.train.config import TrainConfig
from sgns.train.loader import PairBatches
from sgns.train.plan import TrainingStage
from sgns.train.sampler import AliasSampler
from sgns.train.shards import epoch_units, load_dataset
from sgns.train.step import apply_update, sgns_update
from sgns.train.torch_engine import TorchEngine
from sgns.train.trainer import train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
V, D = 300, 16


def _engine(device, step_mode, batch=1024, micro=256):
    counts = (10000 / np.arange(1, V + 1)).astype(int) + 3
    config = TrainConfig(data="d", output="o", dim=D, batch_size=batch, micro_batch=micro,
                         engine="torch", negative_mode="pool", device=device,
                         step_mode=step_mode)  # fmt: skip
    stage = TrainingStage(0, 1, 0, 0.025, [str(i) for i in range(V)], counts.tolist(), [])
    ctx = distributed.Context(0, 0, 1, torch.device(device))
    return TorchEngine(config, ctx, stage, AliasSampler(counts, 0.75, device))


def _batch(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(2 * V, D, generator=g) * 0.1
    return weights, torch.randint(V, (n,), generator=g), torch.randint(V, (n,), generator=g)


def test_cuda_step_matches_cpu_step_and_accumulates_deterministically():
    weights, centers, contexts = _batch(256)
    negatives = torch.randint(V, (20,))
    cpu = weights.clone()
    apply_update(cpu, *sgns_update(cpu, centers, contexts, negatives, 0.1)[:2])
    gpu = weights.cuda()
    rows, deltas, _ = sgns_update(gpu, centers.cuda(), contexts.cuda(), negatives.cuda(), 0.1)
    apply_update(gpu, rows, deltas)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)
    again = weights.cuda()
    apply_update(again, rows, deltas)
    apply_update(gpu, rows, deltas)
    apply_update(again, rows, deltas)
    assert torch.equal(again, gpu)  # the same bits: replicas stay identical


def test_negatives_drawn_on_cuda_are_those_drawn_on_the_cpu():
    counts = np.arange(1, V + 1)
    cpu, gpu = AliasSampler(counts, 0.75), AliasSampler(counts, 0.75, "cuda")
    assert torch.equal(cpu.sample((64, 5), 12345), gpu.sample((64, 5), 12345).cpu())


def test_a_captured_graph_trains_as_the_eager_step():
    weights, centers, contexts = _batch(1024)
    eager, graph = _engine("cuda", "eager"), _engine("cuda", "graph")
    w_eager, w_graph = weights.cuda(), weights.cuda()
    for step in range(4):
        valid = 1024 if step < 3 else 700  # a short last batch, masked
        a = eager.step(w_eager, centers.cuda(), contexts.cuda(), valid, step, 0.025)
        b = graph.step(w_graph, centers.cuda(), contexts.cuda(), valid, step, 0.025)
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(w_eager, w_graph)
    assert int(graph.step_count) == 4


def test_steady_steps_never_wait_for_the_host(tmp_path):
    data = str(tmp_path / "data")
    manifest = write_tiny_dataset(data, vocab_size=V, pairs=20000, shards=2, row_group_rows=512)
    _, _, _, sizes = load_dataset(data, manifest)
    units = epoch_units(data, manifest, sizes, 0)
    engine = _engine("cuda", "graph")
    weights = _batch(1)[0].cuda()
    batches = iter(PairBatches(units, 1024, 19, V, device="cuda"))
    for step in range(2):  # capture and warm-up
        centers, contexts, valid = next(batches)
        engine.step(weights, centers, contexts, valid, step, 0.025)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        total = torch.zeros((), dtype=torch.float64, device="cuda")
        for step in range(2, 18):  # full batches: 16 steady steps, the loader's copies included
            centers, contexts, valid = next(batches)
            total += engine.step(weights, centers, contexts, valid, step, 0.025)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(total).item()


@pytest.mark.parametrize("first,then", [("cpu", "cuda"), ("cuda", "cpu")])
def test_a_checkpoint_resumes_on_another_device(tmp_path, first, then):
    data, run = str(tmp_path / "data"), str(tmp_path / "run")
    write_tiny_dataset(data, vocab_size=40, pairs=1200, shards=2)
    kw = dict(engine="torch", epochs=2, checkpoint_interval=5)
    assert train(tiny_config(data, run, device=first, stop_after_steps=10, **kw)) is None
    train(tiny_config(data, run, device=then, resume=True, **kw))
    state = load_checkpoint(checkpoint_path(run))
    assert state["step"] == 48 and torch.isfinite(state["weights"]).all()

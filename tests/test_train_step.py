"""The hand-written SGNS step: gradients equal autograd's, updates are sparse and lower the loss."""

import pytest
import torch

from sgns.train.step import apply_update, sgns_loss, sgns_update
from sgns.train.table import init_weights


def _batch(vocab=30, dim=8, batch=16, mode="pool", pool=7, negatives=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(2 * vocab, dim, generator=g) * 0.3
    centers = torch.randint(vocab, (batch,), generator=g)
    contexts = torch.randint(vocab, (batch,), generator=g)
    shape = (pool,) if mode == "pool" else (batch, negatives)
    negs = torch.randint(vocab, shape, generator=g)
    if mode == "pool":
        negs[0] = contexts[0]  # exercise the mask: a negative equal to a positive
    else:
        negs[0, 0] = contexts[0]
    return weights, centers, contexts, negs


@pytest.mark.parametrize("mode", ["pool", "pair"])
def test_manual_update_is_minus_lr_times_autograd_gradient(mode):
    weights, centers, contexts, negs = _batch(mode=mode)
    scale = 3 / 7 if mode == "pool" else 1.0
    lr = 0.1
    rows, deltas, loss = sgns_update(weights, centers, contexts, negs, lr, scale)
    manual = torch.zeros_like(weights).index_add_(0, rows, deltas)

    w = weights.clone().requires_grad_(True)
    reference = sgns_loss(w, centers, contexts, negs, scale)
    reference.backward()
    torch.testing.assert_close(manual, -lr * w.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss.float(), reference.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["pool", "pair"])
def test_a_negative_equal_to_the_positive_is_masked(mode):
    weights, centers, contexts, negs = _batch(mode=mode, batch=1, pool=1, negatives=1)
    negs.fill_(int(contexts[0]))
    rows, deltas, loss = sgns_update(weights, centers, contexts, negs, 0.1)
    # only the positive term remains: the negative row's delta is zero
    assert torch.count_nonzero(deltas[2:]) == 0
    expected = -torch.nn.functional.logsigmoid((weights[centers] * weights[contexts + 30]).sum())
    torch.testing.assert_close(loss.float(), expected)


@pytest.mark.parametrize("mode", ["pool", "pair"])
def test_one_step_lowers_the_loss(mode):
    weights, centers, contexts, negs = _batch(mode=mode, batch=64)
    before = sgns_loss(weights, centers, contexts, negs)
    rows, deltas, _ = sgns_update(weights, centers, contexts, negs, 0.05)
    apply_update(weights, rows, deltas)
    assert sgns_loss(weights, centers, contexts, negs) < before - 1e-3


def test_update_touches_only_rows_the_batch_used():
    weights, centers, contexts, negs = _batch(vocab=50, batch=4, pool=3)
    before = weights.clone()
    rows, deltas, _ = sgns_update(weights, centers, contexts, negs, 0.5)
    apply_update(weights, rows, deltas)
    touched = set(centers.tolist()) | {50 + i for i in contexts.tolist() + negs.tolist()}
    changed = set(torch.nonzero((weights != before).any(1)).flatten().tolist())
    assert changed <= touched and changed


def test_repeated_rows_sum_their_updates():
    weights = torch.zeros(4, 2)
    apply_update(weights, torch.tensor([1, 1, 3]), torch.tensor([[1.0, 2], [3, 4], [5, 6]]))
    assert weights.tolist() == [[0, 0], [4, 6], [0, 0], [5, 6]]


def test_init_is_word2vec_c():
    weights = init_weights(100, 10, torch.Generator().manual_seed(0))
    assert weights.shape == (200, 10)
    assert weights[:100].abs().max() <= 0.5 / 10 and weights[:100].std() > 0.01
    assert torch.count_nonzero(weights[100:]) == 0


def test_row_cap_scales_only_rows_repeated_more_than_the_cap():
    from sgns.train.step import cap_repeated_rows

    rows = torch.tensor([2, 2, 2, 2, 5, 7, 7])
    deltas = torch.ones(7, 3)
    capped = cap_repeated_rows(rows, deltas, 2, num_rows=8)
    summed = torch.zeros(8, 3).index_add_(0, rows, capped)
    assert summed[2].tolist() == [2.0] * 3  # 4 occurrences capped to the sum of 2
    assert summed[7].tolist() == [2.0] * 3 and summed[5].tolist() == [1.0] * 3


def test_row_cap_counts_a_pool_row_by_the_pairs_it_sums():
    from sgns.train.step import cap_repeated_rows

    rows = torch.tensor([0, 1, 4])  # center, context, one pool negative
    deltas = torch.ones(3, 2)
    multiplicity = torch.tensor([1.0, 1.0, 64.0])  # the pool row sums 64 pair updates
    capped = cap_repeated_rows(rows, deltas, 16, num_rows=6, multiplicity=multiplicity)
    assert capped[:2].tolist() == [[1.0, 1.0]] * 2 and capped[2].tolist() == [0.25, 0.25]

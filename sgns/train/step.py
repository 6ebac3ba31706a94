"""The SGNS training step of the torch engine as pure tensor functions: gradients by hand,
sparse row updates.

Parameters are one table `weights` (2V, D) (sgns.train.table: input rows, then output rows). A
step gathers only the rows its batch uses, computes the gradient of

    loss = -log σ(u_o·v_c) - scale · Σ_k log σ(-u_k·v_c)

by hand (no autograd: g_pos = σ(s_pos) - 1, g_neg = σ(s_neg); grad_v = g_pos·u_o + g_neg @ U_neg,
grad_u_o = g_pos·v_c, grad_U_neg = g_negᵀ @ v_c) and returns the update as (rows, deltas) for
`apply_update`, which adds them with index_add_ (plain SGD, as word2vec.c). The full table is never
read per step. All gradients are taken at the parameters before the step (word2vec.c applies the
output updates of one pair immediately; with sparse batches the difference is second order).

Two negative modes:
- "pair": `negatives` (B, K) ids, K own negatives per pair, scale 1.
- "pool": `negatives` (P,) ids shared by the whole batch (two matrix multiplies); with
  scale = K / P the expected update of every row equals that of K per-pair negatives.

A negative equal to its pair's positive context is masked out (contributes neither loss nor
gradient), as word2vec.c skips it: otherwise a frequent word would be pushed away from centers it
really occurs with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sgns.train import table


@dataclass(frozen=True)
class RowLayout:
    """Which rows a batch's update holds: centers, contexts, then negatives (pool or per pair)."""

    mode: str  # "pool" or "pair"
    negatives: int  # K
    pool_size: int  # P
    scale: float = 1.0  # the pool's gradient scale (negatives / pool_size, or 1)


def sgns_update(
    weights: torch.Tensor,
    centers: torch.Tensor,
    contexts: torch.Tensor,
    negatives: torch.Tensor,
    lr: float | torch.Tensor,
    scale: float = 1.0,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step's update, not yet applied.

    weights (2V, D); centers, contexts (B,) int64; negatives (B, K) or (P,) int64; lr a float
    or a 0-dim tensor on the device; mask (B,) float, 1 for a pair and 0 for padding (a short
    batch padded to its fixed shape: its padding adds no loss and no update), None for all 1.
    Returns rows (R,) int64 into weights, deltas (R, D) = -lr * gradient, and the summed loss of
    the batch (a 0-dim float64 tensor, left on the device so no step waits for the host).
    """
    vocab, dim = table.vocab_size(weights), weights.shape[1]
    batch = centers.shape[0]
    pool = negatives.dim() == 1
    contexts_out = table.output_rows(contexts, vocab)
    negatives_out = table.output_rows(negatives.reshape(-1), vocab)
    rows = torch.cat([centers, contexts_out, negatives_out])  # (R,)
    gathered = torch.index_select(weights, 0, rows)  # (R, D): the only read of the table
    v, u_pos = gathered[:batch], gathered[batch : 2 * batch]  # (B, D) each
    u_neg = gathered[2 * batch :]  # (P, D) or (B*K, D)
    if pool:
        s_neg = v @ u_neg.T  # (B, P)
        differ = torch.ne(negatives.unsqueeze(0), contexts.unsqueeze(1))  # (B, P)
    else:
        u_neg = u_neg.view(batch, -1, dim)  # (B, K, D)
        s_neg = (u_neg * v.unsqueeze(1)).sum(2)  # (B, K); faster than a bmm (BENCHMARKS.md)
        differ = torch.ne(negatives, contexts.unsqueeze(1))  # (B, K)
    # (B, P|K): 1 where a negative counts; a padding pair has no negative term
    keep = differ.to(v.dtype) if mask is None else differ * mask.unsqueeze(1)
    s_pos = (v * u_pos).sum(1)  # (B,)
    # -log σ(s) = softplus(-s); -log σ(-s) = softplus(s). Summed in float32 per batch, then
    # accumulated across steps in float64 by the caller.
    loss_neg = torch.dot(F.softplus(s_neg).view(-1), keep.view(-1)) * scale
    loss_pos = F.softplus(-s_pos)  # (B,)
    loss_pos = loss_pos.sum() if mask is None else torch.dot(loss_pos, mask)
    loss = (loss_pos + loss_neg).to(torch.float64)
    # Coefficients already times -lr, so the deltas come out of the products directly.
    neg_lr = -lr
    g_pos = torch.sigmoid(s_pos).sub_(1).mul_(neg_lr)  # (B,)
    g_pos = (g_pos if mask is None else g_pos.mul_(mask)).unsqueeze(1)  # (B, 1)
    g_neg = torch.sigmoid(s_neg).mul_(keep).mul_(neg_lr * scale)  # (B, P|K)
    deltas = torch.empty_like(gathered)  # (R, D), filled in place: no concatenation copy
    torch.mul(g_pos, v, out=deltas[batch : 2 * batch])
    if pool:
        torch.addmm(g_pos * u_pos, g_neg, u_neg, out=deltas[:batch])
        torch.mm(g_neg.T, v, out=deltas[2 * batch :])
    else:
        delta_v = torch.baddbmm((g_pos * u_pos).unsqueeze(1), g_neg.unsqueeze(1), u_neg)
        deltas[:batch] = delta_v.squeeze(1)
        torch.mul(g_neg.unsqueeze(2), v.unsqueeze(1), out=deltas[2 * batch :].view(batch, -1, dim))
    return rows, deltas, loss


def cap_repeated_rows(
    rows: torch.Tensor,
    deltas: torch.Tensor,
    cap: float,
    num_rows: int,
    multiplicity: torch.Tensor | None = None,
    totals: torch.Tensor | None = None,
) -> torch.Tensor:
    """Deltas (R, D) scaled so a row whose updates in this step add up more than `cap` pair
    updates gets cap / (its total) of its sum.

    A frequent word occurs hundreds of times in one large batch; summing all those updates, each
    computed at the same stale parameters, overshoots where sequential SGD self-corrects (at 16384
    pairs per step the plain sum diverged). multiplicity (R,): how many pair updates each delta
    row sums (1 for a center or a context; batch * negatives / pool for a pool negative, whose
    delta sums the whole batch); None means 1 each. totals: a zero float32 scratch vector of
    `num_rows` that the trainer keeps across steps; the counts are added into it at the touched
    rows and cleared there again, so a step costs O(R), not O(V) (None: a fresh one). Float32:
    a count is exact up to 2**24 pair updates of one row in one step.
    """
    if totals is None:
        totals = torch.zeros(num_rows, device=rows.device)
    if multiplicity is None:
        multiplicity = torch.ones(rows.shape[0], device=rows.device)
    apply_update(totals, rows, multiplicity)  # deterministic order on CUDA too
    factor = (cap / totals[rows]).clamp_(max=1.0)  # (R,)
    totals.index_fill_(0, rows, 0.0)  # back to zeros for the next step
    return deltas.mul_(factor.unsqueeze(1))  # in place: the deltas are the step's own


def apply_update(weights: torch.Tensor, rows: torch.Tensor, deltas: torch.Tensor) -> None:
    """weights[rows] += deltas, summing repeated rows, in an order that is the same everywhere.

    On CPU index_add_ runs sequentially. On CUDA index_add_ uses atomics (the summation order, and
    so the rounding, would differ between replicas); an accumulating index_put sorts the rows
    first and sums each row's deltas in a fixed order, so every rank computes the same bits. Its
    unchecked form: the checked one reads the rows' range back to the host (a sync per call);
    rows here are always in range (the loader checks every row group's ids).
    """
    if weights.is_cuda:
        torch.ops.aten._index_put_impl_(weights, (rows,), deltas, accumulate=True, unsafe=True)
    else:
        weights.index_add_(0, rows, deltas)


def row_multiplicity(mask: torch.Tensor, layout: RowLayout) -> torch.Tensor:
    """Pair updates summed in each delta row of one batch's update (R,), from its mask (B,):
    1 for a pair's center and context, a pool negative's sum over the pairs times the scale,
    a pair's own negative 1; 0 for padding."""
    if layout.mode == "pool":
        pool = (mask.sum() * layout.scale).expand(layout.pool_size)
        return torch.cat([mask, mask, pool])
    own = mask.unsqueeze(1).expand(-1, layout.negatives).reshape(-1)
    return torch.cat([mask, mask, own])


# A mean loss per pair this many times the initial table's is divergence: SGD from word2vec's
# initialisation lowers the loss; a run whose updates overshoot raises it without bound long
# before it overflows (one seen: BENCHMARKS.md, "Figures behind the defaults").
LOSS_GROWTH = 4.0


def loss_limit(config) -> float:
    """The mean loss per pair beyond which a run has diverged (sgns.train.trainer)."""
    return LOSS_GROWTH * initial_loss(config)


def initial_loss(config) -> float:
    """The mean loss per pair of word2vec's initial table (output rows zero, every score 0):
    ln 2 for the positive and for each negative the loss counts (K, or the whole pool unscaled
    with --no-pool-scale)."""
    negatives = config.negatives
    if config.negative_mode == "pool" and not config.pool_scale:
        negatives = config.pool_size
    return (1 + negatives) * math.log(2)


def decayed_lr(step, base_step: int, total_steps: int, lr: float, min_lr_ratio: float):
    """word2vec.c's linear decay over a stage, from `lr` to lr * min_lr_ratio; `step` a Python
    int or a device tensor (then so is the result: no host round trip)."""
    done = (step - base_step) / max(total_steps, 1)
    if isinstance(done, torch.Tensor):
        return (1.0 - done).clamp(min=min_lr_ratio) * lr
    return lr * max(min_lr_ratio, 1.0 - done)


def sgns_loss(weights, centers, contexts, negatives, scale: float = 1.0) -> torch.Tensor:
    """The same loss written plainly for autograd (tests compare gradients against it)."""
    vocab = table.vocab_size(weights)
    v = weights[centers]  # (B, D)
    u_pos = weights[table.output_rows(contexts, vocab)]  # (B, D)
    u_neg = weights[table.output_rows(negatives, vocab)]  # (P, D) or (B, K, D)
    if negatives.dim() == 1:
        s_neg = v @ u_neg.T  # (B, P)
        keep = negatives.unsqueeze(0) != contexts.unsqueeze(1)
    else:
        s_neg = torch.einsum("bd,bkd->bk", v, u_neg)  # (B, K)
        keep = negatives != contexts.unsqueeze(1)
    pos = F.logsigmoid((v * u_pos).sum(1)).sum()
    return -(pos + (F.logsigmoid(-s_neg) * keep * scale).sum())

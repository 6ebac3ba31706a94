"""One code path for 1..N processes: what torchrun's environment switches, and the row sync.

Without RANK/WORLD_SIZE in the environment the trainer is one process and no process group is
made. Under torchrun the backend follows the device: NCCL on CUDA, gloo on CPU. LOCAL_RANK picks
the GPU; RANK is the global rank (the only single-node / multi-node difference).

Row synchronisation (`all_gather_update`): standard NCCL has no sparse all-reduce, so each step
every rank all-gathers its touched row ids and their deltas, padded to the largest rank's count
(padding rows point at row 0 with zero deltas), and then every rank applies all ranks' updates in
rank order. Each rank so applies bitwise the same update to bitwise the same table, and the
replicas stay identical after any number of steps; no rank ever sends the full |V| x D table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> Context:
    """Read torchrun's environment, pick the device, and start the process group if any."""
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available; use cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            dist.init_process_group(backend, device_id=dev)
        else:
            dist.init_process_group(backend)
    return Context(rank, local_rank, world_size, dev)


def teardown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_update(
    rows: torch.Tensor, deltas: torch.Tensor, world_size: int, sizes: list[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """All ranks' (rows (R_r,), deltas (R_r, D)) concatenated in rank order, padding removed.

    `sizes`, every rank's R_r, spares a collective and a host sync when the caller knows them
    (the trainer does: they follow from the shared plan); otherwise they are all-gathered.
    """
    if world_size == 1:
        return rows, deltas
    if sizes is None:
        count = torch.tensor([rows.shape[0]], device=rows.device, dtype=torch.int64)
        counts = [torch.empty_like(count) for _ in range(world_size)]
        dist.all_gather(counts, count)
        sizes = torch.cat(counts).tolist()
    assert sizes[dist.get_rank()] == rows.shape[0], "the plan and the batch disagree"
    largest = max(sizes)
    pad = largest - rows.shape[0]
    if pad:
        rows = torch.cat([rows, rows.new_zeros(pad)])
        deltas = torch.cat([deltas, deltas.new_zeros(pad, deltas.shape[1])])
    all_rows = rows.new_empty(world_size * largest)  # (W*R,)
    all_deltas = deltas.new_empty(world_size * largest, deltas.shape[1])  # (W*R, D)
    _gather_into(all_rows, rows.contiguous())
    _gather_into(all_deltas, deltas.contiguous())
    keep = [slice(r * largest, r * largest + n) for r, n in enumerate(sizes)]
    return (torch.cat([all_rows[s] for s in keep]), torch.cat([all_deltas[s] for s in keep]))


def _gather_into(output: torch.Tensor, local: torch.Tensor) -> None:
    # all_gather_single where this torch has it (all_gather_into_tensor warns there)
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    gather(output, local)


def all_reduce_sum(values: torch.Tensor, world_size: int) -> torch.Tensor:
    """Sum of a small tensor over ranks (identity for one process)."""
    if world_size > 1:
        values = values.clone()
        dist.all_reduce(values)
    return values


def broadcast_object(obj, world_size: int):
    """Rank 0's object on every rank."""
    if world_size == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def any_rank(flag: bool, ctx: Context) -> bool:
    """Whether `flag` is true on any rank (a collective: every rank calls it together)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    return bool(all_reduce_sum(value, ctx.world_size).item() > 0)

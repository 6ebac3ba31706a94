"""One code path for 1..N processes: what torchrun's environment switches.

Without RANK/WORLD_SIZE in the environment the trainer is one process and no process group is
made. Under torchrun the backend follows the device: NCCL on CUDA, gloo on CPU. LOCAL_RANK picks
the GPU; RANK is the global rank (the only single-node / multi-node difference).

How several ranks train one model is sgns.train.blocks (and its collectives
sgns.train.exchange); this module only starts and ends the process group and holds the small
collectives the one-process path uses for bookkeeping.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.constants import default_pg_timeout

from sgns.console import environment
from sgns.console.environment import GroupStartError
from sgns.errors import UsageError


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
    ranks = environment.ranks()  # (a UsageError naming a variable that is no whole number)
    rank, local_rank, world_size = ranks.rank, ranks.local_rank, ranks.world_size
    cuda = torch.cuda.is_available()
    device = pick_device(device, local_rank, cuda, torch.cuda.device_count() if cuda else 0)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size > 1 and not dist.is_initialized():
        environment.check_meeting_point(world_size)
        _start_group(dev, rank, world_size)
    return Context(rank, local_rank, world_size, dev)


def _start_group(dev: torch.device, rank: int, world_size: int) -> None:
    """The process group of `world_size` ranks, met at MASTER_ADDR:MASTER_PORT; a UsageError
    naming them when it cannot start there (an address that is no host's, a port in use, the
    other ranks not come within the timeout): torch's traceback was all a user saw."""
    backend = "nccl" if dev.type == "cuda" else "gloo"
    extra = {"device_id": dev} if dev.type == "cuda" else {}
    try:
        store = _attempt_store(rank, world_size)
        if store is not None:
            extra.update(store=store, rank=rank, world_size=world_size)
        dist.init_process_group(backend, **extra)
    except (ValueError, dist.DistNetworkError, dist.DistStoreError) as e:
        where = f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}"
        cause = " ".join(str(e).split())[:200] or type(e).__name__
        raise GroupStartError(
            f"rank {rank} of {world_size} could not meet the others at MASTER_ADDR:MASTER_PORT "
            f"{where} ({cause}): give a free port on rank 0's host (torchrun --master-port), "
            "or unset WORLD_SIZE and RANK to train in one process"
        ) from None


def pick_device(asked: str, local_rank: int, cuda: bool, count: int) -> str:
    """The device a rank trains on for --device `asked` (auto: CUDA where there is CUDA; cuda:
    cuda:LOCAL_RANK), on a machine with (`cuda`) or without CUDA and `count` CUDA devices
    visible to the process; UsageError when it names no device there."""
    device = ("cuda" if cuda else "cpu") if asked == "auto" else asked
    if device == "cuda":
        device = f"cuda:{local_rank}"
    if device.startswith("cuda") and not cuda:
        raise UsageError(f"device {device!r} was asked for but CUDA is not available; use cpu")
    if device.startswith("cuda:") and int(device.removeprefix("cuda:")) >= count:
        there = f"this machine shows {count} CUDA device(s)"
        there += f" (cuda:0 to cuda:{count - 1})" if count > 1 else " (cuda:0)" if count else ""
        if asked.startswith("cuda:"):
            raise UsageError(f"--device {asked}: {there}; name one of them, or cuda")
        raise GroupStartError(  # (every rank says it: rank 0 may have a device, and wait)
            f"--device {asked}: LOCAL_RANK {local_rank} picks {device}, but {there}: start at "
            f"most {count} process(es) per node (torchrun --nproc-per-node {count})"
        )
    return device


def _attempt_store(rank: int, world_size: int):
    """Under torchrun's elastic agent, its store with the keys of this restart attempt apart.

    Without it, a group restarted by --max-restarts after a rank was killed hung or failed in
    gloo's connectFullMesh ("Connection refused") in 4 of 5 tries here (torch 2.13; with it, 0 of
    4: tests/test_train_distributed.py): the new ranks appear to meet keys the killed attempt
    left. A prefix per attempt (TORCHELASTIC_RESTART_COUNT) keeps each attempt to its own keys.
    None outside torchrun: init_process_group's env:// then."""
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT")
    if attempt is None or "MASTER_ADDR" not in os.environ:
        return None
    agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"  # the agent hosts it
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size,
        is_master=not agent and rank == 0, multi_tenant=not agent,
        timeout=default_pg_timeout,  # init_process_group's own default
    )  # fmt: skip
    return dist.PrefixStore(f"sgns-attempt-{attempt}", store)


def teardown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        from sgns.train.exchange import forget_groups

        forget_groups()  # (no group of ours outlives the default one, held by a reference)
        dist.destroy_process_group()


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

"""Every collective of the block scheme, in one place: what ranks agree on and hand each other.

Per chunk (sgns.train.episodes): `route` sends each pair a rank read to the rank that owns its
context's output block (one all_gather of the N x N bucket counts, one all_to_all_single of
8 bytes a pair, on a process group of its own), posted a chunk ahead and left in flight
(`post`, `Routed`) while the chunk before trains. Per episode: `agree` sums the episode's loss
and the ranks' flags (a stop signal, a checkpoint due) in one small all-reduce; `rotate` hands
each rank's input block to rank r - 1 and takes rank r + 1's (point to point, about V / N rows
of D floats). At a checkpoint or a stage's end, `gather` leaves every rank with the whole table:
one all-reduce of the table in which each rank contributes its own rows
(sgns.train.blocks.Deal.home_rows) and zeros elsewhere, so the sum is exact and the replicas are
identical bit for bit.

One process can host all N ranks (`--emulate-ranks N`): it hosts ranks 0..N-1, routes by
concatenating what each of them read in rank order (what all_to_all_single hands a rank), and
needs no rotation or gathering, since its one table holds every block. The routed pairs, the
counts and so the trained tables are those of N real ranks.

`sent_bytes` / `calls` count the payload this rank hands to collectives (none in an emulation),
logged at each epoch's end (sgns.train.episodes) to compare with benchmarks/cost_model.py.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from sgns.train import blocks


class Routed:
    """A chunk's routed pairs, their all_to_all perhaps still in flight (`work`)."""

    def __init__(self, owned, counts, work=None, sent=None):
        self.owned, self.counts, self.work, self.sent = owned, counts, work, sent

    def wait(self) -> tuple[list[torch.Tensor], torch.Tensor]:
        if self.work is not None:
            self.work.wait()
            self.work = self.sent = None
        return self.owned, self.counts


class Exchange:
    """The block scheme's collectives for `hosted` ranks of the `deal`'s (one real rank: [rank];
    an emulation: all of them, in one process)."""

    def __init__(self, deal: blocks.Deal, hosted: list[int], device: torch.device):
        self.deal, self.ranks, self.hosted, self.device = deal, deal.blocks, hosted, device
        self.real = len(hosted) < self.ranks  # other processes hold the other ranks
        self.sent_bytes, self.calls = 0, 0
        self.ahead: tuple[tuple[int, int], Routed] | None = None  # (epoch, chunk), its routing
        if self.real:
            self.group = _routing_group()
            self.home = deal.home_rows(hosted[0]).to(device)  # (about 2V/N,)
            self.block_rows = [
                deal.words(b).to(device) for b in range(self.ranks)
            ]  # input rows of each block

    def route(self, read: list[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """`read`: the (n, 2) int32 pairs (center, context) each hosted rank read. Returns the
        pairs each hosted rank owns (those whose context is in its output block, in the order
        sources 0..N-1 hand them over), and the chunk's bucket counts (N, N) over all ranks."""
        return self.post(read).wait()

    def post(self, read: list[torch.Tensor]) -> Routed:
        """`route`, its all_to_all left in flight (`Routed.wait` ends it), so that a chunk's
        pairs travel while the previous chunk trains (sgns.train.episodes keeps one `ahead`)."""
        routed = [self.deal.route(p[:, 0], p[:, 1]) for p in read]
        parts = [torch.stack([c, x], 1) for c, x, _ in routed]  # (n, 2) each, by context block
        sizes = [s for _, _, s in routed]  # (N,) each: pairs for each destination
        counts = sum(self.deal.bucket_counts(c, x) for c, x, _ in routed)
        if not self.real:
            pieces = [torch.split(p, s.tolist()) for p, s in zip(parts, sizes)]
            owned = [torch.cat([pieces[s][r] for s in range(self.ranks)]) for r in self.hosted]
            return Routed(owned, counts)
        # every rank's (N, N) counts: their sum is the chunk's, column r what rank r receives
        local = torch.cat([counts.view(-1), sizes[0]]).to(self.device)
        everyone = [torch.empty_like(local) for _ in range(self.ranks)]
        self._count(local)
        dist.all_gather(everyone, local, group=self.group)
        everyone = [t.cpu() for t in everyone]
        total = sum(t[: self.ranks**2] for t in everyone).view(self.ranks, self.ranks)
        me = self.hosted[0]
        incoming = [int(t[self.ranks**2 + me]) for t in everyone]
        send = parts[0].to(self.device)
        received = torch.empty((sum(incoming), 2), dtype=send.dtype, device=self.device)
        self._count(send)
        work = dist.all_to_all_single(
            received, send, incoming, sizes[0].tolist(), group=self.group, async_op=True
        )  # fmt: skip
        return Routed([received], total, work, send)

    def settle(self) -> None:
        """End the routing kept `ahead`, if any (before a stop: no collective left in flight)."""
        if self.ahead is not None:
            self.ahead[1].wait()
            self.ahead = None

    def agree(self, values: list[float]) -> list[float]:
        """The sums over ranks of a few numbers (an episode's loss; a chunk's flags)."""
        if not self.real:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        self._count(tensor)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def rotate(self, weights: torch.Tensor, episode: int) -> None:
        """After `episode`: hand the input block trained in it to rank r - 1, take the one
        rank r + 1 trained, which this rank trains next (sgns.train.blocks.owned_blocks)."""
        if not self.real or self.ranks == 1:
            return
        rank, n = self.hosted[0], self.ranks
        mine = self.block_rows[blocks.owned_blocks(rank, episode, n)[0]]
        nxt = self.block_rows[blocks.owned_blocks(rank, episode + 1, n)[0]]
        outgoing = weights.index_select(0, mine)  # (V/N, D)
        incoming = weights.new_empty((len(nxt), weights.shape[1]))
        self._count(outgoing)
        ops = [
            dist.P2POp(dist.isend, outgoing, (rank - 1) % n),
            dist.P2POp(dist.irecv, incoming, (rank + 1) % n),
        ]
        for request in dist.batch_isend_irecv(ops):
            request.wait()
        weights.index_copy_(0, nxt, incoming)

    def gather(self, weights: torch.Tensor) -> None:
        """Every rank's own rows into every rank's table (between chunks, when each holds its
        home blocks): afterwards the replicas are identical."""
        if not self.real:
            return
        mine = weights.index_select(0, self.home)
        weights.zero_()
        weights.index_copy_(0, self.home, mine)
        self._count(weights)
        dist.all_reduce(weights)

    def _count(self, tensor: torch.Tensor) -> None:
        self.sent_bytes += tensor.numel() * tensor.element_size()
        self.calls += 1


_groups: dict = {}  # the routing's process group, by the default group it was made in


def _routing_group():
    """The routing's own process group, over every rank: its all_to_all, in flight while a chunk
    trains, runs beside the episodes' collectives on the default group (on NCCL one group's
    collectives run one after another, so on the default group episode 0's all-reduce would wait
    for the whole chunk's routing). Made by every rank at its first stage, in the same order, and
    again in a new default group (a second `sgns.train` call in one torchrun script: the first
    one's teardown destroyed every group)."""
    world = dist.group.WORLD
    if world not in _groups:
        _groups.clear()
        _groups[world] = dist.new_group(list(range(dist.get_world_size())))
    return _groups[world]


def forget_groups() -> None:
    """Drop the routing's group before the default group is destroyed (sgns.train.distributed
    .teardown), so that it goes with the others rather than as the process ends."""
    _groups.clear()

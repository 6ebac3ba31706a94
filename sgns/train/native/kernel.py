"""The native kernel as a Python object: word2vec.c's pair-by-pair update on a CPU table.

Why: on CPU the tensor step (sgns.train.step) is bound by per-op overhead and, in pool mode, by
matrix products over the pool; word2vec.c's loop touches 1 + K output rows per pair and nothing
else. ctypes releases the GIL during a call, so `threads` Python threads run slices of one batch
at once on the shared table, lock-free (Hogwild, as word2vec.c and gensim). With one thread a
run is bit-reproducible for a seed; with more, like gensim with several workers, rounding
differs between runs.
"""

from __future__ import annotations

import ctypes
import functools
from concurrent.futures import ThreadPoolExecutor, wait

import torch

from sgns.train import table
from sgns.train.native.build import MAX_DIM, MAX_GROUP, MAX_NEGATIVES, load

CHUNK = 256  # pairs a thread takes at a time from a batch (sgns_batch)


class NativeKernel:
    """Applies batches of pairs to a CPU float32 table (2V, D) in place, `threads` at once,
    drawing each pair's negatives from `sampler`'s alias tables (sgns.train.sampler).
    The calling thread trains too: `threads` - 1 helper threads join it on each batch (handing
    the batch over and reading the next one meanwhile was slower: BENCHMARKS.md, "Figures
    behind the defaults")."""

    def __init__(self, sampler, negatives: int, threads: int = 1, group: int = 0):
        """`group` > 0: train in groups of at most `group` consecutive pairs with one center,
        sharing their negatives (sgns_groups; negative mode "group"); 0: pair by pair."""
        lib = load()
        self.fn, self.draw_fn = lib.sgns_batch, lib.sgns_draw
        if group:
            if not 1 <= group <= MAX_GROUP:
                raise ValueError(f"the native engine takes groups of 1..{MAX_GROUP} pairs")
            self.fn = functools.partial(_with_group, lib.sgns_groups, group)
        self.prob = sampler.prob.to(torch.float32).contiguous()  # (V,)
        self.alias = sampler.alias.to(torch.int64).contiguous()  # (V,)
        if self.prob.device.type != "cpu":
            raise ValueError("the native engine samples on the CPU")
        if not 1 <= negatives <= MAX_NEGATIVES:
            raise ValueError(
                f"the native engine takes 1..{MAX_NEGATIVES} negatives, not {negatives}"
            )
        self.k = negatives
        self.threads = max(1, threads)
        self.pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()

    def negatives(self, seed: int, pairs: int, first: int = 0) -> torch.Tensor:
        """The negatives (pairs, K) int64 that `step` draws for pairs first .. first + pairs - 1
        of a batch with this seed."""
        out = torch.empty(pairs, self.k, dtype=torch.int64)
        self.draw_fn(
            self.prob.data_ptr(), self.alias.data_ptr(), len(self.prob), seed, first, pairs,
            self.k, out.data_ptr(),
        )  # fmt: skip
        return out

    def step(
        self,
        weights: torch.Tensor,
        centers: torch.Tensor,
        contexts: torch.Tensor,
        seed: int,
        lr: float,
        old_words: int = 0,
        old_ratio: float = 1.0,
    ) -> float:
        """Train the pairs (centers, contexts: (B,)) into `weights` in place, with negatives
        drawn from `seed` (an integer in [0, 2**64)); returns the batch's summed loss."""
        if weights.dtype != torch.float32 or weights.device.type != "cpu":
            raise ValueError("the native engine trains a float32 table on the CPU")
        if not weights.is_contiguous():
            raise ValueError("the native engine needs a contiguous table")
        vocab, dim = table.vocab_size(weights), weights.shape[1]
        if dim > MAX_DIM:
            raise ValueError(f"the native engine supports dim <= {MAX_DIM}, got {dim}")
        if vocab != len(self.prob):
            raise ValueError(f"table of {vocab} words, sampler of {len(self.prob)}")
        centers = centers.to(torch.int32).contiguous()
        contexts = contexts.to(torch.int32).contiguous()
        n = centers.shape[0]
        if contexts.shape != (n,):
            raise ValueError(f"{n} centers but {tuple(contexts.shape)} contexts")
        if n == 0:
            return 0.0
        low, high = torch.aminmax(torch.cat([centers, contexts]))
        if low < 0 or high >= vocab:  # the C code would write outside the table
            raise ValueError(f"word ids in [{int(low)}, {int(high)}], the table has {vocab} words")
        taken = torch.zeros(1, dtype=torch.int64)  # the threads' shared position in the batch
        losses = torch.zeros(self.threads, dtype=torch.float64)  # one slot per calling thread
        args = (
            weights.data_ptr(), vocab, dim, centers.data_ptr(), contexts.data_ptr(), n,
            taken.data_ptr(), CHUNK, self.k, self.prob.data_ptr(), self.alias.data_ptr(), seed,
            lr, old_words, old_ratio,
        )  # fmt: skip
        slots = [losses.data_ptr() + 8 * t for t in range(self.threads)]
        helpers = (
            [self.pool.submit(self._call, args, slot) for slot in slots[1:]] if self.pool else []
        )
        try:
            self._call(args, slots[0])
        finally:  # the helpers use this frame's buffers: never leave while they run
            wait(helpers)
        for helper in helpers:
            helper.result()
        return float(losses.sum())

    def _call(self, args: tuple, loss_slot: int) -> None:
        status = self.fn(*args, ctypes.c_void_p(loss_slot))
        if status == 2:
            raise MemoryError("the native kernel could not allocate its scratch for a group")
        if status != 0:  # the checks above make this unreachable; never add a garbage loss
            raise RuntimeError(f"the native kernel refused the batch (status {status})")


def _with_group(fn, group: int, *args):
    """sgns_groups called with sgns_batch's arguments: `group` goes after k (the ninth)."""
    return fn(*args[:9], group, *args[9:])

"""The block scheme of several ranks (sgns.train.blocks): its cost on paper, its balance measured.

    python benchmarks/cost_model.py                    # on-paper tables + Zipf balance (< 30 s)
    python benchmarks/cost_model.py --dataset /tmp/cm-dev   # + the balance of a dataset's pairs
    python benchmarks/cost_model.py --epoch-pairs 1e9 --rounds 64   # another epoch, more rounds

The trainer cuts each epoch into R rounds (--rounds, TrainConfig.rounds): chunks of the stream of
~epoch / R pairs, each trained by the N ranks in N episodes, so each rank trains
P = epoch / (R N^2) pairs per episode. R, not P, is the knob (quality needs the blocks to rotate
several times per epoch), so P here follows from --epoch-pairs (default: an English Wikipedia
epoch, 10e9 pairs) and --rounds, per N; "R max" is the most rounds that still reach the goal.

Per rank, N ranks (G per node), a table of 2V x D float32, P pairs per rank per episode (a chunk
of the stream holds N^2 P pairs, trained in N episodes), `rate` pairs/s per GPU:
    rotation      one send + one receive of an input block per episode: 4 V D / N bytes each way,
                  over the ring's slowest hop (NVLink inside a node; between nodes the ring
                  crosses each node boundary once per direction: one GPU pair, the node's link)
    routing       per chunk one all_to_all of the rank's N P read pairs (8 bytes each), of which
                  (N - 1) / N leave the rank: 8 P (N - 1) / N bytes per episode; between nodes
                  each node sends 8 P G (N - G) / N bytes per episode through its link; plus one
                  all_reduce of the N x N int64 counts and one small all_reduce (loss, flags)
    checkpoint    one ring all_reduce of 8 V D bytes (each link carries 2 (N - 1) / N of it) every
                  CHECKPOINT_SECONDS, amortised over the episodes in between
    compute       P / rate; an episode lasts as long as its largest bucket: P / (rate x balance),
                  balance = sgns.train.blocks.balance of the chunk's bucket counts
    efficiency    P / rate  over  P / (rate x balance) + communication not hidden behind compute
Serial: every transfer waits for the episode's end, and the episode for the transfer. Block
overlapped: the input block is trained as SUB_BLOCKS sub-buckets (its pairs ordered by center
sub-block); each finished sub-block goes to rank r - 1 at once, which starts its next episode on
the first sub-block while the others arrive (the next input block cannot simply be
double-buffered whole: during episode e rank r + 1 is training it); exposed: the calls'
latencies, the transfer beyond compute, and the last sub-block's transfer beyond the receiver's
slack, max(0, t_block / k - (k - 1) / k x episode). Both overlapped: also the next chunk's routing
(no table row involved) runs in the background during the current chunk, sharing the link.

Balance is measured: `sgns.train.blocks.Deal.bucket_counts` + `balance` on pairs, the words dealt
as the trainer deals them (`Deal.for_counts`), (a) those of a dataset (--dataset, its pass 0 as the
manifest lists it), whole and cut into R = 4, 16, 64 rounds as the
trainer cuts epoch 0 (sgns.train.plan.block_chunks: whole row groups in a seeded random order, a
chunk once it holds >= ceil(epoch / R) pairs), and (b) a synthetic Zipf vocabulary: expected
bucket counts from its marginals, and sampled pairs (as one chunk and cut the same way).
Everything about GPUs and links (rates, bandwidths, latencies) is an assumption: predictions.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import math
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from sgns.train.blocks import Deal, balance  # noqa: E402
from sgns.train.config import TrainConfig  # noqa: E402
from sgns.train.plan import block_chunks  # noqa: E402
from sgns.train.shards import Unit  # noqa: E402

# Assumptions (predictions: no GPU has been measured).
PAIR_RATE = 100e6  # pairs/s one GPU trains (dim-independent here)
NVLINK_BW = 300e9  # bytes/s per direction between two GPUs of a node
NODE_BW = 50e9  # bytes/s per direction per node between nodes (400 Gb/s, one NIC per node)
GPUS_PER_NODE = 8
LATENCY_NVLINK = 30e-6  # s per communication call (send/recv, collective) inside a node
LATENCY_NODES = 60e-6  # s per communication call that crosses nodes
CHECKPOINT_SECONDS = 300.0  # --checkpoint interval (default)
# An epoch of English Wikipedia: ~3e9 tokens x ~3.7 pairs per token, what the dev corpus gives
# at window 5, sample 1e-3 (9.5M pairs from 2.57M tokens). --epoch-pairs.
WIKI_EPOCH_PAIRS = 10_000_000_000
ROUNDS = TrainConfig.rounds  # --rounds (its default): chunks of an epoch, each of N episodes
SUB_BLOCKS = 2  # sub-blocks of an input block, overlapped variant
NEGATIVES = 5  # K, for the dimension split
GOALS = {8: 0.9, 16: 0.8, 32: 0.8}  # 8 and 16: the issue's goals; 32: assumed as 16's
PAIR_BYTES = 8  # two int32 ids
FLOAT_BYTES = 4
SMALL_BYTES = 16  # the per-chunk loss + flags all_reduce

# The synthetic vocabulary.
ZIPF_VOCAB = 3_000_000
ZIPF_EXPONENT = 1.0
SAMPLE = 1e-3  # word2vec.c subsampling threshold, applied to centers and contexts
ZIPF_PAIRS = 1 << 24  # sampled pairs (default; --zipf-pairs)
DRAW = 1 << 22  # pairs drawn per numpy chunk
SEED = 1

CHUNK_ROUNDS = (4, 16, 64)  # rounds of the chunked-balance columns (chunk = epoch / R)
ZIPF_PIECE = 1 << 18  # sampled pairs per piece (the smallest Zipf chunk: 2^24 / 64)
DEV_RANKS = (2, 4, 8, 16, 32)
ZIPF_RANKS = (8, 16, 32)


@dataclasses.dataclass(frozen=True)
class Setup:
    name: str
    ranks: int
    per_node: int = GPUS_PER_NODE

    @property
    def nodes(self) -> int:
        return max(1, math.ceil(self.ranks / self.per_node))

    @property
    def hop(self) -> tuple[float, float, str]:
        """(bandwidth, latency, name) of the ring's slowest hop."""
        if self.nodes > 1:
            return NODE_BW, LATENCY_NODES, "node link (1 GPU pair per boundary)"
        return NVLINK_BW, LATENCY_NVLINK, "NVLink"


SETUPS = (
    Setup("8 GPUs, 1 node, NVLink", 8),
    Setup("16 GPUs, 2 nodes x 8, 400 Gb/s", 16),
    Setup("32 GPUs, 4 nodes x 8, 400 Gb/s", 32),
)


def episode_pairs(epoch_pairs: int, rounds: int, ranks: int) -> int:
    """P: pairs each rank trains per episode when an epoch is cut into `rounds` chunks (of
    ceil(epoch / R) pairs, as the trainer cuts it), each trained by N ranks in N episodes:
    epoch / (R N^2)."""
    return max(1, round(-(-epoch_pairs // rounds) / ranks**2))


def rounds_max(epoch_pairs: int, ranks: int, pairs_goal: int) -> int:
    """The most rounds per epoch whose P still reaches the goal: epoch / (N^2 P_goal), floored
    (0: not even one chunk per epoch does)."""
    return epoch_pairs // (ranks**2 * pairs_goal) if pairs_goal else 0


def ring(world: int) -> float:
    return 2 * (world - 1) / world


def block_bytes(vocab: int, dim: int, ranks: int) -> float:
    """An input block: V / N rows of D float32, sent (and one received) per episode."""
    return FLOAT_BYTES * vocab * dim / ranks


def routing_bytes(pairs: int, ranks: int) -> float:
    """Pairs a rank sends in the all_to_all, per episode (the chunk's, over its N episodes)."""
    return PAIR_BYTES * pairs * (ranks - 1) / ranks


def routing_node_bytes(pairs: int, setup: Setup) -> float:
    """Bytes one node sends to the others in the all_to_all, per episode."""
    g, n = min(setup.per_node, setup.ranks), setup.ranks
    return PAIR_BYTES * pairs * g * (n - g) / n


def checkpoint_seconds(vocab: int, dim: int, setup: Setup) -> float:
    """One ring all_reduce of the whole table (2V x D float32) over the slowest link."""
    bandwidth, latency, _ = setup.hop
    return latency + ring(setup.ranks) * 8 * vocab * dim / bandwidth


def episode(
    setup: Setup, vocab: int, dim: int, pairs: int, bal: float, rate: float,
    epoch: int = WIKI_EPOCH_PAIRS,
) -> dict:  # fmt: skip
    """Per rank per episode: bytes, calls, seconds and the efficiency of the variants. Serial
    is the trainer: block transfers between episodes, a chunk's routing posted one chunk ahead
    on a process group of its own, in flight while the chunk before it trains (sgns.train.episodes,
    exchange; the link shared, assumed free during compute), so only an epoch's first chunk
    routes alone (routing x chunks'-share-of-epoch = routing N^2 P / epoch exposed per episode),
    and routing longer than a chunk's episodes shows the rest."""
    n = setup.ranks
    bandwidth, latency, _ = setup.hop
    lat_all = LATENCY_NODES if setup.nodes > 1 else LATENCY_NVLINK
    compute = pairs / rate
    paid = compute / bal
    rotation = block_bytes(vocab, dim, n) / bandwidth
    inside = routing_bytes(pairs, n) * (min(n, setup.per_node) - 1) / max(1, n - 1)
    routing = max(inside / NVLINK_BW, routing_node_bytes(pairs, setup) / NODE_BW)
    calls = latency + 3 * lat_all / n  # the send/recv; all_to_all, counts, small per chunk
    counts = (ring(n) * 8 * n * n / bandwidth + ring(n) * SMALL_BYTES / bandwidth) / n
    checkpoint = checkpoint_seconds(vocab, dim, setup) * paid / CHECKPOINT_SECONDS
    first = routing * min(1.0, n * n * pairs / epoch)  # an epoch's first chunk routes alone
    ahead = first + max(0.0, routing - paid - rotation)  # the others travel during a chunk
    serial = calls + rotation + ahead + counts + checkpoint
    k = SUB_BLOCKS
    tail = max(0.0, rotation / k - (k - 1) / k * paid)
    block = calls + counts + checkpoint + ahead + max(0.0, rotation - paid) + tail
    overlapped = calls + counts + checkpoint + max(0.0, rotation + routing - paid) + tail
    return {
        "block_mb": block_bytes(vocab, dim, n) / 1e6,
        "routing_mb": routing_bytes(pairs, n) / 1e6,
        "routing_node_mb": routing_node_bytes(pairs, setup) / 1e6,
        "small_bytes": (8 * n * n + SMALL_BYTES) / n,
        "checkpoint_mb": ring(n) * 8 * vocab * dim / 1e6 * paid / CHECKPOINT_SECONDS,
        "calls": 1 + 3 / n + paid / CHECKPOINT_SECONDS,
        "compute": compute,
        "paid": paid,
        "rotation": rotation,
        "routing": routing,
        "other": calls + counts + checkpoint,
        "serial": serial,
        "block": block,
        "overlapped": overlapped,
        "eff_serial": compute / (paid + serial),
        "eff_block": compute / (paid + block),
        "eff_overlapped": compute / (paid + overlapped),
    }


PAIRS_STEP = 65_536  # the resolution of "P for goal" (and its smallest value)


def pairs_for(goal, key, setup, vocab, dim, bal, rate, epoch=WIKI_EPOCH_PAIRS) -> int:
    """The fewest episode pairs (a multiple of PAIRS_STEP) whose efficiency `key` reaches `goal`,
    0 if none up to 2^32 (routing's share grows with P as compute does: a ceiling)."""
    step = PAIRS_STEP
    hi = 1
    while episode(setup, vocab, dim, hi * step, bal, rate, epoch)[key] < goal:
        hi *= 2
        if hi * step > 2**32:
            return 0
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok = episode(setup, vocab, dim, mid * step, bal, rate, epoch)[key] >= goal
        lo, hi = (lo, mid) if ok else (mid, hi)
    return hi * step


# Balance: the synthetic Zipf vocabulary.


def zipf_unigram(vocab: int, exponent: float = ZIPF_EXPONENT, sample: float = SAMPLE):
    """Word frequencies (V,) of a Zipf vocabulary after word2vec.c subsampling: keep a word of
    frequency f with probability (sqrt(f / s) + 1) s / f (capped at 1), renormalised."""
    f = 1.0 / np.arange(1, vocab + 1, dtype=np.float64) ** exponent
    f /= f.sum()
    kept = f * np.minimum(1.0, (np.sqrt(f / sample) + 1) * sample / f)
    return kept / kept.sum()


def block_mass(freq: np.ndarray, ranks: int) -> np.ndarray:
    """Each block's share of the frequencies (N,), dealt as the trainer deals them (`freq` is
    already the subsampled unigram: the words' expected pairs)."""
    ids = Deal.by_weight(freq, ranks).of.numpy()
    return np.bincount(ids, weights=freq, minlength=ranks)


def expected_balance(center_mass: np.ndarray, context_mass: np.ndarray) -> float:
    """`balance` of the expected bucket counts when a pair's center and context are independent:
    count(a, b) proportional to center_mass[a] x context_mass[b] (the limit of large chunks)."""
    expected = np.outer(center_mass, context_mass)
    return balance(torch.from_numpy(np.rint(expected / expected.sum() * 1e15).astype(np.int64)))


def zipf_pieces(vocab: int, pairs: int, ranks_list, seed: int = SEED):
    """Bucket counts (per N) of `pairs` independent (center, context) pairs of the subsampled Zipf
    unigram, per piece of ZIPF_PIECE pairs: {N: [counts (N, N), ...]}."""
    freq = zipf_unigram(vocab)
    cdf = np.cumsum(freq)
    cdf /= cdf[-1]
    rng = np.random.default_rng(seed)
    out = {n: [] for n in ranks_list}
    deals = {n: Deal.by_weight(freq, n) for n in ranks_list}
    for start in range(0, pairs, DRAW):
        m = min(DRAW, pairs - start)
        centers = torch.from_numpy(np.searchsorted(cdf, rng.random(m)).astype(np.int32))
        contexts = torch.from_numpy(np.searchsorted(cdf, rng.random(m)).astype(np.int32))
        for i in range(0, m, ZIPF_PIECE):
            for n in ranks_list:
                out[n].append(
                    deals[n].bucket_counts(
                        centers[i : i + ZIPF_PIECE], contexts[i : i + ZIPF_PIECE]
                    )
                )
    return out


def cut_epoch(sizes: list[int], rounds: int, seed: int = TrainConfig.seed) -> list[list[int]]:
    """The epoch's pieces (row groups), of `sizes` pairs, cut into chunks as the trainer cuts epoch
    0 (sgns.train.plan.block_chunks with make_plans' chunk size ceil(epoch / rounds)): shuffled
    by the seed, a chunk once it holds >= that many pairs, the rest the last. Piece indices per
    chunk. The cut does not depend on N (only the dealing to ranks does, irrelevant here)."""
    units = [Unit("", i, n) for i, n in enumerate(sizes)]
    chunk_pairs = -(-sum(sizes) // rounds)
    chunks = block_chunks(units, 1, chunk_pairs, seed, 0)  # chunk -> [the one rank's units]
    return [[u.row_group for u in chunk[0]] for chunk in chunks]


def chunked_balance(pieces: list[torch.Tensor], chunks: list[list[int]]) -> float:
    """Balance over an epoch trained in these chunks: total pairs / pairs paid for (each chunk's
    episodes last as long as its largest bucket)."""
    total = paid = 0.0
    for chunk in chunks:
        counts = sum(pieces[i] for i in chunk)
        n = int(counts.sum())
        total += n
        paid += n / balance(counts)
    return total / paid


def zipf_table(pairs: int, epoch_pairs: int, rounds: int) -> tuple[str, dict]:
    """The Zipf balance table, and the expected balances {(V, N): balance} the predictions use."""
    out = []
    expected = {}
    for vocab in (1_000_000, ZIPF_VOCAB):
        freq = zipf_unigram(vocab)
        for n in ZIPF_RANKS:
            mass = block_mass(freq, n)
            expected[(vocab, n)] = expected_balance(mass, mass)
    sampled = zipf_pieces(ZIPF_VOCAB, pairs, ZIPF_RANKS[:2])
    freq = zipf_unigram(ZIPF_VOCAB)
    noise = ", ".join(
        f"{100 / math.sqrt(episode_pairs(epoch_pairs, rounds, n)):.2f}% at N = {n}"
        for n in ZIPF_RANKS
    )
    out.append(
        f"Zipf vocabulary of {ZIPF_VOCAB:,} words (exponent {ZIPF_EXPONENT}), word2vec.c "
        f"subsampling at {SAMPLE:g}; pairs with independent center and context from the "
        f"subsampled unigram (a token stream drawn independently from that unigram gives "
        f"exactly these pairs: a token and its window neighbours are independent). Expected: "
        f"`balance` of the expected bucket counts (exact, the limit of large chunks; at an epoch "
        f"of {epoch_pairs:,} pairs in R = {rounds} rounds a bucket holds P pairs, sampling noise "
        f"~1/sqrt(P): {noise}). Sampled: {pairs:,} pairs (seed {SEED}) through "
        f"`bucket_counts`, in pieces of {ZIPF_PIECE:,}, as one chunk and as an epoch of this "
        f"sample cut into R chunks of sample / R pairs (the trainer's cut); a real epoch's chunks "
        f"(epoch / R: {epoch_pairs // max(CHUNK_ROUNDS):,} pairs or more at R <= "
        f"{max(CHUNK_ROUNDS)}) are larger than the whole sample, where the expected value "
        f"applies. Word 0 keeps {freq[0]:.2%} of the subsampled pairs.\n"
    )
    head = " | ".join(f"R = {r}" for r in CHUNK_ROUNDS)
    out.append(f"| N | block mass max/min | expected (V 1M) | expected (V 3M) | sampled, one "
               f"chunk | {head} |")  # fmt: skip
    out.append("|---:|---:|---:|---:|---:|" + "---:|" * len(CHUNK_ROUNDS))
    for n in ZIPF_RANKS:
        mass = block_mass(freq, n)
        row = (
            f"| {n} | {mass.max() / mass.min():.3f} | {expected[(1_000_000, n)]:.4f} | "
            f"{expected[(ZIPF_VOCAB, n)]:.4f} |"
        )
        if n in sampled:
            pieces = sampled[n]
            sizes = [int(p.sum()) for p in pieces]
            row += f" {balance(sum(pieces)):.4f} |"
            for r in CHUNK_ROUNDS:
                chunks = cut_epoch(sizes, r)
                row += f" {chunked_balance(pieces, chunks):.4f} ({len(chunks)}) |"
        else:
            row += " - |" + " - |" * len(CHUNK_ROUNDS)
        out.append(row)
    out.append(
        "\n(n): chunks in the sample. N = 32: expected only. A chunk of the sample holds "
        "sample / R pairs, P = sample / (R N^2) per bucket (at R = 64: "
        + ", ".join(f"{pairs // (max(CHUNK_ROUNDS) * n * n):,} at N = {n}" for n in sampled)
        + "): the loss against 'one chunk' is the buckets' sampling noise, ~1/sqrt(P)."
    )
    return "\n".join(out), expected


# Balance: a dataset's pairs.


def dataset_row_groups(directory: str):
    """Every row group of the dataset's pass 0, in manifest order (epoch 0's units, before the
    trainer's shuffle): [(centers, contexts)]."""
    import pyarrow.parquet as pq

    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    paths = [
        os.path.join(directory, shard["path"])
        for increment in manifest["increments"]
        for shard in increment["passes"][0]["shards"]
    ]
    found = glob.glob(os.path.join(directory, "**", "*.parquet"), recursive=True)
    if len(found) != len(paths):
        print(f"note: {len(found)} Parquet files, the manifest lists {len(paths)} (pass 0)")
    groups = []
    for path in paths:
        parquet = pq.ParquetFile(path)
        for i in range(parquet.num_row_groups):
            table = parquet.read_row_group(i, columns=["center", "context"])
            groups.append(
                (
                    torch.from_numpy(table.column("center").to_numpy().copy()),
                    torch.from_numpy(table.column("context").to_numpy().copy()),
                )
            )
    return groups


def dataset_deal(directory: str, ranks: int) -> Deal:
    """The trainer's deal of the dataset's vocabulary (its counts and --sample) into `ranks`."""
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(directory, manifest["vocab"]["file"]), encoding="utf-8") as f:
        counts = [int(line.rstrip("\n").split("\t")[1]) for line in f]
    return Deal.for_counts(counts, manifest["config"].get("sample", 0.0), ranks)


def dataset_table(directory: str) -> str:
    groups = dataset_row_groups(directory)
    sizes = [len(c) for c, _ in groups]
    total = sum(sizes)
    cuts = {r: cut_epoch(sizes, r) for r in CHUNK_ROUNDS}
    out = [
        f"Dataset {directory}: {total:,} pairs (pass 0) in {len(groups)} row groups. "
        "One chunk: the whole epoch (R = 1). Independent: the expected balance were center and "
        "context independent, from this epoch's own center and context block marginals (the "
        "Zipf table's model); the gap to 'one chunk' is what the correlation of real pairs "
        "costs. R = 4 / 16 / 64: the epoch in R rounds, cut as the trainer cuts epoch 0 "
        f"(sgns.train.plan.block_chunks, seed {TrainConfig.seed}): whole row groups in a seeded "
        "random order, a chunk once it holds >= ceil(epoch / R) pairs; the cut is the same for "
        "every N. (n, m): chunks, mean pairs per chunk.\n"
    ]
    head = " | ".join(f"R = {r}" for r in CHUNK_ROUNDS)
    out.append(f"| N | one chunk | independent | {head} |")
    out.append("|---:|---:|---:|" + "---:|" * len(CHUNK_ROUNDS))
    for n in DEV_RANKS:
        deal = dataset_deal(directory, n)
        pieces = [deal.bucket_counts(c, x) for c, x in groups]
        epoch = sum(pieces)
        indep = expected_balance(epoch.sum(1).double().numpy(), epoch.sum(0).double().numpy())
        row = f"| {n} | {balance(epoch):.4f} | {indep:.4f} |"
        for r in CHUNK_ROUNDS:
            chunks = cuts[r]
            b = chunked_balance(pieces, chunks)
            row += f" {b:.4f} ({len(chunks)}, {total / len(chunks) / 1e6:.2f}M) |"
        out.append(row)
    out.append(
        f"\nA chunk is whole row groups (of at most {max(sizes):,} pairs here), so when epoch / R "
        "is below two row groups the cut makes fewer, larger chunks than R. Every row group is a "
        "random sample of the epoch (shuffled across shards by the pipeline), so balance "
        "depends on the chunk size only through the buckets' sampling noise, ~1/sqrt(P) with "
        "P = chunk / N^2 (here at R = 64: "
        + ", ".join(
            f"{total // (len(cuts[max(CHUNK_ROUNDS)]) * n * n):,} at N = {n}" for n in DEV_RANKS[2:]
        )  # fmt: skip
        + "); at a Wikipedia-scale epoch (10e9 pairs) P is >= 150k at R <= 64 and N <= 32, "
        "where balance is the one-chunk value."
    )
    return "\n".join(out)


# The dimension split (Ordentlich et al. 2016).


def dimension_split(setup: Setup, micro: int, rate: float) -> dict:
    """Each rank holds D / N of every row; a micro-step of b pairs with K negatives all-reduces
    b (K + 1) partial dot products. Compute per micro-step: b / (N rate)
    (optimistic: a rank's work per pair taken to shrink by N with its D / N columns)."""
    n = setup.ranks
    bandwidth, latency, _ = setup.hop
    payload = FLOAT_BYTES * micro * (NEGATIVES + 1)
    reduce = latency + ring(n) * payload / bandwidth
    compute = micro / (n * rate)
    return {
        "steps_per_s": n * rate / micro,
        "compute_us": compute * 1e6,
        "reduce_us": reduce * 1e6,
        "latency_share": latency * n * rate / micro,
        "efficiency": compute / (compute + reduce),
    }


def tables(rate: float, epoch_pairs: int, rounds: int, zipf_pairs: int) -> str:
    out = []
    zipf, expected = zipf_table(zipf_pairs, epoch_pairs, rounds)
    pairs = {s.ranks: episode_pairs(epoch_pairs, rounds, s.ranks) for s in SETUPS}
    keys = ("eff_serial", "eff_block", "eff_overlapped")
    out.append(
        f"Predicted (assumptions: {rate / 1e6:.0f}M pairs/s per GPU, NVLink "
        f"{NVLINK_BW / 1e9:.0f} GB/s per direction, {NODE_BW / 1e9:.0f} GB/s (400 Gb/s) per "
        f"node between nodes, {LATENCY_NVLINK * 1e6:.0f} us per call in a node, "
        f"{LATENCY_NODES * 1e6:.0f} us across nodes, a checkpoint every "
        f"{CHECKPOINT_SECONDS:.0f} s). An epoch of {epoch_pairs:,} pairs in R = {rounds} rounds "
        f"(chunks of {-(-epoch_pairs // rounds):,} pairs, each N episodes): P = epoch / (R N^2) "
        "pairs per rank per episode, "
        + ", ".join(f"{p:,} at N = {n}" for n, p in pairs.items())
        + ". Per rank per episode: bytes each rank sends (as many received); routing, the "
        "counts and the small all_reduce amortised over the chunk's N episodes, the checkpoint "
        "over the episodes between two.\n"
    )
    out.append(
        "| setup | slowest ring hop | V | D | P | block MB (rotation) | routing MB | routing MB "
        "per node across nodes | counts + small B | checkpoint MB | calls |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    grid = [(s, v, d) for s in SETUPS for v in (1_000_000, 3_000_000) for d in (100, 300)]
    for setup, vocab, dim in grid:
        bal = expected[(vocab, setup.ranks)]
        p = pairs[setup.ranks]
        e = episode(setup, vocab, dim, p, bal, rate, epoch_pairs)
        out.append(
            f"| {setup.name} | {setup.hop[2]} | {vocab / 1e6:.0f}M | {dim} | {p:,} | "
            f"{e['block_mb']:,.0f} | {e['routing_mb']:,.1f} | {e['routing_node_mb']:,.1f} | "
            f"{e['small_bytes']:,.0f} | {e['checkpoint_mb']:,.2f} | {e['calls']:.3f} |"
        )
    out.append(
        "\ncalls: 1 send/recv pair + 3 collectives per chunk / N + checkpoints per episode.\n"
    )
    out.append(
        "Predicted time per episode (ms) and efficiency = compute / (compute / balance + "
        "exposed communication); balance: the Zipf table's expected value for that V and N; P: "
        f"as above (R = {rounds}). P for goal: the fewest episode pairs reaching the goal "
        f"({', '.join(f'{g} at {n}' for n, g in GOALS.items())}; 32's assumed), "
        "serial / block overlapped / both; 'never': the ceiling (P -> infinity) is below it. "
        f"R max: the most rounds per epoch that still reach it at this epoch size, "
        f"epoch / (N^2 P for goal), serial / block / both ('-': never; 0: not even one round; "
        f"'>=': P for goal is the smallest searched, {PAIRS_STEP:,}; smaller buckets' sampling "
        "noise, which lowers balance, is not in this model: see the chunked balance tables). "
        "Times in ms per episode; other: latencies, counts, small all_reduce, checkpoint. "
        "Serial: what the trainer does, block transfers between episodes and each chunk's "
        "routing in flight while the chunk before it trains (an epoch's first chunk routes "
        "alone); block overlapped: sub-blocks (not built: it cost quality, docs/distributed.md); "
        "both: also the first chunk's routing hidden.\n"
    )
    out.append(
        "| setup | V | D | P | balance | compute | rotation | routing | other | exposed: serial "
        "/ block / both | efficiency serial | block overlapped | both overlapped | P for goal | "
        "R max |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for setup, vocab, dim in grid:
        bal = expected[(vocab, setup.ranks)]
        p = pairs[setup.ranks]
        e = episode(setup, vocab, dim, p, bal, rate, epoch_pairs)
        goal = GOALS[setup.ranks]
        need = [pairs_for(goal, k, setup, vocab, dim, bal, rate, epoch_pairs) for k in keys]
        need_s = " / ".join(f"{x / 1e6:,.1f}M" if x else "never" for x in need)
        rmax = " / ".join(
            ("-" if not x else ">=" if x == PAIRS_STEP else "")
            + (f"{rounds_max(epoch_pairs, setup.ranks, x):,}" if x else "")
            for x in need
        )
        out.append(
            f"| {setup.name} | {vocab / 1e6:.0f}M | {dim} | {p:,} | {bal:.4f} | "
            f"{e['compute'] * 1e3:.1f} | {e['rotation'] * 1e3:.2f} | {e['routing'] * 1e3:.2f} "
            f"| {e['other'] * 1e3:.2f} | {e['serial'] * 1e3:.2f} / {e['block'] * 1e3:.2f} / "
            f"{e['overlapped'] * 1e3:.2f} | {e['eff_serial']:.3f} | {e['eff_block']:.3f} | "
            f"{e['eff_overlapped']:.3f} | {need_s} | {rmax} |"
        )
    out.append("")
    for setup in SETUPS:
        goal = GOALS[setup.ranks]
        p = pairs[setup.ranks]
        cases = [(v, d) for v in (1_000_000, 3_000_000) for d in (100, 200, 300)]
        worst, least = {}, {}
        for key in keys:
            worst[key] = min(
                episode(setup, v, d, p, expected[(v, setup.ranks)], rate, epoch_pairs)[key]
                for v, d in cases
            )
            need = [
                pairs_for(goal, key, setup, v, d, expected[(v, setup.ranks)], rate, epoch_pairs)
                for v, d in cases
            ]
            least[key] = min(rounds_max(epoch_pairs, setup.ranks, x) for x in need)
        verdict = "not needed" if worst["eff_serial"] >= goal else "needed"
        if worst["eff_serial"] < goal <= worst["eff_block"]:
            verdict += " (overlapping the block alone suffices)"
        share = routing_node_bytes(p, setup) / NODE_BW * rate / p if setup.nodes > 1 else 0.0
        best = min(expected[(v, setup.ranks)] for v in (1_000_000, 3_000_000))
        out.append(
            f"- {setup.name}, V 1M-3M, D 100-300, R = {rounds} (P = {p:,}): worst efficiency "
            f"serial {worst['eff_serial']:.3f}, block overlapped {worst['eff_block']:.3f}, both "
            f"{worst['eff_overlapped']:.3f}, against {goal}: overlap {verdict}. Every V, D "
            f"reaches it up to R = {least['eff_serial']:,} serial, {least['eff_block']:,} block "
            f"overlapped, {least['eff_overlapped']:,} both (0: never). Ceiling: balance "
            f"{best:.3f}"
            + (
                f"; routing across nodes takes {share:.1%} of compute's time whatever P (both "
                "grow with P), hidden but for an epoch's first chunk (serial routes a chunk "
                "ahead)."
                if share
                else "."
            )
        )
    out.append("")
    out.append(zipf)
    out.append("")
    out.append(
        f"Dimension split (Ordentlich et al. 2016): each rank holds D / N of every row, every "
        f"micro-step of b pairs with K = {NEGATIVES} negatives all-reduces b (K + 1) partial "
        "dot products (one collective per micro-step). Predicted, same assumptions; compute "
        "per micro-step b / (N rate), optimistic. Needed: micro-steps/s "
        "(= all-reduces/s) for N GPUs to train N rate pairs/s; latency x that: seconds of latency "
        "per second of run. The "
        f"block scheme, same setup, V 3M, D 300, R = {rounds}: its efficiencies serial / both "
        "overlapped, and its communication calls/s.\n"
    )
    out.append(
        "| setup | b | micro-steps/s | compute us | all-reduce us | latency x steps/s | "
        "efficiency | block scheme (calls/s) |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for setup in SETUPS[:2]:
        bal = expected[(ZIPF_VOCAB, setup.ranks)]
        blk = episode(setup, ZIPF_VOCAB, 300, pairs[setup.ranks], bal, rate, epoch_pairs)
        per_s = blk["calls"] / (blk["paid"] + blk["serial"])
        for micro in (1_024, 4_096, 16_384, 65_536):
            d = dimension_split(setup, micro, rate)
            out.append(
                f"| {setup.name} | {micro:,} | {d['steps_per_s']:,.0f} | "
                f"{d['compute_us']:.1f} | {d['reduce_us']:.1f} | {d['latency_share']:.2f} | "
                f"{d['efficiency']:.3f} | {blk['eff_serial']:.3f} / "
                f"{blk['eff_overlapped']:.3f} ({per_s:.0f}) |"
            )
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", help="a preprocessed dataset: measure its pairs' balance")
    parser.add_argument("--rate", type=float, default=PAIR_RATE, help="pairs/s per GPU")
    parser.add_argument(
        "--epoch-pairs", type=lambda s: int(float(s)), default=WIKI_EPOCH_PAIRS,
        help="pairs in an epoch (default: English Wikipedia's, ~10e9)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="chunks per epoch (the trainer's --rounds)"
    )
    parser.add_argument("--zipf-pairs", type=int, default=ZIPF_PAIRS, help="sampled Zipf pairs")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.epoch_pairs < 1:
        parser.error("--rounds and --epoch-pairs must be >= 1")
    start = time.time()
    print(tables(args.rate, args.epoch_pairs, args.rounds, args.zipf_pairs))
    if args.dataset:
        print()
        print(dataset_table(args.dataset))
    print(f"\n({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()

"""The cost of keeping ranks one model (sgns.train.sync), on paper and measured.

    python benchmarks/cost_model.py                 # the tables (markdown) for BENCHMARKS.md
    torchrun --standalone --nproc-per-node 2 benchmarks/cost_model.py --measure DATA \\
        [--batch-size 32768 --sync-pairs 1048576 --sync-hot 0 --dim 100]

Model, per rank per step, W ranks, a table of 2V x D float32 (S = 8 V D bytes; --sync-combine
sqrt or mean add a changed-flag float per row: D + 1 for D), a full synchronisation every
k = round(sync_pairs / B) steps, H hot words synchronised on every step that is not a full
synchronisation:
    payload       S / k + (1 - 1/k) * 8 H D                       bytes handed to all-reduce
    sent          2 (W - 1) / W * payload                         a ring all-reduce's bytes out
                  (and as many in); gloo and NCCL both run rings for large buffers
    collectives   1 / k + (1 - 1/k) * 2 [H > 0]   (two hot slices) plus the bookkeeping every
                  --log-interval steps (a loss sum and a checkpoint flag: a few bytes)
    time          k * B / R  (R: one rank's pairs/s)  +  per sync: latency + sent / bandwidth
    efficiency    compute / (compute + synchronisation)            (no overlap assumed)
The scheme it replaced all-gathered every micro-step's touched rows (ids + D + 1 floats each,
2 m + P rows per micro-step of m pairs in pool mode) to every rank: sent (W - 1) / W * W * rows,
received (W - 1) * rows * (8 + 4 (D + 1)) per micro-step, and B / m micro-steps per step.

--measure trains DATA for real with the launching torchrun's ranks (gloo) and counts the bytes
each rank's collectives passed through the kernel (/proc/self/io wchar and rchar around every
collective call, so sockets only), then prints them beside the model's figure for that run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sgns.train.sync import steps_between  # noqa: E402  (the trainer's own rounding)

WIKIPEDIA_PAIRS = 4e9 * 3.5 * 5  # ~4B tokens, 3-4 pairs per token, 5 epochs


def ring(world: int) -> float:
    return 2 * (world - 1) / world


def payload_per_step(vocab, dim, batch, sync_pairs, hot) -> float:
    k = steps_between(sync_pairs, batch)
    return 8 * vocab * dim / k + (1 - 1 / k) * 8 * min(hot, vocab) * dim


def collectives_per_step(batch, sync_pairs, hot) -> float:
    k = steps_between(sync_pairs, batch)
    return 1 / k + (1 - 1 / k) * 2 * (hot > 0)


def efficiency(vocab, dim, batch, sync_pairs, hot, world, rate, bandwidth, latency) -> float:
    """Compute over compute + synchronisation, for `rate` pairs/s per rank, `bandwidth` bytes/s
    per rank of the ring's slowest link, `latency` seconds per all-reduce."""
    k = steps_between(sync_pairs, batch)
    compute = k * batch / rate
    full = latency + ring(world) * 8 * vocab * dim / bandwidth
    hot_rows = min(hot, vocab)
    hot_sync = 2 * latency + ring(world) * 8 * hot_rows * dim / bandwidth if hot else 0.0
    return compute / (compute + full + (k - 1) * hot_sync)


def old_scheme_sent_received(dim, batch, micro, pool, world) -> tuple[float, float]:
    """Per rank per step, the all-gather of every micro-step's rows (pool mode)."""
    rows = 2 * min(micro, batch) + pool
    per_row = 8 + 4 * dim
    micro_steps = batch // min(micro, batch)
    return micro_steps * rows * per_row, micro_steps * (world - 1) * rows * per_row


SETUPS = {  # ranks, bandwidth per rank's slowest link (bytes/s), latency per all-reduce (s)
    "8 GPUs, NVLink (~450 GB/s per direction per GPU)": (8, 450e9, 30e-6),
    "2 nodes x 8 GPUs, 400 Gb/s per node": (16, 50e9, 60e-6),
}


def minimal_sync_pairs(target, vocab, dim, batch, hot, world, rate, bandwidth, latency) -> int:
    """The fewest pairs per rank between full syncs (a multiple of batch) reaching `target`."""
    k = 1
    while efficiency(vocab, dim, batch, k * batch, hot, world, rate, bandwidth, latency) < target:
        k *= 2
        if k > 2**24:
            return 0
    low, high = k // 2, k
    while high - low > 1:
        mid = (low + high) // 2
        e = efficiency(vocab, dim, batch, mid * batch, hot, world, rate, bandwidth, latency)
        low, high = (mid, high) if e < target else (low, mid)
    return high * batch


def tables() -> str:
    out = []
    batch, dim, hot = 131072, 300, 0
    out.append(
        "Predicted, Wikipedia scale (dim 300, per-rank batch 131072, --sync-hot 0; pair rates "
        "per GPU are assumptions: no GPU has been measured). Sync pairs: the fewest pairs per "
        "rank between full synchronisations that reach the goal (0.8 at 8 GPUs, 0.7 at 16); "
        f"syncs/run: how many a {WIKIPEDIA_PAIRS / 1e9:.0f}B-pair run (4B tokens, 5 epochs) "
        "then makes; MB/sync: bytes each rank sends per full synchronisation.\n"
    )
    out.append(
        "| setup | V | pairs/s per GPU | MB/sync (sent) | sync pairs for goal | syncs/run "
        "| efficiency at 1 sync/epoch | old scheme: MB sent / received per step, efficiency |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (world, bandwidth, latency) in SETUPS.items():
        goal = 0.8 if world == 8 else 0.7
        for vocab in (1_000_000, 3_000_000):
            for rate in (30e6, 100e6):
                need = minimal_sync_pairs(
                    goal, vocab, dim, batch, hot, world, rate, bandwidth, latency
                )
                per_rank = WIKIPEDIA_PAIRS / world
                syncs = per_rank / need if need else 0
                epoch = per_rank / 5
                e1 = efficiency(vocab, dim, batch, epoch, hot, world, rate, bandwidth, latency)
                sent = ring(world) * 8 * vocab * dim / 1e6
                old_s, old_r = old_scheme_sent_received(dim, batch, 4096, 80, world)
                compute = batch / rate  # two all-gathers per micro-step, 32 micro-steps
                old_time = old_r / bandwidth + 2 * (batch // 4096) * latency
                old_e = compute / (compute + old_time)
                out.append(
                    f"| {name} | {vocab / 1e6:.0f}M | {rate / 1e6:.0f}M | {sent:,.0f} | "
                    f"{need / 1e6:,.1f}M | {syncs:,.0f} | {e1:.3f} | "
                    f"{old_s / 1e6:,.0f} / {old_r / 1e6:,.0f}, {old_e:.2f} |"
                )
    out.append("")
    out.append(
        "Per rank per step at dim 100, batch 32768, V 31,456 (the dev corpus), 2 ranks, "
        "as the model counts it:\n"
    )
    out.append("| --sync-pairs | --sync-hot | k (steps) | payload B/step | sent B/step | "
               "collectives/step |")  # fmt: skip
    out.append("|---:|---:|---:|---:|---:|---:|")
    for sync_pairs, hot in ((32768, 0), (1_048_576, 0), (1_048_576, 1000), (4_194_304, 0)):
        k = steps_between(sync_pairs, 32768)
        p = payload_per_step(31456, 100, 32768, sync_pairs, hot)
        c = collectives_per_step(32768, sync_pairs, hot)
        out.append(f"| {sync_pairs:,} | {hot} | {k} | {p:,.0f} | {ring(2) * p:,.0f} | {c:.3f} |")
    return "\n".join(out)


def _io() -> tuple[int, int]:
    with open("/proc/self/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    return int(fields["wchar"]), int(fields["rchar"])


def measure(argv: list[str]) -> None:
    """Train under torchrun and count the bytes every collective moved (see the docstring)."""
    import torch.distributed as dist

    from sgns.train import distributed
    from sgns.train.cli import train_parser
    from sgns.train.config import TrainConfig
    from sgns.train.trainer import Trainer

    parser = argparse.ArgumentParser()
    parser.add_argument("--measure", required=True)
    parser.add_argument("--output", required=True)
    known, rest = parser.parse_known_args(argv)
    args = train_parser().parse_args(["--data", known.measure, "--output", known.output, *rest])
    config = TrainConfig(**vars(args))
    counted = {"sent": 0, "received": 0, "calls": 0}
    for name in ("all_reduce", "broadcast", "all_gather", "barrier", "broadcast_object_list"):
        original = getattr(dist, name)

        def counting(*a, _original=original, **kw):
            w0, r0 = _io()
            result = _original(*a, **kw)
            w1, r1 = _io()
            counted["sent"] += w1 - w0
            counted["received"] += r1 - r0
            counted["calls"] += 1
            return result

        setattr(dist, name, counting)
    ctx = distributed.setup(config.device)
    trainer = Trainer(config, ctx)
    trainer.train()
    steps, sync = trainer.step, trainer.sync
    model = ring(ctx.world_size) * sync.sent_bytes
    report = {
        "rank": ctx.rank,
        "steps": steps,
        "payload_bytes": sync.sent_bytes,
        "sync_calls": sync.calls,
        "model_sent_bytes": model,
        "measured_sent_bytes": counted["sent"],
        "measured_received_bytes": counted["received"],
        "collective_calls": counted["calls"],
        "measured_over_model": counted["sent"] / model if model else None,
    }
    print(json.dumps(report), flush=True)
    distributed.teardown(ctx)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--measure" in argv:
        measure(argv)
    else:
        print(tables())


if __name__ == "__main__":
    main()

"""sgns-train's options: the schema its parser, --help, docs/commands.md and sgns.train(...) are
made from (sgns.options), over TrainConfig's defaults, and the log's account of them.

Where an option applies (the engine, the negative mode, several ranks, online training, --follow)
is tested on the run's settled config: `unapplied_options` names the options a run was given that
it ignores, for its log (sgns.train.run_files), and sgns-report lists only those that applied.
"""

from __future__ import annotations

import dataclasses

from sgns.errors import UsageError
from sgns.options import Applies, Option, Schema, unapplied
from sgns.train.config import ENGINES, EXPORT_VECTORS, NEGATIVE_MODES, STEP_MODES, TrainConfig

ESSENTIALS = "essentials"
ENGINE = "data and engine"
RANKS = "several processes"
ONLINE = "online training"
CHECKPOINTS = "checkpoints and output"
ADVANCED = "advanced"
GROUPS = (
    (ESSENTIALS, "what most runs set"),
    (ENGINE, "the engine, the device, and how the pairs are batched"),
    (RANKS, "torchrun's processes, or --emulate-ranks: the block scheme (docs/distributed.md)"),
    (ONLINE, "a dataset that grows by increments (docs/online.md)"),
    (CHECKPOINTS, "what the run writes, and when"),
    (ADVANCED, "the objective's and the update's knobs"),
)


def _several(c: dict) -> bool:
    return c.get("emulate_ranks", 0) > 1 or c.get("world_size", 1) > 1


TORCH = Applies(
    "torch engine", lambda c: c.get("engine") == "torch", "the native engine trains this run"
)
POOL = Applies(
    "pool negative mode",
    lambda c: c.get("negative_mode") == "pool",
    "this run draws negatives per pair or per group",
)
GROUP = Applies(
    "group negative mode",
    lambda c: c.get("negative_mode") == "group",
    "this run does not train in groups",
)
SEVERAL = Applies("several ranks", _several, "this run is one process")
EMULATION = Applies(
    "--emulate-ranks", lambda c: c.get("emulate_ranks", 0) > 1, "this run emulates no ranks"
)
FOLLOW = Applies("--follow", lambda c: bool(c.get("follow")), "--follow is not given")
# (a run's config does not say whether its dataset has grown: without --follow, applies)
ONLINE_RUN = Applies(
    "online training",
    lambda c: c.get("follow") or c.get("increments", 2) > 1,
    "the dataset has one increment",
)

OPTIONS = (
    Option("--data", "dataset directory written by sgns-preprocess", ESSENTIALS, required=True),
    Option("--output", "run directory (created)", ESSENTIALS, required=True),
    Option("--dim", "vector dimension", ESSENTIALS),
    Option("--negatives", "negatives per pair (the expected count in pool mode)", ESSENTIALS),
    Option(
        "--epochs",
        "passes over the data; online training: passes over each new increment",
        ESSENTIALS,
    ),
    Option("--lr", "initial learning rate (linear decay)", ESSENTIALS),
    Option("--seed", "seed of init, shuffle and sampling", ESSENTIALS),
    Option(
        "--threads",
        "torch intra-op threads per process, and the native engine's threads "
        "(0: torch's default, the number of cores)",
        ESSENTIALS,
    ),
    Option(
        "--device",
        "auto, cpu, cuda or cuda:N (auto: CUDA when present; under torchrun "
        "cuda is cuda:LOCAL_RANK)",
        ENGINE,
    ),
    Option(
        "--engine",
        "native: word2vec.c's pair-by-pair update in C on the CPU (compiled at "
        "first use with $CC or cc; Hogwild over --threads threads); torch: the tensor step, "
        "any device; auto: native on a CPU when it builds and --negative-mode is not pool, "
        "else torch (the log says which, and why)",
        ENGINE,
        choices=ENGINES,
    ),
    Option(
        "--negative-mode",
        "pool: one pool of negatives shared by each micro-step (torch "
        "engine); pair: own negatives per pair; group: the pairs of one center in groups of "
        "--group-size, sharing their negatives (native engine); auto: group with the native "
        "engine, pool with torch",
        ENGINE,
        choices=NEGATIVE_MODES,
    ),
    Option(
        "--group-size",
        "at most this many pairs with one center share their K negatives (negative mode group)",
        ENGINE,
        applies=GROUP,
    ),
    Option("--batch-size", "pairs per rank per step", ENGINE),
    Option(
        "--micro-batch",
        "a step trains its batch in sequential micro-steps of this many "
        "pairs, each its own summed update and pool (what sets quality; --batch-size is a "
        "multiple of it)",
        ENGINE,
        applies=TORCH,
    ),
    Option(
        "--step-mode",
        "eager, torch.compile, or a captured CUDA graph; auto: graph on a GPU, else eager",
        ENGINE,
        choices=STEP_MODES,
        applies=TORCH,
    ),
    Option(
        "--pool-size",
        "negatives in the pool of a micro-step (0: micro-step / 51.2, so 80 at 4096)",
        ENGINE,
        applies=POOL,
    ),
    Option(
        "--num-workers",
        "DataLoader worker processes per rank (0: read in the training process)",
        ENGINE,
    ),
    Option(
        "--rounds",
        "rounds per epoch; a round trains a chunk of the epoch in as many "
        "episodes as ranks, each rank meeting every block of the table once (more rounds: "
        "better vectors, more exchanges of blocks)",
        RANKS,
        applies=SEVERAL,
    ),
    Option(
        "--emulate-ranks",
        "train in one process exactly as N ranks would (the block "
        "scheme, one rank's bucket after another): the quality of N GPUs, measured on one "
        "machine (0: off)",
        RANKS,
    ),
    Option(
        "--global-negatives",
        "draw negatives from the whole vocabulary, not the rank's "
        "output block (real ranks cannot; measures what the restriction costs, and scored "
        'lower: BENCHMARKS.md, "Several ranks")',
        RANKS,
        action="store_true",
        applies=EMULATION,
        experimental=True,
    ),
    Option(
        "--increment-lr",
        "lr of the words trained before, at the start of a stage of new "
        "increments (new words start at --lr); both decay linearly over the stage (0: "
        "--lr / 8)",
        ONLINE,
        applies=ONLINE_RUN,
    ),
    Option(
        "--replay",
        "share of the old increments' row groups also trained in each epoch of "
        "a new increment (seeded sample; meant to limit forgetting, but 0.25 lowered both "
        'old and new words\' scores: BENCHMARKS.md, "Online training")',
        ONLINE,
        applies=ONLINE_RUN,
        experimental=True,
    ),
    Option(
        "--follow",
        "after the data present, keep polling the dataset and train each new "
        "increment (checkpoint and vectors.txt after each); stop with SIGINT/SIGTERM or "
        "RUN/STOP",
        ONLINE,
        action="store_true",
    ),
    Option("--poll-seconds", "seconds between polls of the manifest", ONLINE, applies=FOLLOW),
    Option(
        "--follow-max-increments",
        "stop after training this many new increments (0: no limit)",
        ONLINE,
        applies=FOLLOW,
    ),
    Option(
        "--resume",
        "continue from RUN/checkpoint.pt when it exists (torchrun restarts)",
        CHECKPOINTS,
        action="store_true",
    ),
    Option(
        "--checkpoint-interval",
        "steps between checkpoints (0: by time only); always one at each epoch end",
        CHECKPOINTS,
    ),
    Option(
        "--checkpoint-seconds",
        "seconds between checkpoints (0: by steps only); written off the training thread",
        CHECKPOINTS,
    ),
    Option("--log-interval", "steps between metrics.jsonl step records", CHECKPOINTS),
    Option("--tensorboard", "write TensorBoard scalars", CHECKPOINTS, action="store_true"),
    Option(
        "--export-vectors",
        "vectors written to RUN/vectors.txt: input, or average of input and output",
        CHECKPOINTS,
        choices=EXPORT_VECTORS,
    ),
    Option("--ns-exponent", "negatives are drawn from count ** ns_exponent", ADVANCED),
    Option("--min-lr-ratio", "final lr as a fraction of --lr", ADVANCED),
    Option(
        "--no-pool-scale",
        "do not scale negative gradients by negatives / pool size (they "
        "are scaled unless this is given)",
        ADVANCED,
        action="store_false",
        dest="pool_scale",
        applies=POOL,
    ),
    Option(
        "--row-cap",
        "a row whose summed update in one micro-step holds n > ROW_CAP pair "
        "updates (a pool negative holds micro*negatives/pool) gets ROW_CAP/n of it (0: "
        "plain sum; the native engine applies pairs one by one)",
        ADVANCED,
        applies=TORCH,
    ),
    Option(
        "--stop-after-steps", "testing aid: checkpoint and stop at this step", ADVANCED, hidden=True
    ),
)

# Options a user brings from sgns-preprocess or from gensim, and what sgns-train takes instead.
_DATASET = "sgns-preprocess settings, fixed in the dataset (see its manifest.json)"
HINTS = {
    **{
        f"--{name}": _DATASET
        for name in (
            "window",
            "min-count",
            "max-vocab",
            "sample",
            "lowercase",
            "passes",
            "num-shards",
            "max-sentence-length",
            "input",
        )
    },  # fmt: skip
    "--vector-size": "gensim's name: use --dim",
    "--size": "word2vec.c's name: use --dim",
    "--negative": "use --negatives",
    "--alpha": "use --lr",
    "--min-alpha": "use --min-lr-ratio (min_alpha / alpha)",
    "--iter": "use --epochs",
    "--workers": "use --threads (or torchrun's --nproc-per-node for processes)",
    "--sg": "sgns trains skip-gram only",
    "--hs": "sgns trains negative sampling only",
    "--cbow": "sgns trains skip-gram only",
}

SCHEMA = Schema(
    prog="sgns-train",
    description="Train word2vec skip-gram with negative sampling on an sgns dataset. Same "
    "command under torchrun for N processes.",
    groups=GROUPS,
    options=OPTIONS,
    config=TrainConfig,
    hints=HINTS,
)


def applies(name: str, settled: dict) -> bool:
    """Whether the option `name` (a TrainConfig field) applied to a run whose config.json is
    `settled`; a field of no option (or a hidden one) applies to none."""
    option = next((o for o in OPTIONS if o.name == name), None)
    if option is None or option.hidden:
        return False
    return option.applies is None or option.applies.test(settled)


def given_options(config: TrainConfig) -> dict:
    """{name: value} of the options `config` was given: a value other than the default, and
    other than what the default settles to (--pool-size 0 becomes the micro-step's pool)."""
    given = {}
    for option in OPTIONS:
        value, default = getattr(config, option.name), SCHEMA.default(option)
        if value == default:
            continue
        try:  # the default, settled as this config settles it
            settled = getattr(dataclasses.replace(config, **{option.name: default}), option.name)
        except UsageError:  # (the config needs the value given: e.g. --global-negatives)
            settled = None
        if value != settled:
            given[option.name] = value
    return given


def unapplied_options(config: TrainConfig, world_size: int) -> list[str]:
    """A warning line for each option `config` (settled) was given that its run ignores."""
    settled = {**config.to_dict(), "world_size": world_size}
    return unapplied(SCHEMA, given_options(config), settled)

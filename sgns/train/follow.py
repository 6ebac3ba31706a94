"""sgns-train --follow: keep training as sgns-preprocess --append / --watch adds increments.

    sgns-train --data DATA --output RUN --follow [--poll-seconds 10] [--follow-max-increments N]
    torchrun --nproc-per-node N -m sgns.train --data DATA --output RUN --follow

After the data present is trained, every rank polls in lockstep: all sleep --poll-seconds, the
ranks' stop flags are summed (all_reduce), and rank 0 alone reads manifest.json and decides
(`decide`); it broadcasts the decision together with the manifest it read, so every rank grows to
the same increments at the same step, from the same manifest. A new increment (or several) is a
new training stage (sgns.train.plan): tables grow, the noise distribution follows the merged
counts, training runs, and the run checkpoints and rewrites RUN/vectors.txt. The run stops, all
ranks together and after a checkpoint, on SIGINT/SIGTERM (checked at every poll and every
checkpoint step), when the file RUN/STOP exists, or after --follow-max-increments increments.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time

from sgns import dataset, rundir
from sgns.errors import note_signal
from sgns.train import distributed

log = logging.getLogger(__name__)


class StopSignals:
    """While installed, SIGINT and SIGTERM set a flag instead of ending the process, so that
    the ranks stop together at the next agreed point (`any`)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    # True within sgns-train's main (`ending`), whose process ends when the run does: once a
    # signal asked the run to stop, a second one changes nothing (docs/errors.md: exit 0), so
    # `restore` leaves this handler in place (main then ignores both); the Python API, also
    # when called after main in one process (a notebook, a test run), gets its handlers back
    ending_process = False

    @classmethod
    @contextlib.contextmanager
    def ending(cls):
        """The block of sgns-train's main that trains: `ending_process` is True within it only."""
        cls.ending_process = True
        try:
            yield
        finally:
            cls.ending_process = False

    def __init__(self):
        self.raised = False
        self.previous: dict = {}

    def install(self) -> None:
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        if self.raised and self.ending_process:
            return
        for sig, handler in self.previous.items():
            signal.signal(sig, handler or signal.SIG_DFL)  # (None: set outside Python)
        self.previous = {}

    def _handle(self, signum, frame) -> None:
        note_signal(signum)  # (what Interruptible names if the run is then interrupted)
        self.raised = True

    def any(self, ctx: distributed.Context) -> bool:
        """Whether any rank got a signal (a collective: every rank calls it at the same step)."""
        return distributed.any_rank(self.raised, ctx)


def decide(
    increments: int, trained: int, picked: int, limit: int, stop_file: bool, signalled: bool
) -> tuple[str, int]:
    """What a follower does after a poll: ("stop", 0), ("train", end) to train increments
    [trained, end), or ("wait", 0). `picked`: increments trained since following began; `limit`:
    --follow-max-increments (0: none)."""
    if signalled or stop_file or (limit and picked >= limit):
        return "stop", 0
    if increments > trained:
        end = min(increments, trained + (limit - picked)) if limit else increments
        return "train", end
    return "wait", 0


def poll(config, trained: int, picked: int, signalled: bool) -> tuple[str, int, dict | None]:
    """Rank 0's decision and the manifest it is based on (None unless training)."""
    stop_file = os.path.exists(rundir.run_path(config.output, rundir.STOP_FILE))
    try:
        manifest = dataset.read_manifest(config.data)
    except (ValueError, OSError) as e:  # e.g. a dataset being rebuilt: try again next poll
        log.warning("cannot read the manifest (%s); polling again", e)
        manifest = {"increments": []}
    action, end = decide(
        len(manifest["increments"]), trained, picked, config.follow_max_increments, stop_file,
        signalled,
    )  # fmt: skip
    return action, end, manifest if action == "train" else None


def follow(trainer) -> str | None:
    """Poll and train new increments until told to stop; the vectors path (None if stopped
    inside a stage: the checkpoint then holds the position)."""
    config, ctx = trainer.config, trainer.ctx
    path, picked = rundir.run_path(config.output, rundir.VECTORS_FILE), 0
    log.info("following %s for new increments (every %g s)", config.data, config.poll_seconds)
    while True:
        signalled = trainer.signals.any(ctx)
        decision = poll(config, trainer.stage.end, picked, signalled) if ctx.is_main else None
        action, end, manifest = distributed.broadcast_object(decision, ctx.world_size)
        if action == "stop":
            log.info("follow: stopping after increment %d", trainer.stage.end - 1)
            return path
        if action == "wait":
            time.sleep(config.poll_seconds)
            continue
        picked += end - trainer.stage.end
        trainer.manifest = manifest
        path = trainer.advance(end)
        if path is None:
            return None

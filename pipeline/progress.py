"""Progress of a long stage, logged every so often by each worker: blocks, tokens, tokens/s."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class Progress:
    """Counts blocks and tokens; logs a line at most every `seconds`."""

    def __init__(self, stage: str, seconds: float = 10.0):
        self._stage = stage
        self._seconds = seconds
        self._blocks = self._tokens = 0
        self._started = self._logged = time.monotonic()

    def add(self, tokens: int) -> None:
        self._blocks += 1
        self._tokens += tokens
        now = time.monotonic()
        if now - self._logged >= self._seconds:
            self._logged = now
            rate = self._tokens / max(now - self._started, 1e-9)
            log.info(
                "%s: %d blocks, %d tokens, %.2fM tokens/s",
                self._stage, self._blocks, self._tokens, rate / 1e6,
            )  # fmt: skip

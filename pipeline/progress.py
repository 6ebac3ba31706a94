"""Progress of the pipeline's runs: a bar of the input bytes read, and the workers' log lines.

The driver puts `input_bar` around each pipeline run that reads the input (the phrase rounds,
the vocabulary run, the pairs run). On a terminal it is a tqdm bar on stderr, like the trainer's,
and the log's lines print above it; otherwise (a file, a pipe, CI) no bar: a log line as the run
starts, and the one the driver writes as it ends. The local runner's workers are threads of the
driver's process: each source's reader adds the bytes it has read (`SourceMeter`) to the bar.
Workers elsewhere (other processes, a cluster) have no bar; they log `Progress` lines, blocks and
tokens every so often.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time

from tqdm import tqdm

log = logging.getLogger(__name__)
_shown = {"bar": None}  # the bar of the run under way in this process, if it shows one
_lock = threading.Lock()  # the local runner's worker threads add to one bar


@contextlib.contextmanager
def input_bar(stage: str, total_bytes: int):
    """Around one pipeline run (in the driver) that reads `total_bytes` of input files."""
    if not sys.stderr.isatty():
        log.info("%s run: reading %s of input", stage, _size(total_bytes))
        yield
        return
    bar = tqdm(
        total=total_bytes, desc=stage, unit="B", unit_scale=True, unit_divisor=1024,
        dynamic_ncols=True, mininterval=1.0, file=sys.stderr,
    )  # fmt: skip
    _shown["bar"] = bar
    consoles = [
        h for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and getattr(h.stream, "isatty", bool)()
    ]  # fmt: skip
    streams = [h.setStream(_AboveBar(bar, h.stream)) for h in consoles]  # (returns the old)
    try:
        yield
    finally:
        for handler, stream in zip(consoles, streams):
            handler.setStream(stream)
        _shown["bar"] = None
        bar.close()


class _AboveBar:
    """A log handler's stream while a bar shows: each line printed above the bar."""

    def __init__(self, bar, stream):
        self._bar, self._stream = bar, stream

    def write(self, text: str) -> None:
        with _lock:
            self._bar.clear()
            self._stream.write(text)
            self._stream.flush()
            self._bar.refresh()

    def flush(self) -> None:
        self._stream.flush()


def add_bytes(count: int) -> None:
    """`count` more input bytes read, on the bar of this process if it shows one."""
    bar = _shown["bar"]
    if bar is not None and count > 0:
        with _lock:
            bar.update(count)


class SourceMeter:
    """Counts the input bytes of one source as its reader gets through it: the file offset (or
    the compressed bytes read) since the source's start, at most its range's length."""

    def __init__(self, source, stream):
        self._stream = stream
        self._start = max(source.start, 0)
        self._limit = source.end - self._start if source.end >= 0 else float("inf")
        self._counted = 0

    def update(self) -> None:
        stream = self._stream  # a compressed file's: the compressed bytes read
        position = stream.raw_position() if hasattr(stream, "raw_position") else stream.tell()
        done = min(max(position - self._start, 0), self._limit)
        add_bytes(done - self._counted)
        self._counted = max(self._counted, done)

    def finish(self) -> None:
        """The source read to its end: a range counts whole (its last line ends past it)."""
        if self._limit != float("inf"):
            add_bytes(self._limit - self._counted)
            self._counted = self._limit
        else:
            self.update()


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count} bytes"


class Progress:
    """Counts blocks and tokens; logs a line at most every `seconds`, unless this process shows
    the run's bar (which says it)."""

    def __init__(self, stage: str, seconds: float = 10.0):
        self._stage = stage
        self._seconds = seconds
        self._blocks = self._tokens = 0
        self._started = self._logged = time.monotonic()

    def add(self, tokens: int) -> None:
        self._blocks += 1
        self._tokens += tokens
        now = time.monotonic()
        if now - self._logged >= self._seconds and _shown["bar"] is None:
            self._logged = now
            rate = self._tokens / max(now - self._started, 1e-9)
            log.info(
                "%s: %d blocks, %d tokens, %.2fM tokens/s",
                self._stage, self._blocks, self._tokens, rate / 1e6,
            )  # fmt: skip

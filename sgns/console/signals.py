"""A command's stop signals: `Interruptible` ends the block of a command's main that Ctrl-C or
SIGTERM stops in one line, "PROG: interrupted (SIGINT); NOTE", and exit code 130 or 143.
Imported from sgns.errors by the commands, as the rest of how they end is there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from sgns.console import early
from sgns.console.streams import say


class Interruptible:
    """The block of a command's main that does its work: SIGTERM stops it as Ctrl-C does, by a
    KeyboardInterrupt, so that what it was writing is cleaned up (`atomic_open` removes its
    temporary file; the default SIGTERM would leave it). Either ends the block with one line,
    "PROG: interrupted (SIGINT); NOTE" (`note`: what is left, what to do), and `exit_code`
    128 + the signal (130, 143), as a shell reports a process its signal ended: the signal
    taken last (`note_signal`), whichever handler raised; None when the block ran to its end
    (when an object-store request it gave up on still runs, the process ends there, with that
    code: `left_running`). `sigterm` False keeps SIGTERM's default (a rank under torchrun,
    which the agent must end at once); `show` False prints nothing (another process says it).
    `note` may be a function, asked when the line is said (what is left depends on when).

        with Interruptible("sgns-eval") as stop:
            ...
        return stop.exit_code or 0
    """

    def __init__(self, prog: str, note: str | Callable[[], str] = "", sigterm: bool = True,
                 show: bool = True):  # fmt: skip
        self.prog, self.note, self.show = prog, note, show
        # (signal handlers can be set in the main thread only: elsewhere SIGTERM keeps its own)
        self.main = threading.current_thread() is threading.main_thread()
        self.sigterm = sigterm and self.main
        self.received = signal.SIGINT
        self.exit_code: int | None = None
        self.left: list[threading.Event] = []  # its work given up on (`left_running`)
        self._previous: dict = {}
        self._ended = threading.Event()  # the block's end reached (__exit__)
        self._deadline: float | None = None  # once stopped: when the block must have ended

    # How long the block may take, once stopped, to reach its end: cleaning up is quick, but a
    # library's own cleanup on the way out can wait on a thread of its own that waits on it (a
    # Beam pipeline stopped mid-run once did: no line, no end). Past this the process ends. Work
    # on the way out that still makes progress (a checkpoint being written) extends it
    # (`still_working`).
    GRACE_SECONDS = 30.0

    def _stop(self, signum, frame):
        note_signal(signum)
        self.arm()
        raise KeyboardInterrupt

    def arm(self) -> None:
        """The block is stopping: it must end within GRACE_SECONDS (only a float is set: a
        signal handler calls this)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.GRACE_SECONDS

    def extend(self) -> None:
        """Work on the way out still makes progress: a stopping block's grace starts again."""
        if self._deadline is not None:
            self._deadline = time.monotonic() + self.GRACE_SECONDS

    def _end_if_stuck(self) -> None:
        """The watch of a block (a daemon thread from its start): once it is stopping, when it
        has not reached its end by its deadline, say the line and end the process (os.write: no
        lock the stuck thread may hold)."""
        while not self._ended.wait(_WATCH_STEP):
            if self._deadline is None or time.monotonic() < self._deadline:
                continue
            if self.show:
                late = f"it did not stop within {self.GRACE_SECONDS:g} s, so it ended at once"
                line = f"{self.prog}: interrupted ({_last_signal.name}){self._note()}; {late}\n"
                with contextlib.suppress(OSError):
                    os.write(2, line.encode("utf-8", "replace"))
            os._exit(128 + _last_signal)

    def _note(self) -> str:
        """The line's "; NOTE", or nothing."""
        note = self.note() if callable(self.note) else self.note
        return f"; {note}" if note else ""

    def __enter__(self) -> Interruptible:
        global _last_signal
        _last_signal = signal.SIGINT  # (a KeyboardInterrupt that no signal raised)
        wanted = [signal.SIGTERM] if self.sigterm else []
        current = signal.getsignal(signal.SIGINT)
        if self.main and (current is signal.default_int_handler or early.is_early(current)):
            wanted.append(signal.SIGINT)  # (the same KeyboardInterrupt, its signal noted)
        for sig in wanted:  # (the start's handlers, sgns.console.early: Python's back after)
            self._previous[sig] = early.previous(sig, signal.signal(sig, self._stop))
        _active.append(self)
        if self.main:
            with contextlib.suppress(RuntimeError):  # (no thread to be had: no watch)
                threading.Thread(target=self._end_if_stuck, daemon=True).start()
        return self

    def __exit__(self, kind, error, trace) -> bool:
        self._ended.set()
        for sig, handler in self._previous.items():  # (None: set outside Python, not back)
            signal.signal(sig, handler or signal.SIG_DFL)
        _active.remove(self)
        running = [done for done in self.left if not done.is_set()]
        if _active:  # still this process's to wait for if the block around it is stopped
            _active[-1].left.extend(running)
        if kind is None or not issubclass(kind, KeyboardInterrupt):
            return False
        self.received = _last_signal
        if self.show:
            say(f"{self.prog}: interrupted ({self.received.name}){self._note()}")
        self.exit_code = 128 + self.received
        if running:  # (Python's exit would wait for them)
            logging.shutdown()  # (flushed: what was printed and logged)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):  # (closed, or a broken pipe)
                    stream.flush()
            os._exit(self.exit_code)
        return True


_WATCH_STEP = 0.5  # seconds between two looks of a block's watch
_last_signal = signal.SIGINT  # the stop signal a handler of ours took last (`note_signal`)
_active: list[Interruptible] = []  # the Interruptible blocks running, innermost last


def note_signal(signum: int) -> None:
    """Note `signum` as the stop signal taken last: every handler of ours for SIGINT or SIGTERM
    calls it (Interruptible's, --watch's, --follow's), so that the line of a command stopped
    names the signal taken last, whichever handler raised the KeyboardInterrupt."""
    global _last_signal
    _last_signal = signal.Signals(signum)


def left_running(done: threading.Event) -> None:
    """Note work that a command gave up on and that still runs in a daemon thread, `done` set
    when it ends: an object-store request (sgns.store.waited) that Ctrl-C or SIGTERM cut short
    is. A command interrupted while such work runs ends at once (`Interruptible`), as its line
    says, not after Python's exit waited for it: pyarrow's exit hook waits out each S3 request,
    all its tries, which may take minutes. The command has cleaned up what it wrote by then.
    Noted in the innermost Interruptible block only: outside one (a call of the Python API),
    nothing ends the process."""
    if _active:
        left = _active[-1].left
        left[:] = [d for d in left if not d.is_set()] + [done]


def arm() -> None:
    """The innermost block is stopping (a handler of its own stopped it: --watch's second
    signal): its grace starts (`Interruptible.arm`)."""
    if _active:
        _active[-1].arm()


def still_working() -> None:
    """Work on the way out of a stopped block still makes progress (a checkpoint being written):
    every stopping block's grace starts again."""
    for block in _active:
        block.extend()

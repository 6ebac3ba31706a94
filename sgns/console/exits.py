"""A command's process once its work is done: a stop signal while Python ends (torch's exit
hooks, Beam's threads: a moment, or a hang) keeps the command's own exit code and prints
nothing. It was a silent 143 or 130, or torch's traceback of an exit hook it cut short.

`keep_exit(code)` (sgns.commands, once the command's main has returned) makes SIGINT and SIGTERM
end the process at once with `code`: a hang in Python's exit still ends at the first Ctrl-C. As
Python finalizes, after the exit hooks, it puts the default handlers back in place of Python
ones, so the last exit hook ends the process there, with the kept code; this module is imported by
`sgns/__init__.py`, before torch, Beam or pyarrow register theirs, so that its hook runs last
also for `python -m sgns.pipeline.preprocess` and the like. Only a process that a command owns
is kept so (`owns_process`): a program that calls a command's function in-process (a notebook,
pytest) keeps its own handlers. Standard library only: it is imported with `import sgns`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_kept: list[int] = []  # the exit code kept, once a command's main has ended


def owns_process() -> bool:
    """Whether this process is a command's own: an installed console script (`sgns-...`) or
    `python -m sgns...` (not a notebook or a program calling a command's function)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and (spec.name or "").startswith("sgns."):
        return True
    return os.path.basename(getattr(main, "__file__", "") or "").startswith("sgns-")


def keep_exit(code) -> None:
    """From now until the process has ended, SIGINT and SIGTERM end it at once with `code` and
    nothing printed (in a process a command owns, from its main thread; elsewhere nothing).
    --watch and --follow, which ignore signals once ending, end so too, with their exit 0."""
    if not owns_process() or threading.current_thread() is not threading.main_thread():
        return
    status = 0 if code is None else code if isinstance(code, int) else 1  # (as Python's exit)

    def end(signum, frame):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # (closed, a broken pipe, a write under way)
                stream.flush()
        os._exit(status)

    for sig in SIGNALS:
        signal.signal(sig, end)
    _kept.append(status)


@atexit.register  # (at `import sgns`: the first registered, so the last exit hook to run)
def _end_now() -> None:
    """The last exit hook of a kept exit: the process ends here, with its code (what is
    printed or logged flushed first), skipping Python's finalization, where a signal would meet
    the default handlers and a hang (a library's destructor) could no longer be stopped."""
    if not _kept or threading.current_thread() is not threading.main_thread():
        return
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # (closed, a broken pipe)
            stream.flush()
    os._exit(_kept[-1])

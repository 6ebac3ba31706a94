"""A command's stop signals while it still loads sgns itself, before `Interruptible` is set:
`install` (sgns.commands, at the top of its imports; the phrase command, at its module's top).

A Ctrl-C or SIGTERM then, the first tenth of a second or so, was Python's KeyboardInterrupt
traceback of an import, or a silent 130 or 143. Installed, either ends the process at once
with the command's line, "PROG: interrupted (SIGINT); nothing was written", and 130 or 143:
os.write and os._exit, so that no Python machinery (an import half done, a lock) is in the way.
The first `Interruptible` block replaces these handlers and, when it ends, puts Python's own
back (`previous`), never these: from then on the command's own handling says what is left.
Only in a process a command owns (sgns.console.exits.owns_process; a notebook or pytest that
imports sgns.commands keeps its handlers), from the main thread, over Python's default handlers
(an ignored SIGINT stays ignored). Under torchrun, SIGTERM keeps its default and only rank 0
speaks, as `Interruptible` there. Python's own start (~25 ms, before any sgns code runs) stays
uncovered. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from sgns.console.exits import owns_process

STARTING = "nothing was written"


def _prog() -> str:
    """The command's name as its lines give it: the console script's, `sgns-eval` for
    `python -m sgns.eval`, else `python -m MODULE`."""
    main = sys.modules.get("__main__")
    script = os.path.basename(getattr(main, "__file__", "") or "")
    if script.startswith("sgns-"):
        return script
    name = (getattr(getattr(main, "__spec__", None), "name", "") or "").removesuffix(".__main__")
    parts = name.split(".")
    if len(parts) == 2 and parts[1] in ("train", "eval", "synth", "report"):
        return f"sgns-{parts[1]}"
    return f"python -m {name}"


def _quiet_rank() -> bool:
    """A rank other than 0 under torchrun (RANK set and not 0): it prints nothing."""
    text = os.environ.get("RANK", "0").strip()
    return text.isascii() and text.isdigit() and int(text) != 0  # ("²".isdigit(): int refuses)


def _alone() -> bool:
    """No WORLD_SIZE above 1 in the environment (torchrun's rank keeps SIGTERM's default)."""
    text = os.environ.get("WORLD_SIZE", "1").strip()
    return not (text.isascii() and text.isdigit()) or int(text) <= 1


def _handler(lines: dict[int, bytes]):
    def end(signum, frame):
        if signum in lines:
            with contextlib.suppress(OSError):  # (stderr closed)
                os.write(2, lines[signum])
        os._exit(128 + signum)

    end.sgns_early = True  # (`is_early`)
    return end


def install(prog: str | None = None) -> None:
    """SIGINT and SIGTERM end this process at once with the command's "interrupted" line and
    130 or 143, until the first `Interruptible` block replaces them (see above)."""
    if not owns_process() or threading.current_thread() is not threading.main_thread():
        return
    name = prog or _prog()
    lines = {} if _quiet_rank() else {
        sig: f"{name}: interrupted ({sig.name}); {STARTING}\n".encode("utf-8", "replace")
        for sig in (signal.SIGINT, signal.SIGTERM)
    }  # fmt: skip
    end = _handler(lines)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, end)
    if _alone() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, end)


def is_early(handler) -> bool:
    """Whether `handler` is one `install` set."""
    return getattr(handler, "sgns_early", False) is True


def previous(sig: int, handler):
    """The handler to put back for `sig` in place of `handler`: Python's own for one of ours."""
    if not is_early(handler):
        return handler
    return signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL


def release() -> None:
    """Python's own handlers back in place of ours (a command run by `python -m MODULE` once
    its module is loaded: its main's handling is as it was)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(sig)
        if is_early(current):
            signal.signal(sig, previous(sig, current))

"""A command's stderr, whatever the shell gave it: closed (`2>&-`), a file not open for writing,
a full disk (`2>/dev/full`), a reader gone (`2>&1 | head -1`). What a command says there (its one
line, a note, the log, a progress bar) is then lost, and its exit code stays its own: 2 for a
user's mistake, 0 for a success. Python would print the line to stdout instead (`print` with
`file=None`), or end in exit 1 on the failed write.
"""

from __future__ import annotations

import contextlib
import os
import sys

try:
    import fcntl
except ImportError:  # (Windows: no way to ask; a write that fails is still caught)
    fcntl = None


class QuietStream:
    """A text stream that stops being written once a write failed (OSError; ValueError: a
    closed file), and says nothing of it: stderr has no one left to tell."""

    def __init__(self, stream):
        self.stream, self.broken = stream, stream is None  # (None: Python started without one)

    def __getattr__(self, name):  # (encoding, isatty, fileno, buffer: logging and tqdm ask)
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.stream.write(text)
            except (OSError, ValueError):
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.broken = True


def _writable(fd: int) -> bool:
    """Whether `fd` is open for writing (a shell's `2>&-` closes it; a launcher may leave a
    file it read open there instead)."""
    if fcntl is None:
        return True
    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY
    except OSError:  # (EBADF: closed)
        return False


def guard_stderr() -> None:
    """Make this process's stderr one that writing to cannot fail: a closed or read-only file
    descriptor 2 becomes /dev/null (so that neither this process's lines nor a child's land
    in a file opened there later), and sys.stderr a `QuietStream`. Called once, first, by
    every console script (sgns.commands.run)."""
    if sys.stderr is None or not _writable(2):
        sink = os.open(os.devnull, os.O_WRONLY)
        if sink != 2:
            os.dup2(sink, 2)
            os.close(sink)
        sys.stderr = open(2, "w", closefd=False, errors="backslashreplace")  # noqa: SIM115
    if not isinstance(sys.stderr, QuietStream):
        sys.stderr = QuietStream(sys.stderr)


def say(line: str) -> None:
    """`line` on stderr, if there is one that takes it (never on stdout, where `print` would
    put it when stderr is closed); a failed write is no error of the command's."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        stream.write(line + "\n")
        stream.flush()

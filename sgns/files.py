"""Writing a local file so that a reader sees the old file or the new one, never half of one.

Every file that sgns and its pipeline write on a local disk goes through `atomic_open` (the
pipeline's `outputs` hands local paths to it): the data goes to a temporary file in the
target's own directory (same filesystem, so the rename is atomic), which then replaces the
target with os.replace. With `durable` (the default) the file is fsynced before the rename and
its directory after it, so that a crash or a power loss leaves the old file or the whole new
one: for what a later run trusts (manifest, vocabulary, shards, checkpoints, vectors). Temporary
pieces that a failed run rebuilds anyway skip the fsyncs.

One file mode rule: files are created as open() would create them, 0666 less the umask, not
with mkstemp's 0600 (a dataset or a run directory is often shared with other users). Reading a
dataset, local or on an object store, is sgns.store's. A file a user names on a command line is
checked before it is opened (`check_file`, `check_directory`: missing, a directory where a file
goes, a FIFO, unreadable), and text read from one is decoded by `decode_text`, which names the
file and the byte when it is not UTF-8. No torch and no Beam here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import stat
import tempfile
import threading
from collections.abc import Iterator
from typing import BinaryIO

from sgns.errors import UsageError

TEMP_PREFIX = ".sgns-tmp-"  # temporary files and folders (the pipeline's outdir removes only them)


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # read once, at import: os.umask cannot be read without a set


@contextlib.contextmanager
def atomic_open(path: str, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write; when the block ends without an error it becomes `path`.

    On an error (or an interrupt) the temporary file is removed and `path` is left as it was.
    A FIFO, a device or a socket at `path` (or a link to one: /dev/stdout) is refused before
    anything is written: the rename would put a file in its place (/dev/null, as root).
    """
    _check_writable_kind(path)
    directory = os.path.dirname(resolved_path(path))  # (the rename's folder, links followed)
    try:
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    except OSError as e:  # name the file the caller asked for, not our temporary one
        raise type(e)(e.errno, e.strerror, path) from None
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(e, OSError) and e.errno is not None and e.filename in (None, temp):
            raise type(e)(e.errno, e.strerror, path) from None  # name the file, not our temporary
        raise
    if durable:
        fsync_directory(directory)


class SignalsHeld:
    """Files that go together replaced together: once `hold()` is called, SIGINT and SIGTERM
    wait until the block ends (their handlers then run, as if the signal came at that moment),
    so that an interrupt never falls between two renames (a .npy and its .vocab.tsv).

        with SignalsHeld() as held, atomic_open(a) as f, atomic_open(b) as g:
            ...  # written; an interrupt here leaves both files as they were
            held.hold()  # from here to the end of the block: both renamed, or neither
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self._previous: dict = {}
        self._received: list[int] = []

    def hold(self) -> None:
        if threading.current_thread() is threading.main_thread():  # (elsewhere: no handlers)
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, lambda s, f: self._received.append(s))

    def __enter__(self) -> SignalsHeld:
        return self

    def __exit__(self, *exc) -> bool:
        for sig, handler in self._previous.items():  # (None: set outside Python)
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in dict.fromkeys(self._received):
            signal.raise_signal(sig)
        return False


def resolved_path(path: str) -> str:
    """`path` made absolute as the kernel resolves it: its folder with links followed, then its
    name as given (a write replaces a link there, atomic_open). Not os.path.abspath, which
    resolves "link/.." by the text, to another folder than the kernel reaches through the link:
    a file read, compared, written or derived (a file beside it) by its absolute path uses this;
    folders are made with the path as given."""
    folder, name = os.path.split(path)
    if name in ("", os.curdir, os.pardir):  # a folder itself ("data/", ".", ".."): tidied
        return os.path.realpath(path)
    return os.path.join(os.path.realpath(folder or os.curdir), name)


def _check_writable_kind(path: str) -> None:
    """UsageError when `path` is (or links to) something other than a file or a directory (a
    directory is said by the rename, as a missing folder is)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # nothing there (or a dangling link): the rename says what is wrong
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UsageError(
            f"{_shown(path)} is {kind_of(mode)}, not a file: sgns writes a file in its place "
            "and would replace it; give the path of a file"
        )


def check_output_file(path: str, what: str) -> str:
    """`path`, the file a command's option `what` names for it to write, checked before the
    command writes anything (`atomic_open` checks only when it comes to it, after the files a
    command writes first): UsageError when it is empty, a directory, or a FIFO, a device or a
    socket (or a link to one)."""
    if not path:
        raise UsageError(f"{what} is empty: give the path of the file to write")
    if os.path.isdir(path):
        raise UsageError(
            f"{what} {_shown(path)} is a directory; give the path of the file to write"
        )
    try:
        _check_writable_kind(path)
    except UsageError as e:
        raise UsageError(f"{what} {e}") from None
    return path


def atomic_write(path: str, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` through `atomic_open`."""
    with atomic_open(path, durable) as f:
        f.write(data)


def fsync_directory(directory: str) -> None:
    """Make the entries of `directory` (a rename into it) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Reading a file a user names ------------------------------------------------------------------

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a path whose os.stat st_mode is `mode` is, in words: "a file", "a directory", ..."""
    if stat.S_ISREG(mode):
        return "a file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_file(path: str, what: str) -> str:
    """`path` when it is a regular file this process may read; else FileNotFoundError or
    UsageError saying `what` (an option or a role: "--similarity", "vector file") and `path`
    and what is there instead, before anything opens it (a FIFO would block the reader), or
    PermissionError."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {_shown(path)} does not exist") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{what} {_shown(path)} is {kind_of(mode)}, not a file")
    if not os.access(path, os.R_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return path


def path_argument(name: str, value) -> str:
    """`value`, the argument `name` of a Python call that takes a path, as a str path; a
    UsageError naming the argument when it is no path (a list, a number, bytes, a str with a
    NUL character, which no command line and no filesystem holds)."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and "\0" in path:
            raise UsageError(f"{name}: {path!r:.60} holds a NUL character; no path can")
        if isinstance(path, str):
            return path
    raise UsageError(
        f"{name}: give a path (str or os.PathLike), not {type(value).__name__} {value!r:.60}"
    )


SIDE_HEAD_BYTES = 1 << 16  # of a side file, enough to tell whose it is


def check_side_file(path: str, ours, what: str, beside: str) -> None:
    """Refuse to write `path`, the `what` a command writes beside the file its user named
    (`beside`), when a file is there that no sgns command wrote: `ours(head)` tells that from
    its first SIDE_HEAD_BYTES bytes. The user named `beside`, not this file: a file of theirs
    there is not to be overwritten. An empty file holds nothing to lose, and a link is replaced
    by the new file (atomic_open), never written through."""
    if os.path.islink(path) or not os.path.lexists(path):
        return
    if stat.S_ISREG(os.stat(path).st_mode):
        with open(path, "rb") as f:
            head = f.read(SIDE_HEAD_BYTES)
        if not head or ours(head):
            return
    raise UsageError(
        f"{_shown(path)} is in the way of the {what} written beside {_shown(beside)}, and was not "
        f"written by sgns; move it, or give {_shown(beside)} another name"
    )


def check_directory(path: str, what: str) -> str:
    """`path` when it is a directory; else FileNotFoundError or UsageError saying `what` and
    `path` and what is there instead."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} {_shown(path)} does not exist") from None
    if not stat.S_ISDIR(mode):
        raise UsageError(f"{what} {_shown(path)} is {kind_of(mode)}, not a directory")
    return path


def _shown(path: str) -> str:  # a name with a newline would cut the one line short
    return path if path.isprintable() else repr(path)


def decode_text(data: bytes, name: str) -> str:
    """`data`, the content of the file `name`, as UTF-8 text; UsageError naming the file and
    the line and byte where it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UsageError(
            f"{name} is not UTF-8 text (line {line}, byte {e.start}: {data[e.start : e.end]!r}):"
            " it is damaged, or not the file meant"
        ) from None


LOCK_FILE = ".lock"  # in a dataset or run directory: held by its one writer (DirectoryLock)
_LOCK_TRIES = 5  # to make the lock file in a folder that another process removes meanwhile


class DirectoryLock:
    """An OS lock (flock) on DIR/.lock, with the holder's pid and host written in it, held while
    one process writes DIR: taken and broken by the kernel, so a crashed holder's is free at
    once. `what` names the writer in the error a second one gets (UsageError)."""

    def __init__(self, directory: str, what: str):
        self.path, self.what = os.path.join(directory, LOCK_FILE), what
        self.fd = None

    def __exit__(self, *exc) -> None:
        self.release()

    def take(self) -> DirectoryLock:
        """Take the lock, or take it again once `lost` (UsageError naming another holder)."""
        if self.fd is not None and not self.lost():  # held: kept (let go, another could take it)
            return self
        self.release()  # (a lock `lost` is let go: its path is another file now, not removed)
        directory = os.path.dirname(self.path) or "."
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise UsageError(f"--output {directory} is a file, not a directory: give a directory")
        os.makedirs(directory, exist_ok=True)
        gone = 0  # times the folder was gone when the lock file was made
        while True:
            if os.path.islink(self.path):  # never ours (we make a plain file): the link goes,
                os.unlink(self.path)  # its target is never opened, let alone written
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, FILE_MODE)
            except OSError as e:
                gone += e.errno == errno.ENOENT
                if e.errno == errno.ENOENT and gone < _LOCK_TRIES:  # a failed run removed the
                    os.makedirs(directory, exist_ok=True)  # folder it had made since ours
                    continue  # (DatasetLock): again; a folder that keeps going is an error
                if e.errno != errno.ELOOP:
                    raise
                continue  # a link made since we looked: remove it too
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise UsageError(f"{self.path} is {kind_of(os.stat(self.path).st_mode)}, not the "
                                 "lock file sgns makes there: remove it")  # fmt: skip
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "starting"
                os.close(fd)
                raise UsageError(
                    f"another {self.what} ({holder}) is writing "
                    f"{os.path.dirname(self.path)!r}; wait for it to finish"
                ) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the holder before us removed that file as it left: take the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self.fd = fd
        return self

    __enter__ = take

    def lost(self) -> bool:
        """Whether DIR/.lock is no longer the file held (DIR removed and made again, say)."""
        return self.fd is not None and not _same_file(self.fd, self.path)

    def release(self) -> None:
        if self.fd is not None:
            if _same_file(self.fd, self.path):  # (once `lost`, the path is not ours to remove)
                with contextlib.suppress(FileNotFoundError):  # the directory may be gone
                    os.unlink(self.path)  # while still holding it: a waiter sees another file
            os.close(self.fd)
            self.fd = None


def _same_file(fd: int, path: str) -> bool:
    try:  # (the held file stays open: no other file on its device gets its inode)
        there, held = os.stat(path), os.fstat(fd)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return (there.st_dev, there.st_ino) == (held.st_dev, held.st_ino)  # (inodes: per device)

"""Writing a local file so that a reader sees the old file or the new one, never half of one.

Every file that sgns and its pipeline write on a local disk goes through `atomic_open` (the
pipeline's `pipeline.outputs` hands local paths to it): the data goes to a temporary file in the
target's own directory (same filesystem, so the rename is atomic), which then replaces the
target with os.replace. With `durable` (the default) the file is fsynced before the rename and
its directory after it, so that a crash or a power loss leaves the old file or the whole new
one: for what a later run trusts (manifest, vocabulary, shards, checkpoints, vectors). Temporary
pieces that a failed run rebuilds anyway skip the fsyncs.

One file mode rule: files are created as open() would create them, 0666 less the umask, not
with mkstemp's 0600 (a dataset or a run directory is often shared with other users).
No torch and no Beam here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

TEMP_PREFIX = ".sgns-tmp-"  # temporary files and folders (pipeline.outdir removes only these)


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # read once, at import: os.umask cannot be read without a set


@contextlib.contextmanager
def atomic_open(path: str, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write; when the block ends without an error it becomes `path`.

    On an error (or an interrupt) the temporary file is removed and `path` is left as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
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
        if isinstance(e, OSError) and e.errno is not None and e.filename is None:
            raise type(e)(e.errno, e.strerror, path) from None  # a full disk names the file
        raise
    if durable:
        fsync_directory(directory)


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

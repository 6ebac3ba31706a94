"""Writing the dataset's files on any Beam filesystem, so a reader never sees half of one.

`atomic_output` is the one way the pipeline writes a file: on a local disk it is sgns.files'
temp-file-then-rename (with fsync when `durable`); on an object store (gs://, s3://) a
temporary object of a unique name, then a rename (an object appears whole or not at all).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem

from sgns.files import TEMP_PREFIX, atomic_open, check_file
from sgns.pipeline.dataset.objectstore import share_s3_clients

share_s3_clients()  # every process that writes or reads our files through Beam imports this


def is_local(path: str) -> bool:
    """Whether a path is on the local filesystem. (LocalFileSystem.scheme() is None in Beam.)"""
    return isinstance(FileSystems.get_filesystem(path), LocalFileSystem)


@contextlib.contextmanager
def atomic_output(path: str, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write (uncompressed, whatever the name); when the block ends without an
    error it becomes `path`. Parent folders are made as needed."""
    if is_local(path):
        os.makedirs(os.path.dirname(path) or os.curdir, exist_ok=True)  # (as given: not abspath,
        # which resolves "link/.." by the text where the kernel follows the link)
        with atomic_open(path, durable) as f:
            yield f
        return
    head, name = path.rsplit("/", 1)
    temp = f"{head}/{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{name}"
    try:
        with FileSystems.create(temp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            yield f
        FileSystems.rename([temp], [path])
    except BaseException:
        with contextlib.suppress(Exception):
            if FileSystems.exists(temp):
                FileSystems.delete([temp])
        raise


def write_bytes(path: str, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` through `atomic_output`."""
    with atomic_output(path, durable) as f:
        f.write(data)


def write_object(path: str, data: bytes) -> None:
    """Upload `data` as one object of an object store, under its own name: the store shows it
    once the upload completes. For files that a failed run never leaves behind (pieces:
    a retried step writes the same name again, and recovery removes them), where the temporary
    name and rename of `atomic_output` would only cost a copy and a delete."""
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)


def read_bytes(path: str, what: str = "dataset file") -> bytes:
    """The raw bytes of a file on any Beam filesystem (never decompressed by its name); a local
    one that is no file is refused (a FIFO would block the reader), naming `what` it is."""
    if is_local(path):
        check_file(path, what)
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return f.read()


def publish_file(source: str, target: str) -> None:
    """Replace `target` by a copy of `source`, atomically: locally through `atomic_output`, on
    an object store by one server-side copy (an object write, atomic there)."""
    if is_local(target):
        write_bytes(target, read_bytes(source))
    else:
        FileSystems.copy([source], [target])

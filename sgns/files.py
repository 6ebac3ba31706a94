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

Reading is the other half: a dataset that sgns reads may be a local directory, or a URI that
pyarrow's filesystems understand: `s3://bucket/prefix` or `gs://bucket/prefix`, with pyarrow's
options as a query (`?endpoint_override=HOST:PORT&scheme=http`, `&region=...`); without them
pyarrow reads the usual environment (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, ~/.aws; for GCS: GOOGLE_APPLICATION_CREDENTIALS or the
machine's account). The trainer reads every byte of a dataset through `read_bytes` and
`open_parquet` (sgns.dataset for the manifest and vocabulary, sgns.train.shards for the shards);
local paths go straight to the OS, as they always have. Runs and checkpoints stay local, and
sgns-preprocess writes through Beam's filesystems. A file a user names on a command line is
checked before it is opened (`check_file`, `check_directory`: missing, a directory where a file
goes, a FIFO, unreadable), and text read from one is decoded by `decode_text`, which names the
file and the byte when it is not UTF-8.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import socket
import stat
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
        if isinstance(e, OSError) and e.errno is not None and e.filename in (None, temp):
            raise type(e)(e.errno, e.strerror, path) from None  # name the file, not our temporary
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


# ---------------------------------------------------------------------------------------------
# Reading a file a user names

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
    ValueError saying `what` (an option or a role: "--similarity", "vector file") and `path`
    and what is there instead, before anything opens it (a FIFO would block the reader), or
    PermissionError."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {_shown(path)} does not exist") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{what} {_shown(path)} is {kind_of(mode)}, not a file")
    if not os.access(path, os.R_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return path


def check_directory(path: str, what: str) -> str:
    """`path` when it is a directory; else FileNotFoundError or ValueError saying `what` and
    `path` and what is there instead."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} {_shown(path)} does not exist") from None
    if not stat.S_ISDIR(mode):
        raise ValueError(f"{what} {_shown(path)} is {kind_of(mode)}, not a directory")
    return path


def _shown(path: str) -> str:  # a name with a newline would cut the one line short
    return path if path.isprintable() else repr(path)


def decode_text(data: bytes, name: str) -> str:
    """`data`, the content of the file `name`, as UTF-8 text; ValueError naming the file and
    the line and byte where it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(
            f"{name} is not UTF-8 text (line {line}, byte {e.start}: {data[e.start : e.end]!r}):"
            " it is damaged, or not the file meant"
        ) from None


# ---------------------------------------------------------------------------------------------
# Reading a dataset


_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_filesystems: dict = {}  # (pid, scheme://bucket?query) -> pyarrow FileSystem


def is_uri(location: str) -> bool:
    """Whether `location` names an object store (scheme://...), not a local path."""
    return bool(_URI.match(location))


def join(location: str, relative: str) -> str:
    """`relative` (a "/"-separated path inside a dataset) under `location`; a URI keeps its
    query at the end."""
    if not is_uri(location):
        return os.path.join(location, relative)
    base, sep, query = location.partition("?")
    return f"{base.rstrip('/')}/{relative}{sep}{query}"


def filesystem(location: str):
    """(pyarrow FileSystem, path inside it) of a URI; one filesystem per bucket and options in
    each process (a DataLoader worker makes its own rather than use one made before its fork)."""
    from pyarrow import fs

    base, _, query = location.partition("?")
    scheme, _, rest = base.partition("://")
    key = (os.getpid(), store_limits(), f"{scheme}://{rest.split('/')[0]}?{query}")
    if key not in _filesystems:
        try:
            store = fs.FileSystem.from_uri(location)[0]
        except (ValueError, TypeError) as e:  # pyarrow's ArrowInvalid is a ValueError
            raise ValueError(f"cannot read {location!r}: {e}") from None
        if isinstance(store, fs.S3FileSystem):  # rebuilt from its pickled options, bounded
            timeout, retries = store_limits()
            rebuild, (options,) = store.__reduce__()
            options.update(connect_timeout=timeout, request_timeout=timeout)
            retry = fs.AwsStandardS3RetryStrategy(max_attempts=retries + 1)
            store = rebuild({**options, "retry_strategy": retry})
        _filesystems[key] = store
    return _filesystems[key], rest


STORE_LIMITS = {"SGNS_S3_TIMEOUT": 10.0, "SGNS_S3_RETRIES": 2}  # a dead store: ~30 s, not minutes
_AWS_ERROR = re.compile(r"AWS Error (\w+) during \w+ operation: (?:curlCode: \d+, )?([^;]*)")


def store_limits() -> tuple[float, int]:
    """(timeout, retries) of every object-store request, the pipeline's and the trainer's:
    SGNS_S3_TIMEOUT seconds to connect and to wait for each answer, SGNS_S3_RETRIES more tries."""
    timeout, retries = (os.environ.get(name) or str(v) for name, v in STORE_LIMITS.items())
    try:
        limits = float(timeout), int(retries)
    except ValueError:
        limits = (0.0, -1)
    if not (0 < limits[0] < float("inf") and limits[1] >= 0):
        raise ValueError(f"SGNS_S3_TIMEOUT={timeout!r}, SGNS_S3_RETRIES={retries!r}: give "
                         "seconds above 0 and a count of retries")  # fmt: skip
    return limits


def store_tries() -> str:
    """How long a request was tried, for a message: "3 tries of 10 s; SGNS_S3_TIMEOUT and ..."."""
    timeout, retries = store_limits()
    return f"{retries + 1} tries of {timeout:g} s; {' and '.join(STORE_LIMITS)} set them"


@contextlib.contextmanager
def _store_errors(location: str) -> Iterator[None]:
    """pyarrow's object-store errors (OSError, no errno) as one line naming `location`."""
    try:
        yield
    except OSError as e:
        found = _AWS_ERROR.search(str(e))
        if e.errno is not None or not found:
            raise
        code, detail = found[1], found[2].strip()
        if code == "NETWORK_CONNECTION":
            how = "refused the connection" if "Could not connect" in detail else "did not answer"
            cause = f"the object store {how} ({detail}; {store_tries()})"
        elif code in ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH"):
            cause = f"access denied ({code}): check the keys (AWS_ACCESS_KEY_ID ...) and the bucket"
        else:
            cause = f"{code} {detail}".strip()
        raise ValueError(f"cannot read {location}: {cause}") from None


def read_bytes(location: str) -> bytes:
    """The whole file at `location`; FileNotFoundError naming it when there is none."""
    if not is_uri(location):
        with open(check_file(location, "dataset file"), "rb") as f:
            return f.read()
    store, path = filesystem(location)
    try:
        with _store_errors(location), store.open_input_stream(path) as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file or directory", location) from None


def is_dir(location: str) -> bool:
    """Whether `location` is a directory (for an object store: whether any object is under it,
    which is what a directory is there)."""
    if not is_uri(location):
        return os.path.isdir(location)
    from pyarrow import fs

    store, path = filesystem(location)
    with _store_errors(location):
        return store.get_file_info(path).type == fs.FileType.Directory


def open_parquet(location: str, **options):
    """A pyarrow.parquet.ParquetFile of the file at `location` (options: ParquetFile's)."""
    import pyarrow.parquet as pq

    if not is_uri(location):
        return pq.ParquetFile(check_file(location, "shard"), **options)
    store, path = filesystem(location)
    # pre_buffer: a row group's column chunks in one coalesced read, not one request each
    with _store_errors(location):
        return pq.ParquetFile(path, filesystem=store, pre_buffer=True, **options)


LOCK_FILE = ".lock"  # in a dataset or run directory: held by its one writer (DirectoryLock)


class DirectoryLock:
    """An OS lock (flock) on DIR/.lock, with the holder's pid and host written in it, held while
    one process writes DIR: taken and broken by the kernel, so a crashed holder's is free at
    once. `what` names the writer in the error a second one gets (ValueError)."""

    def __init__(self, directory: str, what: str):
        self.path, self.what = os.path.join(directory, LOCK_FILE), what
        self.fd = None

    def __enter__(self) -> DirectoryLock:
        return self.take()

    def __exit__(self, *exc) -> None:
        self.release()

    def take(self) -> DirectoryLock:
        """Take the lock (ValueError naming the holder when another process has it)."""
        directory = os.path.dirname(self.path) or "."
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise ValueError(f"--output {directory} is a file, not a directory: give a directory")
        os.makedirs(directory, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "starting"
                os.close(fd)
                raise ValueError(
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

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):  # the directory may be gone
                os.unlink(self.path)  # while still holding it: a waiter then sees another file
            os.close(self.fd)
            self.fd = None


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False

"""Reading a dataset, local or on an object store, as the trainer does.

A dataset that sgns reads may be a local directory, or a URI that pyarrow's filesystems
understand: `s3://bucket/prefix` or `gs://bucket/prefix`, with pyarrow's options as a query
(`?endpoint_override=HOST:PORT&scheme=http`, `&region=...`); without them pyarrow reads the
usual environment (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL, ~/.aws; for GCS: GOOGLE_APPLICATION_CREDENTIALS or the machine's account).
The trainer reads every byte of a dataset through `read_bytes`, `open_parquet` and `waited`
(sgns.dataset for the manifest and vocabulary, sgns.train.shards for the shards' footers and row
groups); local paths go straight to the OS, as they always have. Every object-store request is
bounded (`store_limits`, shared with the pipeline's sgns.pipeline.dataset.objectstore) and its
errors are one line naming the object: S3's client by its timeouts and tries, GCS's by a time limit
on its retries (its default: 15 minutes) and `waited`, which gives up a read that stopped moving.
Each request is waited for in the main thread, so SIGTERM and Ctrl-C stop a command at once,
never after a blocked request: the command says its line and ends (sgns.errors.left_running).
Not under `sgns-train --follow`, whose handler only asks the ranks to stop together at the next
agreed point: a blocked request is waited out first, at most its tries. Runs and checkpoints
stay local, and sgns-preprocess writes through Beam's filesystems. No torch and no Beam here.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
import threading
import time
from collections.abc import Iterator

from sgns.errors import UsageError, left_running
from sgns.files import check_file

_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GCS = re.compile(r"^(?:gs|gcs)://", re.IGNORECASE)  # (pyarrow's two schemes for GCS)
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
        try:  # (a request: on s3:// with no region nor endpoint, the bucket's region is asked)
            store = waited(location, lambda _: fs.FileSystem.from_uri(location)[0])
        except UsageError:
            raise
        except (ValueError, TypeError) as e:  # pyarrow's ArrowInvalid is a ValueError
            raise UsageError(f"cannot read {location!r}: {e}") from None
        timeout, retries = store_limits()
        if isinstance(store, fs.S3FileSystem):  # rebuilt from its pickled options, bounded
            rebuild, (options,) = store.__reduce__()
            options.update(connect_timeout=timeout, request_timeout=timeout)
            retry = fs.AwsStandardS3RetryStrategy(max_attempts=retries + 1)
            store = rebuild({**options, "retry_strategy": retry})
        elif _is_gcs(store):  # its client would retry for 15 minutes
            rebuild, (options,) = store.__reduce__()
            limit = datetime.timedelta(seconds=math.ceil(timeout * (retries + 1)))
            store = rebuild({**options, "retry_time_limit": limit})
        _filesystems[key] = store
    return _filesystems[key], rest


STORE_LIMITS = {"SGNS_S3_TIMEOUT": 10.0, "SGNS_S3_RETRIES": 2}  # a dead store: ~30 s, not minutes
# At most: a dead store then ends a command in (10 + 1) x 300 s plus the clients' pauses between
# tries (botocore's and pyarrow's: random, doubling from 1 s, at most 20 s), not in hours.
MAX_TIMEOUT, MAX_RETRIES = 300.0, 10
MIN_TIMEOUT = 0.001  # (1e-300 s: every request would time out at once, as a dead store)
_AWS_ERROR = re.compile(r"AWS Error (\w+) during \w+ operation: (?:curlCode: \d+, )?([^;]*)")


def store_limits() -> tuple[float, int]:
    """(timeout, retries) of every object-store request, the pipeline's and the trainer's:
    SGNS_S3_TIMEOUT seconds to connect and to wait for each answer, SGNS_S3_RETRIES more tries."""
    timeout, retries = (os.environ.get(name) or str(v) for name, v in STORE_LIMITS.items())
    try:
        limits = float(timeout), int(retries)
    except ValueError:
        limits = (0.0, -1)
    if not (MIN_TIMEOUT <= limits[0] <= MAX_TIMEOUT and 0 <= limits[1] <= MAX_RETRIES):
        raise UsageError(f"SGNS_S3_TIMEOUT={timeout!r}, SGNS_S3_RETRIES={retries!r}: give "
                         f"seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}, and retries from 0 "
                         f"to {MAX_RETRIES}")  # fmt: skip
    return limits


def store_tries() -> str:
    """How long a request was tried, for a message: "3 tries of 10 s; SGNS_S3_TIMEOUT and ..."."""
    timeout, retries = store_limits()
    return f"{retries + 1} tries of {timeout:g} s; {' and '.join(STORE_LIMITS)} set them"


@contextlib.contextmanager
def _store_errors(location: str) -> Iterator[None]:
    """pyarrow's object-store errors (an OSError; S3's without an errno) as one line naming
    `location`; a missing object stays a FileNotFoundError."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as e:
        found, gcs = _AWS_ERROR.search(str(e)), _GCS_ERROR.search(str(e))
        if gcs:
            raise UsageError(f"cannot read {location}: {_gcs_cause(*gcs.groups())}") from None
        if e.errno is not None or not found:
            raise
        code, detail = found[1], found[2].strip()
        if code == "NETWORK_CONNECTION":
            cause = _no_answer(detail)
        elif code in ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH"):
            cause = f"access denied ({code}): check the keys (AWS_ACCESS_KEY_ID ...) and the bucket"
        else:
            cause = f"{code} {detail}".strip()
        raise UsageError(f"cannot read {location}: {cause}") from None


_GCS_ERROR = re.compile(r"google::cloud::Status\((\w+): ([^\n]*)")
_CURL_ERROR = re.compile(r"CURL error \[\d+\]=(.*?)(?: error_info=|$)")


def _gcs_cause(code: str, detail: str) -> str:
    """What Google's storage client said (its Status code and message), as a cause."""
    curl = _CURL_ERROR.search(detail)
    if curl or code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
        return _no_answer(curl[1].strip() if curl else code)
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
        return (f"access denied ({code}): check the credentials "
                "(GOOGLE_APPLICATION_CREDENTIALS ...) and the bucket")  # fmt: skip
    return f"{code} {detail.split(' error_info=')[0]}"[:300]


def _no_answer(detail: str) -> str:
    if "resolve host" in detail:  # (a name the network does not know: no store to wait for)
        return f"no such host ({detail}): check the endpoint, the bucket and the network"
    how = "refused the connection" if "Could not connect" in detail else "did not answer"
    return f"the object store {how} ({detail}; {store_tries()})"


def waited(location: str, call):
    """call(progress), a request to the object store of `location`, made in a helper thread
    and waited for here, its errors one line (`_store_errors`): a request blocked in the
    store's client (C++, deaf to signals) then no longer keeps SIGTERM or Ctrl-C from stopping
    the command. On GCS, whose client waits 2 minutes for a store that stopped answering in
    the middle of a request, a call that makes no progress (`call` may set progress["at"])
    for longer than its retries may take is given up: one line. A request given up still runs
    in its thread: sgns.errors.left_running, so that the process ends without waiting for it."""
    if threading.current_thread() is not threading.main_thread():
        with _store_errors(location):
            return call({})  # (signals reach only the main thread)
    timeout, retries = store_limits()
    limit = math.ceil(timeout * (retries + 1))  # GCS's retry limit (`filesystem`)
    # only read_bytes marks progress: another call slower than `stall` as a whole (a footer,
    # a row group of ~1 MiB; unlikely) would be given up while it still moves
    stall = 2 * limit + timeout + GCS_PAUSES if _GCS.match(location) else math.inf
    progress, outcome, done = {"at": time.monotonic()}, {}, threading.Event()

    def run() -> None:
        try:
            outcome["value"] = call(progress)
        except BaseException as e:  # noqa: BLE001 - raised again below, in the caller
            outcome["error"] = e
        finally:
            done.set()

    # (`done`, not Thread.join: a join that a signal's exception cut short marks the thread
    # as ended in Python 3.11, bpo-45274, though it still runs)
    helper = threading.Thread(target=run, name="sgns-store-request", daemon=True)
    try:  # (a signal may come while start() waits for the helper to begin, and its request)
        helper.start()
        while not done.wait(0.25):  # (a signal's handler runs, and may raise, while this waits)
            if time.monotonic() - progress["at"] > stall:
                raise UsageError(f"cannot read {location}: the object store did not answer "
                                 f"for {stall:g} s ({store_tries()})")  # fmt: skip
    finally:
        if not done.is_set():  # given up (a signal, a stall): not waited for at exit either
            left_running(done)
    with _store_errors(location):
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


# s: GCS's client may pause past its retry limit (up to about twice it) before it gives up by
# itself, as it does on a refused connection; a request that hangs is given up after that
GCS_PAUSES = 10.0


def _is_gcs(store) -> bool:
    return type(store).__name__ == "GcsFileSystem"


READ_PIECE = 1 << 20  # bytes of a file read from GCS at a time, each marking progress


def read_bytes(location: str, what: str = "dataset file") -> bytes:
    """The whole file at `location`; FileNotFoundError naming it (`what` it is) when there is
    none, UsageError when it is no file (a FIFO would block the reader)."""
    if not is_uri(location):
        with open(check_file(location, what), "rb") as f:
            return f.read()

    def read(progress: dict) -> bytes:
        if not _GCS.match(location):  # S3: one GET of its size (a stream's read is one each MiB)
            with store.open_input_file(path) as f:
                return f.read()
        pieces = []
        with store.open_input_stream(path) as f:
            while piece := f.read(READ_PIECE):  # GCS: each piece moves `waited`'s stall limit
                pieces.append(piece)
                progress["at"] = time.monotonic()
        return b"".join(pieces)

    try:
        with _store_errors(location):
            store, path = filesystem(location)
            return waited(location, read)
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file or directory", location) from None


def is_dir(location: str) -> bool:
    """Whether `location` is a directory (for an object store: whether any object is under it,
    which is what a directory is there)."""
    if not is_uri(location):
        return os.path.isdir(location)
    from pyarrow import fs

    with _store_errors(location):
        store, path = filesystem(location)
        info = waited(location, lambda _: store.get_file_info(path))
    return info.type == fs.FileType.Directory


def open_parquet(location: str, **options):
    """A pyarrow.parquet.ParquetFile of the file at `location` (options: ParquetFile's)."""
    import pyarrow.parquet as pq

    if not is_uri(location):
        return pq.ParquetFile(check_file(location, "shard"), **options)
    # pre_buffer: a row group's column chunks in one coalesced read, not one request each
    with _store_errors(location):
        store, path = filesystem(location)
        return waited(
            location, lambda _: pq.ParquetFile(path, filesystem=store, pre_buffer=True, **options)
        )

"""Reading a dataset, local or on an object store, as the trainer does.

A dataset that sgns reads may be a local directory, or a URI that pyarrow's filesystems
understand: `s3://bucket/prefix` or `gs://bucket/prefix`, with pyarrow's options as a query
(`?endpoint_override=HOST:PORT&scheme=http`, `&region=...`); without them pyarrow reads the
usual environment (for S3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL, ~/.aws; for GCS: GOOGLE_APPLICATION_CREDENTIALS or the machine's account).
The trainer reads every byte of a dataset through `read_bytes` and `open_parquet` (sgns.dataset
for the manifest and vocabulary, sgns.train.shards for the shards); local paths go straight to
the OS, as they always have. Every object-store request is bounded (`store_limits`, shared with
the pipeline's sgns.pipeline.objectstore) and its errors are one line naming the object. Runs and
checkpoints stay local, and sgns-preprocess writes through Beam's filesystems. No torch and no
Beam here.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from sgns.errors import UsageError
from sgns.files import check_file

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
            raise UsageError(f"cannot read {location!r}: {e}") from None
        if isinstance(store, fs.S3FileSystem):  # rebuilt from its pickled options, bounded
            timeout, retries = store_limits()
            rebuild, (options,) = store.__reduce__()
            options.update(connect_timeout=timeout, request_timeout=timeout)
            retry = fs.AwsStandardS3RetryStrategy(max_attempts=retries + 1)
            store = rebuild({**options, "retry_strategy": retry})
        _filesystems[key] = store
    return _filesystems[key], rest


STORE_LIMITS = {"SGNS_S3_TIMEOUT": 10.0, "SGNS_S3_RETRIES": 2}  # a dead store: ~30 s, not minutes
# At most: a dead store then ends a command in (10 + 1) x 300 s plus the clients' pauses between
# tries (botocore's and pyarrow's: random, doubling from 1 s, at most 20 s), not in hours.
MAX_TIMEOUT, MAX_RETRIES = 300.0, 10
_AWS_ERROR = re.compile(r"AWS Error (\w+) during \w+ operation: (?:curlCode: \d+, )?([^;]*)")


def store_limits() -> tuple[float, int]:
    """(timeout, retries) of every object-store request, the pipeline's and the trainer's:
    SGNS_S3_TIMEOUT seconds to connect and to wait for each answer, SGNS_S3_RETRIES more tries."""
    timeout, retries = (os.environ.get(name) or str(v) for name, v in STORE_LIMITS.items())
    try:
        limits = float(timeout), int(retries)
    except ValueError:
        limits = (0.0, -1)
    if not (0 < limits[0] <= MAX_TIMEOUT and 0 <= limits[1] <= MAX_RETRIES):
        raise UsageError(f"SGNS_S3_TIMEOUT={timeout!r}, SGNS_S3_RETRIES={retries!r}: give "
                         f"seconds above 0 and at most {MAX_TIMEOUT:g}, and retries from 0 to "
                         f"{MAX_RETRIES}")  # fmt: skip
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
        raise UsageError(f"cannot read {location}: {cause}") from None


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

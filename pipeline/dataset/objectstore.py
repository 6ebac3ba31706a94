"""Beam's S3 filesystem with one boto3 client per process and settings, not one per file call.

Beam 2.77's S3 filesystem builds a new `apache_beam.io.aws.clients.s3.boto3_client.Client`, and
with it a new boto3 session and client, for every file operation (exists, open, create, rename,
delete, match); a new session loads botocore's service models from JSON again, at a cost
BENCHMARKS.md measures ("Object stores"), so a run that writes and reads a few thousand
temporary pieces on s3:// spent most of its time there. `share_s3_clients` makes that class
reuse one boto3 client (thread-safe) per process and S3 settings (the --s3_* options): a new Beam
client starts with the attributes of the first one built with those settings, as built, so
each still has its own download state. Installed when sgns.pipeline.dataset.outputs is imported,
which every step that touches a file does (in the driver and in every worker process).

When to drop it: when Beam's S3 filesystem keeps its client (check
apache_beam/io/aws/s3filesystem.py for `s3io.S3IO(options=...)` built per call).

The shared client is also bounded (`BoundedClient`): botocore waits SGNS_S3_TIMEOUT seconds to
connect and for each answer and tries a request SGNS_S3_RETRIES more times (the limits are
sgns.store.store_limits, the trainer's too); then it has failed for good. Beam would otherwise
try it again 7 times, pausing 5 to 320 s, on every error without an HTTP status (a store that
does not answer) and every 5xx: minutes, with tracebacks. So a final error reaches Beam as a
`StoreFailure` of HTTP status 0, which Beam's retry filters pass on, said in one line naming the
bucket or key (a 404 stays a 404 unless the bucket is what is missing). A store that did not
answer is taken as down for SGNS_S3_TIMEOUT seconds: the clean-up after the failure then fails
at once rather than waiting out each request. `store_error` finds the failure's line in
whatever Beam wrapped it in, for sgns-preprocess's error line.
"""

from __future__ import annotations

import os
import re
import threading
import time

from sgns.errors import UsageError
from sgns.store import store_limits, store_tries

_SETTINGS = (
    "s3_access_key_id",
    "s3_secret_access_key",
    "s3_session_token",
    "s3_endpoint_url",
    "s3_region_name",
    "s3_api_version",
    "s3_verify",
    "s3_disable_ssl",
)
_clients: dict[tuple, dict] = {}  # (settings, limits) -> a new Beam client's attributes
_lock = threading.Lock()


def _settings(options) -> tuple:
    """The S3 settings of Beam options (PipelineOptions, a dict, or None), and this process."""
    if options is None or isinstance(options, dict):
        values = tuple((options or {}).get(name) for name in _SETTINGS)
    else:  # (get_all_options would build a parser of every Beam option, on every call)
        from apache_beam.options.pipeline_options import S3Options

        s3 = options.view_as(S3Options)
        values = tuple(getattr(s3, name) for name in _SETTINGS)
    return (os.getpid(), *values)


def share_s3_clients() -> bool:
    """Make Beam's S3 client class share boto3 clients (idempotent); False without boto3."""
    try:
        from apache_beam.io.aws.clients.s3 import boto3_client
    except ImportError:
        return False
    beam_client = boto3_client.Client
    if boto3_client.boto3 is None:
        return False
    if getattr(beam_client, "_sgns_shared", False):
        return True
    build = beam_client.__init__

    def __init__(self, options):
        try:
            limits = store_limits()
        except ValueError as e:  # (said in one line through whatever Beam wraps it in)
            raise StoreFailure(str(e)) from None
        key = (_settings(options), limits)
        with _lock:
            fresh = _clients.get(key)
            if fresh is None:
                build(self, options)
                self.client = BoundedClient(_bounded_boto3_client(*key))
                _clients[key] = dict(vars(self))  # the boto3 client, and no download yet
                return
        self.__dict__.update(fresh)

    beam_client.__init__ = __init__
    beam_client._sgns_shared = True
    return True


def _bounded_boto3_client(settings: tuple, limits: tuple[float, int]):
    """A boto3 S3 client as Beam builds one from `settings` (see _settings), within `limits`."""
    import boto3
    from botocore.config import Config

    _, key, secret, token, endpoint, region, api_version, verify, disable_ssl = settings
    timeout, retries = limits
    return boto3.session.Session().client(
        "s3", region_name=region, api_version=api_version, use_ssl=not disable_ssl,
        verify=verify, endpoint_url=endpoint, aws_access_key_id=key,
        aws_secret_access_key=secret, aws_session_token=token,
        config=Config(connect_timeout=timeout, read_timeout=timeout,
                      retries={"mode": "standard", "total_max_attempts": retries + 1}),
    )  # fmt: skip


_MARK = "sgns-object-store: "  # before a StoreFailure's line in whatever text wraps it
_LINE = re.compile(re.escape(_MARK) + r"([^'\"\\\n]+)")  # (Beam quotes it in reprs)
_ACCESS = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403")
_KEYS = "--s3_access_key_id and --s3_secret_access_key (or AWS_ACCESS_KEY_ID ...)"


class StoreFailure(Exception):
    """A request that failed for good, said in one line naming its bucket or key; HTTP status 0
    in the form Beam reads a boto3 error's status, so Beam's retries pass it on."""

    response = {"ResponseMetadata": {"HTTPStatusCode": 0}}

    def __init__(self, line: str):
        line = " ".join(line.replace("'", "").replace('"', "").split())
        super().__init__(_MARK + line)
        self.line = line


def store_error(error: BaseException) -> UsageError | None:
    """The one line of the StoreFailure behind `error` (through Beam's wrappers and the
    errors it raised in turn), as a UsageError; None when no request failed for good."""
    seen, walked = error, set()
    while seen is not None and id(seen) not in walked:  # (a boto3 404 is its own cause)
        walked.add(id(seen))
        found = _LINE.search(str(seen))
        if found:
            return UsageError(found[1].strip())
        seen = seen.__cause__ or seen.__context__
    return None


class BoundedClient:
    """A boto3 S3 client whose failed requests raise StoreFailure (a missing key still raises
    boto3's 404, which Beam reads as "no such object"), and that takes a store that did not
    answer as down for SGNS_S3_TIMEOUT seconds."""

    def __init__(self, client):
        self._client, self._down_until, self._down = client, 0.0, None
        self._buckets: set[str] = set()  # known to exist

    def __getattr__(self, name: str):
        value = getattr(self._client, name)
        if not callable(value) or name.startswith(("get_paginator", "can_", "_")):
            return value

        def call(*args, **kwargs):
            if self._down is not None and time.monotonic() < self._down_until:
                raise StoreFailure(self._down.line)
            try:
                result = value(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - said in one line, or raised as it was
                raise self._failure(e, name, kwargs) from e
            self._buckets.add(kwargs.get("Bucket"))
            if isinstance(result, dict) and "Body" in result:
                result["Body"] = _Body(result["Body"], self, name, kwargs)
            return result

        return call

    def _failure(self, error: Exception, operation: str, request: dict) -> Exception:
        """The error to raise for `error`: a StoreFailure, or `error` (a missing object, a bug)."""
        from botocore import exceptions as boto

        bucket, key = request.get("Bucket"), request.get("Key") or request.get("Prefix")
        where = f"s3://{bucket}/{key or ''}" if bucket else "the object store"
        store = self._client.meta.endpoint_url
        if isinstance(error, boto.ClientError):
            info = error.response.get("Error", {})
            code = info.get("Code") or str(error.response["ResponseMetadata"]["HTTPStatusCode"])
            if code in ("404", "NoSuchKey") and self._has_bucket(bucket):
                return error
            if code in ("404", "NoSuchBucket"):
                return StoreFailure(f"{where}: bucket {bucket} does not exist at {store}")
            if code in _ACCESS:
                return StoreFailure(f"{where}: access denied ({code}) by {store}: check {_KEYS}")
            return StoreFailure(f"{where}: {store} answered {code} {info.get('Message', '')}")
        if isinstance(error, (boto.ConnectionError, boto.HTTPClientError, OSError)):
            how = (
                "refused the connection" if "Could not connect" in str(error) else "did not answer"
            )
            self._down = StoreFailure(
                f"{where}: the object store at {store} {how} ({store_tries()})"
            )
            self._down_until = time.monotonic() + store_limits()[0]
            return self._down
        if isinstance(error, boto.BotoCoreError) and not isinstance(
            error, boto.ParamValidationError
        ):
            return StoreFailure(f"{where}: {error}")  # (no credentials, ...)
        return error

    def _has_bucket(self, bucket: str | None) -> bool:
        """Whether `bucket` exists (asked once): a 404 of HEAD says neither which was missing."""
        if bucket in self._buckets:
            return True
        try:
            self._client.head_bucket(Bucket=bucket)
        except Exception as e:  # noqa: BLE001 - said in one line
            if getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise self._failure(e, "head_bucket", {"Bucket": bucket}) from e
        self._buckets.add(bucket)
        return True


class _Body:
    """A response's streaming body whose read errors are StoreFailures, as its request's."""

    def __init__(self, body, client: BoundedClient, operation: str, request: dict):
        self._body, self._client, self._request = body, client, (operation, request)

    def read(self, *args):
        try:
            return self._body.read(*args)
        except Exception as e:  # noqa: BLE001 - a stream that stopped: said in one line
            raise self._client._failure(e, *self._request) from e

    def __getattr__(self, name: str):
        return getattr(self._body, name)

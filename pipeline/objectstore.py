"""Beam's S3 filesystem with one boto3 client per process and settings, not one per file call.

Beam 2.77's S3 filesystem builds a new `apache_beam.io.aws.clients.s3.boto3_client.Client`, and
with it a new boto3 session and client, for every file operation (exists, open, create, rename,
delete, match); a new session loads botocore's service models from JSON again, about 0.2 s of
CPU on this machine (BENCHMARKS.md, 2026-12-02), so a run that writes and reads a few thousand
temporary pieces on s3:// spent most of its time there. `share_s3_clients` makes that class
reuse one boto3 client (thread-safe) per process and S3 settings (the --s3_* options): a new Beam
client starts with the attributes of the first one built with those settings, as built, so
each still has its own download state. Installed when pipeline.outputs is imported, which
every step that touches a file does (in the driver and in every worker process).

When to drop it: when Beam's S3 filesystem keeps its client (check
apache_beam/io/aws/s3filesystem.py for `s3io.S3IO(options=...)` built per call).
"""

from __future__ import annotations

import os
import threading

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
_clients: dict[tuple, dict] = {}  # settings -> a new Beam client's attributes
_lock = threading.Lock()


def _settings(options) -> tuple:
    """The S3 settings of Beam options (PipelineOptions, a dict, or None), and this process."""
    if options is None or isinstance(options, dict):
        values = tuple((options or {}).get(name) for name in _SETTINGS)
    else:  # (get_all_options would build a parser of every Beam option: ~25 ms a call)
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
        key = _settings(options)
        with _lock:
            fresh = _clients.get(key)
            if fresh is None:
                build(self, options)
                _clients[key] = dict(vars(self))  # the boto3 client, and no download yet
                return
        self.__dict__.update(fresh)

    beam_client.__init__ = __init__
    beam_client._sgns_shared = True
    return True

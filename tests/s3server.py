"""A real S3-compatible server on 127.0.0.1 for tests: moto's S3 on a threaded werkzeug server.

As a store would, it refuses a request signed with another access key than ACCESS_KEY (403
InvalidAccessKeyId), and `stalled()` makes it stop answering, as a paused or hung store does:
connections are accepted and requests read, and none is answered (or ever carried out) until
the block ends; `dead_endpoint()` is one where nothing listens, as a killed store's.

Import the fixture into a test module as train_helpers is
(`from s3server import s3_server  # noqa: F401`), or use `S3Server` directly. Credentials and
the endpoint are exported the way boto3, Beam's `--s3_*` options and pyarrow's S3FileSystem
read them, so a test can pass the endpoint on the command line exactly as a user would.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import uuid

import pytest

ACCESS_KEY = "sgns-test-key"
SECRET_KEY = "sgns-test-secret"
REGION = "us-east-1"


class S3Server:
    """A moto S3 server on a free port of 127.0.0.1; `endpoint` is its http:// URL."""

    def __init__(self):
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):  # no request log: it would reach whatever handler
            def log(self, *args):  # the root logger has then, in whichever test is running
                pass

        self._moto = DomainDispatcherApplication(create_backend_app)
        self._answering = threading.Event()
        self._answering.set()
        self._held = threading.Event()  # a request came while stalled, and is held
        self.requests: list[tuple[str, str]] = []  # (method, path) of each request, in order
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"

    def _app(self, environ, start_response):
        self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        if not self._answering.is_set():  # read, never answered nor carried out
            self._held.set()
            self._answering.wait()
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        auth = environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")
        key = re.search(r"Credential=([^/%]+)", auth)
        if not key or key[1] != ACCESS_KEY:
            body = _ERROR.format(code="InvalidAccessKeyId").encode()
            start_response("403 Forbidden", [("Content-Type", "application/xml")])
            return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
        return self._moto(environ, start_response)

    @contextlib.contextmanager
    def stalled(self):
        """The server stops answering in the block, as a paused (SIGSTOP) or hung store; it
        yields an Event set once a request came and is held."""
        self._held.clear()
        self._answering.clear()
        try:
            yield self._held
        finally:
            self._answering.set()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def bucket(self) -> str:
        """A new empty bucket's name."""
        name = f"sgns-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def stop(self) -> None:
        self._answering.set()
        self._server.shutdown()
        self._thread.join()


def dead_endpoint() -> str:
    """An http:// endpoint on 127.0.0.1 where nothing listens (a killed store): refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>The AWS Access '
    "Key Id you provided does not exist in our records.</Message></Error>"
)


@pytest.fixture(scope="module")
def s3_server():
    """One S3 server for a test module, with its credentials in the environment until the
    module's tests are done."""
    pytest.importorskip("moto.server")
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION=REGION
    )
    server = S3Server()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        yield server
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")

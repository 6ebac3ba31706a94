"""A real S3-compatible server on 127.0.0.1 for tests: moto's ThreadedMotoServer.

Import the fixture into a test module as train_helpers is
(`from s3server import s3_server  # noqa: F401`), or use `S3Server` directly. Credentials and
the endpoint are exported the way boto3, Beam's `--s3_*` options and pyarrow's S3FileSystem
read them, so a test can pass the endpoint on the command line exactly as a user would.
"""

from __future__ import annotations

import os
import uuid

import pytest

ACCESS_KEY = "sgns-test-key"
SECRET_KEY = "sgns-test-secret"
REGION = "us-east-1"


class S3Server:
    """A moto S3 server on a free port of 127.0.0.1; `endpoint` is its http:// URL."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

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
        self._server.stop()


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

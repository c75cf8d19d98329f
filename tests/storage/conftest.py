"""A real S3 API server for the storage tests: moto in server mode, on a free port of this
machine, with one bucket. Each module that uses it gets its own server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

BUCKET = "ostinato-tests"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def env(self) -> dict[str, str]:
        """The environment a process needs to use the server (fake credentials: moto
        accepts any)."""
        return {"OSTINATO_S3_ENDPOINT": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}

    def keys(self) -> list[str]:
        """Every key of the bucket, read with boto3 (another S3 client than the backend's)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    found = S3Server(endpoint=f"http://{host}:{port}", bucket=BUCKET)
    boto3.client("s3", endpoint_url=found.endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).create_bucket(Bucket=BUCKET)
    try:
        yield found
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_env(s3_server: S3Server) -> Iterator[S3Server]:
    """The server, with this process's environment pointing at it (for `open_storage`)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT", "AWS_PROFILE",
                     "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
            patch.delenv(name, raising=False)
        for name, value in s3_server.env().items():
            patch.setenv(name, value)
        yield s3_server

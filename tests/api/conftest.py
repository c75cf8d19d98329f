"""The API of the session stack (tests/conftest.py), driven over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ostinato.cli.stack import LocalStack


@dataclass
class ApiServer:
    stack: LocalStack
    base_url: str
    http: httpx.Client

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/main{path}"


def wait_until_serving(base_url: str, timeout: float = 60.0) -> None:
    """Until /health says every service is up and the API's view has caught up."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base_url}/health", timeout=2)
            body = answer.json()
            if answer.status_code == 200 and body.get("viewReady"):
                return
            last = str(body)
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.1)
    raise TimeoutError(f"the API at {base_url} did not become ready in {timeout} s: {last}")


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[ApiServer]:
    base_url = f"http://127.0.0.1:{stack.api_port}"
    wait_until_serving(base_url)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield ApiServer(stack, base_url, http)

"""Small helpers of the API tests: deploy over HTTP, wait on an execution with a deadline,
read server-sent events."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from tests.api.conftest import ApiServer

YAML = {"Content-Type": "application/x-yaml"}


def deploy(api: ApiServer, source: str) -> dict[str, Any]:
    answer = api.http.post(api.url("/flows"), content=source, headers=YAML)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_execution(api: ApiServer, execution_id: str, condition: Callable[[dict[str, Any]], bool],
                   *, what: str, timeout: float = 60.0) -> dict[str, Any]:
    """GET the execution until `condition` holds; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        answer = api.http.get(api.url(f"/executions/{execution_id}"))
        if answer.status_code == 200:
            last = answer.json()
            if condition(last):
                return dict(last)
        time.sleep(0.05)
    state = last["state"]["current"] if last else "not found"
    raise AssertionError(f"{what}: not within {timeout} s (execution {execution_id} is {state})")


def wait_until(condition: Callable[[], Any], *, what: str, timeout: float = 60.0) -> Any:
    """The first truthy value of `condition()`; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def state_is(state: str) -> Callable[[dict[str, Any]], bool]:
    """A condition for wait_execution: the execution is in `state`."""
    return lambda execution: execution["state"]["current"] == state


def ended(execution: dict[str, Any]) -> bool:
    return execution["state"]["current"] in ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")


def read_events(api: ApiServer, path: str, *, timeout: float = 60.0) -> list[tuple[str, Any]]:
    """Every server-sent event of `path` as (id, data) until the server closes the stream."""
    events: list[tuple[str, Any]] = []
    event_id, data = "", []
    with api.http.stream("GET", api.url(path), timeout=timeout) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                events.append((event_id, json.loads("\n".join(data))))
                event_id, data = "", []
    return events

"""A small synchronous client of ostinato's REST API (Kestra's paths and JSON), for the CLI.

Every method answers the decoded JSON. A non-2xx answer raises `ApiError` with the status
and the body's `message` and `details`; a server that cannot be reached raises `ApiError`
with no status and a message naming its URL. The two `follow_...` methods read
server-sent events until the stream closes (or, for an execution, until its `end` event).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

if TYPE_CHECKING:  # imported when a client is made: --help stays fast
    import httpx

DEFAULT_SERVER = "http://127.0.0.1:8080"  # what `ostinato local` serves


class ApiError(Exception):
    """An answer that is not 2xx (`status` set), or no answer at all (`status` None)."""

    def __init__(self, status: int | None, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details or [])

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {d}" for d in self.details)])


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Server-sent events from the lines of a stream (line ends already stripped):
    (event id, data) for each event that has data. The id is the event's `id`, or its
    `event` name when it has no id; several `data` lines join with newlines; comments and
    unknown fields are skipped (the WHATWG event-stream rules)."""
    event_id = name = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event_id or name, "\n".join(data)
            event_id = name = ""
            data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
        elif field == "event":
            name = value
    if data:  # a stream that ends without the blank line still delivers its last event
        yield event_id or name, "\n".join(data)


class ApiClient:
    def __init__(self, server: str = DEFAULT_SERVER, *, tenant: str | None = "main",
                 auth: tuple[str, str] | None = None, timeout: float = 30.0) -> None:
        self.server = server.rstrip("/")
        self.tenant = tenant
        prefix = f"/api/v1/{quote(tenant, safe='')}" if tenant else "/api/v1"
        self.base_url = self.server + prefix
        self.timeout = timeout
        self.auth = auth
        import httpx

        self._http = httpx.Client(base_url=self.base_url, auth=auth, timeout=timeout,
                                  headers={"Accept": "application/json"})

    def clone(self) -> ApiClient:
        """Another client with the same settings (one per thread)."""
        return ApiClient(self.server, tenant=self.tenant, auth=self.auth, timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- flows
    def deploy_flow(self, source: str) -> dict[str, Any]:
        """Create or update a flow from its YAML; answers the flow with its revision."""
        return self._json("POST", "/flows", content=source.encode(),
                          headers={"Content-Type": "application/x-yaml"})

    def get_flow(self, namespace: str, flow_id: str) -> dict[str, Any] | None:
        """The flow's latest revision, or None if there is no such flow."""
        try:
            return self._json("GET", f"/flows/{_seg(namespace)}/{_seg(flow_id)}")
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def search_flows(self, namespace: str | None = None, query: str | None = None,
                     page: int = 1, size: int = 100) -> dict[str, Any]:
        """`{"results": [flow, ...], "total": N}`, sorted by id."""
        params: dict[str, str | int] = {"page": page, "size": size}
        for key, value in (("namespace", namespace), ("q", query)):
            if value:
                params[key] = value
        return self._json("GET", "/flows/search", params=params)

    def flow_source(self, namespace: str, flow_id: str) -> str:
        """The YAML source of the flow's latest revision (ApiError 404 if none)."""
        with self._errors():
            response = self._http.get(f"/flows/{_seg(namespace)}/{_seg(flow_id)}",
                                      headers={"Accept": "application/x-yaml"})
        _raise_for(response)
        return response.text

    def delete_flow(self, namespace: str, flow_id: str) -> None:
        """Delete the flow (ApiError 404 if there is none)."""
        self._no_content("DELETE", f"/flows/{_seg(namespace)}/{_seg(flow_id)}")

    def export_flows(self, namespace: str | None = None, query: str | None = None) -> bytes:
        """A ZIP archive of the matching flows' sources (`<namespace>.<id>.yml` each)."""
        params = {k: v for k, v in (("namespace", namespace), ("q", query)) if v}
        with self._errors():
            response = self._http.get("/flows/export/by-query", params=params,
                                      headers={"Accept": "application/octet-stream"})
        _raise_for(response)
        return response.content

    # ---- executions
    def create_execution(self, namespace: str, flow_id: str, inputs: dict[str, str] | None = None,
                         files: dict[str, Path] | None = None, labels: dict[str, str] | None = None,
                         wait: bool = False) -> dict[str, Any]:
        """Start an execution of the flow's latest revision: inputs as form fields, files as
        file parts named after their input (multipart/form-data); `wait` answers once the
        execution has ended."""
        params: list[tuple[str, str]] = [("labels", f"{k}:{v}") for k, v in (labels or {}).items()]
        if wait:
            params.append(("wait", "true"))
        content, content_type = _multipart(inputs or {}, files or {})
        import httpx

        timeout = httpx.Timeout(self.timeout, read=None) if wait else self.timeout
        return self._json("POST", f"/executions/{_seg(namespace)}/{_seg(flow_id)}", params=params,
                          content=content, headers={"Content-Type": content_type}, timeout=timeout)

    def get_execution(self, execution_id: str) -> dict[str, Any]:
        return self._json("GET", f"/executions/{_seg(execution_id)}")

    def search_executions(self, namespace: str | None = None, flow_id: str | None = None,
                          state: str | None = None, page: int = 1, size: int = 25) -> dict[str, Any]:
        """`{"results": [execution, ...], "total": N}`, the latest started first."""
        params: dict[str, str | int] = {"page": page, "size": size, "sort": "state.startDate:desc"}
        for key, value in (("namespace", namespace), ("flowId", flow_id), ("state", state)):
            if value:
                params[key] = value
        return self._json("GET", "/executions/search", params=params)

    def follow_execution(self, execution_id: str, *,
                         timeout: float | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event id, execution) for each event until the `end` event (`progress` before it).
        `timeout` bounds the wait for each event (None: no bound)."""
        events = self._events(f"/executions/{_seg(execution_id)}/follow", {}, timeout)
        with closing(events):
            for event_id, data in events:
                yield event_id, json.loads(data)
                if event_id == "end":
                    return

    # ---- control
    def kill(self, execution_id: str) -> None:
        """Ask for the execution to be killed (409 once it has finished)."""
        self._no_content("DELETE", f"/executions/{_seg(execution_id)}/kill")

    def resume(self, execution_id: str, inputs: dict[str, str] | None = None) -> None:
        """Resume a paused execution with its Pause tasks' onResume inputs."""
        content, content_type = _multipart(inputs or {}, {})
        self._no_content("POST", f"/executions/{_seg(execution_id)}/resume", content=content,
                         headers={"Content-Type": content_type})

    def restart(self, execution_id: str) -> dict[str, Any]:
        """Restart a FAILED or KILLED execution; answers the execution."""
        answer: dict[str, Any] = self._json("POST", f"/executions/{_seg(execution_id)}/restart")
        return answer

    def replay(self, execution_id: str, task_run_id: str | None = None) -> dict[str, Any]:
        """A new execution with the same inputs (from `task_run_id` when given); answers it."""
        params = {"taskRunId": task_run_id} if task_run_id else {}
        answer: dict[str, Any] = self._json("POST", f"/executions/{_seg(execution_id)}/replay",
                                            params=params)
        return answer

    # ---- logs
    def logs(self, execution_id: str, min_level: str | None = None,
             task_run_id: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("minLevel", min_level), ("taskRunId", task_run_id)) if v}
        answer: list[dict[str, Any]] = self._json("GET", f"/logs/{_seg(execution_id)}", params=params)
        return answer

    def follow_logs(self, execution_id: str, min_level: str | None = None, *,
                    timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Each log line as it comes, until the server closes the stream (the execution has
        ended and its logs are sent)."""
        params = {"minLevel": min_level} if min_level else {}
        for _, data in self._events(f"/logs/{_seg(execution_id)}/follow", params, timeout):
            yield json.loads(data)

    # ---- plumbing
    def _no_content(self, method: str, path: str, **kwargs: Any) -> None:
        with self._errors():
            response = self._http.request(method, path, **kwargs)
        _raise_for(response)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._errors():
            response = self._http.request(method, path, **kwargs)
        _raise_for(response)
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code,
                           f"{method} {response.request.url} answered something that is not JSON") from None

    def _events(self, path: str, params: dict[str, str],
                timeout: float | None) -> Generator[tuple[str, str], None, None]:
        import httpx

        with self._errors(), self._http.stream(
                "GET", path, params=params, headers={"Accept": "text/event-stream"},
                timeout=httpx.Timeout(self.timeout, read=timeout)) as response:
            if not response.is_success:
                response.read()
                _raise_for(response)
            yield from parse_sse(response.iter_lines())

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import httpx

        try:
            yield
        except httpx.TimeoutException as error:
            raise ApiError(None, f"no answer from the ostinato API at {self.server} in time "
                                 f"({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise ApiError(None, f"cannot reach the ostinato API at {self.server}: "
                                 f"{error or type(error).__name__}") from None


def _seg(value: str) -> str:
    """One path segment, escaped."""
    return quote(value, safe="")


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    message, details = "", []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        raw = body.get("details")
        if isinstance(raw, list):
            details = [str(d) for d in raw]
    if not message:
        text = response.text.strip()
        message = f"{response.status_code} {response.reason_phrase}" + (f": {text[:500]}" if text and body is None else "")
    raise ApiError(response.status_code, message, details)


def _multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    """A multipart/form-data body (files read whole: inputs are small) and its content type."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(_part_head(boundary, name) + b"\r\n" + value.encode() + b"\r\n")
    for name, path in files.items():
        head = _part_head(boundary, name, path.name) + b"Content-Type: application/octet-stream\r\n"
        parts.append(head + b"\r\n" + path.read_bytes() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _part_head(boundary: str, name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{_quoted(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quoted(filename)}"'
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()


def _quoted(value: str) -> str:
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@contextmanager
def exit_on_api_error(not_found: str | None = None, *, as_json: bool = False) -> Iterator[None]:
    """For commands: an ApiError prints `error: <message>` and its details to stderr (under
    `as_json`, `{"message": ..., "details": [...]}`) and exits 1; a 404 prints `not_found`
    instead when given ("execution X not found")."""
    from ostinato.cli.output import fail

    try:
        yield
    except ApiError as error:
        if error.status == 404 and not_found:
            fail(not_found, as_json=as_json)
        fail(error.message, error.details, as_json=as_json)

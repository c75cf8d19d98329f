"""The CLI on the REST API: the HTTP client (server-sent events, errors) and the commands.

Two servers: a small stand-in of the API (http.server in a thread, speaking the contract:
paths, JSON, multipart, server-sent events) that every test here can use, and the real API
(the `api` fixture of tests/api/conftest.py, a whole stack) for the end-to-end tests, which
are skipped while that fixture does not exist.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from click.testing import CliRunner, Result

from ostinato.cli import main
from ostinato.cli.api_client import ApiClient, ApiError, parse_sse
from ostinato.execution.model import Execution, State, TaskRun
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.parser import FlowValidationError, parse_flow

HELLO = """id: hello
namespace: company.team
inputs:
  - id: name
    type: STRING
    defaults: world
tasks:
  - id: greet
    type: io.kestra.plugin.core.debug.Return
    format: "Hello, {{ inputs.name }}!"
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
outputs:
  - id: greeting
    type: STRING
    value: "{{ outputs.greet.value }}"
"""

FAILING = """id: failing
namespace: company.team
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
"""

WITH_FILE = """id: with-file
namespace: company.team
inputs:
  - id: doc
    type: FILE
  - id: count
    type: INT
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: x
"""


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# --------------------------------------------------------------- the stand-in API

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class FakeApi:
    """The API's contract on canned data: flows are parsed with ostinato's parser, an
    execution runs its top-level tasks one after the other (Fail fails), inputs are typed
    with ostinato's rules. Follow streams wait on `gate` (when set) after their first event."""

    base_url: str = ""
    auth: str | None = None
    flows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    gate: threading.Event | None = None
    #: follow streams close after this many events, without `end`
    cut_follow: int | None = None
    #: when set, POST /flows answers 422 with this body
    reject: dict[str, Any] | None = None
    gate_passed: list[bool] = field(default_factory=list)
    counter: int = 0

    # ---- handlers: (status, body) or an iterator of SSE events
    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
               body: bytes) -> tuple[int, Any] | Iterator[tuple[str, Any]]:
        self.requests.append({"method": method, "path": path, "query": query,
                              "headers": dict(headers), "body": body})
        if self.auth is not None and headers.get("Authorization") != self.auth:
            return 401, {"message": "Unauthorized", "details": []}
        if path.endswith("/boom"):
            return 500, "plain text failure"
        match = re.fullmatch(r"/api/v1(?:/main)?(/.*)", path)
        if match is None:
            return 404, {"message": f"no route {path}", "details": []}
        route = match.group(1)
        parts = [unquote(p) for p in route.strip("/").split("/")]
        if method == "POST" and parts == ["flows"]:
            return self.deploy(body.decode())
        if method == "GET" and len(parts) == 3 and parts[0] == "flows":
            found = self.flows.get((parts[1], parts[2]))
            return (200, found) if found else (404, {"message": "Flow not found", "details": []})
        if method == "POST" and len(parts) == 3 and parts[0] == "executions":
            return self.create(parts[1], parts[2], query, headers, body)
        if method == "GET" and parts == ["executions", "search"]:
            return self.search(query)
        if method == "GET" and len(parts) in (2, 3) and parts[0] == "executions":
            snapshots = self.executions.get(parts[1])
            if snapshots is None:
                return 404, {"message": f"Execution {parts[1]} not found", "details": []}
            if len(parts) == 2:
                return 200, snapshots[-1]
            return self.follow([("progress", s) for s in snapshots[:-1]] + [("end", snapshots[-1])])
        if method == "GET" and len(parts) in (2, 3) and parts[0] == "logs":
            if parts[1] not in self.executions:
                return 404, {"message": f"Execution {parts[1]} not found", "details": []}
            entries = self.logs.get(parts[1], [])
            levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
            low = levels.index(query.get("minLevel", ["TRACE"])[0])
            entries = [e for e in entries if levels.index(e["level"]) >= low]
            if "taskRunId" in query:
                entries = [e for e in entries if e["taskRunId"] == query["taskRunId"][0]]
            if len(parts) == 2:
                return 200, entries
            return self.follow([("progress", e) for e in entries])
        return 404, {"message": f"no route {method} {path}", "details": []}

    def follow(self, events: list[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
        for index, event in enumerate(events):
            if self.cut_follow is not None and index >= self.cut_follow:
                return
            yield event
            if index == 0 and self.gate is not None:
                self.gate_passed.append(self.gate.wait(10))

    def deploy(self, source: str) -> tuple[int, Any]:
        if self.reject is not None:
            return 422, self.reject
        try:
            flow = parse_flow(source)
        except FlowValidationError as error:
            return 422, {"message": "Invalid flow", "details": [str(e) for e in error.errors]}
        key = (flow.namespace, flow.id)
        old = self.flows.get(key)
        revision = old["revision"] if old and old["source"] == source else (old["revision"] + 1 if old else 1)
        self.flows[key] = {"id": flow.id, "namespace": flow.namespace, "revision": revision,
                           "source": source, "deleted": False}
        return 200, self.flows[key]

    def create(self, namespace: str, flow_id: str, query: dict[str, list[str]], headers: Any,
               body: bytes) -> tuple[int, Any]:
        stored = self.flows.get((namespace, flow_id))
        if stored is None:
            return 404, {"message": f"Flow {namespace}.{flow_id} not found", "details": []}
        flow = parse_flow(stored["source"])
        fields, files = parse_multipart(headers.get("Content-Type", ""), body)
        self.requests[-1].update(fields=fields, files=files)
        self.counter += 1
        execution_id = f"exec{self.counter:04d}"
        try:
            inputs = type_inputs(flow.inputs, {**fields, **{k: v for k, (_, v) in files.items()}},
                                 store_file=lambda name, value: f"kestra:///uploaded/{name}")
        except InputError as error:
            return 422, {"message": str(error).splitlines()[0], "details": str(error).splitlines()[1:]}
        labels = dict(item.split(":", 1) for item in query.get("labels", []))
        at = T0 + timedelta(minutes=self.counter)
        execution = Execution(execution_id, namespace, flow_id, stored["revision"],
                              State.created(at), inputs=inputs, labels=labels)
        snapshots: list[dict[str, Any]] = []
        execution.state.move("RUNNING", at + timedelta(milliseconds=1))
        snapshots.append(execution.to_dict(internal=False))
        failed = False
        step = 1
        for task in flow.tasks:
            step += 1
            run = execution.add(TaskRun(f"{execution_id}-{task.id}", execution_id, namespace, flow_id,
                                        task.id, State.created(at + timedelta(milliseconds=step))))
            run.state.move("RUNNING", at + timedelta(milliseconds=step))
            snapshots.append(execution.to_dict(internal=False))
            failed = task.type.endswith("Fail")
            run.state.move("FAILED" if failed else "SUCCESS", at + timedelta(milliseconds=step, microseconds=500))
            run.outputs = None if failed else {"value": f"out of {task.id}"}
            self.logs.setdefault(execution_id, []).append(
                {"namespace": namespace, "flowId": flow_id, "taskId": task.id,
                 "executionId": execution_id, "taskRunId": run.id, "attemptNumber": 0,
                 "timestamp": run.state.histories[-1].date, "level": "ERROR" if failed else "INFO",
                 "thread": "worker", "message": f"{task.id} says hi"})
            snapshots.append(execution.to_dict(internal=False))
            if failed:
                break
        execution.state.move("FAILED" if failed else "SUCCESS", at + timedelta(seconds=2))
        execution.outputs = None if failed else {"greeting": "Hello!"}
        snapshots.append(execution.to_dict(internal=False))
        self.executions[execution_id] = snapshots
        wait = query.get("wait") == ["true"]
        return 200, snapshots[-1] if wait else snapshots[0]

    def search(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        results = [s[-1] for s in self.executions.values()]
        for key, name in (("namespace", "namespace"), ("flowId", "flowId")):
            if key in query:
                results = [r for r in results if r[name] == query[key][0]]
        if "state" in query:
            results = [r for r in results if r["state"]["current"] == query["state"][0]]
        results.sort(key=lambda r: r["state"]["startDate"], reverse=True)
        size, page = int(query["size"][0]), int(query["page"][0])
        return 200, {"results": results[(page - 1) * size:page * size], "total": len(results)}


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form fields and files (name: (filename, bytes)) of a multipart/form-data body."""
    if not content_type.startswith("multipart/form-data"):
        raise AssertionError(f"not multipart: {content_type!r}")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        assert isinstance(payload, bytes)
        if filename is None:
            fields[str(name)] = payload.decode()
        else:
            files[str(name)] = (filename, payload)
    return fields, files


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _do(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = api.handle(method, url.path, parse_qs(url.query), self.headers, body)
            if isinstance(answer, tuple):
                status, data = answer
                raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(data, str) else "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": hello\n\n")  # a comment, as servers send to keep streams open
            for event_id, data in answer:
                self.wfile.write(f"id: {event_id}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

        def do_GET(self) -> None:
            self._do("GET")

        def do_POST(self) -> None:
            self._do("POST")

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a stream given up) is no failure of the test."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    api = FakeApi()
    server = QuietServer(("127.0.0.1", 0), _handler(api))
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


def _free_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --------------------------------------------------------------- the client

def test_sse_parser_follows_the_event_stream_rules() -> None:
    lines = [": comment", "id: progress", "data: {\"a\": 1}", "", "", "event: end", "data:x",
             "data: y", "retry: 10", "", "id: last", "data: z"]
    assert list(parse_sse(lines)) == [("progress", '{"a": 1}'), ("end", "x\ny"), ("last", "z")]
    assert list(parse_sse(["id: nothing", ""])) == []


def test_follow_streams_events_as_they_come_and_stops_at_end(fake: FakeApi, tmp_path: Path) -> None:
    with ApiClient(fake.base_url) as client:
        client.deploy_flow(HELLO)
        created = client.create_execution("company.team", "hello", {"name": "you"}, {}, {}, False)
        fake.gate = threading.Event()
        events = []
        for event_id, data in client.follow_execution(created["id"]):
            events.append((event_id, data["state"]["current"]))
            fake.gate.set()  # the server sends the rest only now: the first came alone
        assert fake.gate_passed == [True]
        assert events[0] == ("progress", "RUNNING") and events[-1] == ("end", "SUCCESS")
        assert [e for e, _ in events].count("end") == 1
        # the API's JSON (no _ostinato) is an Execution
        assert Execution.from_dict(client.get_execution(created["id"])).outputs == {"greeting": "Hello!"}
        logs = list(client.follow_logs(created["id"], min_level="INFO"))
        assert [e["message"] for e in logs] == ["greet says hi", "done says hi"]


def test_errors_carry_status_message_and_details(fake: FakeApi) -> None:
    with ApiClient(fake.base_url) as client:
        with pytest.raises(ApiError) as caught:
            client.deploy_flow("id: x\nnamespace: a.b\ntasks: []\n")
        assert caught.value.status == 422 and caught.value.message == "Invalid flow"
        assert caught.value.details and "tasks" in caught.value.details[0]
        with pytest.raises(ApiError) as caught:
            client.get_execution("nope")
        assert (caught.value.status, caught.value.message) == (404, "Execution nope not found")
        with pytest.raises(ApiError) as caught:
            list(client.follow_execution("nope"))
        assert caught.value.status == 404
        assert client.get_flow("a.b", "missing") is None
    with ApiClient(fake.base_url, tenant=None) as client, pytest.raises(ApiError) as caught:
        client._json("GET", "/boom")
    assert caught.value.status == 500 and "plain text failure" in caught.value.message
    url = _free_url()
    with ApiClient(url) as client, pytest.raises(ApiError) as caught:
        client.search_executions()
    assert caught.value.status is None and f"cannot reach the ostinato API at {url}" in caught.value.message


def test_create_execution_sends_multipart_labels_and_wait(fake: FakeApi, tmp_path: Path) -> None:
    doc = write(tmp_path, "doc.txt", "file body")
    with ApiClient(fake.base_url) as client:
        client.deploy_flow(WITH_FILE)
        answer = client.create_execution("company.team", "with-file", {"count": "3"}, {"doc": doc},
                                         {"team": "data", "env": "dev"}, wait=True)
        assert answer["state"]["current"] == "SUCCESS"
        assert answer["inputs"] == {"doc": "kestra:///uploaded/doc", "count": 3}
        request = fake.requests[-1]
        assert request["fields"] == {"count": "3"}
        assert request["files"] == {"doc": ("doc.txt", b"file body")}
        assert request["query"]["labels"] == ["team:data", "env:dev"]
        assert request["query"]["wait"] == ["true"]
        client.deploy_flow(HELLO)
        client.create_execution("company.team", "hello")  # nothing to send: still multipart
        assert fake.requests[-1]["fields"] == {} and fake.requests[-1]["files"] == {}


# --------------------------------------------------------------- the commands on the stand-in

def test_deploy_through_the_api_says_deployed_then_unchanged(fake: FakeApi, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    write(flows, "hello.yaml", HELLO)
    write(flows, "failing.yaml", FAILING)
    result = cli("flow", "deploy", str(flows), "--server", fake.base_url)
    assert result.exit_code == 0, result.output
    assert f"{flows / 'failing.yaml'}: company.team.failing revision 1 deployed" in result.stdout
    assert f"{flows / 'hello.yaml'}: company.team.hello revision 1 deployed" in result.stdout
    write(flows, "hello.yaml", HELLO + "description: changed\n")
    result = cli("flow", "deploy", str(flows), "--server", fake.base_url)
    assert "company.team.failing revision 1 unchanged" in result.stdout
    assert "company.team.hello revision 2 deployed" in result.stdout
    post = next(r for r in fake.requests if r["method"] == "POST")
    assert post["headers"]["Content-Type"] == "application/x-yaml"
    assert post["path"] == "/api/v1/main/flows"


def test_deploy_shows_the_apis_422(fake: FakeApi, tmp_path: Path) -> None:
    # what ostinato's parser finds is found before anything is sent, as without --server
    bad = write(tmp_path, "bad.yaml", "id: x\nnamespace: a.b\ntasks: []\n")
    result = cli("flow", "deploy", str(bad), "--server", fake.base_url)
    assert result.exit_code == 2 and f"{bad}: invalid" in result.stderr
    assert not [r for r in fake.requests if r["method"] == "POST"]
    # what only the API finds
    fake.reject = {"message": "Invalid flow", "details": ["tasks[0], line 4: no"]}
    good = write(tmp_path, "good.yaml", HELLO)
    result = cli("flow", "deploy", str(good), "--server", fake.base_url)
    assert result.exit_code == 2
    assert result.stderr == f"{good}: invalid\n  Invalid flow\n  tasks[0], line 4: no\n"
    result = cli("run", str(good), "--server", fake.base_url)
    assert result.exit_code == 2
    assert result.stderr == "invalid flow\nInvalid flow\n  tasks[0], line 4: no\n"


def test_run_through_the_api(fake: FakeApi, tmp_path: Path) -> None:
    flow = write(tmp_path, "hello.yaml", HELLO)
    result = cli("run", str(flow), "--server", fake.base_url, "--input", "name=you", "--json")
    assert result.exit_code == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["state"]["current"] == "SUCCESS" and final["outputs"] == {"greeting": "Hello!"}
    assert "execution exec0001 of company.team.hello (revision 1)" in result.stderr
    assert "SUCCESS  greet" in result.stderr and "SUCCESS  done" in result.stderr
    assert "INFO  greet: greet says hi" in result.stderr
    assert "final state: SUCCESS" in result.stderr
    create = next(r for r in fake.requests if r["path"].startswith("/api/v1/main/executions/"))
    assert create["fields"] == {"name": "you"}

    failing = write(tmp_path, "failing.yaml", FAILING)
    result = cli("run", str(failing), "--server", fake.base_url)
    assert result.exit_code == 1
    assert "FAILED   boom" in result.stderr and "final state: FAILED" in result.stderr


def test_run_through_the_api_uploads_files_and_reports_bad_inputs(fake: FakeApi, tmp_path: Path) -> None:
    flow = write(tmp_path, "file.yaml", WITH_FILE)
    doc = write(tmp_path, "doc.txt", "file body")
    result = cli("run", str(flow), "--server", fake.base_url, "--input", f"doc=@{doc}",
                 "--input", "count=2")
    assert result.exit_code == 0, result.stderr
    create = fake.requests[-1] if "files" in fake.requests[-1] else next(
        r for r in fake.requests if "files" in r)
    assert create["files"] == {"doc": ("doc.txt", b"file body")} and create["fields"] == {"count": "2"}
    result = cli("run", str(flow), "--server", fake.base_url, "--input", f"doc=@{doc}",
                 "--input", "count=abc")
    assert result.exit_code == 2
    assert "invalid input" in result.stderr and "Invalid input for `count`" in result.stderr
    result = cli("run", str(flow), "--server", fake.base_url, "--input", "doc=@/no/such/file")
    assert result.exit_code == 2 and "no file /no/such/file" in result.stderr


def test_execution_commands_on_the_stand_in(fake: FakeApi, tmp_path: Path) -> None:
    with ApiClient(fake.base_url) as client:
        client.deploy_flow(HELLO)
        client.deploy_flow(FAILING)
        ok = client.create_execution("company.team", "hello", labels={"team": "data"}, wait=True)
        bad = client.create_execution("company.team", "failing", wait=True)
    env = {"OSTINATO_SERVER": fake.base_url}

    result = cli("--utc", "execution", "list", env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    # latest first, full ids, a duration
    assert lines.index(next(x for x in lines if bad["id"] in x)) < lines.index(next(x for x in lines if ok["id"] in x))
    assert re.search(rf"{ok['id']}\s+company\.team\s+hello\s+SUCCESS\s+2026-03-01T12:01:00\+00:00\s+2\.0s", result.stdout)
    assert "2 of 2 executions" in result.stdout
    result = cli("execution", "list", "--state", "FAILED", "--flow-id", "failing", "--json", env=env)
    answer = json.loads(result.stdout)
    assert answer["total"] == 1 and answer["results"][0]["id"] == bad["id"]
    search = fake.requests[-1]["query"]
    assert search["state"] == ["FAILED"] and search["flowId"] == ["failing"]
    assert search["size"] == ["25"] and search["sort"] == ["state.startDate:desc"]

    result = cli("execution", "get", ok["id"], env=env)
    assert result.exit_code == 0
    assert f"{ok['id']}  company.team.hello revision 1" in result.stdout
    assert re.search(r"greet\s+SUCCESS\s+\d", result.stdout)
    assert "labels    team:data" in result.stdout
    assert json.loads(cli("execution", "get", ok["id"], "--json", env=env).stdout) == ok

    result = cli("--utc", "execution", "logs", bad["id"], env=env)
    logged = datetime.fromisoformat(bad['taskRunList'][0]['state']['histories'][-1]['date'])
    assert result.stdout.splitlines() == [  # the time with its zone, to the millisecond
        f"{logged.astimezone(UTC).isoformat(timespec='milliseconds')} ERROR boom boom says hi"]
    result = cli("execution", "logs", ok["id"], "--min-level", "warn", env=env)
    assert result.exit_code == 0 and result.stdout == ""
    assert fake.requests[-1]["query"]["minLevel"] == ["WARN"]
    task_run = ok["taskRunList"][1]["id"]
    result = cli("execution", "logs", ok["id"], "--task-run", task_run, "--json", env=env)
    assert [json.loads(line)["taskId"] for line in result.stdout.splitlines()] == ["done"]
    result = cli("execution", "logs", ok["id"], "--follow", "--task-run", task_run, env=env)
    assert result.stdout.endswith("INFO  done done says hi\n")
    assert len(result.stdout.splitlines()) == 1

    result = cli("execution", "follow", ok["id"], env=env)
    assert result.exit_code == 0
    assert "SUCCESS  greet" in result.stdout and "final state: SUCCESS" in result.stdout
    assert "outputs: {\"greeting\": \"Hello!\"}" in result.stdout
    result = cli("execution", "follow", bad["id"], "--json", env=env)
    assert result.exit_code == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["state"]["current"] == "RUNNING" and events[-1]["state"]["current"] == "FAILED"


def test_run_gives_up_at_its_timeout(fake: FakeApi, tmp_path: Path) -> None:
    flow = write(tmp_path, "hello.yaml", HELLO)
    fake.gate = threading.Event()  # the streams stall after their first event
    try:
        started = time.monotonic()
        result = cli("run", str(flow), "--server", fake.base_url, "--timeout", "0.5")
        assert time.monotonic() - started < 5
        assert result.exit_code == 1
        assert "did not finish within 0.5 s" in result.stderr
    finally:
        fake.gate.set()


def test_follow_opens_a_closed_stream_again_or_reads_the_end(fake: FakeApi) -> None:
    with ApiClient(fake.base_url) as client:
        client.deploy_flow(HELLO)
        done = client.create_execution("company.team", "hello", wait=True)
    fake.cut_follow = 1
    # ended: the execution is read once the stream closed without `end`
    result = cli("execution", "follow", done["id"], "--server", fake.base_url)
    assert result.exit_code == 0 and "final state: SUCCESS" in result.stdout
    # not ended, and streams that close empty: opened again a few times, then an error
    fake.cut_follow = 0
    fake.executions[done["id"]] = fake.executions[done["id"]][:2]
    result = cli("execution", "follow", done["id"], "--server", fake.base_url)
    assert result.exit_code == 1
    assert "keeps closing the event stream" in result.stderr
    follows = [r for r in fake.requests if r["path"].endswith(f"{done['id']}/follow")]
    assert len(follows) == 1 + 3


def test_every_new_command_has_help() -> None:
    for command in (["execution", "list"], ["execution", "get"], ["execution", "logs"],
                    ["execution", "follow"]):
        result = cli(*command, "--help")
        assert result.exit_code == 0 and "OSTINATO_SERVER" in result.stdout, command
    assert "--server URL" in cli("run", "--help").stdout
    assert "--server URL" in cli("flow", "deploy", "--help").stdout


def test_execution_commands_report_api_errors(fake: FakeApi) -> None:
    for command in (["get", "nope"], ["logs", "nope"], ["follow", "nope"], ["logs", "nope", "-f"]):
        result = cli("execution", *command, "--server", fake.base_url)
        assert result.exit_code == 1, command
        assert result.stderr == "error: execution nope not found\n", command
    url = _free_url()
    result = cli("execution", "list", "--server", url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach the ostinato API at {url}")


def test_tenant_and_basic_auth(fake: FakeApi) -> None:
    import base64

    fake.auth = "Basic " + base64.b64encode(b"ana:secret").decode()
    result = cli("execution", "list", "--server", fake.base_url)
    assert result.exit_code == 1 and result.stderr == "error: Unauthorized\n"
    env = {"OSTINATO_API_USER": "ana", "OSTINATO_API_PASSWORD": "secret", "OSTINATO_TENANT": "main"}
    result = cli("execution", "list", "--server", fake.base_url, env=env)
    assert result.exit_code == 0, result.stderr
    result = cli("execution", "list", "--server", fake.base_url, "--tenant", "other", env=env)
    assert result.exit_code == 1 and "no route GET /api/v1/other/executions/search" in result.stderr


# --------------------------------------------------------------- end to end on the real API

@pytest.fixture
def real_api(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("api")
    except pytest.FixtureLookupError:
        pytest.skip("the `api` fixture (tests/api/conftest.py) is not there yet")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_end_to_end_deploy_run_and_look(real_api: Any, tmp_path: Path) -> None:
    server = real_api.base_url
    flows = tmp_path / "flows"
    flows.mkdir()
    namespace = f"cli.e2e{int(time.time() * 1000) % 10**9}"
    hello = write(flows, "hello.yaml", HELLO.replace("company.team", namespace))
    result = cli("flow", "deploy", str(flows), "--server", server)
    assert result.exit_code == 0, result.output
    assert f"{hello}: {namespace}.hello revision 1 deployed" in result.stdout
    result = cli("flow", "deploy", str(flows), "--server", server)
    assert f"{namespace}.hello revision 1 unchanged" in result.stdout

    result = cli("run", str(hello), "--server", server, "--input", "name=api", "--json")
    assert result.exit_code == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["state"]["current"] == "SUCCESS"
    assert final["outputs"] == {"greeting": "Hello, api!"}
    assert "SUCCESS  greet" in result.stderr and "final state: SUCCESS" in result.stderr
    execution_id = final["id"]

    env = {"OSTINATO_SERVER": server}
    listed = wait_for("the execution in the search", lambda: json.loads(
        cli("execution", "list", "--namespace", namespace, "--json", env=env).stdout)["results"])
    assert [e["id"] for e in listed] == [execution_id]
    result = cli("execution", "list", "--namespace", namespace, env=env)
    assert result.exit_code == 0 and execution_id in result.stdout and "SUCCESS" in result.stdout

    result = cli("execution", "get", execution_id, env=env)
    assert result.exit_code == 0 and re.search(r"greet\s+SUCCESS", result.stdout)
    assert json.loads(cli("execution", "get", execution_id, "--json", env=env).stdout)["id"] == execution_id

    lines = wait_for("the execution's logs", lambda: cli(
        "execution", "logs", execution_id, env=env).stdout.splitlines())
    assert any(" INFO  done done" in line for line in lines), lines
    as_json = [json.loads(x) for x in cli("execution", "logs", execution_id, "--json", env=env).stdout.splitlines()]
    assert {e["executionId"] for e in as_json} == {execution_id}
    followed = cli("execution", "logs", execution_id, "--follow", env=env)
    assert followed.exit_code == 0 and any(" INFO  done done" in x for x in followed.stdout.splitlines())

    result = cli("execution", "follow", execution_id, env=env)
    assert result.exit_code == 0 and "final state: SUCCESS" in result.stdout
    events = [json.loads(x) for x in cli("execution", "follow", execution_id, "--json", env=env).stdout.splitlines()]
    assert events[-1]["state"]["current"] == "SUCCESS" and events[-1]["id"] == execution_id

    result = cli("execution", "get", "no-such-execution", env=env)
    assert result.exit_code == 1 and result.stderr == "error: execution no-such-execution not found\n"

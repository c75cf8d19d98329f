"""The http.Request runner against a real local HTTP server (no mocks)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ostinato.flow.tasks import Task
from ostinato.storage import LocalStorage
from ostinato.tasks import RunContext, TaskOutcome, run_task

REQUEST = "io.kestra.plugin.core.http.Request"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, content_type: str = "text/plain",
              extra: list[tuple[str, str]] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra or []:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        payload = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": raw.decode("utf-8", errors="replace"),
        }
        self._send(200, json.dumps(payload).encode(), "application/json")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/hello":
            self._send(200, b"hello world", extra=[("X-Test", "a"), ("Set-Cookie", "a=1"),
                                                    ("Set-Cookie", "b=2")])
        elif url.path == "/json":
            self._send(200, b'{"name": "kestra", "n": 1}', "application/json")
        elif url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            self._send(code, f"status {code}".encode())
        elif url.path == "/slow":
            time.sleep(1.5)
            self._send(200, b"late")
        elif url.path == "/redirect":
            self._send(302, b"", extra=[("Location", "/hello")])
        elif url.path == "/big":
            self._send(200, b"x" * int(query["n"][0]))
        elif url.path == "/empty":
            self.send_response(204)
            self.end_headers()
        else:
            self._echo()

    do_POST = _echo
    do_PUT = _echo
    do_DELETE = _echo
    do_PATCH = _echo


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run(data: dict[str, Any], variables: dict[str, Any] | None = None,
        storage: LocalStorage | None = None) -> TaskOutcome:
    task = Task.model_validate({"id": "http", "type": REQUEST, **data})
    return run_task(task, RunContext(variables=variables or {}, storage=storage))


def echoed(outcome: TaskOutcome) -> dict[str, Any]:
    assert outcome.state == "SUCCESS", outcome.logs
    result: dict[str, Any] = json.loads(outcome.outputs["body"])
    return result


def test_get(server: str) -> None:
    outcome = run({"uri": "{{ base }}/hello"}, {"base": server})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs["code"] == 200
    assert outcome.outputs["body"] == "hello world"
    assert outcome.outputs["uri"] == f"{server}/hello"
    headers = outcome.outputs["headers"]
    assert headers["x-test"] == ["a"]
    assert headers["set-cookie"] == ["a=1", "b=2"]
    assert headers["content-type"] == ["text/plain"]
    assert set(outcome.outputs) == {"uri", "code", "headers", "body"}


def test_json_body_is_kept_as_text(server: str) -> None:
    outcome = run({"uri": f"{server}/json"})
    assert outcome.outputs["body"] == '{"name": "kestra", "n": 1}'


def test_old_alias(server: str) -> None:
    task = Task.model_validate({"id": "h", "type": "io.kestra.plugin.fs.http.Request",
                                "uri": f"{server}/hello"})
    assert run_task(task, RunContext(variables={})).outputs["code"] == 200


def test_post_string_body_defaults_to_json_content_type(server: str) -> None:
    outcome = run({"uri": f"{server}/echo", "method": "POST",
                   "body": '{"title": "{{ inputs.title }}"}'}, {"inputs": {"title": "Pen"}})
    echo = echoed(outcome)
    assert echo["method"] == "POST"
    assert json.loads(echo["body"]) == {"title": "Pen"}
    assert echo["headers"]["content-type"] == "application/json"


def test_post_map_body_is_sent_as_json(server: str) -> None:
    echo = echoed(run({"uri": f"{server}/echo", "method": "post",
                       "body": {"a": "{{ v }}", "n": [1, 2]}}, {"v": "x"}))
    assert json.loads(echo["body"]) == {"a": "x", "n": [1, 2]}


def test_content_type_and_headers(server: str) -> None:
    echo = echoed(run({
        "uri": f"{server}/echo", "method": "PUT", "body": "plain text",
        "contentType": "text/plain",
        "headers": {"X-Custom": "{{ task.id }}", "user-agent": "kestra-io"},
    }, {"task": {"id": "http"}}))
    assert echo["method"] == "PUT"
    assert echo["body"] == "plain text"
    assert echo["headers"]["content-type"] == "text/plain"
    assert echo["headers"]["x-custom"] == "http"
    assert echo["headers"]["user-agent"] == "kestra-io"


def test_form_data_urlencoded(server: str) -> None:
    echo = echoed(run({"uri": f"{server}/login", "method": "POST",
                       "formData": {"user": "{{ who }}", "password": "pass"}}, {"who": "me"}))
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(echo["body"]) == {"user": ["me"], "password": ["pass"]}


def test_form_data_multipart_with_storage_file(server: str, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    uri = storage.put("main/f/executions/e/inputs/file/data.csv", b"a,b\n1,2\n")
    echo = echoed(run({
        "uri": f"{server}/upload", "method": "POST", "contentType": "multipart/form-data",
        "formData": {"user": "me", "file": uri,
                     "renamed": {"name": "my-file.txt", "content": uri}},
    }, storage=storage))
    assert echo["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    body = echo["body"]
    assert 'name="user"' in body and "\r\n\r\nme\r\n" in body
    assert 'name="file"; filename="data.csv"' in body
    assert 'name="renamed"; filename="my-file.txt"' in body
    assert body.count("a,b\n1,2\n") == 2


def test_404_fails(server: str) -> None:
    outcome = run({"uri": f"{server}/status/404"})
    assert outcome.state == "FAILED"
    assert outcome.logs[-1].level == "ERROR"
    assert "404" in outcome.logs[-1].message


def test_404_allowed(server: str) -> None:
    outcome = run({"uri": f"{server}/status/404", "allowFailed": True})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs["code"] == 404
    assert outcome.outputs["body"] == "status 404"
    allowed = run({"uri": f"{server}/status/500", "options": {"allowFailed": True}})
    assert allowed.state == "SUCCESS"
    assert allowed.outputs["code"] == 500


def test_read_timeout_fails(server: str) -> None:
    started = time.monotonic()
    outcome = run({"uri": f"{server}/slow", "options": {"readTimeout": "PT0.2S"}})
    assert outcome.state == "FAILED"
    assert "timed out" in outcome.logs[-1].message
    assert time.monotonic() - started < 1.4
    nested = run({"uri": f"{server}/slow", "options": {"timeout": {"readIdleTimeout": "PT0.2S"}}})
    assert nested.state == "FAILED"
    assert "timed out" in nested.logs[-1].message


def test_connection_refused_fails_cleanly() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = run({"uri": f"http://127.0.0.1:{port}/x", "options": {"connectTimeout": "PT1S"}})
    assert outcome.state == "FAILED"
    assert f"127.0.0.1:{port}" in outcome.logs[-1].message


def test_redirects(server: str) -> None:
    followed = run({"uri": f"{server}/redirect"})
    assert followed.outputs["code"] == 200
    assert followed.outputs["body"] == "hello world"
    kept = run({"uri": f"{server}/redirect", "options": {"followRedirects": False}})
    assert kept.state == "SUCCESS"
    assert kept.outputs["code"] == 302
    assert kept.outputs["headers"]["location"] == ["/hello"]


def test_basic_auth(server: str) -> None:
    expected = "Basic " + base64.b64encode(b"user:secret").decode()
    old = echoed(run({"uri": f"{server}/auth",
                      "options": {"basicAuthUser": "user", "basicAuthPassword": "secret"}}))
    assert old["headers"]["authorization"] == expected
    new = echoed(run({"uri": f"{server}/auth", "options": {
        "auth": {"type": "BASIC", "username": "{{ u }}", "password": "secret"}}}, {"u": "user"}))
    assert new["headers"]["authorization"] == expected
    bearer = echoed(run({"uri": f"{server}/auth",
                         "options": {"auth": {"type": "BEARER", "token": "tok"}}}))
    assert bearer["headers"]["authorization"] == "Bearer tok"


def test_empty_body_is_none(server: str) -> None:
    outcome = run({"uri": f"{server}/empty"})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs["code"] == 204
    assert outcome.outputs["body"] is None


def test_body_over_the_limit_fails(server: str) -> None:
    outcome = run({"uri": f"{server}/big?n=2048", "options": {"maxContentLength": 1024}})
    assert outcome.state == "FAILED"
    message = outcome.logs[-1].message
    assert "2048 bytes" in message and "Download" in message
    ok = run({"uri": f"{server}/big?n=1024", "options": {"maxContentLength": 1024}})
    assert ok.state == "SUCCESS"
    assert len(ok.outputs["body"]) == 1024


def test_non_http_uri_fails() -> None:
    outcome = run({"uri": "ftp://example.com/x"})
    assert outcome.state == "FAILED"
    assert "not an http(s) URI" in outcome.logs[-1].message


def test_encrypt_body_is_refused(server: str) -> None:
    outcome = run({"uri": f"{server}/hello", "encryptBody": True})
    assert outcome.state == "FAILED"
    assert "encryptBody" in outcome.logs[-1].message

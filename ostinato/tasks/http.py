"""`io.kestra.plugin.core.http.Request`: one HTTP request with httpx's sync client.

Properties are rendered first, then sent as Kestra does:

* `formData` wins over `body`. It is sent URL-encoded, or as `multipart/form-data` when
  `contentType` says so; in a multipart form a `kestra:///...` value is sent as a file
  read from internal storage, and so is a `{name, content}` map (`name` the file name,
  `content` the `kestra:///` URI).
* `body` is sent as a string (`contentType` defaults to `application/json`); a map or a
  list is serialised to JSON.
* `options`: `timeout.connectTimeout` / `timeout.readIdleTimeout` (or the older
  `connectTimeout` / `readTimeout`), ISO-8601 durations, read defaulting to 10 seconds and
  connect to 30 seconds; `followRedirects` (default true); `allowFailed`; `auth` as
  `{type: BASIC, username, password}` or `{type: BEARER, token}` (or the older
  `basicAuthUser` / `basicAuthPassword`); `ssl.insecureTrustAllCertificates`;
  `defaultCharset` (the request body's encoding, UTF-8 by default); `maxContentLength`.

Outputs: `uri` (the request URI), `code` (int), `headers` (lower-cased name -> list of
values) and `body` (the response decoded as UTF-8, JSON kept as text; None when empty).

A status >= 400 fails the task ("Failed http request with response code '404'") unless
`allowFailed` (or `options.allowFailed`) is true. The response body is capped at 10 MiB
(`options.maxContentLength` changes the cap): a larger body fails the task with a message
naming the size and pointing to the Download task, rather than holding it in outputs.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ostinato.flow.durations import parse_duration
from ostinato.flow.tasks import HttpRequest
from ostinato.storage import SCHEME
from ostinato.tasks.base import RunContext, TaskFailed, register_runner, to_kestra_string

#: the largest response body the task keeps in its outputs (Kestra's old default)
MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 30.0


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _seconds(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_duration(str(value)).total_seconds()
    except ValueError as exc:
        raise TaskFailed(f"options.{name}: {exc}") from None


def _timeout(options: dict[str, Any]) -> httpx.Timeout:
    timeout = options.get("timeout")
    nested: dict[str, Any] = timeout if isinstance(timeout, dict) else {}
    connect = _seconds(nested.get("connectTimeout"), "timeout.connectTimeout")
    if connect is None:
        connect = _seconds(options.get("connectTimeout"), "connectTimeout")
    read = _seconds(nested.get("readIdleTimeout"), "timeout.readIdleTimeout")
    if read is None:
        read = _seconds(options.get("readTimeout"), "readTimeout")
    if read is None:
        read = _seconds(options.get("readIdleTimeout"), "readIdleTimeout")
    connect = DEFAULT_CONNECT_TIMEOUT if connect is None else connect
    read = DEFAULT_READ_TIMEOUT if read is None else read
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _auth(options: dict[str, Any], headers: list[tuple[str, str]]) -> httpx.Auth | None:
    auth = options.get("auth")
    if isinstance(auth, dict):
        kind = str(auth.get("type", "BASIC")).upper()
        if kind == "BASIC":
            return httpx.BasicAuth(str(auth.get("username") or ""), str(auth.get("password") or ""))
        if kind == "BEARER":
            headers.append(("Authorization", f"Bearer {auth.get('token') or ''}"))
            return None
        raise TaskFailed(f"options.auth.type `{kind}` is not supported (BASIC or BEARER)")
    if options.get("basicAuthUser") is not None:
        return httpx.BasicAuth(
            str(options["basicAuthUser"]), str(options.get("basicAuthPassword") or "")
        )
    return None


def _headers(rendered: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not isinstance(rendered, dict):
        return out
    for name, value in rendered.items():
        values = value if isinstance(value, list) else [value]
        out.extend((str(name), to_kestra_string(v)) for v in values if v is not None)
    return out


def _storage_file(ctx: RunContext, uri: str) -> bytes:
    if ctx.storage is None:
        raise TaskFailed(f"cannot send `{uri}`: no internal storage is configured")
    return ctx.storage.get(uri)


def _multipart(ctx: RunContext, form: dict[str, Any]) -> list[tuple[str, tuple[str | None, bytes]]]:
    parts: list[tuple[str, tuple[str | None, bytes]]] = []
    for key, value in form.items():
        if isinstance(value, str) and value.startswith(SCHEME):
            name = value.rstrip("/").rsplit("/", 1)[-1]
            parts.append((str(key), (name, _storage_file(ctx, value))))
        elif isinstance(value, dict) and "name" in value and "content" in value:
            content = _storage_file(ctx, str(value["content"]))
            parts.append((str(key), (str(value["name"]), content)))
        elif isinstance(value, str):
            parts.append((str(key), (None, value.encode("utf-8"))))
        else:
            text = json.dumps(value, separators=(",", ":"), default=str)
            parts.append((str(key), (None, text.encode("utf-8"))))
    return parts


def _urlencoded(form: dict[str, Any]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key, value in form.items():
        if isinstance(value, list):
            out[str(key)] = [to_kestra_string(v) for v in value]
        else:
            out[str(key)] = to_kestra_string(value)
    return out


def _has_header(headers: list[tuple[str, str]], name: str) -> bool:
    return any(k.lower() == name.lower() for k, _ in headers)


def run_http_request(task: HttpRequest, ctx: RunContext) -> dict[str, Any]:
    if task.encrypt_body:
        raise TaskFailed("encryptBody is not supported: no encryption key is configured")
    uri = (ctx.render_str(task.uri) or "").strip().replace(" ", "%20")
    if not uri.lower().startswith(("http://", "https://")):
        raise TaskFailed(f"`{uri}` is not an http(s) URI")
    method = (ctx.render_str(task.method) or "GET").strip().upper()
    options_value = ctx.render(task.options) or {}
    options: dict[str, Any] = options_value if isinstance(options_value, dict) else {}
    headers = _headers(ctx.render(task.headers))
    content_type = ctx.render_str(task.content_type)
    allow_failed = _truthy(task.allow_failed) or _truthy(options.get("allowFailed", False))
    follow_redirects = _truthy(options.get("followRedirects", True))
    ssl = options.get("ssl")
    verify = not (isinstance(ssl, dict) and _truthy(ssl.get("insecureTrustAllCertificates")))
    charset = str(options.get("defaultCharset") or "utf-8")
    limit_value = options.get("maxContentLength")
    limit = int(limit_value) if limit_value not in (None, "") else MAX_BODY_BYTES
    auth = _auth(options, headers)

    request: dict[str, Any] = {}
    form = ctx.render(task.form_data) if task.form_data else None
    if form:
        if not isinstance(form, dict):
            raise TaskFailed("formData must be a map of field names to values")
        if content_type and content_type.split(";")[0].strip().lower() == "multipart/form-data":
            # Plain fields go as parts without a file name, so the body is multipart
            # even when no file is sent.
            request["files"] = _multipart(ctx, form)
        else:
            request["data"] = _urlencoded(form)
    elif task.body is not None:
        body = ctx.render(task.body)
        if isinstance(body, (dict, list)):
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
        else:
            text = to_kestra_string(body)
        request["content"] = text.encode(charset)
        if not _has_header(headers, "content-type"):
            headers.append(("Content-Type", content_type or "application/json"))
    elif content_type and not _has_header(headers, "content-type"):
        headers.append(("Content-Type", content_type))

    try:
        with httpx.Client(
            timeout=_timeout(options),
            follow_redirects=follow_redirects,
            verify=verify,
            auth=auth,
            trust_env=False,
        ) as client:
            with client.stream(method, uri, headers=headers, **request) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        declared = response.headers.get("content-length")
                        total = f"{declared} bytes" if declared else f"more than {size} bytes"
                        raise TaskFailed(
                            f"the response body of {method} {uri} is {total}, over the "
                            f"{limit}-byte limit of the Request task; use the "
                            "io.kestra.plugin.core.http.Download task for large responses"
                        )
                    chunks.append(chunk)
                code = response.status_code
                response_headers: dict[str, list[str]] = {}
                for name, value in response.headers.multi_items():
                    response_headers.setdefault(name.lower(), []).append(value)
    except httpx.TimeoutException as exc:
        raise TaskFailed(f"{method} {uri} timed out ({type(exc).__name__}: {exc})") from None
    except httpx.HTTPError as exc:
        raise TaskFailed(f"{method} {uri} failed: {type(exc).__name__}: {exc}") from None

    raw = b"".join(chunks)
    if code >= 400 and not allow_failed:
        raise TaskFailed(f"Failed http request with response code '{code}'")
    return {
        "uri": uri,
        "code": code,
        "headers": response_headers,
        "body": raw.decode("utf-8", errors="replace") if raw else None,
    }


register_runner(HttpRequest, run_http_request)

"""`io.kestra.plugin.core.http.Download`: an HTTP request whose response body goes to a file
in internal storage (DESIGN.md, invariant 5), not into the outputs.

The request is built as the Request task builds it (ostinato/tasks/http.py: headers, body,
formData, options). Outputs, as Kestra's: `uri` (the stored file), `code`, `length` (bytes
received) and `headers` (name -> list of values, as the server sent the names). As Kestra:
a status >= 400 fails unless `allowFailed`; an empty body fails ("No response from server")
when `failOnEmptyResponse` (default true) unless `allowFailed`, else logs a warning; a body
shorter or longer than its Content-Length fails; the stored file is named after the
`Content-Disposition` file name when there is one, else takes the URI path's extension.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from ostinato.flow.tasks_storage import Download
from ostinato.tasks.base import RunContext, TaskFailed, register_runner, to_kestra_string
from ostinato.tasks.http import _auth, _has_header, _headers, _multipart, _timeout, _truthy, _urlencoded
from ostinato.tasks.scripts.files import task_storage_prefix
from ostinato.tasks.storage.files import storage_of


def filename_from_disposition(header: str | None) -> str | None:
    """The file name a Content-Disposition header gives (`filename*=UTF-8''...` wins), its
    last path segment only, so a server cannot choose where the file goes."""
    if not header:
        return None
    name: str | None = None
    for part in header.split(";"):
        part = part.strip()
        if part.lower().startswith("filename*="):
            value = part.split("=", 1)[1]
            name = unquote(value.split("''", 1)[1] if "''" in value else value)
            break
        if part.lower().startswith("filename="):
            name = part.split("=", 1)[1].strip().strip('"')
    if not name:
        return None
    name = re.split(r"[\\/]", name)[-1]
    return name if name not in ("", ".", "..") else None


def extension_from_uri(uri: str) -> str:
    """The extension of the URI's last path segment (`.csv`), or nothing."""
    last = PurePosixPath(urlsplit(uri).path).name
    return last[last.index("."):] if "." in last else ""


def _request(task: Download, ctx: RunContext, options: dict[str, Any],
             headers: list[tuple[str, str]]) -> dict[str, Any]:
    content_type = ctx.render_str(task.content_type)
    form = ctx.render(task.form_data) if task.form_data else None
    if form:
        if content_type and content_type.split(";")[0].strip().lower() == "multipart/form-data":
            return {"files": _multipart(ctx, form)}
        return {"data": _urlencoded(form)}
    if task.body is not None:
        body = ctx.render(task.body)
        if not _has_header(headers, "content-type"):
            headers.append(("Content-Type", content_type or "application/json"))
        return {"content": to_kestra_string(body).encode(str(options.get("defaultCharset") or "utf-8"))}
    if content_type and not _has_header(headers, "content-type"):
        headers.append(("Content-Type", content_type))
    return {}


def run_download(task: Download, ctx: RunContext) -> dict[str, Any]:
    uri = (ctx.render_str(task.uri) or "").strip().replace(" ", "%20")
    if not uri.lower().startswith(("http://", "https://")):
        raise TaskFailed(f"`{uri}` is not an http(s) URI")
    method = (ctx.render_str(task.method) or "GET").strip().upper()
    rendered_options = ctx.render(task.options) or {}
    options: dict[str, Any] = rendered_options if isinstance(rendered_options, dict) else {}
    headers = _headers(ctx.render(task.headers))
    if not _has_header(headers, "accept-encoding"):
        headers.append(("Accept-Encoding", "identity"))  # the file as served, not compressed
    allow_failed = _truthy(task.allow_failed) or _truthy(options.get("allowFailed", False))
    auth = _auth(options, headers)
    request = _request(task, ctx, options, headers)
    storage_of(ctx)
    with tempfile.TemporaryDirectory(prefix="ostinato-download-") as folder:
        target = Path(folder) / "body"
        code, response_headers, length = _fetch(method, uri, headers, request, options, auth, target)
        if code >= 400 and not allow_failed:
            raise TaskFailed(f"Failed http request with response code '{code}'")
        declared = _first(response_headers, "content-length")
        if declared is not None and declared.isdigit() and int(declared) != length and code < 400:
            raise TaskFailed(f"Invalid size, got {length}, expected {declared}")
        ctx.metric("response.length", length)
        if length == 0:
            if _truthy(ctx.render(task.fail_on_empty_response)) and not allow_failed:
                raise TaskFailed("No response from server")
            ctx.log("WARN", f"File '{uri}' is empty")
        name = filename_from_disposition(_first(response_headers, "content-disposition"))
        stored_name = quote(name, safe="") if name else f"{uuid.uuid4().hex[:16]}{extension_from_uri(uri)}"
        prefix = task_storage_prefix(ctx.variables, task.id)
        stored = storage_of(ctx).put(f"{prefix}/{stored_name}", target.read_bytes())
    ctx.log("DEBUG", f"File '{uri}' downloaded to '{stored}'")
    return {"uri": stored, "code": code, "length": length, "headers": response_headers}


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    for key, values in headers.items():
        if key.lower() == name and values:
            return values[0]
    return None


def _fetch(method: str, uri: str, headers: list[tuple[str, str]], request: dict[str, Any],
           options: dict[str, Any], auth: httpx.Auth | None,
           target: Path) -> tuple[int, dict[str, list[str]], int]:
    """Stream the response body into `target`: (status, headers, bytes received)."""
    ssl = options.get("ssl")
    verify = not (isinstance(ssl, dict) and _truthy(ssl.get("insecureTrustAllCertificates")))
    length = 0
    try:
        with httpx.Client(timeout=_timeout(options), verify=verify, auth=auth, trust_env=False,
                          follow_redirects=_truthy(options.get("followRedirects", True))) as client:
            with client.stream(method, uri, headers=headers, **request) as response, \
                    target.open("wb") as out:
                for chunk in response.iter_raw():
                    out.write(chunk)
                    length += len(chunk)
                response_headers: dict[str, list[str]] = {}
                for name, value in response.headers.multi_items():
                    response_headers.setdefault(name, []).append(value)
                return response.status_code, response_headers, length
    except httpx.TimeoutException as exc:
        raise TaskFailed(f"{method} {uri} timed out ({type(exc).__name__}: {exc})") from None
    except httpx.HTTPError as exc:
        raise TaskFailed(f"{method} {uri} failed: {type(exc).__name__}: {exc}") from None


register_runner(Download, run_download)

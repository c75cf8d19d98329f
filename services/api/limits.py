"""What bounds a request before a handler sees it, and where CPU-bound work runs.

One mechanism for every body: `BodyLimit`, an ASGI middleware, counts the bytes of each
request as they arrive and stops it at its cap with a 413 naming the cap and its setting
(a declared Content-Length over the cap is refused before a byte is read). The cap depends
on the request: webhooks have their own (`OSTINATO_API_MAX_WEBHOOK_BODY`), multipart
requests may carry files (`OSTINATO_API_MAX_BODY` for their fields plus
`OSTINATO_API_MAX_UPLOAD` for their files, each counted part by part by
`BoundedMultiPartParser`), every other body has `OSTINATO_API_MAX_BODY`. JSON bodies are
also scanned for their nesting depth as they stream (Python's json module recurses: a
100,000-deep array is a RecursionError, not a parse error).

Parsing and validating (YAML, flows, inputs) run on a small pool of threads of their own
(`CpuPool`), never on the event loop: `/health` answers while a large flow is validated.
"""

from __future__ import annotations

import asyncio
import functools
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncGenerator, Callable, TypeVar

from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ostinato.sandbox.limits import describe_bytes

T = TypeVar("T")

#: the path segment of webhook calls (their bodies have a cap of their own)
WEBHOOK_PATH = "/executions/webhook/"


class BodyTooLarge(HTTPException):
    """413: a body, or a part of it, is over its cap; the message names the cap and its setting."""

    def __init__(self, what: str, limit: int, setting: str, size: int | None = None) -> None:
        amount = f"is {size} bytes, more than" if size is not None else "is more than"
        super().__init__(413, f"The {what} {amount} the {describe_bytes(limit)} ({limit} bytes) "
                              f"accepted ({setting})")


class TooDeep(HTTPException):
    """422: a JSON document nests deeper than the limit."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(422, f"The {what} nests more than the {limit} levels of JSON accepted "
                              "(OSTINATO_API_MAX_JSON_DEPTH)")


# ---------------------------------------------------------------- JSON depth

#: every byte but the six that change the depth or the string state
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'[]{}"\\')


class JsonDepth:
    """The nesting depth of a JSON text fed in pieces (brackets inside strings do not
    count). Linear, and cheap: all but six byte values are dropped before looking."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self._in_string = False
        self._escaped = False

    def feed(self, data: bytes) -> bool:
        """Scan the next piece; True as soon as the depth has gone over the limit."""
        for byte in data.translate(None, _NOT_STRUCTURAL):
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif byte == 0x5C:  # backslash
                    self._escaped = True
                elif byte == 0x22:  # quote
                    self._in_string = False
            elif byte == 0x22:
                self._in_string = True
            elif byte in (0x5B, 0x7B):  # [ {
                self.depth += 1
                if self.depth > self.limit:
                    return True
            elif byte in (0x5D, 0x7D):
                self.depth -= 1
        return False


def too_deep(text: str | bytes, limit: int) -> bool:
    """Whether the JSON `text` nests more than `limit` levels (arrays and objects)."""
    return JsonDepth(limit).feed(text.encode() if isinstance(text, str) else text)


def json_size(value: Any) -> int:
    """The bytes of `value` as JSON (as an event record carries it)."""
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


# ---------------------------------------------------------------- the body cap

class BodyLimit:
    """ASGI middleware: every request body counted against its cap while it streams."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, max_webhook_body: int,
                 max_json_depth: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_webhook_body = max_webhook_body
        self.max_json_depth = max_json_depth

    def cap(self, scope: Scope, content_type: str) -> tuple[int, str, str]:
        """(bytes, setting, what) of the request's cap."""
        if WEBHOOK_PATH in scope.get("path", ""):
            return self.max_webhook_body, "OSTINATO_API_MAX_WEBHOOK_BODY", "webhook body"
        if content_type.startswith("multipart/form-data"):
            return (self.max_body + self.max_upload,
                    "OSTINATO_API_MAX_BODY + OSTINATO_API_MAX_UPLOAD", "multipart request body")
        return self.max_body, "OSTINATO_API_MAX_BODY", "request body"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").lower()
        limit, setting, what = self.cap(scope, content_type)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, BodyTooLarge(what, limit, setting, int(declared)))
            return
        depth = JsonDepth(self.max_json_depth) if "json" in content_type else None
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(what, limit, setting)
                if depth is not None and depth.feed(chunk):
                    raise TooDeep("JSON body", self.max_json_depth)
            return message

        await self.app(scope, counted, send)


async def _answer(send: Send, error: HTTPException) -> None:
    """The API's JSON error body, sent before the request's body is read (the server
    closes the connection after it)."""
    body = json.dumps({"message": error.detail, "details": []}).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BoundedMultiPartParser(MultiPartParser):
    """Starlette's multipart parser with the fields and the files of a request counted
    apart as they arrive: fields (held in memory) up to `max_fields`, files (spooled to
    disk past 1 MiB) up to `max_files`."""

    def __init__(self, headers: Headers, stream: AsyncGenerator[bytes, None], *,
                 max_fields: int, max_files: int) -> None:
        super().__init__(headers, stream, max_part_size=max_fields + 1)
        self.max_field_bytes = max_fields
        self.max_file_bytes = max_files
        self._field_bytes = 0
        self._file_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is None:
            self._field_bytes += end - start
            if self._field_bytes > self.max_field_bytes:
                raise BodyTooLarge("form fields' text", self.max_field_bytes, "OSTINATO_API_MAX_BODY")
        else:
            self._file_bytes += end - start
            if self._file_bytes > self.max_file_bytes:
                raise BodyTooLarge("uploaded files' content", self.max_file_bytes,
                                   "OSTINATO_API_MAX_UPLOAD")
        super().on_part_data(data, start, end)


async def bounded_form(headers: Headers, stream: AsyncGenerator[bytes, None], *,
                       max_fields: int, max_files: int) -> FormData:
    """The multipart form of a request, its fields and files each under their cap."""
    return await BoundedMultiPartParser(headers, stream, max_fields=max_fields,
                                        max_files=max_files).parse()


# ---------------------------------------------------------------- CPU-bound work

class CpuPool:
    """A few threads for parsing and validating, so that the event loop never does it and
    so that many large requests at once queue here instead of starving the loop."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="api-cpu")

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)` on one of the pool's threads; its result or its error."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

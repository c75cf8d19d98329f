"""JSON error bodies `{"message": ..., "details": [...]}` for every 4xx and 5xx, and HTTP
basic authentication."""

from __future__ import annotations

import base64
import hmac
from typing import Any, Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ostinato.logging import get_logger

log = get_logger(component="api")

#: paths served without authentication (liveness probes)
OPEN_PATHS = ("/health",)


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[str] | None = None, *,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details or [])
        #: more fields of the body (Kestra's `invalids` of a bulk operation)
        self.extra = dict(extra or {})


def not_found(what: str) -> ApiError:
    return ApiError(404, what)


def error_body(status: int, message: str, details: list[str] | None = None,
               headers: Mapping[str, str] | None = None,
               extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({**(extra or {}), "message": message, "details": list(details or [])},
                        status_code=status, headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> Response:
        return error_body(error.status, error.message, error.details, extra=error.extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> Response:
        return error_body(error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> Response:
        details = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in error.errors()]
        return error_body(422, "Invalid request", details)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> Response:
        log.exception("request failed", path=request.url.path)
        return error_body(500, f"Internal error: {type(error).__name__}: {error}")


def install_basic_auth(app: FastAPI, credentials: tuple[str, str]) -> None:
    expected = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()

    @app.middleware("http")
    async def basic_auth(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if request.url.path in OPEN_PATHS or request.method == "OPTIONS":
            return await call_next(request)
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "basic" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            return error_body(401, "Unauthorized: valid HTTP basic credentials are required",
                              headers={"WWW-Authenticate": 'Basic realm="ostinato"'})
        return await call_next(request)

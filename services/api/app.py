"""The API's HTTP application: Kestra's REST paths under `/api/v1/{tenant}` and `/api/v1`."""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from ostinato.kafka.heartbeat import HeartbeatView
from ostinato.management import Management
from ostinato.services.api.context import Api
from ostinato.services.api.errors import install_basic_auth, install_error_handlers
from ostinato.services.api.limits import BodyLimit
from ostinato.kv.access import KvAccess
from ostinato.services.api.routes import bulk, control, create, executions, flows, kv, logs, webhooks
from ostinato.services.api.routes import namespace_files, triggers, ui_executions
from ostinato.services.api.ui import install_ui

SERVICES = ("executor", "worker", "scheduler", "api")


def create_app(api: Api, heartbeats: HeartbeatView | None = None,
               management: Management | None = None, kv_store: KvAccess | None = None) -> FastAPI:
    """`kv_store`: the KV store of the `/namespaces/{ns}/kv` paths (503 without one)."""
    app = FastAPI(title="ostinato", summary="Kestra-compatible REST API of ostinato",
                  docs_url=None, openapi_url="/api/openapi.json")
    app.state.api = api
    app.state.kv = kv_store
    install_error_handlers(app)
    # innermost of the middlewares: authentication answers first, metrics count the 413s
    limits = api.settings
    app.add_middleware(BodyLimit, max_body=limits.max_body, max_upload=limits.max_upload,
                       max_webhook_body=limits.max_webhook_body,
                       max_json_depth=limits.max_json_depth)
    if management is not None:
        install_http_metrics(app, management)
    if api.settings.basic_auth is not None:
        install_basic_auth(app, api.settings.basic_auth)
    if api.settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(api.settings.cors_origins),
                           allow_methods=["*"], allow_headers=["*"],
                           allow_credentials="*" not in api.settings.cors_origins)
    # the most specific paths first: `/executions/webhook/...`, `/executions/kill/by-ids` and
    # `/executions/{id}/resume` must not read as `/executions/{namespace}/{flowId}`
    for router in (webhooks.router, bulk.router, flows.router, control.router, executions.router,
                   create.router, logs.router, kv.router, namespace_files.router, triggers.router,
                   ui_executions.router):
        app.include_router(router, prefix="/api/v1/{tenant}")
        app.include_router(router, prefix="/api/v1", include_in_schema=False)
    install_ui(app)  # the web UI under /ui, and /api/docs with Swagger UI's own assets

    @app.get("/health", tags=["Operations"])
    def health() -> Any:
        """200 once every service of the stack has announced itself recently, else 503."""
        alive = heartbeats.alive() if heartbeats is not None else set()
        missing = [s for s in SERVICES if s not in alive]
        body = {"status": "UP" if not missing else "DOWN", "services": sorted(alive),
                "missing": missing, "viewReady": api.ready}
        return JSONResponse(body, status_code=200 if not missing else 503)

    return app


def install_http_metrics(app: FastAPI, management: Management) -> None:
    """`ostinato_http_requests_total{method,route,status}` and `ostinato_http_request_seconds
    {method,route}` (the route's template, so ids do not make new series)."""
    requests = management.counter("http_requests_total", "HTTP requests answered by the API.",
                                  ("method", "route", "status"))
    seconds = management.histogram("http_request_seconds", "Seconds to answer an HTTP request "
                                    "(to its first byte, for streams).", ("method", "route"))

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        template = _route_template(request)
        seconds.labels(request.method, template).observe(time.perf_counter() - started)
        requests.labels(request.method, template, str(response.status_code)).inc()
        return response


def _route_template(request: Request) -> str:
    """The matched route's path template, with the prefix it was included under."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    if path.startswith("/api/") or not request.url.path.startswith("/api/v1/"):
        return str(path)
    prefix = "/api/v1/{tenant}" if "tenant" in request.scope.get("path_params", {}) else "/api/v1"
    return prefix + str(path)

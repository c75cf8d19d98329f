"""The API's HTTP application: Kestra's REST paths under `/api/v1/{tenant}` and `/api/v1`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from ostinato.kafka.heartbeat import HeartbeatView
from services.api.context import Api
from services.api.errors import install_basic_auth, install_error_handlers
from services.api.routes import executions, flows, logs, webhooks

SERVICES = ("executor", "worker", "scheduler", "api")


def create_app(api: Api, heartbeats: HeartbeatView | None = None) -> FastAPI:
    app = FastAPI(title="ostinato", summary="Kestra-compatible REST API of ostinato",
                  docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.api = api
    install_error_handlers(app)
    if api.settings.basic_auth is not None:
        install_basic_auth(app, api.settings.basic_auth)
    if api.settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(api.settings.cors_origins),
                           allow_methods=["*"], allow_headers=["*"],
                           allow_credentials="*" not in api.settings.cors_origins)
    # webhooks before executions: `/executions/webhook/...` must not read as an execution id
    for router in (webhooks.router, flows.router, executions.router, logs.router):
        app.include_router(router, prefix="/api/v1/{tenant}")
        app.include_router(router, prefix="/api/v1", include_in_schema=False)

    @app.get("/health", tags=["Operations"])
    def health() -> Any:
        """200 once every service of the stack has announced itself recently, else 503."""
        alive = heartbeats.alive() if heartbeats is not None else set()
        missing = [s for s in SERVICES if s not in alive]
        body = {"status": "UP" if not missing else "DOWN", "services": sorted(alive),
                "missing": missing, "viewReady": api.ready}
        return JSONResponse(body, status_code=200 if not missing else 503)

    return app

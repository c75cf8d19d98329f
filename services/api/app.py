"""The API's HTTP application. Today it serves `/health`; Kestra's REST comes with the API issue."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ostinato.kafka.heartbeat import HeartbeatView

SERVICES = ("executor", "worker", "scheduler", "api")


def create_app(heartbeats: HeartbeatView) -> FastAPI:
    app = FastAPI(title="ostinato", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.get("/health")
    def health() -> Any:
        """200 once every service of the stack has announced itself recently, else 503."""
        alive = heartbeats.alive()
        missing = [s for s in SERVICES if s not in alive]
        body = {"status": "UP" if not missing else "DOWN", "services": sorted(alive),
                "missing": missing}
        return JSONResponse(body, status_code=200 if not missing else 503)

    return app

"""The web UI: a no-build single-page app of plain ES modules served from `static/` under
`/ui` (`/` redirects there), and Swagger UI at `/api/docs` from vendored assets (no CDN).

Every path here sits behind the API's basic authentication like the REST paths: the browser
gets the 401 challenge on its first request and sends the credentials with every later one
(fetch and EventSource included, as they are same-origin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
SWAGGER = "/ui/static/vendor/swagger-ui"


class RevalidatedFiles(StaticFiles):
    """Static files the browser revalidates on every load (an ETag answers 304 cheaply), so
    an upgraded service never runs with a stale mix of cached ES modules."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_ui(app: FastAPI) -> None:
    app.mount("/ui/static", RevalidatedFiles(directory=STATIC), name="ui-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/ui", include_in_schema=False)
    @app.get("/ui/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/api/openapi.json",
                                   title=f"{app.title} - API docs",
                                   swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                                   swagger_favicon_url="/ui/static/favicon.svg",
                                   # no badge fetched from validator.swagger.io
                                   swagger_ui_parameters={"validatorUrl": None})

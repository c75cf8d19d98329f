"""What every route needs: the Api of the app, the tenant of the path, Kestra's paging."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.api.context import DEFAULT_TENANT, Api
from services.api.errors import ApiError


def api_of(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


def tenant_of(request: Request) -> str:
    """`{tenant}` of `/api/v1/{tenant}/...`, `main` on the paths without it."""
    return str(request.path_params.get("tenant") or DEFAULT_TENANT)


def sort_key(item: dict[str, Any], field: str) -> tuple[bool, Any]:
    """A sort key for a dotted field (`state.startDate`); missing values sort first."""
    value: Any = item
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return (value is not None, value if value is not None else "")


def paged(items: list[dict[str, Any]], page: int, size: int, sort: list[str], *,
          default: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """Kestra's `{"results": [...], "total": N}` of one page, sorted by `field:asc|desc`
    items (`fields` maps Kestra's sort names to the items' own)."""
    for spec in reversed(sort or [default]):
        name, _, direction = spec.partition(":")
        direction = direction or "asc"
        if direction not in ("asc", "desc"):
            raise ApiError(422, "Invalid sort", [f"`{spec}`: the direction must be asc or desc"])
        field = (fields or {}).get(name, name)
        items.sort(key=lambda item: sort_key(item, field), reverse=direction == "desc")
    start = (page - 1) * size
    return {"results": items[start:start + size], "total": len(items)}

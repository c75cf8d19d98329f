"""What the routes share: the Api of the app, the tenant of the path, Kestra's paging,
query values (labels, dates), finding an execution."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import Request

from ostinato.execution.model import Execution
from ostinato.services.api.context import DEFAULT_TENANT, Api
from ostinato.services.api.errors import ApiError, not_found
from ostinato.services.api.streams import find_execution

#: the OpenAPI body of the multipart endpoints (inputs as fields, files as file parts)
FILE_BODY = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "additionalProperties": True}}}}}


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


def now() -> datetime:
    return datetime.now(timezone.utc)


def label_pairs(items: list[str]) -> dict[str, str]:
    """`key:value` query values as a map; 422 naming one that is not."""
    out = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ApiError(422, "Invalid labels", [f"`{item}` is not key:value"])
        out[key] = value
    return out


def date_param(text: str | None, name: str) -> datetime | None:
    """An ISO-8601 date-time query value (UTC when it names no offset); 422 naming `name`."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, f"Invalid {name}", [f"`{text}` is not an ISO-8601 date-time"]) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


async def existing_execution(api: Api, execution_id: str) -> Execution:
    """The execution from the view (waiting a little for one just created), else 404."""
    execution = await find_execution(api, execution_id)
    if execution is None:
        raise not_found(f"Execution {execution_id} not found")
    return execution

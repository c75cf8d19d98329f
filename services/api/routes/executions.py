"""`/api/v1/{tenant}/executions`, the reads: search, get, follow, files, the flow of an
execution; all from the view. Creating is in create.py, control in control.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO, Iterator

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from ostinato.execution.model import Execution, iso
from ostinato.storage.base import execution_prefix, uri_path
from ostinato.services.api.context import Api, tenant_id_of
from ostinato.services.api.errors import ApiError, not_found
from ostinato.services.api.kestra_json import execution_json, flow_json
from ostinato.services.api.routes.common import (
    api_of, date_param, existing_execution, label_pairs, paged, tenant_of,
)
from ostinato.services.api.streams import current_execution, follow_execution
from ostinato.services.api.view import execution_key

router = APIRouter(tags=["Executions"])

#: Kestra's sort names -> the summary fields the view keeps
SORT_FIELDS = {"state.startDate": "startDate", "state.endDate": "endDate",
               "state.current": "state", "id": "id", "flowId": "flowId", "namespace": "namespace"}


def _iso(moment: datetime | None) -> str | None:
    """A date as the view's sortable text (UTC, Z)."""
    return None if moment is None else iso(moment)


@dataclass(frozen=True)
class Filters:
    """What a search keeps (every field optional)."""

    tenant_id: str | None
    namespace_prefix: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    states: frozenset[str] = frozenset()
    labels: tuple[tuple[str, str], ...] = ()
    start: str | None = None
    end: str | None = None
    text: str | None = None

    def keep(self, summary: dict[str, Any]) -> bool:
        namespace, started = summary["namespace"], summary["startDate"] or ""
        return (summary["tenantId"] == self.tenant_id
                and (not self.namespace_prefix or namespace == self.namespace_prefix
                     or namespace.startswith(self.namespace_prefix + "."))
                and (self.namespace is None or namespace == self.namespace)
                and (not self.flow_id or summary["flowId"] == self.flow_id)
                and (not self.states or summary["state"] in self.states)
                and all(summary["labels"].get(k) == v for k, v in self.labels)
                and (not self.start or started >= self.start)
                and (not self.end or started <= self.end)
                and (not self.text or self.text.lower() in
                     f"{summary['id']} {namespace}.{summary['flowId']}".lower()))


def _found(api: Api, filters: Filters, page: int, size: int, sort: list[str]) -> dict[str, Any]:
    """Kestra's `{"results", "total"}` of the executions the filters keep."""
    kept = [summary for summary in api.view.summaries(filters.flow_id or None) if filters.keep(summary)]
    page_of = paged(kept, page, size, sort, default="state.startDate:desc", fields=SORT_FIELDS)
    results = []
    for summary in page_of["results"]:
        execution = api.view.execution(summary["id"])
        if execution is not None:
            results.append(execution_json(execution))
    return {"results": results, "total": page_of["total"]}


@router.get("/executions/search", summary="Search executions (Kestra's filters and paging)")
def search(request: Request, namespace: str | None = None, flowId: str | None = None,  # noqa: N803
           state: list[str] = Query(default=[]), labels: list[str] = Query(default=[]),
           startDate: str | None = None, endDate: str | None = None,  # noqa: N803
           q: str | None = None, page: int = Query(1, ge=1), size: int = Query(10, ge=1),
           sort: list[str] = Query(default=[]), tenant: str = Depends(tenant_of)) -> Any:
    filters = Filters(
        tenant_id=tenant_id_of(tenant), namespace_prefix=namespace, flow_id=flowId,
        states=frozenset(s.upper() for s in state), labels=tuple(label_pairs(labels).items()),
        start=_iso(date_param(startDate, "startDate")), end=_iso(date_param(endDate, "endDate")), text=q)
    return _found(api_of(request), filters, page, size, sort)


@router.get("/executions", summary="The executions of one flow, newest first")
def of_flow(request: Request, namespace: str, flowId: str,  # noqa: N803
            page: int = Query(1, ge=1), size: int = Query(10, ge=1),
            tenant: str = Depends(tenant_of)) -> Any:
    filters = Filters(tenant_id=tenant_id_of(tenant), namespace=namespace, flow_id=flowId)
    return _found(api_of(request), filters, page, size, [])


@router.get("/executions/{execution_id}", summary="An execution, in Kestra's JSON")
async def get_execution(request: Request, execution_id: str) -> Any:
    return execution_json(await existing_execution(api_of(request), execution_id))


@router.get("/executions/{execution_id}/follow", summary="Server-sent events: `progress` with "
            "the execution, then each change, then `end`")
async def follow(request: Request, execution_id: str) -> Any:
    api = api_of(request)
    subscription = api.view.hub.subscribe(execution_key(execution_id))
    # as Kestra: a follow waits up to 10 s for an execution that is not there yet
    first = await current_execution(api, execution_id, subscription, max(api.settings.read_wait, 10.0))
    if first is None:
        api.view.hub.unsubscribe(subscription)
        raise not_found(f"Execution {execution_id} not found")
    return StreamingResponse(follow_execution(api, subscription, first), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def _file_path(execution: Execution, path: str) -> str:
    """The storage path of `path` if it is a file of the execution (or of its parent or
    original); 422 otherwise."""
    try:
        wanted = uri_path(path)
    except ValueError as error:
        raise ApiError(422, "Invalid path", [str(error)]) from None
    allowed = [execution_prefix(execution.namespace, execution.flow_id, i)
               for i in (execution.id, execution.parent_id, execution.original_id) if i]
    if not any(wanted.startswith(prefix + "/") for prefix in allowed):
        raise ApiError(422, "Invalid path", [
            f"`{path}` is not a file of execution {execution.id} "
            f"(its files are under kestra:///{allowed[0]}/)"])
    return wanted


@router.get("/executions/{execution_id}/file", summary="A file of the execution from internal storage")
async def file(request: Request, execution_id: str, path: str) -> Response:
    api = api_of(request)
    wanted = _file_path(await existing_execution(api, execution_id), path)
    try:
        handle = await asyncio.to_thread(api.storage.open, wanted)
    except FileNotFoundError:
        raise not_found(f"No file at `{path}`") from None
    name = PurePosixPath(wanted).name
    return StreamingResponse(_chunks(handle), media_type="application/octet-stream",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _chunks(handle: BinaryIO, size: int = 1 << 16) -> Iterator[bytes]:
    """A file in chunks, closed at the end (Starlette reads a sync iterator in a thread)."""
    with handle:
        while chunk := handle.read(size):
            yield chunk


@router.get("/executions/{execution_id}/file/metas", summary="The size of a file of the execution")
async def file_metas(request: Request, execution_id: str, path: str) -> Any:
    api = api_of(request)
    wanted = _file_path(await existing_execution(api, execution_id), path)
    try:
        return {"size": await asyncio.to_thread(api.storage.size, wanted)}
    except FileNotFoundError:
        raise not_found(f"No file at `{path}`") from None


@router.get("/executions/{execution_id}/flow", summary="The flow revision the execution runs")
async def flow_of_execution(request: Request, execution_id: str) -> Any:
    api = api_of(request)
    execution = await existing_execution(api, execution_id)
    revisions = {r.revision: r for r in api.flows.revisions(execution.namespace, execution.flow_id,
                                                             execution.tenant_id)}
    found = revisions.get(execution.flow_revision)
    if found is None:
        raise not_found(f"Flow {execution.namespace}.{execution.flow_id} revision "
                        f"{execution.flow_revision} not found")
    flow = api.flows.get(execution.namespace, execution.flow_id, found.revision, execution.tenant_id)
    return flow_json(found, flow, source=False)



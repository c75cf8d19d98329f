"""`/api/v1/{tenant}/logs/{executionId}`: the logs of an execution, as JSON, as text, live."""

from __future__ import annotations

from typing import Any, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ostinato.services.api.errors import ApiError
from ostinato.services.api.kestra_json import LEVELS, level_at_least, log_text
from ostinato.services.api.routes.common import api_of
from ostinato.services.api.streams import follow_logs

router = APIRouter(tags=["Logs"])


def _check_level(min_level: str | None) -> None:
    if min_level is not None and min_level.upper() not in LEVELS:
        raise ApiError(422, "Invalid minLevel", [f"`{min_level}` is not one of {', '.join(LEVELS)}"])


def _matching(request: Request, execution_id: str, min_level: str | None, task_run_id: str | None,
              task_id: str | None, attempt: int | None) -> Iterator[dict[str, Any]]:
    _check_level(min_level)
    for _, entry in api_of(request).view.logs(execution_id):
        if not level_at_least(entry["level"], min_level):
            continue
        if task_run_id is not None and entry["taskRunId"] != task_run_id:
            continue
        if task_id is not None and entry["taskId"] != task_id:
            continue
        if attempt is not None and entry["attemptNumber"] != attempt:
            continue
        yield entry


@router.get("/logs/{execution_id}", summary="An execution's logs (filter by minimum level, "
            "task run, task, attempt)")
def logs(request: Request, execution_id: str, minLevel: str | None = None,  # noqa: N803
         taskRunId: str | None = None, taskId: str | None = None,  # noqa: N803
         attempt: int | None = None) -> Any:
    return list(_matching(request, execution_id, minLevel, taskRunId, taskId, attempt))


@router.get("/logs/{execution_id}/download", summary="An execution's logs as text, one line each")
def download(request: Request, execution_id: str, minLevel: str | None = None,  # noqa: N803
             taskRunId: str | None = None, taskId: str | None = None,  # noqa: N803
             attempt: int | None = None) -> StreamingResponse:
    _check_level(minLevel)
    lines = (log_text(entry) + "\n"
             for entry in _matching(request, execution_id, minLevel, taskRunId, taskId, attempt))
    return StreamingResponse(lines, media_type="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{execution_id}.log"'})


@router.get("/logs/{execution_id}/follow", summary="Server-sent events: each log as it comes; "
            "the stream ends after the execution has ended")
def follow(request: Request, execution_id: str, minLevel: str | None = None) -> StreamingResponse:  # noqa: N803
    _check_level(minLevel)
    return StreamingResponse(follow_logs(api_of(request), execution_id, minLevel),
                             media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

"""`/api/v1/{tenant}/executions/.../by-ids`: Kestra's bulk operations on a list of ids.

Every id is checked first. If any cannot take the operation, nothing is done, and the answer
is Kestra's 400 `{"message": "invalid bulk <operation>", "invalids": [...]}` (plus our
`details`, one line per id). Otherwise each execution gets the record its single operation
sends, and the answer is `{"count": N}`. The body is a JSON list of execution ids.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request

from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.kafka.client import new_execution_id
from ostinato.services.api.context import Api
from ostinato.services.api.errors import ApiError
from ostinato.services.api.routes.common import api_of, now
from ostinato.services.api.routes.control import RESTARTABLE, delete_finished

router = APIRouter(tags=["Executions"])

#: why an execution cannot take an operation; None when it can
Refusal = Callable[[Execution], str | None]
#: the OpenAPI body of every bulk operation: a JSON list of execution ids
IDS_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "array", "items": {"type": "string"}, "description": "The execution ids"},
    "example": ["2kFnzNKh2C1R7tfrQ0NzNz"]}}}}


def _ids_of(body: bytes) -> list[str]:
    """The JSON list of ids of a body; 422 when it is not one."""
    try:
        ids = json.loads(body)
    except ValueError as error:
        raise ApiError(422, "Invalid request", [f"body: not JSON ({error})"]) from None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(422, "Invalid request", ["body: a JSON list of execution ids is expected"])
    return ids


async def execution_ids(request: Request) -> list[str]:
    """The body's execution ids, parsed off the event loop (the body is capped and its
    depth checked by services.api.limits as it arrives)."""
    return await api_of(request).cpu.run(_ids_of, await request.body())


IDS = Depends(execution_ids)


def _unless_finished(execution: Execution) -> str | None:
    return None if execution.state.terminal else "execution not finished (kill it first)"


def _unless_running(execution: Execution) -> str | None:
    return "execution already finished" if execution.state.terminal else None


def _unless_failed(execution: Execution) -> str | None:
    if execution.state.current in RESTARTABLE:
        return None
    return f"execution not in state FAILED or KILLED ({execution.state.current})"


def _unless_paused(execution: Execution) -> str | None:
    if execution.state.current.is_paused:
        return None
    return f"execution not in state PAUSED ({execution.state.current})"


async def _checked(api: Api, ids: list[str], operation: str, refusal: Refusal) -> list[Execution]:
    """The executions of `ids` (each once), or ApiError 400 naming every one refused."""
    executions, invalids = [], []
    for execution_id in dict.fromkeys(ids):
        execution = await asyncio.to_thread(api.view.execution, execution_id)
        reason = "execution not found" if execution is None else refusal(execution)
        if reason is not None:
            invalids.append({"path": "execution", "message": reason, "invalidValue": execution_id})
        elif execution is not None:
            executions.append(execution)
    if invalids:
        raise ApiError(400, f"invalid bulk {operation}",
                       [f"{item['invalidValue']}: {item['message']}" for item in invalids],
                       extra={"invalids": invalids})
    return executions


def _count(executions: list[Execution]) -> dict[str, Any]:
    return {"count": len(executions)}


@router.delete("/executions/by-ids", openapi_extra=IDS_BODY,
               summary="Delete finished executions, with their logs and "
                       "(unless deleteStorage=false) their files")
async def delete_by_ids(request: Request, ids: list[str] = IDS, deleteStorage: bool = True,  # noqa: N803
                        includeNonTerminated: bool = False) -> Any:  # noqa: N803
    if includeNonTerminated:
        raise ApiError(422, "includeNonTerminated=true is not supported",
                       ["kill the executions first, then delete them"])
    api = api_of(request)
    executions = await _checked(api, ids, "delete", _unless_finished)
    await delete_finished(api, executions, delete_storage=deleteStorage)
    return _count(executions)


async def _each(request: Request, ids: list[str], operation: str, refusal: Refusal,
                event: Callable[[Execution], ev.Event]) -> Any:
    """Check every id, then send each execution its event."""
    api = api_of(request)
    executions = await _checked(api, ids, operation, refusal)
    for execution in executions:
        await api.send_event(event(execution))
    return _count(executions)


@router.delete("/executions/kill/by-ids", openapi_extra=IDS_BODY,
               summary="Kill executions that have not finished")
async def kill_by_ids(request: Request, ids: list[str] = IDS) -> Any:
    return await _each(request, ids, "kill", _unless_running,
                       lambda execution: ev.Kill(str(uuid.uuid4()), now(), execution.id))


@router.post("/executions/restart/by-ids", openapi_extra=IDS_BODY,
             summary="Restart FAILED or KILLED executions")
async def restart_by_ids(request: Request, ids: list[str] = IDS) -> Any:
    return await _each(request, ids, "restart", _unless_failed,
                       lambda execution: ev.Restart(str(uuid.uuid4()), now(), execution.id))


@router.post("/executions/resume/by-ids", openapi_extra=IDS_BODY,
             summary="Resume PAUSED executions (without inputs)")
async def resume_by_ids(request: Request, ids: list[str] = IDS) -> Any:
    return await _each(request, ids, "resume", _unless_paused,
                       lambda execution: ev.Resume(str(uuid.uuid4()), now(), execution.id))


@router.post("/executions/replay/by-ids", openapi_extra=IDS_BODY,
             summary="Replay finished executions, each as a new execution with the same inputs")
async def replay_by_ids(request: Request, ids: list[str] = IDS) -> Any:
    return await _each(request, ids, "replay", _unless_finished,
                       lambda execution: ev.Replay(str(uuid.uuid4()), now(), execution.id,
                                                   new_execution_id=new_execution_id()))

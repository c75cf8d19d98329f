"""`/api/v1/{tenant}/executions/{id}/...`: kill, resume, restart, replay, delete. Each is
a record for the executor (a tombstone on `executions` for a delete), never a write to a
store."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from ostinato.decider import events as ev
from ostinato.execution.model import Execution, State
from ostinato.execution.states import StateType
from ostinato.flow.inputs import Input
from ostinato.flow.model import Flow
from ostinato.kafka.client import new_execution_id
from ostinato.kafka.follower import partitions_of
from ostinato.kafka.partitioner import key_partition
from ostinato.storage.base import execution_prefix
from ostinato.wire import records as rec
from ostinato.services.api.context import Api
from ostinato.services.api.errors import ApiError
from ostinato.services.api.kestra_json import execution_json
from ostinato.services.api.routes.common import FILE_BODY, api_of, existing_execution, now
from ostinato.services.api.routes.create import typed_form

router = APIRouter(tags=["Executions"])

#: the states an execution can be restarted from (Kestra: FAILED or KILLED, not CANCELLED)
RESTARTABLE = frozenset({StateType.FAILED, StateType.KILLED})


@router.delete("/executions/{execution_id}", status_code=204, summary="Delete a finished "
               "execution and its logs from every API view (a tombstone on `executions`), and "
               "its files from internal storage unless deleteStorage=false")
async def delete_execution(request: Request, execution_id: str, deleteStorage: bool = True) -> Response:  # noqa: N803
    api = api_of(request)
    execution = await existing_execution(api, execution_id)
    if not execution.state.terminal:
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}: only a "
                            "finished execution can be deleted (kill it first)")
    await delete_finished(api, [execution], delete_storage=deleteStorage)
    return Response(status_code=204)


async def delete_execution_records(api: Api, execution: Execution) -> None:
    """Tombstones for the execution's records on `executions`: its own key, and the keys of
    the parts a large execution was written as (in the partition of its own key)."""
    count = rec.part_count(len(execution.task_run_list))
    if count > 1:
        partitions = await asyncio.to_thread(partitions_of, api.kafka, "executions")
        partition = key_partition(execution.id, len(partitions))
        for part in range(count - 1):
            await api.producer.send_tombstone("executions", rec.part_key(execution.id, part, count),
                                              partition=partition)
    await api.producer.send_tombstone("executions", execution.id)


async def delete_finished(api: Api, executions: list[Execution], *, delete_storage: bool) -> None:
    """Tombstones on `executions`, the files too if asked; returns once this replica's view
    has applied them, so that a read here sees the deletion."""
    for execution in executions:
        await delete_execution_records(api, execution)
        if delete_storage:
            folder = execution_prefix(execution.namespace, execution.flow_id, execution.id)
            await asyncio.to_thread(api.storage.delete_prefix, folder)
    deadline = asyncio.get_running_loop().time() + 10
    for execution in executions:
        while await asyncio.to_thread(api.view.execution, execution.id) is not None:
            if asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.02)


@router.delete("/executions/{execution_id}/kill", status_code=202,
               summary="Kill an execution: KILLING, then KILLED once its tasks stopped")
async def kill(request: Request, execution_id: str) -> Response:
    api = api_of(request)
    execution = await existing_execution(api, execution_id)
    if execution.state.terminal:
        raise ApiError(409, f"Execution {execution_id} is already finished "
                            f"({execution.state.current}), it cannot be killed")
    await api.send_event(ev.Kill(str(uuid.uuid4()), now(), execution_id))
    return Response(status_code=202)


@router.post("/executions/{execution_id}/resume", status_code=204, openapi_extra=FILE_BODY,
             summary="Resume a PAUSED execution (multipart: the Pause task's onResume inputs)")
async def resume(request: Request, execution_id: str) -> Response:
    api = api_of(request)
    execution = await existing_execution(api, execution_id)
    if not execution.state.current.is_paused:
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}, not PAUSED")
    flow = api.flows.get(execution.namespace, execution.flow_id, execution.flow_revision,
                         execution.tenant_id)
    declared = _on_resume_inputs(flow, execution)
    inputs = await typed_form(api, request, declared, execution.namespace, execution.flow_id,
                               execution.id, prefix="resume")
    await api.send_event(ev.Resume(str(uuid.uuid4()), now(), execution_id, inputs=inputs))
    return Response(status_code=204)


def _on_resume_inputs(flow: Flow | None, execution: Execution) -> list[Input]:
    """The `onResume` inputs of the execution's paused Pause tasks (typed as declared)."""
    if flow is None:
        return []
    paused = {run.task_id for run in execution.task_run_list if run.state.current.is_paused}
    out: list[Input] = []
    for task in flow.all_tasks():
        for declared in (getattr(task, "on_resume", None) or []) if task.id in paused else []:
            # a Pause input has a flow input's shape; type it as one
            try:
                out.append(Input.model_validate(declared.model_dump(by_alias=True, exclude_none=True)))
            except ValueError as error:
                raise ApiError(422, "Invalid onResume input declaration",
                               [f"{task.id}.onResume.{declared.id}: {error}"]) from None
    return out


@router.post("/executions/{execution_id}/restart", summary="Restart a FAILED or KILLED "
             "execution from its failed task runs")
async def restart(request: Request, execution_id: str) -> Any:
    api = api_of(request)
    execution = await existing_execution(api, execution_id)
    if execution.state.current not in RESTARTABLE:
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}: only a "
                            "FAILED or KILLED execution can be restarted")
    await api.send_event(ev.Restart(str(uuid.uuid4()), now(), execution_id))
    return execution_json(execution)


@router.post("/executions/{execution_id}/replay", summary="A new execution with the same inputs "
             "(from the start, or from `taskRunId`)")
async def replay(request: Request, execution_id: str, taskRunId: str | None = None) -> Any:  # noqa: N803
    api = api_of(request)
    execution = await existing_execution(api, execution_id)
    if not execution.state.terminal:
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}: only a "
                            "finished execution can be replayed")
    if taskRunId is not None and execution.index_of(taskRunId) is None:
        raise ApiError(422, "Invalid taskRunId", [f"execution {execution_id} has no task run {taskRunId}"])
    new_id = new_execution_id()
    await api.send_event(ev.Replay(str(uuid.uuid4()), now(), execution_id,
                                   new_execution_id=new_id, task_run_id=taskRunId))
    replayed = Execution(id=new_id, namespace=execution.namespace, flow_id=execution.flow_id,
                         flow_revision=execution.flow_revision, tenant_id=execution.tenant_id,
                         state=State.created(now()), inputs=execution.inputs,
                         labels=execution.labels, original_id=execution.id)
    return execution_json(replayed)



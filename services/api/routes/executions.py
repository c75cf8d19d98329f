"""`/api/v1/{tenant}/executions`: create, get, search, follow, kill, resume, restart,
replay, files. Reads come from the view; every change is a record for the executor."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, BinaryIO, Iterator

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from ostinato.decider import events as ev
from ostinato.execution.model import Execution, State, iso
from ostinato.flow.inputs import Input, InputError, type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.client import new_execution_id
from ostinato.storage import input_file_uri_path
from ostinato.storage.base import execution_prefix, uri_path
from services.api.context import Api, tenant_id_of
from services.api.errors import ApiError, not_found
from services.api.kestra_json import execution_json, flow_json
from services.api.routes.common import api_of, paged, tenant_of
from services.api.streams import current_execution, find_execution, follow_execution, until_finished
from services.api.view import execution_key

router = APIRouter(tags=["Executions"])

#: Kestra's sort names -> the summary fields the view keeps
SORT_FIELDS = {"state.startDate": "startDate", "state.endDate": "endDate",
               "state.current": "state", "id": "id", "flowId": "flowId", "namespace": "namespace"}
FILE_BODY = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "additionalProperties": True}}}}}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _labels(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ApiError(422, "Invalid labels", [f"`{item}` is not key:value"])
        out[key] = value
    return out


def _date(text: str | None, name: str) -> str | None:
    """An ISO date-time as the view's sortable text (UTC, Z)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, f"Invalid {name}", [f"`{text}` is not an ISO-8601 date-time"]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return iso(moment)


async def _existing(api: Api, execution_id: str) -> Execution:
    execution = await find_execution(api, execution_id)
    if execution is None:
        raise not_found(f"Execution {execution_id} not found")
    return execution


# ---------------------------------------------------------------- search and get

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
        states=frozenset(s.upper() for s in state), labels=tuple(_labels(labels).items()),
        start=_date(startDate, "startDate"), end=_date(endDate, "endDate"), text=q)
    return _found(api_of(request), filters, page, size, sort)


@router.get("/executions", summary="The executions of one flow, newest first")
def of_flow(request: Request, namespace: str, flowId: str,  # noqa: N803
            page: int = Query(1, ge=1), size: int = Query(10, ge=1),
            tenant: str = Depends(tenant_of)) -> Any:
    filters = Filters(tenant_id=tenant_id_of(tenant), namespace=namespace, flow_id=flowId)
    return _found(api_of(request), filters, page, size, [])


@router.get("/executions/{execution_id}", summary="An execution, in Kestra's JSON")
async def get_execution(request: Request, execution_id: str) -> Any:
    return execution_json(await _existing(api_of(request), execution_id))


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
    wanted = _file_path(await _existing(api, execution_id), path)
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
    wanted = _file_path(await _existing(api, execution_id), path)
    try:
        return {"size": await asyncio.to_thread(api.storage.size, wanted)}
    except FileNotFoundError:
        raise not_found(f"No file at `{path}`") from None


@router.get("/executions/{execution_id}/flow", summary="The flow revision the execution runs")
async def flow_of_execution(request: Request, execution_id: str) -> Any:
    api = api_of(request)
    execution = await _existing(api, execution_id)
    revisions = {r.revision: r for r in api.flows.revisions(execution.namespace, execution.flow_id,
                                                             execution.tenant_id)}
    found = revisions.get(execution.flow_revision)
    if found is None:
        raise not_found(f"Flow {execution.namespace}.{execution.flow_id} revision "
                        f"{execution.flow_revision} not found")
    flow = api.flows.get(execution.namespace, execution.flow_id, found.revision, execution.tenant_id)
    return flow_json(found, flow, source=False)


# ---------------------------------------------------------------- control

@router.delete("/executions/{execution_id}", status_code=204, summary="Delete a finished "
               "execution and its logs from every API view (a tombstone on `executions`)")
async def delete_execution(request: Request, execution_id: str) -> Response:
    api = api_of(request)
    execution = await _existing(api, execution_id)
    if not execution.state.terminal:
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}: only a "
                            "finished execution can be deleted (kill it first)")
    await api.producer.send_tombstone("executions", execution_id)
    # answer once this replica's view has applied it, so a read here sees the deletion
    deadline = asyncio.get_running_loop().time() + 10
    while await asyncio.to_thread(api.view.execution, execution_id) is not None:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    return Response(status_code=204)


@router.delete("/executions/{execution_id}/kill", status_code=202,
               summary="Kill an execution: KILLING, then KILLED once its tasks stopped")
async def kill(request: Request, execution_id: str) -> Response:
    api = api_of(request)
    execution = await _existing(api, execution_id)
    if execution.state.terminal:
        raise ApiError(409, f"Execution {execution_id} is already finished "
                            f"({execution.state.current}), it cannot be killed")
    await api.send_event(ev.Kill(str(uuid.uuid4()), _now(), execution_id))
    return Response(status_code=202)


@router.post("/executions/{execution_id}/resume", status_code=204, openapi_extra=FILE_BODY,
             summary="Resume a PAUSED execution (multipart: the Pause task's onResume inputs)")
async def resume(request: Request, execution_id: str) -> Response:
    api = api_of(request)
    execution = await _existing(api, execution_id)
    if execution.state.current != "PAUSED":
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}, not PAUSED")
    flow = api.flows.get(execution.namespace, execution.flow_id, execution.flow_revision,
                         execution.tenant_id)
    declared = _on_resume_inputs(flow, execution)
    inputs = await _typed_form(api, request, declared, execution.namespace, execution.flow_id,
                               execution.id, prefix="resume")
    await api.send_event(ev.Resume(str(uuid.uuid4()), _now(), execution_id, inputs=inputs))
    return Response(status_code=204)


def _on_resume_inputs(flow: Flow | None, execution: Execution) -> list[Input]:
    """The `onResume` inputs of the execution's paused Pause tasks (typed as declared)."""
    if flow is None:
        return []
    paused = {run.task_id for run in execution.task_run_list if run.state.current == "PAUSED"}
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
    execution = await _existing(api, execution_id)
    if execution.state.current not in ("FAILED", "KILLED"):
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}: only a "
                            "FAILED or KILLED execution can be restarted")
    await api.send_event(ev.Restart(str(uuid.uuid4()), _now(), execution_id))
    return execution_json(execution)


@router.post("/executions/{execution_id}/replay", summary="A new execution with the same inputs "
             "(from the start, or from `taskRunId`)")
async def replay(request: Request, execution_id: str, taskRunId: str | None = None) -> Any:  # noqa: N803
    api = api_of(request)
    execution = await _existing(api, execution_id)
    if not execution.state.terminal:
        raise ApiError(409, f"Execution {execution_id} is {execution.state.current}: only a "
                            "finished execution can be replayed")
    if taskRunId is not None and execution.index_of(taskRunId) is None:
        raise ApiError(422, "Invalid taskRunId", [f"execution {execution_id} has no task run {taskRunId}"])
    new_id = new_execution_id()
    await api.send_event(ev.Replay(str(uuid.uuid4()), _now(), execution_id,
                                   new_execution_id=new_id, task_run_id=taskRunId))
    replayed = Execution(id=new_id, namespace=execution.namespace, flow_id=execution.flow_id,
                         flow_revision=execution.flow_revision, tenant_id=execution.tenant_id,
                         state=State.created(_now()), inputs=execution.inputs,
                         labels=execution.labels, original_id=execution.id)
    return execution_json(replayed)


# ---------------------------------------------------------------- create

@router.post("/executions/{namespace}/{flow_id}/validate", openapi_extra=FILE_BODY,
             summary="Check inputs as a create would type them, starting nothing: each input "
                     "with its typed value and its errors")
async def validate_inputs(request: Request, namespace: str, flow_id: str,
                          revision: int | None = None, tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    flow = _executable(api, namespace, flow_id, revision, tenant)
    given, uploads = await _read_form(request)
    not_files = _text_for_files(flow.inputs, given, uploads)
    out = []
    for decl in flow.inputs:
        errors = [e for e in not_files if f"`{decl.id}`" in e]
        value: Any = given.get(decl.id)
        if not errors:
            try:  # each input alone: typing one never depends on another's value
                # a file is only named, not stored: nothing of a validation is kept
                typed = type_inputs([decl], given,
                                    store_file=lambda i, _: uploads.get(i, (i, b""))[0])
                value = _dotted(typed, decl.id)
            except InputError as error:
                errors = error.errors
        out.append({"input": decl.model_dump(by_alias=True, exclude_none=True, mode="json"),
                    "value": value, "enabled": True, "errors": [{"message": e} for e in errors]})
    return {"id": flow.id, "namespace": flow.namespace, "inputs": out}


def _dotted(values: dict[str, Any], dotted: str) -> Any:
    """`values["a"]["b"]` for `a.b` (typed inputs nest dotted ids)."""
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@router.post("/executions/{namespace}/{flow_id}", openapi_extra=FILE_BODY,
             summary="Start an execution: inputs as multipart fields and files; `wait=true` "
                     "answers once it has ended")
async def create(request: Request, namespace: str, flow_id: str, wait: bool = False,
                 labels: list[str] = Query(default=[]), revision: int | None = None,
                 scheduleDate: str | None = None,  # noqa: N803
                 tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    flow = _executable(api, namespace, flow_id, revision, tenant)
    schedule = _schedule(scheduleDate)
    execution_id = new_execution_id()
    inputs = await _typed_form(api, request, flow.inputs, flow.namespace, flow.id, execution_id)
    given_labels = _labels(labels)
    event = ev.ExecutionRequested(
        id=str(uuid.uuid4()), at=_now(), execution_id=execution_id, namespace=flow.namespace,
        flow_id=flow.id, flow_revision=flow.revision or 1, tenant_id=flow.tenant_id,
        inputs=inputs, labels=given_labels, schedule_date=schedule)
    subscription = api.view.hub.subscribe(execution_key(execution_id), progress=False) if wait else None
    try:
        await api.send_event(event)
        if subscription is not None:
            first = await current_execution(api, execution_id, subscription, 365 * 24 * 3600.0)
            assert first is not None
            return await until_finished(subscription, first)
    finally:
        if subscription is not None:
            api.view.hub.unsubscribe(subscription)
    created = Execution(id=execution_id, namespace=flow.namespace, flow_id=flow.id,
                        flow_revision=flow.revision or 1, tenant_id=flow.tenant_id,
                        state=State.created(event.at), inputs=inputs,
                        labels={**{k: v for k, v in flow.labels.items() if not k.startswith("system.")},
                                **given_labels},
                        schedule_date=None if schedule is None else _date(scheduleDate, "scheduleDate"))
    body = execution_json(created)
    body["url"] = f"/ui/executions/{flow.namespace}/{flow.id}/{execution_id}"
    return JSONResponse(body)


def _executable(api: Api, namespace: str, flow_id: str, revision: int | None, tenant: str) -> Flow:
    flow = api.flows.get(namespace, flow_id, revision, tenant_id_of(tenant))
    if flow is None:
        which = "" if revision is None else f" revision {revision}"
        raise not_found(f"Flow {namespace}.{flow_id}{which} not found")
    if flow.disabled:
        raise ApiError(409, f"Flow {namespace}.{flow_id} is disabled: it cannot be executed")
    return flow


def _schedule(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "Invalid scheduleDate", [f"`{text}` is not an ISO-8601 date-time"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def _read_form(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """The form's values by name (a file part's value is its file name), and the files
    uploaded: name -> (file name, bytes)."""
    form = await request.form()
    given: dict[str, Any] = {}
    uploads: dict[str, tuple[str, bytes]] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            uploads[name] = (value.filename or name, await value.read())
            given[name] = value.filename or name
        else:
            given[name] = value
    return given, uploads


def _text_for_files(declared: list[Input], given: dict[str, Any],
                    uploads: dict[str, tuple[str, bytes]]) -> list[str]:
    """An error for each FILE input given as a text field (not a kestra:// URI)."""
    return [f"Invalid input for `{i.id}`, expected a file upload (multipart file part), "
            f"got a text field" for i in declared
            if i.type == "FILE" and i.id in given and i.id not in uploads
            and not str(given[i.id]).startswith("kestra://")]


async def _typed_form(api: Api, request: Request, declared: list[Input], namespace: str,
                      flow_id: str, execution_id: str, *, prefix: str = "inputs") -> dict[str, Any]:
    """The form's fields and files typed as `declared`; 422 naming each bad input. Files go
    to internal storage under the execution (`<prefix>/<input id>/<file name>`)."""
    given, uploads = await _read_form(request)
    errors = _text_for_files(declared, given, uploads)
    if errors:
        raise ApiError(422, "Invalid inputs", errors)

    def store_file(input_id: str, _value: Any) -> str:
        filename, data = uploads[input_id]
        path = input_file_uri_path(namespace, flow_id, execution_id, input_id, filename)
        if prefix != "inputs":
            path = path.replace(f"/{execution_id}/inputs/", f"/{execution_id}/{prefix}/", 1)
        return api.storage.put(path, data)

    try:
        return await asyncio.to_thread(type_inputs, declared, given, store_file=store_file)
    except InputError as error:
        raise ApiError(422, "Invalid inputs", error.errors) from None
    except ValueError as error:
        raise ApiError(422, "Invalid inputs", [str(error)]) from None

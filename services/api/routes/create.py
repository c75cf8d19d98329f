"""`POST /api/v1/{tenant}/executions/{namespace}/{flowId}`: start an execution, with its
inputs typed as the flow declares (multipart fields and files); `/validate` checks them
without starting anything."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from ostinato import tracing
from ostinato.decider import events as ev
from ostinato.execution.model import Execution, State, iso
from ostinato.flow.inputs import Input, InputError, type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.client import new_execution_id
from ostinato.storage import input_file_uri_path
from ostinato.tracing.http import request_span
from ostinato.storage.scope import ExecutionRef, FileScope, out_of_scope_inputs
from ostinato.flow.labels import label_errors
from ostinato.sandbox.limits import describe_bytes
from ostinato.services.api.context import PRODUCER_MAX_MESSAGE, Api, ApiSettings, tenant_id_of
from ostinato.services.api.errors import ApiError, not_found
from ostinato.services.api.kestra_json import execution_json
from ostinato.services.api.limits import bounded_form, json_size, too_deep
from ostinato.services.api.routes.common import FILE_BODY, api_of, date_param, label_pairs, now, tenant_of
from ostinato.services.api.streams import current_execution, until_finished
from ostinato.services.api.view import execution_key

router = APIRouter(tags=["Executions"])

#: the create route, as traces name its span
CREATE_ROUTE = "/api/v1/{tenant}/executions/{namespace}/{flowId}"

#: the input types whose text is parsed as JSON
JSON_PARSED = frozenset({"JSON", "ARRAY", "MULTISELECT"})


@router.post("/executions/{namespace}/{flow_id}/validate", openapi_extra=FILE_BODY,
             summary="Check inputs as a create would type them, starting nothing: each input "
                     "with its typed value and its errors")
async def validate_inputs(request: Request, namespace: str, flow_id: str,
                          revision: int | None = None, tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    flow = _executable(api, namespace, flow_id, revision, tenant)
    given, uploads = await _read_form(api, request)
    return await api.cpu.run(_validation, api, flow, given, uploads)


def _validation(api: Api, flow: Flow, given: dict[str, Any],
                uploads: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
    """Each input with its typed value and its errors (CPU-bound: off the loop)."""
    not_files = _text_for_files(flow.inputs, given, uploads)
    not_files += _too_deep(flow.inputs, given, api.settings.max_json_depth)
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
            except (ValueError, RecursionError) as error:
                errors = [f"Invalid input for `{decl.id}`, {error}"]
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
    execution_id = new_execution_id()
    # the root span of the execution's trace (ostinato/tracing); its record carries it
    with request_span(execution_id, "POST", CREATE_ROUTE, request.url.path,
                      traceparent=request.headers.get("traceparent"),
                      attributes={tracing.NAMESPACE: namespace, tracing.FLOW_ID: flow_id}):
        flow = _executable(api, namespace, flow_id, revision, tenant)
        schedule = date_param(scheduleDate, "scheduleDate")
        given_labels = label_pairs(labels)
        refused = label_errors(given_labels)
        if refused:
            raise ApiError(422, "Invalid labels", refused)
        inputs = await typed_form(api, request, flow.inputs, flow.namespace, flow.id, execution_id)
        event = ev.ExecutionRequested(
            id=str(uuid.uuid4()), at=now(), execution_id=execution_id, namespace=flow.namespace,
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
                            schedule_date=None if schedule is None else iso(schedule))
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


async def _read_form(api: Api, request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """The form's values by name (a file part's value is its file name), and the files
    uploaded: name -> (file name, bytes). Fields and files are each under their cap."""
    settings = api.settings
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        form = await bounded_form(request.headers, request.stream(),
                                  max_fields=settings.max_body, max_files=settings.max_upload)
    else:  # urlencoded (or none): the body itself is under OSTINATO_API_MAX_BODY
        form = await request.form(max_part_size=settings.max_body)
    given: dict[str, Any] = {}
    uploads: dict[str, tuple[str, bytes]] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads[name] = (value.filename or name, await value.read())
                given[name] = value.filename or name
            else:
                given[name] = value
    finally:
        await form.close()
    return given, uploads


def _too_deep(declared: list[Input], given: dict[str, Any], limit: int) -> list[str]:
    """An error for each JSON-parsed input (JSON, ARRAY, MULTISELECT) given as text nested
    deeper than `limit` (Python's json module would recurse past its stack)."""
    return [f"Invalid input for `{i.id}`, it nests more than the {limit} levels of JSON "
            "accepted (OSTINATO_API_MAX_JSON_DEPTH)" for i in declared
            if i.type in JSON_PARSED and isinstance(given.get(i.id), str)
            and too_deep(given[i.id], limit)]


def inputs_over_budget(inputs: dict[str, Any], settings: ApiSettings) -> ApiError | None:
    """413 naming the largest inputs when the typed inputs are over `max_inputs` as JSON."""
    size = json_size(inputs)
    if size <= settings.max_inputs:
        return None
    largest = sorted(((json_size(v), k) for k, v in inputs.items()), reverse=True)[:5]
    return ApiError(
        413, f"The inputs are {size} bytes as JSON, more than the "
             f"{describe_bytes(settings.max_inputs)} an execution's inputs may take "
             f"(OSTINATO_API_MAX_INPUTS, kept below the executor's context limit of "
             f"{describe_bytes(settings.context_limit)} and the broker's message size of "
             f"{PRODUCER_MAX_MESSAGE} bytes): pass large data as FILE inputs",
        [f"`{key}`: {bytes_} bytes" for bytes_, key in largest])


def _text_for_files(declared: list[Input], given: dict[str, Any],
                    uploads: dict[str, tuple[str, bytes]]) -> list[str]:
    """An error for each FILE input given as a text field (not a kestra:// URI)."""
    return [f"Invalid input for `{i.id}`, expected a file upload (multipart file part), "
            f"got a text field" for i in declared
            if i.type == "FILE" and i.id in given and i.id not in uploads
            and not str(given[i.id]).startswith("kestra://")]


async def typed_form(api: Api, request: Request, declared: list[Input], namespace: str,
                      flow_id: str, execution_id: str, *, prefix: str = "inputs") -> dict[str, Any]:
    """The form's fields and files typed as `declared`; 422 naming each bad input. Files go
    to internal storage under the execution (`<prefix>/<input id>/<file name>`)."""
    given, uploads = await _read_form(api, request)

    def store_file(input_id: str, _value: Any) -> str:
        filename, data = uploads[input_id]
        path = input_file_uri_path(namespace, flow_id, execution_id, input_id, filename)
        if prefix != "inputs":
            path = path.replace(f"/{execution_id}/inputs/", f"/{execution_id}/{prefix}/", 1)
        return api.storage.put(path, data)

    def typed() -> dict[str, Any]:
        errors = _text_for_files(declared, given, uploads) + out_of_scope_inputs(
            [i.id for i in declared if i.type == "FILE"], given,
            FileScope(ExecutionRef(namespace, flow_id, execution_id)))
        errors += _too_deep(declared, given, api.settings.max_json_depth)
        if errors:
            raise ApiError(422, "Invalid inputs", errors)
        try:
            values = type_inputs(declared, given, store_file=store_file)
        except InputError as error:
            raise ApiError(422, "Invalid inputs", error.errors) from None
        except (ValueError, RecursionError) as error:
            raise ApiError(422, "Invalid inputs", [str(error)]) from None
        over = inputs_over_budget(values, api.settings)
        if over is not None:
            raise over
        return values

    return await api.cpu.run(typed)

"""`GET|POST|PUT /api/v1/{tenant}/executions/webhook/{namespace}/{flowId}/{key}`: Kestra's
Webhook trigger (the decision is `ostinato.triggers.webhook`, pure)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from ostinato.flow.inputs import type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.client import new_execution_id
from ostinato.triggers.webhook import webhook_request
from services.api.context import Api, tenant_id_of
from services.api.errors import ApiError
from services.api.kestra_json import execution_json
from services.api.routes.common import api_of, tenant_of
from ostinato.execution.model import Execution, State

router = APIRouter(tags=["Executions"])


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"The webhook body is {declared} bytes, more than the {limit} accepted")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"The webhook body is more than the {limit} bytes accepted")
        chunks.append(chunk)
    return b"".join(chunks)


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items:
        out.setdefault(key, []).append(value)
    return out


@router.api_route("/executions/webhook/{namespace}/{flow_id}/{key}", methods=["GET", "POST", "PUT"],
                  summary="Start an execution through a flow's Webhook trigger")
async def webhook(request: Request, namespace: str, flow_id: str, key: str,
                  tenant: str = Depends(tenant_of)) -> Any:
    api: Api = api_of(request)
    body = await _body(request, api.settings.max_webhook_body)
    flow = api.flows.get(namespace, flow_id, None, tenant_id_of(tenant))
    now = datetime.now(timezone.utc)
    execution_id = new_execution_id()

    def typed(flow: Flow, given: dict[str, Any]) -> dict[str, Any]:
        return type_inputs(flow.inputs, given)

    answer = await asyncio.to_thread(
        webhook_request, flow, key, body=body, headers=_multi(request.headers.items()),
        parameters=_multi(request.query_params.multi_items()), execution_id=execution_id,
        now=now, typed=typed)
    if answer.status == 404:
        raise ApiError(404, "Flow not found" if flow is None else "Webhook not found")
    if answer.status == 204:
        return Response(status_code=204)
    if answer.status != 200 or answer.request is None or flow is None:
        raise ApiError(answer.status, "The webhook cannot start an execution", [answer.message])
    await api.send_event(answer.request)
    request_ = answer.request
    created = Execution(id=execution_id, namespace=flow.namespace, flow_id=flow.id,
                        flow_revision=request_.flow_revision, tenant_id=flow.tenant_id,
                        state=State.created(now), inputs=request_.inputs, trigger=request_.trigger,
                        labels={k: v for k, v in flow.labels.items() if not k.startswith("system.")})
    return execution_json(created)

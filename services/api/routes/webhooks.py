"""`GET|POST|PUT /api/v1/{tenant}/executions/webhook/{namespace}/{flowId}/{key}`: Kestra's
Webhook trigger (the decision is `ostinato.triggers.webhook`, pure)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from ostinato.flow.inputs import type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.client import new_execution_id
from ostinato.tracing.attributes import request_attributes
from ostinato.tracing.http import request_span
from ostinato.triggers.webhook import WebhookAnswer, webhook_request
from ostinato.services.api.context import Api, tenant_id_of
from ostinato.services.api.errors import ApiError
from ostinato.services.api.kestra_json import execution_json
from ostinato.services.api.limits import TooDeep, too_deep
from ostinato.services.api.routes.common import api_of, tenant_of
from ostinato.services.api.routes.create import inputs_over_budget
from ostinato.execution.model import Execution, State

router = APIRouter(tags=["Executions"])


#: request headers that carry credentials for the API or a proxy in front of it: never
#: stored with a webhook's trigger (templates and readers of the execution would see them)
CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-auth-token", "x-access-token", "x-amz-security-token", "x-csrf-token", "x-xsrf-token",
})


def _stored_headers(request: Request) -> dict[str, list[str]]:
    """The request's headers a trigger keeps: all but the credentials."""
    return _multi([(k, v) for k, v in request.headers.items()
                   if k.lower() not in CREDENTIAL_HEADERS])


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items:
        out.setdefault(key, []).append(value)
    return out


#: the webhook route, as traces name its span
WEBHOOK_ROUTE = "/api/v1/{tenant}/executions/webhook/{namespace}/{flowId}/{key}"


@router.api_route("/executions/webhook/{namespace}/{flow_id}/{key}", methods=["GET", "POST", "PUT"],
                  summary="Start an execution through a flow's Webhook trigger")
async def webhook(request: Request, namespace: str, flow_id: str, key: str,
                  tenant: str = Depends(tenant_of)) -> Any:
    api: Api = api_of(request)
    body = await request.body()  # under OSTINATO_API_MAX_WEBHOOK_BODY (services.api.limits)
    flow = api.flows.get(namespace, flow_id, None, tenant_id_of(tenant))
    now = datetime.now(timezone.utc)
    execution_id = new_execution_id()

    def typed(flow: Flow, given: dict[str, Any]) -> dict[str, Any]:
        return type_inputs(flow.inputs, given)

    def answer_of() -> WebhookAnswer:
        if body.lstrip()[:1] in (b"[", b"{") and too_deep(body, api.settings.max_json_depth):
            raise TooDeep("webhook body", api.settings.max_json_depth)
        return webhook_request(
            flow, key, body=body, headers=_stored_headers(request),
            parameters=_multi(request.query_params.multi_items()), execution_id=execution_id,
            now=now, typed=typed)

    answer = await api.cpu.run(answer_of)
    if answer.status == 404:
        raise ApiError(404, "Flow not found" if flow is None else "Webhook not found")
    if answer.status == 204:
        return Response(status_code=204)
    if answer.status != 200 or answer.request is None or flow is None:
        raise ApiError(answer.status, "The webhook cannot start an execution", [answer.message])
    over = inputs_over_budget(answer.request.inputs or {}, api.settings)
    if over is not None:
        raise over
    # the root span of the execution's trace (ostinato/tracing), from the request's start
    with request_span(execution_id, request.method, WEBHOOK_ROUTE, request.url.path, start=now,
                      traceparent=request.headers.get("traceparent"),
                      attributes=request_attributes(answer.request,
                                                    (answer.request.trigger or {}).get("id"))):
        await api.send_event(answer.request)
    request_ = answer.request
    created = Execution(id=execution_id, namespace=flow.namespace, flow_id=flow.id,
                        flow_revision=request_.flow_revision, tenant_id=flow.tenant_id,
                        state=State.created(now), inputs=request_.inputs, trigger=request_.trigger,
                        labels={k: v for k, v in flow.labels.items() if not k.startswith("system.")})
    return execution_json(created)

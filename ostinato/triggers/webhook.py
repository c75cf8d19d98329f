"""Webhook triggers: whether a request starts an execution, and with which `trigger.*`.

Pure (the API issue serves it over HTTP). Kestra's answers: 404 for an unknown flow or a
wrong key (the key is compared in constant time), 204 when the trigger's conditions do not
match, else an execution whose trigger variables hold the body (JSON when it is a JSON
object or array, else the raw text), the headers and the query parameters (lists of values).
"""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from ostinato.execution.model import Execution, State
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError, render_value
from ostinato.flow.model import Flow
from ostinato.flow.triggers import Webhook
from ostinato.protocol import events as ev
from ostinato.triggers.conditions import matches

WEBHOOK_TYPE = "io.kestra.plugin.core.trigger.Webhook"


@dataclass(frozen=True)
class WebhookAnswer:
    status: int  # 200 (started), 204 (conditions not met), 404 (no such flow or key)
    request: ev.ExecutionRequested | None = None
    message: str = ""


def body_value(body: bytes) -> Any:
    """A JSON object or array stays structured; anything else is the raw text."""
    text = body.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (dict, list)) else text


def webhook_request(
    flow: Flow | None, key: str, *, body: bytes, headers: Mapping[str, list[str]],
    parameters: Mapping[str, list[str]], execution_id: str, now: datetime,
    typed: Callable[[Flow, dict[str, Any]], dict[str, Any]],
) -> WebhookAnswer:
    """Decide what a webhook call to `flow` with `key` does."""
    if flow is None or flow.disabled:
        return WebhookAnswer(404, message="flow not found")
    trigger = next((t for t in flow.triggers if isinstance(t, Webhook) and not t.disabled
                    and hmac.compare_digest(t.key.encode(), key.encode())), None)
    if trigger is None:
        return WebhookAnswer(404, message="webhook not found")
    variables = {"body": body_value(body), "headers": {k: list(v) for k, v in headers.items()},
                 "parameters": {k: list(v) for k, v in parameters.items()}}
    context = {"trigger": variables, "__now__": now,
               "flow": {"id": flow.id, "namespace": flow.namespace}}
    probe = Execution(id=execution_id, namespace=flow.namespace, flow_id=flow.id,
                      flow_revision=flow.revision or 1, state=State.created(now))
    if not all(matches(c, probe, StateType.CREATED, now, context) for c in trigger.conditions):
        return WebhookAnswer(204, message="conditions not met")
    try:
        inputs = typed(flow, render_value(trigger.inputs, context))
    except (ExpressionError, ValueError) as error:
        return WebhookAnswer(422, message=str(error))
    return WebhookAnswer(200, ev.ExecutionRequested(
        id=str(uuid.uuid4()), at=now, execution_id=execution_id, namespace=flow.namespace,
        flow_id=flow.id, flow_revision=flow.revision or 1, tenant_id=flow.tenant_id,
        inputs=inputs, trigger={"id": trigger.id, "type": WEBHOOK_TYPE, "variables": variables}))

"""`/api/v1/{tenant}/flows/{namespace}/{flowId}/triggers`: a flow's triggers with the next
date of each Schedule, and a Schedule's backfill (what the web UI's Triggers tab shows).

The next date is the cron's next occurrence after now, computed here: the API does not read
the scheduler's state (`scheduler-state`), so it cannot say when a trigger last fired (the
flow's executions show that). A backfill asks for one execution per occurrence in a range,
as `ostinato trigger backfill` does: each occurrence's execution id is derived from it, so an
occurrence already run (by the scheduler or an earlier backfill) is not run again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ostinato.execution.model import iso
from ostinato.expressions import ExpressionError
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.labels import label_errors
from ostinato.flow.model import Flow
from ostinato.flow.triggers import Schedule, Trigger
from ostinato.triggers.schedule import conditions_hold, next_after, occurrences, request_for
from ostinato.services.api.context import tenant_id_of
from ostinato.services.api.errors import ApiError, not_found
from ostinato.services.api.routes.common import api_of, date_param, now, tenant_of

router = APIRouter(tags=["Triggers"])

#: the most occurrences one backfill may request (a typo in a range could ask for millions)
MAX_BACKFILL = 1000


class BackfillRequest(BaseModel):
    start: str = Field(description="First moment of the range (ISO-8601, UTC if no zone)")
    end: str = Field(description="Last moment of the range (ISO-8601, UTC if no zone)")
    inputs: dict[str, Any] = Field(default_factory=dict,
                                   description="Inputs that replace the trigger's own")
    labels: dict[str, str] = Field(default_factory=dict,
                                   description="Labels added to the trigger's own")


def _flow(request: Request, namespace: str, flow_id: str, tenant: str) -> Flow:
    flow = api_of(request).flows.get(namespace, flow_id, None, tenant_id_of(tenant))
    if flow is None:
        raise not_found(f"Flow {namespace}.{flow_id} not found")
    return flow


def _trigger_json(flow: Flow, trigger: Trigger, moment: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"id": trigger.id, "type": trigger.type, "description": trigger.description,
                           "disabled": trigger.disabled, "backfill": isinstance(trigger, Schedule)}
    if isinstance(trigger, Schedule):
        out.update(cron=trigger.cron, timezone=trigger.timezone or "UTC", nextDate=None)
        if not (trigger.disabled or flow.disabled):
            try:
                out["nextDate"] = iso(next_after(trigger, moment))
            except (ValueError, KeyError) as error:  # a templated cron: no date without a run
                out["nextDateError"] = str(error)
    return out


@router.get("/flows/{namespace}/{flow_id}/triggers",
            summary="A flow's triggers; a Schedule's `nextDate` is its cron's next occurrence")
def flow_triggers(request: Request, namespace: str, flow_id: str,
                  tenant: str = Depends(tenant_of)) -> Any:
    flow = _flow(request, namespace, flow_id, tenant)
    moment = now()
    return [_trigger_json(flow, trigger, moment) for trigger in flow.triggers]


@router.post("/flows/{namespace}/{flow_id}/triggers/{trigger_id}/backfill",
             summary="Start an execution for each occurrence of a Schedule from `start` to "
                     "`end` (occurrences already run are not run again)")
async def backfill(request: Request, namespace: str, flow_id: str, trigger_id: str,
                   body: BackfillRequest, tenant: str = Depends(tenant_of)) -> Any:
    api = api_of(request)
    flow = _flow(request, namespace, flow_id, tenant)
    schedule = next((t for t in flow.triggers if t.id == trigger_id), None)
    if not isinstance(schedule, Schedule):
        raise not_found(f"Flow {flow.namespace}.{flow.id} has no Schedule trigger `{trigger_id}`")
    start, end = date_param(body.start, "start"), date_param(body.end, "end")
    assert start is not None and end is not None
    if end < start:
        raise ApiError(422, "Invalid backfill", ["`end` is before `start`"])
    refused = label_errors(body.labels)
    if refused:
        raise ApiError(422, "Invalid labels", refused)
    moments = _occurrences(flow, schedule, start, end)
    moment_now = now()

    def typed(f: Flow, rendered: dict[str, Any]) -> dict[str, Any]:
        return type_inputs(f.inputs, {**rendered, **body.inputs})

    requests = []
    for moment in moments:
        try:
            event = request_for(flow, schedule, moment, moment_now, typed, backfill=True)
        except InputError as error:
            raise ApiError(422, "Invalid inputs", error.errors) from None
        except (ValueError, ExpressionError) as error:
            raise ApiError(422, "Invalid inputs", [str(error)]) from None
        requests.append(replace(event, labels={**event.labels, **body.labels}))
    for event in requests:  # every request is built before any is sent: all or nothing typed
        await api.send_event(event)
    return {"count": len(requests), "dates": [iso(m) for m in moments],
            "executionIds": [e.execution_id for e in requests]}


def _occurrences(flow: Flow, schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The occurrences in [start, end] whose conditions hold; 422 past MAX_BACKFILL."""
    found: list[datetime] = []
    try:  # an occurrence exactly at `start` belongs to the range: look from just before it
        for moment in occurrences(schedule, start - timedelta(microseconds=1), end):
            if len(found) >= MAX_BACKFILL:
                raise ApiError(422, "Invalid backfill", [
                    f"the range holds more than {MAX_BACKFILL} occurrences: backfill a shorter range"])
            if conditions_hold(flow, schedule, moment):
                found.append(moment)
    except (ValueError, KeyError) as error:
        raise ApiError(422, "Invalid backfill", [f"the cron cannot be evaluated: {error}"]) from None
    return found

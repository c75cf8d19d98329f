"""Flow triggers: when an execution enters a state, which listening flows start, with what.

`flow_trigger_requests` is pure. Each request's execution id is derived from the upstream
execution and the index of the state in its history, so seeing the same transition twice
(a consumer reading again after a crash) asks for the same execution, started only once.
Precondition windows live in a `PreconditionStore` the caller provides (and persists).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Iterable, Mapping, Protocol

from ostinato.execution.model import Execution
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError, is_truthy, render, render_value
from ostinato.flow.durations import parse_duration
from ostinato.flow.model import Flow
from ostinato.flow.triggers import Filter, FlowTrigger, Preconditions, TimeWindow
from ostinato.protocol import events as ev
from ostinato.protocol.ids import derived_id
from ostinato.sandbox import regex
from ostinato.triggers.conditions import UnsupportedCondition, execution_context, matches

TERMINAL = (StateType.SUCCESS, StateType.WARNING, StateType.FAILED, StateType.KILLED, StateType.CANCELLED)
FLOW_TRIGGER_TYPE = "io.kestra.plugin.core.trigger.Flow"


class PreconditionStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, value: dict[str, Any] | None) -> None: ...


@dataclass
class Rejected:
    """A trigger that matched but could not start its flow (bad inputs...)."""

    flow: str
    trigger: str
    reason: str


def listeners(flows: Iterable[Flow]) -> list[tuple[Flow, FlowTrigger]]:
    """Every enabled Flow trigger of every enabled flow."""
    return [(flow, trigger) for flow in flows if not flow.disabled
            for trigger in flow.triggers
            if isinstance(trigger, FlowTrigger) and not trigger.disabled]


@dataclass(frozen=True)
class PreconditionHit:
    """An upstream transition that meets some of a listener's preconditions; the window's
    owner decides whether the listener starts (then with these inputs and variables)."""

    key: str
    namespace: str
    flow_id: str
    tenant_id: str | None
    trigger_id: str
    met: list[str]
    at: datetime
    seed: str
    inputs: dict[str, Any]
    variables: dict[str, Any]


def flow_trigger_requests(
    listening: Iterable[tuple[Flow, FlowTrigger]], source: Execution, history_index: int,
    now: datetime, store: PreconditionStore | None, typed: Any,
    hits: list[PreconditionHit] | None = None,
) -> tuple[list[ev.ExecutionRequested], list[Rejected]]:
    """The executions to start because `source` entered the state at `history_index`.

    `typed(flow, inputs)` types a listener's rendered inputs (raising ValueError). A trigger
    with preconditions consults `store`, or, when `hits` is given, adds a PreconditionHit to
    it for the window's owner (`complete_hit`) instead.
    """
    state = source.state.histories[history_index].state
    context = execution_context(source, state, now)
    seed = f"{source.id}/{history_index}"
    requests, rejected = [], []
    for flow, trigger in listening:
        if (flow.namespace, flow.id) == (source.namespace, source.flow_id):
            continue  # a flow never triggers itself
        try:
            if not _conditions_pass(trigger, source, state, now, context):
                continue
            rendered = render_value(trigger.inputs, context)
            if trigger.preconditions is not None:
                met = precondition_hits(trigger.preconditions, source, state, context)
                if not met:
                    continue
                hit = PreconditionHit(
                    key=f"{flow.uid}/{trigger.id}", namespace=flow.namespace, flow_id=flow.id,
                    tenant_id=flow.tenant_id, trigger_id=trigger.id, met=sorted(met), at=now,
                    seed=seed, inputs=rendered, variables=dict(context["trigger"]))
                if hits is not None:
                    hits.append(hit)
                    continue
                assert store is not None
                if not window_completes(hit, trigger.preconditions, store):
                    continue
            inputs = typed(flow, rendered)
        except (ExpressionError, ValueError, UnsupportedCondition) as error:
            rejected.append(Rejected(flow.uid, trigger.id, str(error)))
            continue
        requests.append(_request(flow, trigger.id, seed, now, inputs, dict(context["trigger"])))
    return requests, rejected


def _request(flow: Flow, trigger_id: str, seed: str, now: datetime, inputs: dict[str, Any],
             variables: dict[str, Any]) -> ev.ExecutionRequested:
    return ev.ExecutionRequested(
        id=str(uuid.uuid4()), at=now,
        execution_id=derived_id(f"flow-trigger/{flow.uid}/{trigger_id}/{seed}"),
        namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1,
        tenant_id=flow.tenant_id, inputs=inputs,
        trigger={"id": trigger_id, "type": FLOW_TRIGGER_TYPE, "variables": variables})


def complete_hit(hit: PreconditionHit, flow: Flow, store: PreconditionStore,
                 typed: Any) -> ev.ExecutionRequested | None:
    """The owner's side: record the hit in its window; the listener's execution when the
    window is complete (the last hit's upstream gives its inputs and variables)."""
    trigger = next((t for t in flow.triggers if isinstance(t, FlowTrigger) and t.id == hit.trigger_id
                    and t.preconditions is not None), None)
    if trigger is None or trigger.preconditions is None:
        return None
    if not window_completes(hit, trigger.preconditions, store):
        return None
    return _request(flow, hit.trigger_id, hit.seed, hit.at, typed(flow, hit.inputs), hit.variables)


def _conditions_pass(trigger: FlowTrigger, source: Execution, state: str, now: datetime,
                     context: Mapping[str, Any]) -> bool:
    if trigger.preconditions is None and state not in (trigger.states or TERMINAL):
        return False
    if trigger.preconditions is not None and trigger.states and state not in trigger.states:
        return False
    return all(matches(condition, source, state, now, context) for condition in trigger.conditions)


def precondition_hits(pre: Preconditions, source: Execution, state: str,
                      context: Mapping[str, Any]) -> set[str]:
    """Which of the preconditions this transition meets."""
    met: set[str] = set()
    for i, upstream in enumerate(pre.flows):
        if ((source.namespace, source.flow_id) == (upstream.namespace, upstream.flow_id)
                and state in (upstream.states or TERMINAL)
                and all(str(source.labels.get(k)) == str(v) for k, v in (upstream.labels or {}).items())):
            met.add(f"flows[{i}]")
    for where in pre.where:
        results = [_filter(f, source, state, context) for f in where.filters]
        if (all(results) if where.operand == "AND" else any(results)) and state in TERMINAL:
            met.add(f"where[{where.id}]")
    return met


def window_completes(hit: PreconditionHit, pre: Preconditions, store: PreconditionStore) -> bool:
    """Record a hit in its window; True (and the window reset, if so set) once all the
    preconditions are met within it."""
    key, now = hit.key, hit.at
    window = _current_window(store.get(key), pre.time_window, now)
    if window is None:
        return False  # outside a daily window: the hit does not count
    window["met"].update({condition: now.isoformat() for condition in hit.met})
    wanted = {f"flows[{i}]" for i in range(len(pre.flows))} | {f"where[{w.id}]" for w in pre.where}
    if wanted <= set(window["met"]):
        store.put(key, None if pre.reset_on_success else window)
        return True
    store.put(key, window)
    return False


def _current_window(stored: dict[str, Any] | None, time_window: TimeWindow | None,
                    now: datetime) -> dict[str, Any] | None:
    """The window a hit at `now` belongs to, with the hits that still count in it.

    DURATION_WINDOW (default, P1D): fixed windows from the first hit. SLIDING_WINDOW: each
    hit counts for `window` after it. DAILY_TIME_DEADLINE: hits of the current day until
    `deadline`. DAILY_TIME_WINDOW: hits of the current day between `startTime` and `endTime`.
    None when `now` is outside a daily window.
    """
    kind = time_window.type if time_window else "DURATION_WINDOW"
    span = parse_duration((time_window.window if time_window else None) or "P1D")
    window = dict(stored or {})
    met: dict[str, str] = window.get("met") or {}
    if isinstance(met, list):  # an older shape: hits without their time
        met = {condition: window.get("started", now.isoformat()) for condition in met}
    if kind == "SLIDING_WINDOW":
        met = {c: at for c, at in met.items() if now - datetime.fromisoformat(at) <= span}
        return {"started": window.get("started", now.isoformat()), "met": met}
    if kind in ("DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"):
        assert time_window is not None
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        opens = time.fromisoformat(time_window.start_time) if time_window.start_time else time(0)
        closes = time.fromisoformat(time_window.deadline or time_window.end_time or "23:59:59")
        if not opens <= now.timetz().replace(tzinfo=None) <= closes:
            return None
        met = {c: at for c, at in met.items() if datetime.fromisoformat(at) >= day_start}
        return {"started": day_start.isoformat(), "met": met}
    started = window.get("started")
    if started is None or now - datetime.fromisoformat(started) > span:
        return {"started": now.isoformat(), "met": {}}
    return {"started": started, "met": met}


def _filter(f: Filter, source: Execution, state: str, context: Mapping[str, Any]) -> bool:
    if f.field == "EXPRESSION":
        try:
            value: Any = render(str(f.value), context)
        except ExpressionError:
            return False
        if f.type in ("IS_TRUE", "IS_FALSE"):
            return is_truthy(value) == (f.type == "IS_TRUE")
    else:
        value = {"NAMESPACE": source.namespace, "FLOW_ID": source.flow_id, "STATE": state}[f.field]
    target = f.value
    checks = {
        "EQUAL_TO": lambda: str(value) == str(target),
        "NOT_EQUAL_TO": lambda: str(value) != str(target),
        "IN": lambda: str(value) in [str(v) for v in (f.values or [target])],
        "NOT_IN": lambda: str(value) not in [str(v) for v in (f.values or [target])],
        "IS_TRUE": lambda: is_truthy(str(value)),
        "IS_FALSE": lambda: not is_truthy(str(value)),
        "IS_NULL": lambda: value is None,
        "IS_NOT_NULL": lambda: value is not None,
        "STARTS_WITH": lambda: str(value).startswith(str(target)),
        "ENDS_WITH": lambda: str(value).endswith(str(target)),
        "REGEX": lambda: regex.fullmatch(str(target), str(value)),  # RE2: linear time
        "CONTAINS": lambda: str(target) in str(value),
    }
    return bool(checks[f.type]())


__all__ = ["PreconditionHit", "PreconditionStore", "Rejected", "complete_hit",
           "flow_trigger_requests", "listeners"]
